"""Store contract: conversations, membership, receipts and unread counts."""

from __future__ import annotations

import asyncio

import pytest

from hellow.errors import NotFound
from hellow.records import new_id
from hellow.store.base import Store

from ._util import direct, group, send, users


async def test_create_group_appends_conversation_created(store: Store) -> None:
    a, b, c = await users(store, 3)
    conv, event = await group(store, a, b, c, title="Trip")
    assert conv.member_ids == [a.id, b.id, c.id]  # joining order
    assert conv.kind == "group" and conv.title == "Trip" and conv.last_seq == 0
    assert event.kind == "conversation.created" and event.conversation_id == conv.id
    assert event.id == await store.last_event_id()
    assert await store.get_conversation(conv.id) == conv
    assert await store.get_conversation(new_id()) is None


async def test_one_direct_conversation_per_pair(store: Store) -> None:
    a, b = await users(store, 2)
    first, event = await direct(store, a, b)
    assert event is not None and first.direct_key == ":".join(sorted([a.id, b.id]))
    again, none = await direct(store, b, a)
    assert none is None and again.id == first.id
    assert [c.id for c in await store.list_conversations(a.id)] == [first.id]


async def test_list_conversations_most_recent_activity_first(store: Store) -> None:
    a, b = await users(store, 2)
    old, _ = await group(store, a, b, title="old")
    await asyncio.sleep(0.01)  # activity times are in ms: keep them apart
    new, _ = await group(store, a, b, title="new")
    await asyncio.sleep(0.01)
    await send(store, old, b, "wake up")
    listed = await store.list_conversations(a.id)
    assert [c.id for c in listed] == [old.id, new.id]
    assert listed[0].last_seq == 1


async def test_add_members_only_adds_new_ones(store: Store) -> None:
    a, b, c, d = await users(store, 4)
    conv, _ = await group(store, a, b)
    after, event = await store.add_members(conv.id, [b.id, c.id, d.id, c.id], b'{"x":1}')
    assert after.member_ids == [a.id, b.id, c.id, d.id]
    assert event is not None and event.kind == "conversation.updated"
    assert event.data == b'{"x":1}'
    same, none = await store.add_members(conv.id, [a.id, c.id], b"{}")
    assert none is None and same.member_ids == after.member_ids
    assert [x.id for x in await store.list_conversations(d.id)] == [conv.id]
    with pytest.raises(NotFound):
        await store.add_members(new_id(), [a.id], b"{}")


async def test_remove_member(store: Store) -> None:
    a, b, c = await users(store, 3)
    conv, _ = await group(store, a, b, c)
    after, event = await store.remove_member(conv.id, b.id, b"{}")
    assert event is not None and event.kind == "conversation.updated"
    assert after.member_ids == [a.id, c.id]
    assert await store.list_conversations(b.id) == []
    _, none = await store.remove_member(conv.id, b.id, b"{}")
    assert none is None
    assert [r.user_id for r in await store.get_receipts(conv.id)] == [a.id, c.id]
    with pytest.raises(NotFound):
        await store.remove_member(new_id(), a.id, b"{}")


async def test_contacts_are_everyone_sharing_a_conversation(store: Store) -> None:
    a, b, c, d = await users(store, 4)
    await group(store, a, b)
    await direct(store, a, c)
    await group(store, c, d)
    assert await store.contacts(a.id) == {b.id, c.id}
    assert await store.contacts(d.id) == {c.id}


async def test_receipts_move_forward_capped_and_read_implies_delivered(store: Store) -> None:
    a, b = await users(store, 2)
    conv, _ = await group(store, a, b)
    for n in range(5):
        await send(store, conv, a, f"m{n}")
    receipt, event = await store.update_receipt(conv.id, b.id, 2, None)
    assert (receipt.delivered_seq, receipt.read_seq) == (2, 0)
    assert event is not None and event.kind == "receipt.updated"
    receipt, event = await store.update_receipt(conv.id, b.id, None, 3)  # read implies delivered
    assert (receipt.delivered_seq, receipt.read_seq) == (3, 3)
    receipt, event = await store.update_receipt(conv.id, b.id, 1, 1)  # lower: ignored
    assert (receipt.delivered_seq, receipt.read_seq) == (3, 3) and event is None
    receipt, event = await store.update_receipt(conv.id, b.id, 99, 99)  # capped at last_seq
    assert (receipt.delivered_seq, receipt.read_seq) == (5, 5) and event is not None
    assert b'"read_seq":5' in event.data
    receipts = {r.user_id: r for r in await store.get_receipts(conv.id)}
    assert (receipts[b.id].delivered_seq, receipts[b.id].read_seq) == (5, 5)
    assert (receipts[a.id].delivered_seq, receipts[a.id].read_seq) == (0, 0)
    with pytest.raises(NotFound):
        await store.update_receipt(new_id(), b.id, 1, 1)


async def test_receipt_of_non_member_is_not_found(store: Store) -> None:
    a, b, outsider = await users(store, 3)
    conv, _ = await group(store, a, b)
    with pytest.raises(NotFound):
        await store.update_receipt(conv.id, outsider.id, 1, 1)


async def test_unread_counts_others_undeleted_messages_after_read(store: Store) -> None:
    a, b = await users(store, 2)
    conv, _ = await group(store, a, b)
    sent = [(await send(store, conv, a, f"a{n}"))[0] for n in range(4)]
    await send(store, conv, b, "mine")  # b's own message never counts for b
    assert await store.unread_count(conv.id, b.id) == 4
    assert await store.unread_count(conv.id, a.id) == 1
    await store.delete_message(conv.id, sent[3].id, sent[3].created_at + 1)
    assert await store.unread_count(conv.id, b.id) == 3
    await store.update_receipt(conv.id, b.id, None, 2)
    assert await store.unread_count(conv.id, b.id) == 1
    await store.update_receipt(conv.id, b.id, None, 5)
    assert await store.unread_count(conv.id, b.id) == 0
