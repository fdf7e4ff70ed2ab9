"""`SqliteStore`: the embedded default. One writer thread (group commit); reads inline.

Presence is kept in memory: one process serves a SQLite deployment.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from ..errors import Conflict, StoreCorrupt, Unavailable
from ..records import (
    ConversationRecord,
    EventRecord,
    MessageRecord,
    NewMessage,
    ReceiptRecord,
    SessionRecord,
    UserRecord,
    now_ms,
)
from . import sqlite_conversations as qc
from . import sqlite_messages as q
from .sqlite_rows import (
    MSG_COLUMNS,
    MSG_FROM,
    USER_COLUMNS,
    get_conv,
    get_msg,
    msg_row,
    user_row,
)
from .sqlite_schema import connect, migrate
from .sqlite_writer import Writer

T = TypeVar("T")
EXCERPT = 140


class SqliteStore:
    publishes_events = False  # the caller publishes on the in-process bus

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._writer: Writer | None = None
        self._read_conn: sqlite3.Connection | None = None
        self._presence: dict[str, dict[str, int]] = {}

    # -- plumbing --------------------------------------------------------------
    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = connect(str(self.path))
            migrate(conn)
            self._read_conn = connect(str(self.path))
        except sqlite3.DatabaseError as exc:
            # Never "repaired" by starting afresh: the operator decides what to do with it.
            raise StoreCorrupt(
                f"{self.path} cannot be used ({exc}); nothing was changed. Restore a backup "
                "or move the file aside to start with an empty database."
            ) from exc
        self._writer = Writer(conn)

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
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
            # Reads run on the event loop's own thread. Every read here is an indexed
            # lookup of microseconds, and WAL readers never wait for the writer, while a
            # hop to a reader thread costs more than the query (and GIL hand-offs besides).
            return fn(conn)
        except sqlite3.DatabaseError as exc:
            raise _translate(exc) from exc

    async def ping(self) -> None:
        await self._read(lambda c: c.execute("SELECT 1").fetchone())

    # -- users -------------------------------------------------------------------
    async def create_user(self, user: UserRecord) -> None:
        def run(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    f"INSERT INTO users ({USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
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
            q = f"SELECT {USER_COLUMNS} FROM users WHERE username = ?"
            row = conn.execute(q, (username.lower(),)).fetchone()
            return user_row(row) if row else None

        return await self._read(run)

    async def get_users(self, user_ids: Iterable[str]) -> dict[str, UserRecord]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}

        def run(conn: sqlite3.Connection) -> dict[str, UserRecord]:
            marks = ",".join("?" * len(ids))
            rows = conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE id IN ({marks})", ids)
            return {r[0]: user_row(r) for r in rows}

        return await self._read(run)

    async def search_users(self, prefix: str, limit: int) -> list[UserRecord]:
        like = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"

        def run(conn: sqlite3.Connection) -> list[UserRecord]:
            rows = conn.execute(
                f"SELECT {USER_COLUMNS} FROM users WHERE username LIKE ? ESCAPE '\\'"
                " OR lower(display_name) LIKE ? ESCAPE '\\' ORDER BY username LIMIT ?",
                (like, like, limit),
            )
            return [user_row(r) for r in rows]

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
        if sum(counts.values()) <= 1:
            # The last stream: last_seen_at is written before the user reads as offline.
            await self.set_last_seen(user_id, at)
        counts = self._presence.get(user_id, {})
        left = counts.get(instance_id, 0) - 1
        if left > 0:
            counts[instance_id] = left
        else:
            counts.pop(instance_id, None)
        if counts:
            return False
        self._presence.pop(user_id, None)
        return True

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        return {u for u in user_ids if self._presence.get(u)}

    # -- conversations ----------------------------------------------------------------
    async def create_conversation(
        self, conversation: ConversationRecord, data: bytes
    ) -> tuple[ConversationRecord, EventRecord | None]:
        return await self._write(lambda conn: qc.create_conversation(conn, conversation, data))

    async def get_conversation(self, conversation_id: str) -> ConversationRecord | None:
        return await self._read(lambda conn: get_conv(conn, conversation_id))

    async def list_conversations(self, user_id: str) -> list[ConversationRecord]:
        return await self._read(lambda conn: qc.list_conversations(conn, user_id))

    async def add_members(
        self, conversation_id: str, user_ids: list[str], data: bytes
    ) -> tuple[ConversationRecord, EventRecord | None]:
        return await self._write(lambda conn: qc.add_members(conn, conversation_id, user_ids, data))

    async def remove_member(
        self, conversation_id: str, user_id: str, data: bytes
    ) -> tuple[ConversationRecord, EventRecord | None]:
        return await self._write(
            lambda conn: qc.remove_member(conn, conversation_id, user_id, data)
        )

    async def contacts(self, user_id: str) -> set[str]:
        return await self._read(lambda conn: qc.contacts(conn, user_id))

    # -- receipts ----------------------------------------------------------------------
    async def get_receipts(self, conversation_id: str) -> list[ReceiptRecord]:
        return await self._read(lambda conn: qc.get_receipts(conn, conversation_id))

    async def update_receipt(
        self, conversation_id: str, user_id: str, delivered_seq: int | None, read_seq: int | None
    ) -> tuple[ReceiptRecord, EventRecord | None]:
        return await self._write(
            lambda conn: qc.update_receipt(conn, conversation_id, user_id, delivered_seq, read_seq)
        )

    async def unread_count(self, conversation_id: str, user_id: str) -> int:
        return await self._read(lambda conn: qc.unread_count(conn, conversation_id, user_id))

    # -- messages --------------------------------------------------------------------------
    async def append_message(self, new: NewMessage) -> tuple[MessageRecord, EventRecord | None]:
        return await self._write(lambda conn: q.append_message(conn, new))

    async def get_message(self, conversation_id: str, message_id: str) -> MessageRecord | None:
        def run(conn: sqlite3.Connection) -> MessageRecord | None:
            record = get_msg(conn, message_id)
            return record if record and record.conversation_id == conversation_id else None

        return await self._read(run)

    async def last_message(self, conversation_id: str) -> MessageRecord | None:
        def run(conn: sqlite3.Connection) -> MessageRecord | None:
            row = conn.execute(
                f"SELECT {MSG_COLUMNS} FROM {MSG_FROM} WHERE m.conversation_id = ?"
                " ORDER BY m.seq DESC LIMIT 1",
                (conversation_id,),
            ).fetchone()
            return msg_row(row) if row else None

        return await self._read(run)

    async def list_messages(
        self, conversation_id: str, before: int | None, after: int | None, limit: int
    ) -> tuple[list[MessageRecord], bool]:
        return await self._read(
            lambda conn: q.list_messages(conn, conversation_id, before, after, limit)
        )

    async def edit_message(
        self, conversation_id: str, message_id: str, body: str, at: int
    ) -> tuple[MessageRecord, EventRecord]:
        return await self._write(
            lambda conn: q.change_message(conn, conversation_id, message_id, body, at),
            scrub=True,
        )

    async def delete_message(
        self, conversation_id: str, message_id: str, at: int
    ) -> tuple[MessageRecord, EventRecord]:
        return await self._write(
            lambda conn: q.change_message(conn, conversation_id, message_id, None, at),
            scrub=True,
        )

    # -- the event log ------------------------------------------------------------------------
    async def last_event_id(self) -> int:
        return await self._read(q.last_event_id)

    async def first_event_id(self) -> int:
        return await self._read(q.first_event_id)

    async def events_for_user(self, user_id: str, after_id: int, limit: int) -> list[EventRecord]:
        return await self._read(lambda conn: q.events_for_user(conn, user_id, after_id, limit))

    async def events_between(self, after_id: int, upto_id: int) -> list[EventRecord]:
        return await self._read(lambda conn: q.events_between(conn, after_id, upto_id))

    async def trim_events(self, before_ms: int) -> int:
        return await self._write(lambda conn: q.trim_events(conn, before_ms))


def _translate(exc: sqlite3.DatabaseError) -> Exception:
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return Unavailable("The database is busy; try again.")
    if isinstance(exc, sqlite3.IntegrityError):
        return Conflict(str(exc))
    return StoreCorrupt(f"The database could not be read: {exc}")
