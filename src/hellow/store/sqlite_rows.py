"""SQLite rows to records, and the few statements several store operations share."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from .. import wire
from ..records import ConversationRecord, EventRecord, MessageRecord, ReplyRef, UserRecord, now_ms

EXCERPT = 140

USER_COLUMNS = "id, username, display_name, password_hash, created_at, last_seen_at"
CONV_COLUMNS = "id, kind, title, created_at, last_seq, last_activity_at, direct_key"
MSG_COLUMNS = (
    "m.id, m.conversation_id, m.seq, m.sender_id, m.client_id, m.body, m.created_at,"
    " m.edited_at, m.deleted, r.id, r.seq, r.sender_id, r.body, r.deleted"
)
MSG_FROM = "messages m LEFT JOIN messages r ON r.id = m.reply_to_id"


def user_row(row: tuple[Any, ...]) -> UserRecord:
    return UserRecord(*row)


def conv_row(row: tuple[Any, ...], member_ids: list[str]) -> ConversationRecord:
    return ConversationRecord(
        id=row[0],
        kind=row[1],
        title=row[2],
        created_at=row[3],
        last_seq=row[4],
        last_activity_at=row[5],
        direct_key=row[6],
        member_ids=member_ids,
    )


def msg_row(row: tuple[Any, ...]) -> MessageRecord:
    reply = None
    if row[9] is not None:
        reply = ReplyRef(
            id=row[9], seq=row[10], sender_id=row[11], excerpt="" if row[13] else row[12][:EXCERPT]
        )
    return MessageRecord(
        id=row[0],
        conversation_id=row[1],
        seq=row[2],
        sender_id=row[3],
        client_id=row[4],
        body="" if row[8] else row[5],
        reply_to=reply,
        created_at=row[6],
        edited_at=row[7],
        deleted=bool(row[8]),
    )


def member_ids_of(conn: sqlite3.Connection, conversation_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT user_id FROM members WHERE conversation_id = ? ORDER BY rowid", (conversation_id,)
    )
    return [r[0] for r in rows]


def get_conv(conn: sqlite3.Connection, conversation_id: str) -> ConversationRecord | None:
    row = conn.execute(f"SELECT {CONV_COLUMNS} FROM conversations WHERE id = ?", (conversation_id,))
    found = row.fetchone()
    return conv_row(found, member_ids_of(conn, conversation_id)) if found else None


def get_msg(conn: sqlite3.Connection, message_id: str) -> MessageRecord | None:
    sql = f"SELECT {MSG_COLUMNS} FROM {MSG_FROM} WHERE m.id = ?"
    row = conn.execute(sql, (message_id,)).fetchone()
    return msg_row(row) if row else None


def append_event(
    conn: sqlite3.Connection, kind: str, conversation_id: str, data: bytes, message_id: str | None
) -> EventRecord:
    cur = conn.execute(
        "INSERT INTO events (kind, conversation_id, message_id, data, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (kind, conversation_id, message_id, data, now_ms()),
    )
    assert cur.lastrowid is not None
    return EventRecord(cur.lastrowid, kind, conversation_id, data)


def refresh_message_events(conn: sqlite3.Connection, message_id: str) -> None:
    """Rewrite every stored payload that holds this message's text: its own events, the
    quotes in replies to it, and conversation events naming it as the last message."""
    affected = [message_id]
    affected += [
        r[0] for r in conn.execute("SELECT id FROM messages WHERE reply_to_id = ?", (message_id,))
    ]
    for mid in affected:
        record = get_msg(conn, mid)
        if record is None:
            continue
        fresh = wire.message(record)
        rows = conn.execute("SELECT id, kind, data FROM events WHERE message_id = ?", (mid,))
        for event_id, kind, data in rows.fetchall():
            if kind.startswith("message."):
                payload = orjson.dumps(fresh)
            else:
                obj = orjson.loads(data)
                obj["last_message"] = fresh
                payload = orjson.dumps(obj)
            conn.execute("UPDATE events SET data = ? WHERE id = ?", (payload, event_id))


def last_message_id(conn: sqlite3.Connection, conversation_id: str) -> str | None:
    row = conn.execute(
        "SELECT id FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 1",
        (conversation_id,),
    ).fetchone()
    return row[0] if row else None
