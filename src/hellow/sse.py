"""Server-Sent Events framing: the one place that writes `id:`, `event:` and `data:` lines."""

from __future__ import annotations

RETRY = b"retry: 2000\n\n"
PING = b": ping\n\n"


def frame(kind: str, data: bytes, event_id: int | None = None) -> bytes:
    """One event. `data` is one line of JSON (orjson never emits a raw newline)."""
    head = b"id: %d\n" % event_id if event_id is not None else b""
    return head + b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"
