"""How records are laid out in Redis values, both ways.

Decoders take the key the value came from and raise `Garbled(key)` on anything that does not
parse, so the store can quarantine exactly that key (redis_keys.py names every key).
"""

from __future__ import annotations

from typing import Any

import orjson

from ..records import (
    ConversationRecord,
    EventRecord,
    MessageRecord,
    ReplyRef,
    SessionRecord,
    UserRecord,
)
from .redis_conn import Garbled

Hash = dict[bytes, bytes]
EXCERPT = 140  # characters of a quoted message shown in a reply (API.md)


def flat(fields: dict[str, Any]) -> list[Any]:
    """HSET arguments: field, value, field, value... (None values are left out)."""
    out: list[Any] = []
    for name, value in fields.items():
        if value is not None:
            out += [name, value]
    return out


def text(key: str, raw: Any) -> str:
    try:
        return bytes(raw).decode()
    except (TypeError, UnicodeDecodeError) as exc:
        raise Garbled(key, "not UTF-8 text") from exc


def integer(key: str, raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise Garbled(key, f"not an integer: {raw!r:.40}") from exc


def _field(key: str, h: Hash, name: str) -> bytes:
    value = h.get(name.encode())
    if value is None:
        raise Garbled(key, f"field {name} missing")
    return value


def _opt_int(key: str, h: Hash, name: str) -> int | None:
    value = h.get(name.encode())
    return None if value is None else integer(key, value)


def _opt_text(key: str, h: Hash, name: str) -> str | None:
    value = h.get(name.encode())
    return None if value is None else text(key, value)


# -- users and sessions --------------------------------------------------------------------
def user_fields(u: UserRecord) -> list[Any]:
    return flat(
        {
            "id": u.id,
            "username": u.username,
            "display_name": u.display_name,
            "password_hash": u.password_hash,
            "created_at": u.created_at,
            "last_seen_at": u.last_seen_at,
        }
    )


def user(key: str, h: Hash) -> UserRecord:
    return UserRecord(
        id=text(key, _field(key, h, "id")),
        username=text(key, _field(key, h, "username")),
        display_name=text(key, _field(key, h, "display_name")),
        password_hash=text(key, _field(key, h, "password_hash")),
        created_at=integer(key, _field(key, h, "created_at")),
        last_seen_at=_opt_int(key, h, "last_seen_at"),
    )


def session_fields(s: SessionRecord) -> list[Any]:
    return flat(
        {
            "id": s.id,
            "user_id": s.user_id,
            "created_at": s.created_at,
            "expires_at": s.expires_at,
            "last_active_at": s.last_active_at,
            "revoked": int(s.revoked),
        }
    )


def session(key: str, h: Hash) -> SessionRecord:
    return SessionRecord(
        id=text(key, _field(key, h, "id")),
        user_id=text(key, _field(key, h, "user_id")),
        created_at=integer(key, _field(key, h, "created_at")),
        expires_at=integer(key, _field(key, h, "expires_at")),
        last_active_at=integer(key, _field(key, h, "last_active_at")),
        revoked=integer(key, _field(key, h, "revoked")) != 0,
    )


# -- conversations ---------------------------------------------------------------------------
def conv_fields(c: ConversationRecord) -> list[Any]:
    return flat(
        {
            "id": c.id,
            "kind": c.kind,
            "title": c.title,
            "created_at": c.created_at,
            "last_seq": 0,
            "last_activity_at": c.created_at,
            "direct_key": c.direct_key,
        }
    )


def conv(key: str, h: Hash, member_ids: list[str]) -> tuple[ConversationRecord, bytes]:
    """The record and its `ver` (as stored: scripts compare it byte for byte)."""
    record = ConversationRecord(
        id=text(key, _field(key, h, "id")),
        kind=text(key, _field(key, h, "kind")),
        title=_opt_text(key, h, "title"),
        created_at=integer(key, _field(key, h, "created_at")),
        last_seq=integer(key, _field(key, h, "last_seq")),
        last_activity_at=integer(key, _field(key, h, "last_activity_at")),
        member_ids=member_ids,
        direct_key=_opt_text(key, h, "direct_key"),
    )
    ver = _field(key, h, "ver")
    integer(key, ver)
    if record.kind not in ("direct", "group"):
        raise Garbled(key, f"unknown kind {record.kind!r:.20}")
    return record, ver


def receipt(key: str, raw: bytes | None) -> tuple[int, int]:
    if raw is None:
        return 0, 0
    delivered, sep, read = raw.partition(b":")
    if not sep:
        raise Garbled(key, "receipt is not <delivered>:<read>")
    return integer(key, delivered), integer(key, read)


# -- messages --------------------------------------------------------------------------------
def message_json(
    *,
    id: str,
    seq: int,
    sender_id: str,
    client_id: str,
    body: str,
    reply_to_id: str | None,
    created_at: int,
    edited_at: int | None,
    deleted: bool,
) -> bytes:
    return orjson.dumps(
        {
            "id": id,
            "seq": seq,
            "sender": sender_id,
            "client": client_id,
            "body": body,
            "reply": reply_to_id,
            "created": created_at,
            "edited": edited_at,
            "deleted": deleted,
        }
    )


def message(key: str, raw: bytes) -> dict[str, Any]:
    """The stored message as a dict with checked types (the store adds the live quote)."""
    obj = json_object(key, raw, "message")
    checks = {
        "id": str,
        "seq": int,
        "sender": str,
        "client": str,
        "body": str,
        "created": int,
        "deleted": bool,
    }
    for name, kind in checks.items():
        if not isinstance(obj.get(name), kind):
            raise Garbled(key, f"field {name} missing or of the wrong type")
    if obj.get("reply") is not None and not isinstance(obj["reply"], str):
        raise Garbled(key, "field reply of the wrong type")
    if obj.get("edited") is not None and not isinstance(obj["edited"], int):
        raise Garbled(key, "field edited of the wrong type")
    return obj


# -- events ----------------------------------------------------------------------------------
def event_member(event_id: int, at: int, kind: str, data: bytes) -> bytes:
    return b"%d\t%d\t%s\t%s" % (event_id, at, kind.encode(), data)


def event(key: str, conversation_id: str, raw: bytes) -> tuple[EventRecord, int]:
    """An event of `conv:{cid}:events` and the time it was appended."""
    parts = raw.split(b"\t", 3)
    if len(parts) != 4:
        raise Garbled(key, "event member is not <id>\\t<ms>\\t<kind>\\t<data>")
    event_id, at = integer(key, parts[0]), integer(key, parts[1])
    return EventRecord(event_id, text(key, parts[2]), conversation_id, parts[3]), at


def log_entry(key: str, raw: bytes) -> tuple[int, int, str]:
    """(id, ms, conversation id) of the global log."""
    parts = raw.split(b":", 2)
    if len(parts) != 3:
        raise Garbled(key, "log member is not <id>:<ms>:<cid>")
    return integer(key, parts[0]), integer(key, parts[1]), text(key, parts[2])


def record(cid: str, m: dict[str, Any], quoted: dict[str, Any] | None) -> MessageRecord:
    reply = None
    if m.get("reply") and quoted is not None:
        excerpt = "" if quoted["deleted"] else quoted["body"][:EXCERPT]
        reply = ReplyRef(quoted["id"], quoted["seq"], quoted["sender"], excerpt)
    return MessageRecord(
        id=m["id"],
        conversation_id=cid,
        seq=m["seq"],
        sender_id=m["sender"],
        client_id=m["client"],
        body="" if m["deleted"] else m["body"],
        reply_to=reply,
        created_at=m["created"],
        edited_at=m.get("edited"),
        deleted=m["deleted"],
    )


def json_object(key: str, data: bytes, what: str = "event data") -> dict[str, Any]:
    """`data` parsed as a JSON object, or `Garbled` saying which stored thing is not one."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise Garbled(key, f"{what} is not JSON") from exc
    if not isinstance(obj, dict):
        raise Garbled(key, f"{what} is not a JSON object")
    return obj
