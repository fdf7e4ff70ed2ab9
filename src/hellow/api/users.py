"""`/api/users`: me, and people search by prefix."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from .. import wire
from ..errors import NotFound
from .deps import PrincipalDep, ServicesDep, json

router = APIRouter(prefix="/api/users", tags=["users"])


@router.get("/me", summary="The signed-in user")
async def me(principal: PrincipalDep, services: ServicesDep) -> Response:
    user = await services.store.get_user(principal.user_id)
    if user is None:
        raise NotFound("No such user.")
    online = bool(await services.store.online([user.id]))
    return json(wire.user(user, online))


@router.get("", summary="Find people by username or display name prefix")
async def search(
    principal: PrincipalDep,
    services: ServicesDep,
    q: Annotated[str, Query(max_length=64)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    users = await services.store.search_users(q.strip(), limit)
    online = await services.store.online([u.id for u in users])
    return json({"users": [wire.user(u, u.id in online) for u in users]})
