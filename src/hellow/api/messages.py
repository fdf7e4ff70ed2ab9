"""`/api/conversations/{id}/messages`: history, send, edit, delete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import wire
from ..auth import Principal
from .deps import PrincipalDep, ServicesDep, json
from .models import EditMessage, SendMessage

if TYPE_CHECKING:
    from ..app import Services

router = APIRouter(prefix="/api/conversations/{conversation_id}/messages", tags=["messages"])

Seq = Annotated[int | None, Query(ge=0, le=2**53)]


@router.get("", summary="A page of history, ascending by seq")
async def history(
    conversation_id: str,
    principal: PrincipalDep,
    services: ServicesDep,
    before: Seq = None,
    after: Seq = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    page, more = await services.chat.messages(
        principal.user_id, conversation_id, before, after, limit
    )
    return json({"messages": [wire.message(m) for m in page], "has_more": more})


async def _send(
    services: Services, principal: Principal, conversation_id: str, body: SendMessage
) -> Response:
    message, created = await services.chat.send(
        principal.user_id, conversation_id, body.client_id, body.body, body.reply_to
    )
    return json(wire.message(message), 201 if created else 200)


@router.post("", status_code=201, summary="Send (idempotent by client_id)")
async def send(
    conversation_id: str, body: SendMessage, principal: PrincipalDep, services: ServicesDep
) -> Response:
    """Documents the route; requests are answered by `send_fast`, registered ahead of it."""
    return await _send(services, principal, conversation_id, body)


async def send_fast(request: Request) -> Response:
    """The same send as a plain Starlette endpoint. Sending is the hottest request, and
    FastAPI's routing and dependency solving took over a third of its CPU: measured
    2,727 -> 4,220 sends/s (`hellow bench throughput`, docs/benchmarks.md)."""
    services: Services = request.app.state.services
    principal = await services.auth.authenticate(request, unsafe=True)
    try:
        body = SendMessage.model_validate_json(await request.body())
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None
    return await _send(services, principal, request.path_params["conversation_id"], body)


FAST_SEND = Route("/api/conversations/{conversation_id}/messages", send_fast, methods=["POST"])


@router.patch("/{message_id}", summary="Edit my message")
async def edit(
    conversation_id: str,
    message_id: str,
    body: EditMessage,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    message = await services.chat.edit(principal.user_id, conversation_id, message_id, body.body)
    return json(wire.message(message))


@router.delete("/{message_id}", status_code=204, summary="Delete my message (tombstone)")
async def delete(
    conversation_id: str, message_id: str, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.chat.delete(principal.user_id, conversation_id, message_id)
    return Response(status_code=204)
