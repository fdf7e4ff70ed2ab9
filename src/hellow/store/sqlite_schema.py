"""The SQLite schema and its migrations, recorded in `PRAGMA user_version`.

STRICT tables make SQLite itself refuse a value of the wrong type, so data read
back always has the type the code expects.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER
    ) STRICT;
    CREATE INDEX users_display_name ON users (lower(display_name));

    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        last_active_at INTEGER NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
    ) STRICT;

    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
        title TEXT,
        created_at INTEGER NOT NULL,
        last_seq INTEGER NOT NULL DEFAULT 0,
        last_activity_at INTEGER NOT NULL,
        direct_key TEXT UNIQUE
    ) STRICT;

    CREATE TABLE members (
        conversation_id TEXT NOT NULL REFERENCES conversations (id),
        user_id TEXT NOT NULL REFERENCES users (id),
        joined_at INTEGER NOT NULL,
        delivered_seq INTEGER NOT NULL DEFAULT 0,
        read_seq INTEGER NOT NULL DEFAULT 0,
        UNIQUE (conversation_id, user_id)
    ) STRICT;
    CREATE INDEX members_user ON members (user_id, conversation_id);

    CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations (id),
        seq INTEGER NOT NULL,
        sender_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        body TEXT NOT NULL,
        reply_to_id TEXT,
        created_at INTEGER NOT NULL,
        edited_at INTEGER,
        deleted INTEGER NOT NULL DEFAULT 0,
        UNIQUE (conversation_id, seq),
        UNIQUE (conversation_id, sender_id, client_id)
    ) STRICT;
    CREATE INDEX messages_reply_to ON messages (reply_to_id) WHERE reply_to_id IS NOT NULL;

    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        message_id TEXT,
        data BLOB NOT NULL,
        created_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX events_conversation ON events (conversation_id, id);
    CREATE INDEX events_message ON events (message_id) WHERE message_id IS NOT NULL;

    CREATE TABLE throttle (
        key TEXT PRIMARY KEY,
        hits INTEGER NOT NULL,
        window_end INTEGER NOT NULL
    ) STRICT;
    """,
]


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # WAL: readers never block the writer. synchronous=FULL: a commit that returned
    # is on disk even after a power cut, because an acknowledged message is never lost.
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    # Deleted text is overwritten in the file, not left in free pages.
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to the newest version; return it."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema {version} is newer than this Hellow ({len(MIGRATIONS)})"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)
