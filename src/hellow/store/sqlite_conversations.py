"""The conversation, membership and receipt statements of `SqliteStore`, each run by
its writer (on the event loop, in a group's transaction) or as an inline read."""

from __future__ import annotations

import sqlite3

from .. import wire
from ..errors import NotFound
from ..records import ConversationRecord, EventRecord, ReceiptRecord, now_ms
from .sqlite_rows import CONV_COLUMNS, append_event, conv_row, get_conv, last_message_id


def create_conversation(
    conn: sqlite3.Connection, c: ConversationRecord, data: bytes
) -> tuple[ConversationRecord, EventRecord | None]:
    if c.direct_key is not None:
        row = conn.execute(
            "SELECT id FROM conversations WHERE direct_key = ?", (c.direct_key,)
        ).fetchone()
        if row is not None:
            existing = get_conv(conn, row[0])
            assert existing is not None
            return existing, None
    conn.execute(
        f"INSERT INTO conversations ({CONV_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (c.id, c.kind, c.title, c.created_at, 0, c.created_at, c.direct_key),
    )
    conn.executemany(
        "INSERT INTO members (conversation_id, user_id, joined_at) VALUES (?, ?, ?)",
        [(c.id, uid, c.created_at) for uid in dict.fromkeys(c.member_ids)],
    )
    event = append_event(conn, "conversation.created", c.id, data, None)
    created = get_conv(conn, c.id)
    assert created is not None
    return created, event


def list_conversations(conn: sqlite3.Connection, user_id: str) -> list[ConversationRecord]:
    rows = conn.execute(
        f"SELECT {', '.join('c.' + f for f in CONV_COLUMNS.split(', '))}"
        " FROM conversations c JOIN members m ON m.conversation_id = c.id"
        " WHERE m.user_id = ? ORDER BY c.last_activity_at DESC, c.id",
        (user_id,),
    ).fetchall()
    if not rows:
        return []
    ids = [r[0] for r in rows]
    members: dict[str, list[str]] = {i: [] for i in ids}
    marks = ",".join("?" * len(ids))
    for cid, uid in conn.execute(
        f"SELECT conversation_id, user_id FROM members WHERE conversation_id IN ({marks})"
        " ORDER BY rowid",
        ids,
    ):
        members[cid].append(uid)
    return [conv_row(r, members[r[0]]) for r in rows]


def add_members(
    conn: sqlite3.Connection, conversation_id: str, user_ids: list[str], data: bytes
) -> tuple[ConversationRecord, EventRecord | None]:
    before = get_conv(conn, conversation_id)
    if before is None:
        raise NotFound("No such conversation.")
    added = [u for u in dict.fromkeys(user_ids) if u not in before.member_ids]
    if not added:
        return before, None
    conn.executemany(
        "INSERT INTO members (conversation_id, user_id, joined_at) VALUES (?, ?, ?)",
        [(conversation_id, u, now_ms()) for u in added],
    )
    last = last_message_id(conn, conversation_id)
    event = append_event(conn, "conversation.updated", conversation_id, data, last)
    after = get_conv(conn, conversation_id)
    assert after is not None
    return after, event


def remove_member(
    conn: sqlite3.Connection, conversation_id: str, user_id: str, data: bytes
) -> tuple[ConversationRecord, EventRecord | None]:
    cur = conn.execute(
        "DELETE FROM members WHERE conversation_id = ? AND user_id = ?",
        (conversation_id, user_id),
    )
    after = get_conv(conn, conversation_id)
    if after is None:
        raise NotFound("No such conversation.")
    if cur.rowcount == 0:
        return after, None
    last = last_message_id(conn, conversation_id)
    event = append_event(conn, "conversation.updated", conversation_id, data, last)
    return after, event


def contacts(conn: sqlite3.Connection, user_id: str) -> set[str]:
    rows = conn.execute(
        "SELECT DISTINCT o.user_id FROM members m"
        " JOIN members o ON o.conversation_id = m.conversation_id"
        " WHERE m.user_id = ? AND o.user_id != ?",
        (user_id, user_id),
    )
    return {r[0] for r in rows}


def get_receipts(conn: sqlite3.Connection, conversation_id: str) -> list[ReceiptRecord]:
    rows = conn.execute(
        "SELECT user_id, delivered_seq, read_seq FROM members"
        " WHERE conversation_id = ? ORDER BY rowid",
        (conversation_id,),
    )
    return [ReceiptRecord(conversation_id, *r) for r in rows]


def update_receipt(
    conn: sqlite3.Connection,
    conversation_id: str,
    user_id: str,
    delivered_seq: int | None,
    read_seq: int | None,
) -> tuple[ReceiptRecord, EventRecord | None]:
    row = conn.execute(
        "SELECT m.delivered_seq, m.read_seq, c.last_seq FROM members m"
        " JOIN conversations c ON c.id = m.conversation_id"
        " WHERE m.conversation_id = ? AND m.user_id = ?",
        (conversation_id, user_id),
    ).fetchone()
    if row is None:
        raise NotFound("No such conversation.")
    delivered, read, last_seq = row
    new_read = max(read, min(read_seq or 0, last_seq))
    new_delivered = max(delivered, min(delivered_seq or 0, last_seq), new_read)
    receipt = ReceiptRecord(conversation_id, user_id, new_delivered, new_read)
    if (new_delivered, new_read) == (delivered, read):
        return receipt, None
    conn.execute(
        "UPDATE members SET delivered_seq = ?, read_seq = ?"
        " WHERE conversation_id = ? AND user_id = ?",
        (new_delivered, new_read, conversation_id, user_id),
    )
    data = wire.receipt_bytes(receipt)
    return receipt, append_event(conn, "receipt.updated", conversation_id, data, None)


def unread_count(conn: sqlite3.Connection, conversation_id: str, user_id: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM messages WHERE conversation_id = ? AND deleted = 0"
        " AND sender_id != ? AND seq > coalesce((SELECT read_seq FROM members"
        " WHERE conversation_id = ? AND user_id = ?), 0)",
        (conversation_id, user_id, conversation_id, user_id),
    ).fetchone()
    return int(row[0])
