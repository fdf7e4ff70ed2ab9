"""`/api/auth/*`: register, login, logout, activity, session."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from .. import wire
from ..auth import COOKIE, SignedIn
from .deps import PrincipalDep, ServicesDep, json
from .models import Credentials, Register

router = APIRouter(prefix="/api/auth", tags=["auth"])


def session_json(
    services: ServicesDep, signed: SignedIn, online: bool, token: bool
) -> dict[str, Any]:
    out = {
        "user": wire.user(signed.user, online),
        "token": signed.token,
        "expires_at": wire.iso(signed.session.expires_at),
        "idle_expires_at": wire.iso(services.auth.idle_expires_at(signed.session)),
        "idle_timeout_s": services.settings.idle_timeout_s,
    }
    if not token:
        del out["token"]
    return out


def _with_cookie(request: Request, response: Response, signed: SignedIn) -> Response:
    max_age = max(0, (signed.session.expires_at - signed.session.created_at) // 1000)
    response.set_cookie(
        COOKIE,
        signed.token,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        path="/",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/register", status_code=201, summary="Create an account and sign in")
async def register(body: Register, request: Request, services: ServicesDep) -> Response:
    signed = await services.auth.register(body.username, body.password, body.display_name)
    data = session_json(services, signed, False, token=True)
    return _with_cookie(request, json(data, 201), signed)


@router.post("/login", summary="Sign in")
async def login(body: Credentials, request: Request, services: ServicesDep) -> Response:
    address = request.client.host if request.client else "unknown"
    signed = await services.auth.login(body.username, body.password, address)
    online = bool(await services.store.online([signed.user.id]))
    return _with_cookie(request, json(session_json(services, signed, online, token=True)), signed)


@router.post("/logout", status_code=204, summary="Sign out: the token dies at once")
async def logout(principal: PrincipalDep, services: ServicesDep) -> Response:
    await services.auth.logout(principal.session)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.post("/activity", status_code=204, summary="Record user activity (idle clock)")
async def activity(principal: PrincipalDep, services: ServicesDep) -> Response:
    await services.auth.record_activity(principal.session, force=True)
    return Response(status_code=204)


@router.get("/session", summary="The current session, without its token")
async def session(principal: PrincipalDep, services: ServicesDep) -> Response:
    user = await services.store.get_user(principal.user_id)
    assert user is not None
    signed = SignedIn(user, principal.session, "")
    online = bool(await services.store.online([user.id]))
    return json(session_json(services, signed, online, token=False))
