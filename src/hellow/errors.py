"""The error hierarchy. Each error knows its HTTP status; `problem.py` renders it.

HellowError
├── BadRequest (400)        malformed JSON, unreadable body
├── Unauthorized (401)      not signed in, token invalid, session ended
├── Forbidden (403)         signed in but not allowed (CSRF header missing, not the author)
├── NotFound (404)          unknown, or not visible to you
├── Conflict (409)          e.g. username taken, members of a direct conversation
├── Gone (410)              the message was deleted
├── PayloadTooLarge (413)
├── UnsupportedMediaType (415)
├── Invalid (422)           a field is invalid: carries [{field, message}]
├── Throttled (429)         carries retry_after seconds
├── StoreCorrupt (500)      stored data of the wrong type or unparseable: never "repaired"
└── Unavailable (503)       the store or bus does not answer
"""

from __future__ import annotations


class HellowError(Exception):
    status = 500
    title = "Internal error"
    slug = "internal"

    def __init__(self, detail: str = "", **context: object) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.context = context


class BadRequest(HellowError):
    status, title, slug = 400, "Bad request", "bad-request"


class Unauthorized(HellowError):
    status, title, slug = 401, "Not signed in", "unauthorized"


class Forbidden(HellowError):
    status, title, slug = 403, "Not allowed", "forbidden"


class NotFound(HellowError):
    status, title, slug = 404, "Not found", "not-found"


class MethodNotAllowed(HellowError):
    status, title, slug = 405, "Method not allowed", "method-not-allowed"


class Conflict(HellowError):
    status, title, slug = 409, "Conflict", "conflict"


class Gone(HellowError):
    status, title, slug = 410, "Gone", "gone"


class PayloadTooLarge(HellowError):
    status, title, slug = 413, "Request body too large", "payload-too-large"


class UnsupportedMediaType(HellowError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class Invalid(HellowError):
    status, title, slug = 422, "Invalid request", "invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.errors = [{"field": field, "message": message}]


class Throttled(HellowError):
    status, title, slug = 429, "Too many requests", "throttled"

    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after + 0.999))


class StoreCorrupt(HellowError):
    """Stored data of the wrong type or unparseable. Reported and quarantined, never deleted."""

    status, title, slug = 500, "Stored data is corrupt", "store-corrupt"


class Unavailable(HellowError):
    status, title, slug = 503, "Service unavailable", "unavailable"
