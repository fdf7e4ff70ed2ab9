"""Store contract: the event log (ids, resume per user, gap fills, retention)."""

from __future__ import annotations

from hellow.records import now_ms
from hellow.store.base import Store

from ._util import group, send, users


async def test_an_empty_log(store: Store) -> None:
    assert await store.last_event_id() == 0
    assert await store.first_event_id() == 1
    assert await store.events_between(0, 10) == []


async def test_ids_only_grow_and_events_between_is_exact(store: Store) -> None:
    a, b = await users(store, 2)
    conv, created = await group(store, a, b)
    sent = [await send(store, conv, a, f"m{n}") for n in range(5)]
    ids = [created.id, *(e.id for _, e in sent if e is not None)]
    assert ids == sorted(ids) and await store.last_event_id() == ids[-1]
    assert await store.first_event_id() == ids[0]
    between = await store.events_between(ids[1], ids[4])
    assert [e.id for e in between] == ids[2:5]  # after < id <= upto
    assert [e.kind for e in between] == ["message.created"] * 3
    assert await store.events_between(ids[3], ids[3]) == []


async def test_events_for_user_only_of_conversations_they_are_in_now(store: Store) -> None:
    a, b, c = await users(store, 3)
    ab, _ = await group(store, a, b)
    bc, _ = await group(store, b, c)
    start = 0
    await send(store, ab, a, "to b")
    await send(store, bc, c, "to b too")
    for_a = await store.events_for_user(a.id, start, 100)
    for_b = await store.events_for_user(b.id, start, 100)
    for_c = await store.events_for_user(c.id, start, 100)
    assert {e.conversation_id for e in for_a} == {ab.id}
    assert {e.conversation_id for e in for_b} == {ab.id, bc.id}
    assert {e.conversation_id for e in for_c} == {bc.id}
    assert [e.id for e in for_b] == sorted(e.id for e in for_a + for_c)  # ascending, merged
    await store.remove_member(bc.id, c.id, b"{}")
    assert await store.events_for_user(c.id, 0, 100) == []  # nothing of it, not even old events


async def test_events_for_user_after_an_id_and_limited(store: Store) -> None:
    a, b = await users(store, 2)
    one, _ = await group(store, a, b)
    two, _ = await group(store, a, b)
    for n in range(6):
        await send(store, one if n % 2 else two, b, f"m{n}")
    every = await store.events_for_user(a.id, 0, 1000)
    assert len(every) == 8
    page = await store.events_for_user(a.id, every[2].id, 3)
    assert [e.id for e in page] == [e.id for e in every[3:6]]
    assert await store.events_for_user(a.id, every[-1].id, 10) == []


async def test_trim_keeps_messages_and_moves_first_event_id(store: Store) -> None:
    a, b = await users(store, 2)
    conv, _ = await group(store, a, b)
    for n in range(5):
        await send(store, conv, a, f"m{n}")
    last = await store.last_event_id()
    assert await store.trim_events(now_ms() - 3_600_000) == 0  # nothing that old
    trimmed = await store.trim_events(now_ms() + 1000)
    assert trimmed == 5  # all but the newest, which is kept
    assert await store.first_event_id() == last
    assert await store.last_event_id() == last
    assert [e.id for e in await store.events_for_user(a.id, 0, 100)] == [last]
    messages, _ = await store.list_messages(conv.id, None, None, 50)
    assert [m.body for m in messages] == [f"m{n}" for n in range(5)]
    _, event = await send(store, conv, a, "after the trim")
    assert event is not None and event.id == last + 1
