"""The one place that knows the JSON shape of every API object (API.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from .records import ConversationRecord, MessageRecord, ReceiptRecord, UserRecord

JSON = dict[str, Any]


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def loads(raw: bytes | str) -> Any:
    return orjson.loads(raw)


def iso(ms: int | None) -> str | None:
    """RFC 3339 UTC with milliseconds: 2026-11-25T17:29:26.123Z."""
    if ms is None:
        return None
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def user(u: UserRecord, online: bool) -> JSON:
    return {
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        "online": online,
        "last_seen_at": iso(u.last_seen_at),
    }


def message(m: MessageRecord) -> JSON:
    reply = None
    if m.reply_to is not None:
        reply = {
            "id": m.reply_to.id,
            "seq": m.reply_to.seq,
            "sender_id": m.reply_to.sender_id,
            "excerpt": m.reply_to.excerpt,
        }
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "seq": m.seq,
        "sender_id": m.sender_id,
        "client_id": m.client_id,
        "body": "" if m.deleted else m.body,
        "reply_to": reply,
        "created_at": iso(m.created_at),
        "edited_at": iso(m.edited_at),
        "deleted": m.deleted,
    }


def message_bytes(m: MessageRecord) -> bytes:
    return dumps(message(m))


def receipt(r: ReceiptRecord) -> JSON:
    return {
        "conversation_id": r.conversation_id,
        "user_id": r.user_id,
        "delivered_seq": r.delivered_seq,
        "read_seq": r.read_seq,
    }


def receipt_bytes(r: ReceiptRecord) -> bytes:
    return dumps(receipt(r))


def conversation(
    c: ConversationRecord,
    members: list[JSON],
    last_message: MessageRecord | None,
    receipts: list[ReceiptRecord],
    me: str | None = None,
    unread_count: int = 0,
) -> JSON:
    """A Conversation; with `me`, the per-user fields too (events carry none)."""
    out: JSON = {
        "id": c.id,
        "kind": c.kind,
        "title": c.title,
        "members": members,
        "created_at": iso(c.created_at),
        "last_seq": c.last_seq,
        "last_message": message(last_message) if last_message else None,
        "receipts": [
            {"user_id": r.user_id, "delivered_seq": r.delivered_seq, "read_seq": r.read_seq}
            for r in receipts
        ],
    }
    if me is not None:
        mine = next((r for r in receipts if r.user_id == me), None)
        out["unread_count"] = unread_count
        out["my_read_seq"] = mine.read_seq if mine else 0
        out["my_delivered_seq"] = mine.delivered_seq if mine else 0
    return out


def typing(conversation_id: str, user_id: str, is_typing: bool) -> bytes:
    return dumps({"conversation_id": conversation_id, "user_id": user_id, "typing": is_typing})


def presence(user_id: str, online: bool, last_seen_at: int | None) -> bytes:
    return dumps({"user_id": user_id, "online": online, "last_seen_at": iso(last_seen_at)})
