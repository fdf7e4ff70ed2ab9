"""Helpers for the API conformance suite: written from API.md only, HTTP and SSE only."""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from support import PASSWORD, Client, EventReader, SSEEvent, unique

RFC3339_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
JWT_SECRET = "test-secret-" + "x" * 32  # what support.ServerProcess configures
DURABLE = {
    "message.created",
    "message.updated",
    "message.deleted",
    "receipt.updated",
    "conversation.created",
    "conversation.updated",
}
EPHEMERAL = {"typing", "presence", "session.ended", "reset", "ready"}
USER_FIELDS = {"id", "username", "display_name", "online", "last_seen_at"}
SESSION_FIELDS = {"user", "token", "expires_at", "idle_expires_at", "idle_timeout_s"}
CONVERSATION_FIELDS = {
    "id",
    "kind",
    "title",
    "members",
    "created_at",
    "last_seq",
    "last_message",
    "unread_count",
    "my_read_seq",
    "my_delivered_seq",
    "receipts",
}
PER_USER_FIELDS = {"unread_count", "my_read_seq", "my_delivered_seq"}
MESSAGE_FIELDS = {
    "id",
    "conversation_id",
    "seq",
    "sender_id",
    "client_id",
    "body",
    "reply_to",
    "created_at",
    "edited_at",
    "deleted",
}

__all__ = [
    "PASSWORD",
    "Client",
    "EventReader",
    "SSEEvent",
    "unique",
]


def parse_time(value: str) -> datetime:
    assert isinstance(value, str) and RFC3339_MS.match(value), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def assert_time(value: Any, nullable: bool = False) -> None:
    if nullable and value is None:
        return
    parse_time(value)


def assert_problem(r: httpx.Response, status: int | None = None, field: str | None = None) -> dict:
    """An RFC 9457 problem: the right status, content type and members, no stack trace."""
    if status is not None:
        assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text[:300]}"
    else:
        assert 400 <= r.status_code < 500, f"expected a 4xx, got {r.status_code}: {r.text[:300]}"
    ctype = r.headers.get("content-type", "")
    assert ctype.startswith("application/problem+json"), f"content-type {ctype!r}: {r.text[:200]}"
    body = r.json()
    assert isinstance(body, dict), body
    for key in ("type", "title", "status", "detail"):
        assert key in body, f"problem lacks {key}: {body}"
    assert isinstance(body["type"], str) and isinstance(body["title"], str), body
    assert isinstance(body["detail"], str), body
    assert body["status"] == r.status_code, body
    assert "Traceback" not in r.text
    if field is not None:
        errors = body.get("errors")
        assert isinstance(errors, list) and errors, f"422 without errors[]: {body}"
        for e in errors:
            assert isinstance(e, dict) and "field" in e and "message" in e, errors
        fields = [e["field"] for e in errors]
        assert field in fields, f"errors do not name {field!r}: {errors}"
    return body


def assert_user(u: Any) -> None:
    assert isinstance(u, dict) and set(u) >= USER_FIELDS, u
    assert isinstance(u["id"], str) and u["id"]
    assert isinstance(u["online"], bool)
    assert_time(u["last_seen_at"], nullable=True)


def assert_message(m: Any) -> None:
    assert isinstance(m, dict) and set(m) >= MESSAGE_FIELDS, m
    assert isinstance(m["id"], str) and isinstance(m["conversation_id"], str)
    assert isinstance(m["seq"], int) and m["seq"] >= 1
    assert isinstance(m["deleted"], bool)
    assert_time(m["created_at"])
    assert_time(m["edited_at"], nullable=True)


def assert_conversation(c: Any, per_user: bool = True) -> None:
    assert isinstance(c, dict), c
    expected = CONVERSATION_FIELDS if per_user else CONVERSATION_FIELDS - PER_USER_FIELDS
    assert set(c) >= expected, f"missing {expected - set(c)}: {c}"
    assert isinstance(c["id"], str) and c["kind"] in ("direct", "group")
    for u in c["members"]:
        assert_user(u)
    assert_time(c["created_at"])
    assert isinstance(c["last_seq"], int)
    if c["last_message"] is not None:
        assert_message(c["last_message"])
    for rc in c["receipts"]:
        assert set(rc) >= {"user_id", "delivered_seq", "read_seq"}, rc


def member_ids(c: dict) -> set[str]:
    return {u["id"] for u in c["members"]}


def poll(
    fn: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> Any:
    """Call fn until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s: {what} (last={last!r})")


def post_message(c: Client, conversation_id: str, body: str, **extra: Any) -> httpx.Response:
    payload = {"client_id": extra.pop("client_id", uuid.uuid4().hex), "body": body, **extra}
    return c.post(f"/api/conversations/{conversation_id}/messages", json=payload)


def send_retry(c: Client, conversation_id: str, body: str, **extra: Any) -> dict:
    """Send, honouring 429 Retry-After (the send rate is bounded by design)."""
    client_id = extra.pop("client_id", uuid.uuid4().hex)
    for _ in range(50):
        r = post_message(c, conversation_id, body, client_id=client_id, **extra)
        if r.status_code == 429:
            time.sleep(min(float(r.headers.get("retry-after", "1")), 2.0))
            continue
        assert r.status_code in (200, 201), r.text
        return dict(r.json())
    raise AssertionError("still throttled")


def register(base_url: str, **body: Any) -> httpx.Response:
    return httpx.post(base_url + "/api/auth/register", json=body, timeout=10)


def login(base_url: str, username: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(
        base_url + "/api/auth/login",
        json={"username": username, "password": password},
        timeout=10,
    )


LiveReader = EventReader  # support.EventReader.close() hangs up for real


def open_reader(
    base_url: str,
    token: str,
    last_event_id: int | None = None,
    query: bool = False,
    wait_ready: bool = True,
    timeout: float = 10.0,
) -> EventReader:
    """An EventReader that reached `ready` (so it is live); `.replayed`: what came before."""
    reader = LiveReader(base_url, token, last_event_id=last_event_id, query=query)
    reader.replayed = []  # type: ignore[attr-defined]
    reader.ready = None  # type: ignore[attr-defined]
    if not wait_ready:
        return reader
    assert reader.status == 200, f"/api/events answered {reader.status}: {reader.body[:300]}"
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            reader.close()
            raise AssertionError("no ready event")
        ev = reader.next(left)
        if ev.event == "ready":
            reader.ready = ev  # type: ignore[attr-defined]
            return reader
        reader.replayed.append(ev)  # type: ignore[attr-defined]


def collect_until(
    reader: EventReader, pred: Callable[[SSEEvent], bool], timeout: float = 10.0
) -> list[SSEEvent]:
    """Every event up to and including the first one for which pred is true."""
    out: list[SSEEvent] = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"condition not met; got {out[-5:]}")
        ev = reader.next(left)
        out.append(ev)
        if pred(ev):
            return out


def is_message(ev: SSEEvent, message_id: str, kind: str = "message.created") -> bool:
    return ev.event == kind and (ev.json() or {}).get("id") == message_id


def mentions(ev: SSEEvent, conversation_id: str) -> bool:
    """Does this event concern the conversation (its id or conversation_id)?"""
    try:
        data = ev.json()
    except ValueError:
        return conversation_id in ev.data
    if not isinstance(data, dict):
        return False
    if ev.event.startswith("conversation."):
        return data.get("id") == conversation_id
    return data.get("conversation_id") == conversation_id or conversation_id in ev.data


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    """A process's resident memory (VmRSS) or its peak so far (VmHWM), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field}")


class RawStream:
    """/api/events over a bare socket that reads only when told to (a stalled reader)."""

    def __init__(self, port: int, token: str, rcvbuf: int = 4096, last_event_id: int | None = None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        extra = f"Last-Event-ID: {last_event_id}\r\n" if last_event_id is not None else ""
        self.sock.sendall(
            (
                f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n{extra}\r\n"
            ).encode()
        )
        self.raw = b""
        self.eof = False
        self.reset = False

    def read_until(self, marker: bytes, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while marker not in self.raw:
            assert time.monotonic() < deadline, f"{marker!r} not seen: {self.raw[:500]!r}"
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"EOF before {marker!r}: {self.raw[:500]!r}")
            self.raw += chunk

    def read_to_end(self, timeout: float) -> bool:
        """Read everything until the server closes; True if it did within `timeout`."""
        deadline = time.monotonic() + timeout
        self.sock.settimeout(1.0)
        while time.monotonic() < deadline:
            try:
                chunk = self.sock.recv(1 << 20)
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                self.reset = True
                return True
            if not chunk:
                self.eof = True
                return True
            self.raw += chunk
        return False

    def body(self) -> str:
        head, _, rest = self.raw.partition(b"\r\n\r\n")
        if b"transfer-encoding: chunked" in head.lower():
            rest = dechunk(rest)
        return rest.decode("utf-8", errors="replace")

    def events(self) -> list[tuple[int | None, str, str]]:
        """(id, event, data) of every complete event block."""
        text = self.body().replace("\r\n", "\n")
        blocks = text.split("\n\n")
        out = []
        for block in blocks[:-1]:  # the last one may be cut short
            eid, kind, data = None, "message", []
            for line in block.split("\n"):
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "id":
                    eid = int(value)
                elif name == "event":
                    kind = value
                elif name == "data":
                    data.append(value)
            if data:
                out.append((eid, kind, "\n".join(data)))
        return out

    def close(self) -> None:
        self.sock.close()


def dechunk(data: bytes) -> bytes:
    out = bytearray()
    pos = 0
    while True:
        end = data.find(b"\r\n", pos)
        if end < 0:
            break
        try:
            size = int(data[pos:end].split(b";")[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        start = end + 2
        out += data[start : start + size]
        if start + size + 2 > len(data):
            break
        pos = start + size + 2
    return bytes(out)


def jdump(value: Any) -> str:
    return json.dumps(value)
