"""Store contract: messages, idempotency, sequence numbers, edits, deletes and replies."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from hellow import wire
from hellow.errors import NotFound
from hellow.records import new_id, now_ms
from hellow.store.base import Store

from ._util import all_events, group, send, users


async def test_append_gives_gapless_seq_and_message_created(store: Store) -> None:
    a, b = await users(store, 2)
    conv, _ = await group(store, a, b)
    ids = []
    for n in range(1, 4):
        message, event = await send(store, conv, a, f"hello {n}")
        assert message.seq == n and message.body == f"hello {n}" and not message.deleted
        assert event is not None and event.kind == "message.created"
        assert event.data == wire.message_bytes(message)  # the message's JSON
        ids.append(event.id)
    assert ids == sorted(ids) and len(set(ids)) == 3
    found = await store.get_conversation(conv.id)
    assert found is not None and found.last_seq == 3


async def test_same_client_id_returns_the_first_message_and_no_event(store: Store) -> None:
    a, b = await users(store, 2)
    conv, _ = await group(store, a, b)
    first, event = await send(store, conv, a, "once", client_id="c-1")
    last_id = await store.last_event_id()
    again, none = await send(store, conv, a, "twice?", client_id="c-1")
    assert none is None and again == first
    assert await store.last_event_id() == last_id
    other, event = await send(store, conv, b, "b's own", client_id="c-1")  # another sender
    assert event is not None and other.seq == 2


async def test_concurrent_appends_get_distinct_gapless_seqs_in_event_order(store: Store) -> None:
    users_ = await users(store, 4)
    conv, _ = await group(store, *users_)
    results = await asyncio.gather(*(send(store, conv, users_[n % 4], f"m{n}") for n in range(40)))
    seqs = sorted(m.seq for m, _ in results)
    assert seqs == list(range(1, 41))
    by_seq = sorted(results, key=lambda r: r[0].seq)
    event_ids = [e.id for _, e in by_seq if e is not None]
    assert event_ids == sorted(event_ids)  # ids given in commit order


async def test_concurrent_resends_of_one_client_id_make_one_message(store: Store) -> None:
    a, b = await users(store, 2)
    conv, _ = await group(store, a, b)
    results = await asyncio.gather(
        *(send(store, conv, a, "x", client_id="same") for _ in range(10))
    )
    assert len({m.id for m, _ in results}) == 1
    assert sum(1 for _, e in results if e is not None) == 1


async def test_append_to_unknown_conversation_is_not_found(store: Store) -> None:
    a, b = await users(store, 2)
    conv, _ = await group(store, a, b)
    conv.id = new_id()
    with pytest.raises(NotFound):
        await send(store, conv, a)


async def test_reply_carries_a_live_excerpt(store: Store) -> None:
    a, b = await users(store, 2)
    conv, _ = await group(store, a, b)
    quoted, _ = await send(store, conv, a, "q" * 200)
    reply, _ = await send(store, conv, b, "answer", reply_to=quoted.id)
    assert reply.reply_to is not None
    assert reply.reply_to.id == quoted.id and reply.reply_to.seq == quoted.seq
    assert reply.reply_to.sender_id == a.id and reply.reply_to.excerpt == "q" * 140
    await store.edit_message(conv.id, quoted.id, "edited quote", now_ms())
    found = await store.get_message(conv.id, reply.id)
    assert found is not None and found.reply_to is not None
    assert found.reply_to.excerpt == "edited quote"
    await store.delete_message(conv.id, quoted.id, now_ms())
    found = await store.get_message(conv.id, reply.id)
    assert found is not None and found.reply_to is not None and found.reply_to.excerpt == ""


async def test_reply_to_a_message_of_another_conversation_is_not_found(store: Store) -> None:
    a, b = await users(store, 2)
    one, _ = await group(store, a, b)
    two, _ = await group(store, a, b)
    elsewhere, _ = await send(store, one, a, "there")
    with pytest.raises(NotFound):
        await send(store, two, a, "here", reply_to=elsewhere.id)
    with pytest.raises(NotFound):
        await send(store, two, a, "here", reply_to=new_id())
    assert (await store.get_conversation(two.id)).last_seq == 0  # type: ignore[union-attr]


async def test_get_message_and_last_message(store: Store) -> None:
    a, b = await users(store, 2)
    conv, _ = await group(store, a, b)
    other, _ = await group(store, a, b)
    assert await store.last_message(conv.id) is None
    m1, _ = await send(store, conv, a, "one")
    m2, _ = await send(store, conv, b, "two")
    assert await store.get_message(conv.id, m1.id) == m1
    assert await store.get_message(other.id, m1.id) is None
    assert await store.get_message(conv.id, new_id()) is None
    assert await store.last_message(conv.id) == m2


async def test_list_messages_pages(store: Store) -> None:
    a, b = await users(store, 2)
    conv, _ = await group(store, a, b)
    for n in range(1, 11):
        await send(store, conv, a, f"m{n}")

    async def page(before: int | None, after: int | None, limit: int) -> tuple[list[int], bool]:
        found, more = await store.list_messages(conv.id, before, after, limit)
        return [m.seq for m in found], more

    assert await page(None, None, 3) == ([8, 9, 10], True)
    assert await page(8, None, 3) == ([5, 6, 7], True)
    assert await page(3, None, 5) == ([1, 2], False)
    assert await page(None, 0, 4) == ([1, 2, 3, 4], True)
    assert await page(None, 8, 4) == ([9, 10], False)
    assert await page(None, None, 50) == (list(range(1, 11)), False)
    assert await page(7, 2, 10) == ([3, 4, 5, 6], False)


async def test_edit_rewrites_every_stored_payload_of_the_message(store: Store) -> None:
    a, b = await users(store, 2)
    conv, _ = await group(store, a, b)
    message, created = await send(store, conv, a, "first draft")
    edited, event = await store.edit_message(conv.id, message.id, "final text", 1234)
    assert edited.body == "final text" and edited.edited_at == 1234 and edited.seq == message.seq
    assert event.kind == "message.updated" and event.data == wire.message_bytes(edited)
    assert created is not None
    stored = {e.id: e for e in await all_events(store)}
    assert orjson.loads(stored[created.id].data)["body"] == "final text"
    assert all(b"first draft" not in e.data for e in stored.values())


async def test_delete_leaves_a_tombstone_and_erases_the_text_everywhere(store: Store) -> None:
    a, b, c = await users(store, 3)
    conv, _ = await group(store, a, b)
    secret, _ = await send(store, conv, a, "secret words")
    await store.edit_message(conv.id, secret.id, "secret words, edited", now_ms())
    await send(store, conv, b, "quoting you", reply_to=secret.id)
    last = await store.last_message(conv.id)
    assert last is not None
    # A conversation event naming the last message (a reply quoting the secret) in its JSON:
    view = {"id": conv.id, "last_message": wire.message(last)}
    await store.add_members(conv.id, [c.id], wire.dumps(view))
    assert any(b"secret words" in e.data for e in await all_events(store))
    tomb, event = await store.delete_message(conv.id, secret.id, now_ms())
    assert tomb.deleted and tomb.body == "" and event.kind == "message.deleted"
    assert orjson.loads(event.data)["deleted"] is True
    found = await store.get_message(conv.id, secret.id)
    assert found is not None and found.deleted and found.body == ""
    events = await all_events(store)
    assert [e for e in events if b"secret words" in e.data] == []
    reply_events = [e for e in events if b"quoting you" in e.data]
    assert reply_events and all(b'"excerpt":""' in e.data for e in reply_events)


async def test_edit_of_a_deleted_message_is_not_found(store: Store) -> None:
    a, b = await users(store, 2)
    conv, _ = await group(store, a, b)
    message, _ = await send(store, conv, a, "gone soon")
    await store.delete_message(conv.id, message.id, now_ms())
    with pytest.raises(NotFound):
        await store.edit_message(conv.id, message.id, "back?", now_ms())
    with pytest.raises(NotFound):
        await store.edit_message(conv.id, new_id(), "never was", now_ms())


async def test_append_by_someone_not_a_member_is_not_found(store: Store) -> None:
    a, b, outsider = await users(store, 3)
    conv, _ = await group(store, a, b)
    with pytest.raises(NotFound):
        await send(store, conv, outsider)
    await store.remove_member(conv.id, b.id, b"{}")
    with pytest.raises(NotFound):
        await send(store, conv, b)  # left: no longer a member
    assert (await store.list_messages(conv.id, None, None, 10))[0] == []
