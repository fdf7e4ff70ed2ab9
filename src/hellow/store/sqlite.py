"""`SqliteStore`: the embedded default. One writer thread (group commit), one reader thread.

Presence is kept in memory: one process serves a SQLite deployment.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import orjson

from .. import wire
from ..errors import Conflict, NotFound, StoreCorrupt, Unavailable
from ..records import (
    ConversationRecord,
    EventRecord,
    MessageRecord,
    NewMessage,
    ReceiptRecord,
    ReplyRef,
    SessionRecord,
    UserRecord,
    new_id,
    now_ms,
)
from .sqlite_schema import connect, migrate
from .sqlite_writer import Writer

T = TypeVar("T")
EXCERPT = 140

_USER = "id, username, display_name, password_hash, created_at, last_seen_at"
_CONV = "id, kind, title, created_at, last_seq, last_activity_at, direct_key"
_MSG = (
    "m.id, m.conversation_id, m.seq, m.sender_id, m.client_id, m.body, m.created_at,"
    " m.edited_at, m.deleted, r.id, r.seq, r.sender_id, r.body, r.deleted"
)
_MSG_FROM = "messages m LEFT JOIN messages r ON r.id = m.reply_to_id"


def _user(row: tuple[Any, ...]) -> UserRecord:
    return UserRecord(*row)


def _conv(row: tuple[Any, ...], member_ids: list[str]) -> ConversationRecord:
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


def _msg(row: tuple[Any, ...]) -> MessageRecord:
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


def _member_ids(conn: sqlite3.Connection, conversation_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT user_id FROM members WHERE conversation_id = ? ORDER BY rowid", (conversation_id,)
    )
    return [r[0] for r in rows]


def _get_conv(conn: sqlite3.Connection, conversation_id: str) -> ConversationRecord | None:
    row = conn.execute(f"SELECT {_CONV} FROM conversations WHERE id = ?", (conversation_id,))
    found = row.fetchone()
    return _conv(found, _member_ids(conn, conversation_id)) if found else None


def _get_msg(conn: sqlite3.Connection, message_id: str) -> MessageRecord | None:
    row = conn.execute(f"SELECT {_MSG} FROM {_MSG_FROM} WHERE m.id = ?", (message_id,)).fetchone()
    return _msg(row) if row else None


def _append_event(
    conn: sqlite3.Connection, kind: str, conversation_id: str, data: bytes, message_id: str | None
) -> EventRecord:
    cur = conn.execute(
        "INSERT INTO events (kind, conversation_id, message_id, data, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (kind, conversation_id, message_id, data, now_ms()),
    )
    assert cur.lastrowid is not None
    return EventRecord(cur.lastrowid, kind, conversation_id, data)


def _refresh_message_events(conn: sqlite3.Connection, message_id: str) -> None:
    """Rewrite every stored payload that holds this message's text: its own events, the
    quotes in replies to it, and conversation events naming it as the last message."""
    affected = [message_id]
    affected += [
        r[0] for r in conn.execute("SELECT id FROM messages WHERE reply_to_id = ?", (message_id,))
    ]
    for mid in affected:
        record = _get_msg(conn, mid)
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


class SqliteStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._writer: Writer | None = None
        self._read_conn: sqlite3.Connection | None = None
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="sqlite-reader")
        self._presence: dict[str, dict[str, int]] = {}

    # -- plumbing --------------------------------------------------------------
    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(str(self.path))
        try:
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(f"cannot open {self.path}: {exc}") from exc
        self._writer = Writer(conn)
        self._read_conn = connect(str(self.path))

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.to_thread(self._writer.close)
            self._writer = None
        self._reader.shutdown(wait=True)
        if self._read_conn is not None:
            self._read_conn.close()
            self._read_conn = None

    async def _write(self, fn: Callable[[sqlite3.Connection], T], scrub: bool = False) -> T:
        if self._writer is None:
            raise Unavailable("store is closed")
        try:
            return await self._writer.run(fn, scrub)
        except sqlite3.DatabaseError as exc:
            raise _translate(exc) from exc

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._read_conn
        if conn is None:
            raise Unavailable("store is closed")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._reader, fn, conn)
        except sqlite3.DatabaseError as exc:
            raise _translate(exc) from exc

    async def ping(self) -> None:
        await self._read(lambda c: c.execute("SELECT 1").fetchone())

    # -- users -------------------------------------------------------------------
    async def create_user(self, user: UserRecord) -> None:
        def run(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    f"INSERT INTO users ({_USER}) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        user.id,
                        user.username,
                        user.display_name,
                        user.password_hash,
                        user.created_at,
                        user.last_seen_at,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict("That username is taken.", field="username") from exc

        await self._write(run)

    async def get_user(self, user_id: str) -> UserRecord | None:
        return (await self.get_users([user_id])).get(user_id)

    async def get_user_by_name(self, username: str) -> UserRecord | None:
        def run(conn: sqlite3.Connection) -> UserRecord | None:
            q = f"SELECT {_USER} FROM users WHERE username = ?"
            row = conn.execute(q, (username.lower(),)).fetchone()
            return _user(row) if row else None

        return await self._read(run)

    async def get_users(self, user_ids: Iterable[str]) -> dict[str, UserRecord]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}

        def run(conn: sqlite3.Connection) -> dict[str, UserRecord]:
            marks = ",".join("?" * len(ids))
            rows = conn.execute(f"SELECT {_USER} FROM users WHERE id IN ({marks})", ids)
            return {r[0]: _user(r) for r in rows}

        return await self._read(run)

    async def search_users(self, prefix: str, limit: int) -> list[UserRecord]:
        like = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"

        def run(conn: sqlite3.Connection) -> list[UserRecord]:
            rows = conn.execute(
                f"SELECT {_USER} FROM users WHERE username LIKE ? ESCAPE '\\'"
                " OR lower(display_name) LIKE ? ESCAPE '\\' ORDER BY username LIMIT ?",
                (like, like, limit),
            )
            return [_user(r) for r in rows]

        return await self._read(run)

    async def set_last_seen(self, user_id: str, at: int) -> None:
        await self._write(
            lambda c: c.execute("UPDATE users SET last_seen_at = ? WHERE id = ?", (at, user_id))
        )

    # -- sessions ----------------------------------------------------------------
    async def create_session(self, session: SessionRecord) -> None:
        s = session
        await self._write(
            lambda c: c.execute(
                "INSERT INTO sessions (id, user_id, created_at, expires_at, last_active_at,"
                " revoked) VALUES (?, ?, ?, ?, ?, ?)",
                (s.id, s.user_id, s.created_at, s.expires_at, s.last_active_at, int(s.revoked)),
            )
        )

    async def get_session(self, session_id: str) -> SessionRecord | None:
        def run(conn: sqlite3.Connection) -> SessionRecord | None:
            row = conn.execute(
                "SELECT id, user_id, created_at, expires_at, last_active_at, revoked"
                " FROM sessions WHERE id = ?",
                (session_id,),
            ).fetchone()
            if row is None:
                return None
            sid, uid, created, expires, active, revoked = row
            return SessionRecord(sid, uid, created, expires, active, bool(revoked))

        return await self._read(run)

    async def touch_session(self, session_id: str, at: int) -> None:
        await self._write(
            lambda c: c.execute(
                "UPDATE sessions SET last_active_at = max(last_active_at, ?) WHERE id = ?",
                (at, session_id),
            )
        )

    async def revoke_session(self, session_id: str) -> None:
        await self._write(
            lambda c: c.execute("UPDATE sessions SET revoked = 1 WHERE id = ?", (session_id,))
        )

    # -- throttling ----------------------------------------------------------------
    async def throttle_hit(self, key: str, window_s: int) -> tuple[int, float]:
        def run(conn: sqlite3.Connection) -> tuple[int, float]:
            now = now_ms()
            row = conn.execute(
                "SELECT hits, window_end FROM throttle WHERE key = ?", (key,)
            ).fetchone()
            if row is None or row[1] <= now:
                hits, end = 1, now + window_s * 1000
            else:
                hits, end = row[0] + 1, row[1]
            conn.execute(
                "INSERT OR REPLACE INTO throttle (key, hits, window_end) VALUES (?, ?, ?)",
                (key, hits, end),
            )
            return hits, (end - now) / 1000

        return await self._write(run)

    async def throttle_peek(self, key: str) -> tuple[int, float]:
        def run(conn: sqlite3.Connection) -> tuple[int, float]:
            now = now_ms()
            row = conn.execute(
                "SELECT hits, window_end FROM throttle WHERE key = ?", (key,)
            ).fetchone()
            if row is None or row[1] <= now:
                return 0, 0.0
            return row[0], (row[1] - now) / 1000

        return await self._read(run)

    async def throttle_clear(self, key: str) -> None:
        await self._write(lambda c: c.execute("DELETE FROM throttle WHERE key = ?", (key,)))

    # -- presence (in memory: one process) -------------------------------------------
    async def presence_join(self, user_id: str, instance_id: str) -> bool:
        counts = self._presence.setdefault(user_id, {})
        was_online = sum(counts.values()) > 0
        counts[instance_id] = counts.get(instance_id, 0) + 1
        return not was_online

    async def presence_leave(self, user_id: str, instance_id: str, at: int) -> bool:
        counts = self._presence.get(user_id, {})
        left = counts.get(instance_id, 0) - 1
        if left > 0:
            counts[instance_id] = left
        else:
            counts.pop(instance_id, None)
        if counts:
            return False
        self._presence.pop(user_id, None)
        await self.set_last_seen(user_id, at)
        return True

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        return {u for u in user_ids if self._presence.get(u)}

    # -- conversations ----------------------------------------------------------------
    async def create_conversation(
        self, conversation: ConversationRecord, data: bytes
    ) -> tuple[ConversationRecord, EventRecord | None]:
        c = conversation

        def run(conn: sqlite3.Connection) -> tuple[ConversationRecord, EventRecord | None]:
            if c.direct_key is not None:
                row = conn.execute(
                    "SELECT id FROM conversations WHERE direct_key = ?", (c.direct_key,)
                ).fetchone()
                if row is not None:
                    existing = _get_conv(conn, row[0])
                    assert existing is not None
                    return existing, None
            conn.execute(
                f"INSERT INTO conversations ({_CONV}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (c.id, c.kind, c.title, c.created_at, 0, c.created_at, c.direct_key),
            )
            conn.executemany(
                "INSERT INTO members (conversation_id, user_id, joined_at) VALUES (?, ?, ?)",
                [(c.id, uid, c.created_at) for uid in dict.fromkeys(c.member_ids)],
            )
            event = _append_event(conn, "conversation.created", c.id, data, None)
            created = _get_conv(conn, c.id)
            assert created is not None
            return created, event

        return await self._write(run)

    async def get_conversation(self, conversation_id: str) -> ConversationRecord | None:
        return await self._read(lambda conn: _get_conv(conn, conversation_id))

    async def list_conversations(self, user_id: str) -> list[ConversationRecord]:
        def run(conn: sqlite3.Connection) -> list[ConversationRecord]:
            rows = conn.execute(
                f"SELECT {', '.join('c.' + f for f in _CONV.split(', '))}"
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
            return [_conv(r, members[r[0]]) for r in rows]

        return await self._read(run)

    async def add_members(
        self, conversation_id: str, user_ids: list[str], data: bytes
    ) -> tuple[ConversationRecord, EventRecord | None]:
        def run(conn: sqlite3.Connection) -> tuple[ConversationRecord, EventRecord | None]:
            before = _get_conv(conn, conversation_id)
            if before is None:
                raise NotFound("No such conversation.")
            added = [u for u in dict.fromkeys(user_ids) if u not in before.member_ids]
            if not added:
                return before, None
            conn.executemany(
                "INSERT INTO members (conversation_id, user_id, joined_at) VALUES (?, ?, ?)",
                [(conversation_id, u, now_ms()) for u in added],
            )
            last = _last_message_id(conn, conversation_id)
            event = _append_event(conn, "conversation.updated", conversation_id, data, last)
            after = _get_conv(conn, conversation_id)
            assert after is not None
            return after, event

        return await self._write(run)

    async def remove_member(
        self, conversation_id: str, user_id: str, data: bytes
    ) -> tuple[ConversationRecord, EventRecord | None]:
        def run(conn: sqlite3.Connection) -> tuple[ConversationRecord, EventRecord | None]:
            cur = conn.execute(
                "DELETE FROM members WHERE conversation_id = ? AND user_id = ?",
                (conversation_id, user_id),
            )
            after = _get_conv(conn, conversation_id)
            if after is None:
                raise NotFound("No such conversation.")
            if cur.rowcount == 0:
                return after, None
            last = _last_message_id(conn, conversation_id)
            event = _append_event(conn, "conversation.updated", conversation_id, data, last)
            return after, event

        return await self._write(run)

    async def contacts(self, user_id: str) -> set[str]:
        def run(conn: sqlite3.Connection) -> set[str]:
            rows = conn.execute(
                "SELECT DISTINCT o.user_id FROM members m"
                " JOIN members o ON o.conversation_id = m.conversation_id"
                " WHERE m.user_id = ? AND o.user_id != ?",
                (user_id, user_id),
            )
            return {r[0] for r in rows}

        return await self._read(run)

    # -- receipts ----------------------------------------------------------------------
    async def get_receipts(self, conversation_id: str) -> list[ReceiptRecord]:
        def run(conn: sqlite3.Connection) -> list[ReceiptRecord]:
            rows = conn.execute(
                "SELECT user_id, delivered_seq, read_seq FROM members"
                " WHERE conversation_id = ? ORDER BY rowid",
                (conversation_id,),
            )
            return [ReceiptRecord(conversation_id, *r) for r in rows]

        return await self._read(run)

    async def update_receipt(
        self, conversation_id: str, user_id: str, delivered_seq: int | None, read_seq: int | None
    ) -> tuple[ReceiptRecord, EventRecord | None]:
        def run(conn: sqlite3.Connection) -> tuple[ReceiptRecord, EventRecord | None]:
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
            return receipt, _append_event(conn, "receipt.updated", conversation_id, data, None)

        return await self._write(run)

    async def unread_count(self, conversation_id: str, user_id: str) -> int:
        def run(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT count(*) FROM messages WHERE conversation_id = ? AND deleted = 0"
                " AND sender_id != ? AND seq > coalesce((SELECT read_seq FROM members"
                " WHERE conversation_id = ? AND user_id = ?), 0)",
                (conversation_id, user_id, conversation_id, user_id),
            ).fetchone()
            return int(row[0])

        return await self._read(run)

    # -- messages --------------------------------------------------------------------------
    async def append_message(self, new: NewMessage) -> tuple[MessageRecord, EventRecord | None]:
        def run(conn: sqlite3.Connection) -> tuple[MessageRecord, EventRecord | None]:
            row = conn.execute(
                "SELECT id FROM messages WHERE conversation_id = ? AND sender_id = ?"
                " AND client_id = ?",
                (new.conversation_id, new.sender_id, new.client_id),
            ).fetchone()
            if row is not None:
                first = _get_msg(conn, row[0])
                assert first is not None
                return first, None
            if new.reply_to_id is not None:
                quoted = conn.execute(
                    "SELECT 1 FROM messages WHERE id = ? AND conversation_id = ?",
                    (new.reply_to_id, new.conversation_id),
                ).fetchone()
                if quoted is None:
                    raise NotFound("The message replied to is not in this conversation.")
            cur = conn.execute(
                "UPDATE conversations SET last_seq = last_seq + 1,"
                " last_activity_at = max(last_activity_at, ?) WHERE id = ? RETURNING last_seq",
                (new.created_at, new.conversation_id),
            ).fetchone()
            if cur is None:
                raise NotFound("No such conversation.")
            message_id = new_id()
            conn.execute(
                "INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, body,"
                " reply_to_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    message_id,
                    new.conversation_id,
                    cur[0],
                    new.sender_id,
                    new.client_id,
                    new.body,
                    new.reply_to_id,
                    new.created_at,
                ),
            )
            record = _get_msg(conn, message_id)
            assert record is not None
            data = wire.message_bytes(record)
            event = _append_event(conn, "message.created", new.conversation_id, data, message_id)
            return record, event

        return await self._write(run)

    async def get_message(self, conversation_id: str, message_id: str) -> MessageRecord | None:
        def run(conn: sqlite3.Connection) -> MessageRecord | None:
            record = _get_msg(conn, message_id)
            return record if record and record.conversation_id == conversation_id else None

        return await self._read(run)

    async def last_message(self, conversation_id: str) -> MessageRecord | None:
        def run(conn: sqlite3.Connection) -> MessageRecord | None:
            row = conn.execute(
                f"SELECT {_MSG} FROM {_MSG_FROM} WHERE m.conversation_id = ?"
                " ORDER BY m.seq DESC LIMIT 1",
                (conversation_id,),
            ).fetchone()
            return _msg(row) if row else None

        return await self._read(run)

    async def list_messages(
        self, conversation_id: str, before: int | None, after: int | None, limit: int
    ) -> tuple[list[MessageRecord], bool]:
        def run(conn: sqlite3.Connection) -> tuple[list[MessageRecord], bool]:
            if after is not None:
                cond, args, order = "m.seq > ?", [after], "ASC"
                if before is not None:
                    cond += " AND m.seq < ?"
                    args.append(before)
            else:
                cond, args, order = "m.seq < ?", [before if before is not None else 2**62], "DESC"
            rows = conn.execute(
                f"SELECT {_MSG} FROM {_MSG_FROM} WHERE m.conversation_id = ? AND {cond}"
                f" ORDER BY m.seq {order} LIMIT ?",
                (conversation_id, *args, limit + 1),
            ).fetchall()
            more = len(rows) > limit
            page = [_msg(r) for r in rows[:limit]]
            if order == "DESC":
                page.reverse()
            return page, more

        return await self._read(run)

    async def edit_message(
        self, conversation_id: str, message_id: str, body: str, at: int
    ) -> tuple[MessageRecord, EventRecord]:
        return await self._change_message(conversation_id, message_id, "message.updated", body, at)

    async def delete_message(
        self, conversation_id: str, message_id: str, at: int
    ) -> tuple[MessageRecord, EventRecord]:
        return await self._change_message(conversation_id, message_id, "message.deleted", None, at)

    async def _change_message(
        self, conversation_id: str, message_id: str, kind: str, body: str | None, at: int
    ) -> tuple[MessageRecord, EventRecord]:
        def run(conn: sqlite3.Connection) -> tuple[MessageRecord, EventRecord]:
            if body is None:  # delete: the text leaves storage, the row stays as a tombstone
                sql = (
                    "UPDATE messages SET body = '', deleted = 1"
                    " WHERE id = ? AND conversation_id = ?"
                )
                args: tuple[Any, ...] = (message_id, conversation_id)
            else:
                sql = (
                    "UPDATE messages SET body = ?, edited_at = ? WHERE id = ?"
                    " AND conversation_id = ? AND deleted = 0"
                )
                args = (body, at, message_id, conversation_id)
            if conn.execute(sql, args).rowcount == 0:
                raise NotFound("No such message.")
            record = _get_msg(conn, message_id)
            assert record is not None
            event = _append_event(
                conn, kind, conversation_id, wire.message_bytes(record), message_id
            )
            _refresh_message_events(conn, message_id)
            return record, event

        return await self._write(run, scrub=True)

    # -- the event log ------------------------------------------------------------------------
    async def last_event_id(self) -> int:
        def run(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
            return int(row[0]) if row else 0

        return await self._read(run)

    async def first_event_id(self) -> int:
        def run(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT min(id) FROM events").fetchone()
            if row[0] is not None:
                return int(row[0])
            last = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
            return (int(last[0]) if last else 0) + 1

        return await self._read(run)

    async def events_for_user(self, user_id: str, after_id: int, limit: int) -> list[EventRecord]:
        def run(conn: sqlite3.Connection) -> list[EventRecord]:
            rows = conn.execute(
                "SELECT id, kind, conversation_id, data FROM events WHERE id > ?"
                " AND conversation_id IN (SELECT conversation_id FROM members WHERE user_id = ?)"
                " ORDER BY id LIMIT ?",
                (after_id, user_id, limit),
            )
            return [EventRecord(*r) for r in rows]

        return await self._read(run)

    async def events_between(self, after_id: int, upto_id: int) -> list[EventRecord]:
        def run(conn: sqlite3.Connection) -> list[EventRecord]:
            rows = conn.execute(
                "SELECT id, kind, conversation_id, data FROM events WHERE id > ? AND id <= ?"
                " ORDER BY id",
                (after_id, upto_id),
            )
            return [EventRecord(*r) for r in rows]

        return await self._read(run)

    async def trim_events(self, before_ms: int) -> int:
        def run(conn: sqlite3.Connection) -> int:
            # Keep the newest event, so the id sequence and first_event_id stay meaningful.
            cur = conn.execute(
                "DELETE FROM events WHERE created_at < ? AND id < (SELECT max(id) FROM events)",
                (before_ms,),
            )
            return cur.rowcount

        return await self._write(run)


def _last_message_id(conn: sqlite3.Connection, conversation_id: str) -> str | None:
    row = conn.execute(
        "SELECT id FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 1",
        (conversation_id,),
    ).fetchone()
    return row[0] if row else None


def _translate(exc: sqlite3.DatabaseError) -> Exception:
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return Unavailable("The database is busy; try again.")
    if isinstance(exc, sqlite3.IntegrityError):
        return Conflict(str(exc))
    return StoreCorrupt(f"The database could not be read: {exc}")
