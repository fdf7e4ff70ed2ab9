"""Small builders for the Store contract tests: records with fresh ids."""

from __future__ import annotations

from hellow import wire
from hellow.records import (
    ConversationRecord,
    EventRecord,
    MessageRecord,
    NewMessage,
    SessionRecord,
    UserRecord,
    new_id,
    now_ms,
)
from hellow.store.base import Store


async def user(store: Store, name: str | None = None, display: str | None = None) -> UserRecord:
    uid = new_id()
    record = UserRecord(uid, name or f"u{uid[:10]}", display or f"User {uid[:4]}", "hash", now_ms())
    await store.create_user(record)
    return record


async def users(store: Store, n: int) -> list[UserRecord]:
    return [await user(store) for _ in range(n)]


async def group(
    store: Store, *members: UserRecord, title: str = "group"
) -> tuple[ConversationRecord, EventRecord]:
    conv = ConversationRecord(
        id=new_id(),
        kind="group",
        title=title,
        created_at=now_ms(),
        member_ids=[m.id for m in members],
    )
    stored, event = await store.create_conversation(conv, wire.dumps({"id": conv.id}))
    assert event is not None
    return stored, event


async def direct(
    store: Store, a: UserRecord, b: UserRecord
) -> tuple[ConversationRecord, EventRecord | None]:
    conv = ConversationRecord(
        id=new_id(),
        kind="direct",
        title=None,
        created_at=now_ms(),
        member_ids=[a.id, b.id],
        direct_key=":".join(sorted([a.id, b.id])),
    )
    return await store.create_conversation(conv, wire.dumps({"id": conv.id}))


async def send(
    store: Store,
    conv: ConversationRecord,
    sender: UserRecord,
    body: str = "hello",
    client_id: str | None = None,
    reply_to: str | None = None,
) -> tuple[MessageRecord, EventRecord | None]:
    new = NewMessage(conv.id, sender.id, client_id or new_id(), body, reply_to, now_ms())
    return await store.append_message(new)


async def session(store: Store, u: UserRecord, ttl_ms: int = 60_000) -> SessionRecord:
    now = now_ms()
    record = SessionRecord(new_id(), u.id, now, now + ttl_ms, now)
    await store.create_session(record)
    return record


async def all_events(store: Store) -> list[EventRecord]:
    return await store.events_between(0, await store.last_event_id())
