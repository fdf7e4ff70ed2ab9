"""Operations: health, readiness, metrics, and the test-only hooks."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import PlainTextResponse, Response

from ..errors import HellowError, NotFound
from .deps import ServicesDep, json

router = APIRouter(tags=["operations"])


@router.head("/healthz", include_in_schema=False)
@router.get("/healthz", summary="200 while the process runs")
async def healthz() -> Response:
    return json({"status": "ok"})


@router.head("/readyz", include_in_schema=False)
@router.get("/readyz", summary="200 only while the store and the bus answer")
async def readyz(services: ServicesDep) -> Response:
    try:
        await services.store.ping()
        await services.bus.ping()
    except HellowError as exc:
        return json({"status": "unavailable", "detail": exc.detail}, 503)
    except Exception as exc:  # an unreachable backend must not turn readiness into a 500
        return json({"status": "unavailable", "detail": type(exc).__name__}, 503)
    return json({"status": "ready"})


@router.get("/metrics", summary="Prometheus text")
async def metrics(services: ServicesDep) -> Response:
    hub = services.hub
    lines = [
        "# HELP hellow_streams_open Event streams open on this process.",
        "# TYPE hellow_streams_open gauge",
        f"hellow_streams_open {len(hub.streams)}",
        "# HELP hellow_stream_users Users with an open stream on this process.",
        "# TYPE hellow_stream_users gauge",
        f"hellow_stream_users {len(hub.by_user)}",
        "# HELP hellow_events_routed_total Events routed to streams by this process.",
        "# TYPE hellow_events_routed_total counter",
        f"hellow_events_routed_total {hub.events_routed}",
        "# HELP hellow_streams_cut_slow_total Streams closed because their reader fell behind.",
        "# TYPE hellow_streams_cut_slow_total counter",
        f"hellow_streams_cut_slow_total {hub.slow_closed}",
        "# HELP hellow_last_event_id The newest durable event id routed by this process.",
        "# TYPE hellow_last_event_id gauge",
        f"hellow_last_event_id {hub.delivered}",
    ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


@router.post("/api/test/drop-streams", status_code=204, include_in_schema=False)
async def drop_streams(services: ServicesDep) -> Response:
    """Close every open event stream without ending sessions (HELLOW_TEST_HOOKS=1 only):
    browsers' offline mode does not cut an open stream, so tests cut it here."""
    if not services.settings.test_hooks:
        raise NotFound("Not found.")
    services.hub.close_all("dropped")
    return Response(status_code=204)
