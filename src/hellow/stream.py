"""`GET /api/events`: the event stream, as a plain ASGI endpoint.

Plain ASGI rather than a `StreamingResponse`, and reached ahead of the framework's
middleware stack (see `app.Edge`): the stream writes each batch of frames straight to
uvicorn's `send`, a disconnect ends it at once, nothing can buffer it (GZip,
BaseHTTPMiddleware), and an idle stream holds no middleware frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from . import sse, wire
from .errors import HellowError, MethodNotAllowed
from .hub import Stream
from .middleware import SECURITY_HEADERS
from .problem import problem_response
from .records import now_ms

if TYPE_CHECKING:
    from .app import Services

log = logging.getLogger("hellow.stream")

REPLAY_PAGE = 1000
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    *SECURITY_HEADERS,
]


def parse_last_event_id(request: Request) -> int | None:
    """The id to resume after (header first, then `?last_event_id=`); -1 when unusable."""
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        return -1
    return value if value >= 0 else -1


async def serve_events(services: Services, scope: Scope, receive: Receive, send: Send) -> None:
    """The whole endpoint, called by `app.Edge` ahead of the framework's middleware."""
    if scope["method"] != "GET":
        problem = MethodNotAllowed("The event stream is read with GET.")
        await problem_response(problem)(scope, receive, send)
        return
    request = Request(scope, receive)
    try:
        principal = await services.auth.authenticate(request, unsafe=False)
    except HellowError as exc:
        await problem_response(exc)(scope, receive, send)
        return
    hub = services.hub
    last_event_id = parse_last_event_id(request)
    # Nothing of the request is needed past this point: an idle stream keeps only the
    # little it must (ten thousand streams make every object count).
    del request
    # Subscribe before replaying (DESIGN rule 2): live events queue while the log is
    # read, and the stream skips those the replay already sent.
    stream = hub.open(principal.session)
    del principal
    joined = False
    try:
        try:
            came_online = await services.store.presence_join(stream.user_id, hub.instance_id)
            joined = True
            if came_online:
                await hub.presence_changed(stream.user_id, True)
        except HellowError as exc:  # the store is away: say so before any byte of stream
            await problem_response(exc)(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": sse.RETRY, "more_body": True})
        await _replay(services, stream, last_event_id, send)
        ready = {
            "user_id": stream.user_id,
            "last_event_id": stream.last_id,
            "heartbeat_s": hub.heartbeat_s,
            "server_time": wire.iso(now_ms()),
        }
        body = sse.frame("ready", wire.dumps(ready))
        await send({"type": "http.response.body", "body": body, "more_body": True})
        await _pump(stream, receive, send)
    except HellowError as exc:
        # The store failed mid-replay: end the stream; the client resumes where it was.
        log.warning("event stream of user %s ended early: %s", stream.user_id, exc.detail)
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        hub.forget(stream)
        if joined:
            with contextlib.suppress(Exception):
                if await services.store.presence_leave(stream.user_id, hub.instance_id, now_ms()):
                    await hub.presence_changed(stream.user_id, False)


async def _replay(services: Services, stream: Stream, after: int | None, send: Send) -> None:
    """Send what the client missed, in log order, from the store (never from the bus)."""
    if after is None:
        return
    store = services.store
    first, last = await store.first_event_id(), await store.last_event_id()
    if after < first - 1 or after > last:
        # Older than what is kept, or from another database: the client must refetch.
        await send(
            {"type": "http.response.body", "body": sse.frame("reset", b"{}"), "more_body": True}
        )
        return
    stream.last_id = after
    while True:
        records = await store.events_for_user(stream.user_id, stream.last_id, REPLAY_PAGE)
        if not records:
            return
        chunk = b"".join(sse.frame(r.kind, r.data, r.id) for r in records)
        stream.last_id = records[-1].id
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if len(records) < REPLAY_PAGE:
            return


async def _pump(stream: Stream, receive: Receive, send: Send) -> None:
    """Write queued frames until the stream closes or the client goes away.

    Two tasks a stream: this one writes, a small one waits for the disconnect (after
    which uvicorn's `send` silently does nothing, so only `receive` can tell)."""
    watcher = asyncio.create_task(_watch(stream, receive))
    stream.writer = asyncio.current_task()
    try:
        while (chunk := await stream.take()) is not None:
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except asyncio.CancelledError:
        if not stream.closed:
            raise
        # Closed, and its reader has not taken the last frames in WRITE_GRACE_S: drop it.
    finally:
        watcher.cancel()


async def _watch(stream: Stream, receive: Receive) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            stream.close("gone")
            return
