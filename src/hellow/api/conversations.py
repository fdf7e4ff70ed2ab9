"""`/api/conversations`: create, list, read, members, receipts, typing."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from ..errors import Invalid
from .deps import PrincipalDep, ServicesDep, json
from .models import AddMembers, NewConversation, Receipt, Typing

router = APIRouter(prefix="/api/conversations", tags=["conversations"])


@router.post("", status_code=201, summary="Start a direct or group conversation")
async def create(body: NewConversation, principal: PrincipalDep, services: ServicesDep) -> Response:
    if body.kind == "group" and not body.title:
        raise Invalid("title", "a group needs a title")
    view, created = await services.chat.create_conversation(
        principal.user_id, body.kind, body.title, body.member_ids
    )
    return json(view, 201 if created else 200)


@router.get("", summary="My conversations, most recent activity first")
async def list_all(principal: PrincipalDep, services: ServicesDep) -> Response:
    return json({"conversations": await services.chat.list_conversations(principal.user_id)})


@router.get("/{conversation_id}", summary="One conversation")
async def get_one(conversation_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    conv = await services.chat.conversation_for(principal.user_id, conversation_id)
    return json(await services.chat.view(conv, principal.user_id))


@router.post("/{conversation_id}/members", summary="Add people to a group")
async def add_members(
    conversation_id: str, body: AddMembers, principal: PrincipalDep, services: ServicesDep
) -> Response:
    view = await services.chat.add_members(principal.user_id, conversation_id, body.user_ids)
    return json(view)


@router.delete("/{conversation_id}/members/{user_id}", status_code=204, summary="Leave a group")
async def leave(
    conversation_id: str, user_id: str, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.chat.leave(principal.user_id, conversation_id, user_id)
    return Response(status_code=204)


@router.post("/{conversation_id}/receipts", summary="Move my delivered/read watermarks")
async def receipts(
    conversation_id: str, body: Receipt, principal: PrincipalDep, services: ServicesDep
) -> Response:
    receipt = await services.chat.receipt(
        principal.user_id, conversation_id, body.delivered_seq, body.read_seq
    )
    return json(receipt)


@router.post("/{conversation_id}/typing", status_code=204, summary="Say I am (not) typing")
async def typing(
    conversation_id: str, body: Typing, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.chat.typing(principal.user_id, conversation_id, body.typing)
    return Response(status_code=204)
