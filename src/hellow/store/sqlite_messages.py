"""The message and event-log statements of `SqliteStore`, each run by its writer or reader
thread inside one transaction."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any

from .. import wire
from ..errors import NotFound
from ..records import EventRecord, MessageRecord, NewMessage, ReplyRef, new_id
from .sqlite_rows import (
    EXCERPT,
    MSG_COLUMNS,
    MSG_FROM,
    append_event,
    get_msg,
    member_ids_of,
    msg_row,
    refresh_message_events,
)


def append_message(
    conn: sqlite3.Connection, new: NewMessage
) -> tuple[MessageRecord, EventRecord | None]:
    _require_member(conn, new.conversation_id, new.sender_id)
    row = conn.execute(
        "SELECT id FROM messages WHERE conversation_id = ? AND sender_id = ? AND client_id = ?",
        (new.conversation_id, new.sender_id, new.client_id),
    ).fetchone()
    if row is not None:  # the same client_id again: the first message, and no new event
        first = get_msg(conn, row[0])
        assert first is not None
        return first, None
    reply = None
    if new.reply_to_id is not None:
        quoted = conn.execute(
            "SELECT seq, sender_id, body, deleted FROM messages"
            " WHERE id = ? AND conversation_id = ?",
            (new.reply_to_id, new.conversation_id),
        ).fetchone()
        if quoted is None:
            raise NotFound("The message replied to is not in this conversation.")
        seq_, sender, body, deleted = quoted
        reply = ReplyRef(new.reply_to_id, seq_, sender, "" if deleted else body[:EXCERPT])
    seq = conn.execute(
        "UPDATE conversations SET last_seq = last_seq + 1,"
        " last_activity_at = max(last_activity_at, ?) WHERE id = ? RETURNING last_seq",
        (new.created_at, new.conversation_id),
    ).fetchone()
    if seq is None:
        raise NotFound("No such conversation.")
    record = MessageRecord(
        id=new_id(),
        conversation_id=new.conversation_id,
        seq=seq[0],
        sender_id=new.sender_id,
        client_id=new.client_id,
        body=new.body,
        reply_to=reply,
        created_at=new.created_at,
    )
    conn.execute(
        "INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, body,"
        " reply_to_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.id,
            record.conversation_id,
            record.seq,
            record.sender_id,
            record.client_id,
            record.body,
            new.reply_to_id,
            record.created_at,
        ),
    )
    data = wire.message_bytes(record)
    event = append_event(conn, "message.created", new.conversation_id, data, record.id)
    return record, _with_audience(conn, event)


def _require_member(conn: sqlite3.Connection, conversation_id: str, user_id: str) -> None:
    """Checked again inside the write: whoever left meanwhile can no longer post."""
    found = conn.execute(
        "SELECT 1 FROM members WHERE conversation_id = ? AND user_id = ?",
        (conversation_id, user_id),
    ).fetchone()
    if found is None:
        raise NotFound("No such conversation.")


def _with_audience(conn: sqlite3.Connection, event: EventRecord) -> EventRecord:
    """The members as of this transaction: nobody who left before it sees the event."""
    return replace(event, audience=tuple(member_ids_of(conn, event.conversation_id)))


def list_messages(
    conn: sqlite3.Connection,
    conversation_id: str,
    before: int | None,
    after: int | None,
    limit: int,
) -> tuple[list[MessageRecord], bool]:
    if after is not None:
        cond, args, order = "m.seq > ?", [after], "ASC"
        if before is not None:
            cond += " AND m.seq < ?"
            args.append(before)
    else:
        cond, args, order = "m.seq < ?", [before if before is not None else 2**62], "DESC"
    rows = conn.execute(
        f"SELECT {MSG_COLUMNS} FROM {MSG_FROM} WHERE m.conversation_id = ? AND {cond}"
        f" ORDER BY m.seq {order} LIMIT ?",
        (conversation_id, *args, limit + 1),
    ).fetchall()
    more = len(rows) > limit
    page = [msg_row(r) for r in rows[:limit]]
    if order == "DESC":
        page.reverse()
    return page, more


def change_message(
    conn: sqlite3.Connection,
    conversation_id: str,
    message_id: str,
    body: str | None,
    at: int,
) -> tuple[MessageRecord, EventRecord]:
    """Edit (`body` given) or delete (`body` None: the text leaves storage, the row stays
    as a tombstone); either way every stored payload holding the text is rewritten."""
    sender = conn.execute("SELECT sender_id FROM messages WHERE id = ?", (message_id,)).fetchone()
    if sender is not None:
        _require_member(conn, conversation_id, sender[0])
    if body is None:
        kind = "message.deleted"
        sql = "UPDATE messages SET body = '', deleted = 1 WHERE id = ? AND conversation_id = ?"
        args: tuple[Any, ...] = (message_id, conversation_id)
    else:
        kind = "message.updated"
        sql = (
            "UPDATE messages SET body = ?, edited_at = ? WHERE id = ?"
            " AND conversation_id = ? AND deleted = 0"
        )
        args = (body, at, message_id, conversation_id)
    if conn.execute(sql, args).rowcount == 0:
        raise NotFound("No such message.")
    record = get_msg(conn, message_id)
    assert record is not None
    event = append_event(conn, kind, conversation_id, wire.message_bytes(record), message_id)
    refresh_message_events(conn, message_id)
    return record, _with_audience(conn, event)


def last_event_id(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    return int(row[0]) if row else 0


def first_event_id(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT min(id) FROM events").fetchone()
    return int(row[0]) if row[0] is not None else last_event_id(conn) + 1


def events_for_user(
    conn: sqlite3.Connection, user_id: str, after_id: int, limit: int
) -> list[EventRecord]:
    rows = conn.execute(
        "SELECT id, kind, conversation_id, data FROM events WHERE id > ?"
        " AND conversation_id IN (SELECT conversation_id FROM members WHERE user_id = ?)"
        " ORDER BY id LIMIT ?",
        (after_id, user_id, limit),
    )
    return [EventRecord(*r) for r in rows]


def events_between(conn: sqlite3.Connection, after_id: int, upto_id: int) -> list[EventRecord]:
    rows = conn.execute(
        "SELECT id, kind, conversation_id, data FROM events WHERE id > ? AND id <= ? ORDER BY id",
        (after_id, upto_id),
    )
    return [EventRecord(*r) for r in rows]


def trim_events(conn: sqlite3.Connection, before_ms: int) -> int:
    # Keep the newest event, so the id sequence and first_event_id stay meaningful.
    cur = conn.execute(
        "DELETE FROM events WHERE created_at < ? AND id < (SELECT max(id) FROM events)",
        (before_ms,),
    )
    return cur.rowcount
