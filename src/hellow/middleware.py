"""Pure ASGI middleware (never BaseHTTPMiddleware: it breaks disconnect detection on the
event stream): body limits, content types and security headers, before any parsing."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import HellowError, PayloadTooLarge, UnsupportedMediaType
from .problem import problem_response

MAX_BODY = 64 * 1024
WITH_BODY = {"POST", "PUT", "PATCH", "DELETE"}

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class GuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers):
                    headers.append((b"content-security-policy", CSP.encode()))
                message["headers"] = headers
            await send(message)

        if scope["path"].startswith("/api/"):
            try:
                if scope["method"] in WITH_BODY:
                    receive = await _checked_body(scope, receive)
                else:
                    _check_length(scope)  # a GET with a body is not read, but not too big
            except HellowError as exc:
                await problem_response(exc)(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)


def _check_length(scope: Scope) -> None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                too_big = int(value) > MAX_BODY
            except ValueError:
                too_big = True
            if too_big:
                raise PayloadTooLarge(f"Request bodies are limited to {MAX_BODY} bytes.")


async def _checked_body(scope: Scope, receive: Receive) -> Receive:
    """Read the whole body (at most 64 KiB) first, refusing larger ones with 413 and
    non-JSON ones with 415; then hand the app a receive that replays it."""
    _check_length(scope)
    headers = dict(scope["headers"])
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge(f"Request bodies are limited to {MAX_BODY} bytes.")
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    if body.strip():
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if kind != b"application/json" and not kind.endswith(b"+json"):
            raise UnsupportedMediaType("Send JSON with Content-Type: application/json.")
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
