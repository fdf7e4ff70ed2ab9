"""Dependencies shared by the routes: the app's services and the signed-in principal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from starlette.responses import Response

from .. import wire
from ..auth import UNSAFE, Principal

if TYPE_CHECKING:
    from ..app import Services


async def get_services(request: Request) -> Services:
    # async: FastAPI would run a plain function in a worker thread, on every request.
    services: Services = request.app.state.services
    return services


async def get_principal(request: Request) -> Principal:
    services: Services = request.app.state.services
    return await services.auth.authenticate(request, unsafe=request.method in UNSAFE)


ServicesDep = Annotated["Services", Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def json(value: Any, status: int = 200) -> Response:
    """JSON encoded once with orjson; the shapes come from `wire`."""
    return Response(wire.dumps(value), status_code=status, media_type="application/json")
