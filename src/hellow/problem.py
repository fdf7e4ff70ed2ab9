"""problem+json (RFC 9457): the one place that renders errors, and the handlers that map
every exception the app can meet to one."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .errors import BadRequest, HellowError, Invalid

log = logging.getLogger("hellow.problem")

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://hellow.chat/problems/"


def problem_body(
    status: int, title: str, detail: str, slug: str, errors: list[dict[str, str]] | None = None
) -> bytes:
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return orjson.dumps(body)


def problem_response(exc: HellowError) -> Response:
    errors = getattr(exc, "errors", None)
    headers = {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    body = problem_body(exc.status, exc.title, exc.detail, exc.slug, errors)
    return Response(body, status_code=exc.status, media_type=MEDIA_TYPE, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_problem(exc: RequestValidationError) -> HellowError:
    errors = list(exc.errors())
    for err in errors:
        if err.get("type") == "json_invalid":
            return BadRequest("The request body is not valid JSON.")
        if tuple(err.get("loc", ())) == ("body",) and err.get("type") == "missing":
            return BadRequest("A JSON body is required.")
    first = errors[0] if errors else {"loc": ("body",), "msg": "invalid"}
    problem = Invalid(_field(tuple(first.get("loc", ()))), str(first.get("msg", "invalid")))
    problem.errors = [
        {"field": _field(tuple(e.get("loc", ()))), "message": str(e.get("msg", "invalid"))}
        for e in errors
    ]
    problem.detail = "; ".join(f"{e['field']}: {e['message']}" for e in problem.errors)
    return problem


def install(app: FastAPI) -> None:
    async def on_hellow(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HellowError)
        if exc.status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc.detail)
        return problem_response(exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(validation_problem(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http")
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        body = problem_body(exc.status_code, title, str(exc.detail), slug)
        return Response(body, status_code=exc.status_code, media_type=MEDIA_TYPE)

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        body = problem_body(500, "Internal error", "Something went wrong on our side.", "internal")
        return Response(body, status_code=500, media_type=MEDIA_TYPE)

    app.add_exception_handler(HellowError, on_hellow)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)
