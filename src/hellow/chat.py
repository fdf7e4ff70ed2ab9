"""The rules of the chat: who may see and do what, sends, receipts, typing.

The domain never sees a request: it takes ids and values and returns records and
JSON-ready dicts. Every change is written (with its event) first, then published.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from . import wire
from .bus.base import Bus, Event
from .errors import Conflict, Forbidden, Gone, Invalid, NotFound, Throttled
from .records import (
    ConversationRecord,
    EventRecord,
    MessageRecord,
    NewMessage,
    ReceiptRecord,
    new_id,
    now_ms,
)
from .store.base import Store

# Others see "typing" until `typing: false`, or this long after the last `true`.
TYPING_TTL_S = 6.0
MAX_GROUP_MEMBERS = 1000
# Senders remembered by the rate limiter before the full buckets are dropped.
PRUNE_ABOVE = 100_000


class SendRate:
    """Token bucket per user in this process: `rate` sends a second, bursts of 3x."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(1.0, rate * 3)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._pruned_at = 0.0

    def take(self, user_id: str) -> None:
        now = time.monotonic()
        tokens, at = self._buckets.get(user_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1:
            raise Throttled("You are sending too fast.", (1 - tokens) / self.rate)
        self._buckets[user_id] = (tokens - 1, now)
        if len(self._buckets) > PRUNE_ABOVE and now - self._pruned_at > 1.0:
            # Bound memory: forget buckets that have refilled (at most once a second).
            self._pruned_at = now
            self._buckets = {
                u: (t, a)
                for u, (t, a) in self._buckets.items()
                if t + (now - a) * self.rate < self.burst
            }


class Chat:
    def __init__(self, store: Store, bus: Bus, send_rate: float) -> None:
        self.store = store
        self.bus = bus
        self.rate = SendRate(send_rate)
        self._typing: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._background: set[asyncio.Task[None]] = set()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- visibility --------------------------------------------------------------
    async def conversation_for(self, user_id: str, conversation_id: str) -> ConversationRecord:
        """The conversation if the user is a member; 404 otherwise (never 403: its
        existence is not revealed)."""
        conv = await self.store.get_conversation(conversation_id)
        if conv is None or user_id not in conv.member_ids:
            raise NotFound("No such conversation.")
        return conv

    async def _publish(self, event: EventRecord | None, audience: list[str] | None = None) -> None:
        """Publish a durable event the store wrote (unless the store publishes its own), to
        the members it read in the write's transaction, else `audience`, else members now."""
        if event is None or self.store.publishes_events:
            return
        members = event.audience if event.audience is not None else audience
        if members is None:
            conv = await self.store.get_conversation(event.conversation_id)
            members = conv.member_ids if conv else []
        await self.bus.publish(
            Event(event.kind, event.data, frozenset(members), event.id, event.conversation_id)
        )

    # -- views -----------------------------------------------------------------------
    async def members_json(self, member_ids: list[str]) -> list[dict[str, Any]]:
        users = await self.store.get_users(member_ids)
        online = await self.store.online(member_ids)
        return [wire.user(users[u], u in online) for u in member_ids if u in users]

    async def view(self, conv: ConversationRecord, me: str | None) -> dict[str, Any]:
        """A Conversation; with `me`, including that user's fields."""
        members = await self.members_json(conv.member_ids)
        last = await self.store.last_message(conv.id)
        stored = {r.user_id: r for r in await self.store.get_receipts(conv.id)}
        # A conversation being created or changed has members with no receipt row yet.
        receipts = [stored.get(u) or ReceiptRecord(conv.id, u) for u in conv.member_ids]
        unread = await self.store.unread_count(conv.id, me) if me else 0
        return wire.conversation(conv, members, last, receipts, me, unread)

    async def list_conversations(self, me: str) -> list[dict[str, Any]]:
        return [await self.view(c, me) for c in await self.store.list_conversations(me)]

    # -- conversations -------------------------------------------------------------
    async def create_conversation(
        self, me: str, kind: str, title: str | None, member_ids: list[str]
    ) -> tuple[dict[str, Any], bool]:
        others = [u for u in dict.fromkeys(member_ids) if u != me]
        found = await self.store.get_users(others)
        missing = [u for u in others if u not in found]
        if missing:
            raise Invalid("member_ids", f"unknown user: {missing[0]}")
        if kind == "direct":
            if len(others) != 1:
                raise Invalid("member_ids", "a direct conversation has exactly one other person")
            title = None
            direct_key = ":".join(sorted([me, others[0]]))
        else:
            if len(others) + 1 > MAX_GROUP_MEMBERS:
                raise Invalid("member_ids", f"a group has at most {MAX_GROUP_MEMBERS} members")
            direct_key = None
        now = now_ms()
        conv = ConversationRecord(
            id=new_id(),
            kind=kind,
            title=title,
            created_at=now,
            last_activity_at=now,
            member_ids=[me, *others],
            direct_key=direct_key,
        )
        data = wire.dumps(await self.view(conv, None))
        stored, event = await self.store.create_conversation(conv, data)
        await self._publish(event, stored.member_ids)
        return await self.view(stored, me), event is not None

    async def add_members(
        self, me: str, conversation_id: str, user_ids: list[str]
    ) -> dict[str, Any]:
        conv = await self.conversation_for(me, conversation_id)
        if conv.kind == "direct":
            raise Conflict("People cannot be added to a direct conversation.")
        found = await self.store.get_users(user_ids)
        missing = [u for u in user_ids if u not in found]
        if missing:
            raise Invalid("user_ids", f"unknown user: {missing[0]}")
        wanted = [
            *conv.member_ids,
            *(u for u in dict.fromkeys(user_ids) if u not in conv.member_ids),
        ]
        if len(wanted) > MAX_GROUP_MEMBERS:
            raise Invalid("user_ids", f"a group has at most {MAX_GROUP_MEMBERS} members")
        preview = replace(conv, member_ids=wanted)
        data = wire.dumps(await self.view(preview, None))
        stored, event = await self.store.add_members(conversation_id, user_ids, data)
        await self._publish(event, stored.member_ids)
        return await self.view(stored, me)

    async def leave(self, me: str, conversation_id: str, user_id: str) -> None:
        conv = await self.conversation_for(me, conversation_id)
        if user_id != me:
            raise Forbidden("You can only remove yourself from a group.")
        if conv.kind == "direct":
            raise Conflict("A direct conversation cannot be left.")
        rest = [u for u in conv.member_ids if u != me]
        preview = replace(conv, member_ids=rest)
        data = wire.dumps(await self.view(preview, None))
        stored, event = await self.store.remove_member(conversation_id, me, data)
        await self._publish(event, stored.member_ids)

    # -- messages ----------------------------------------------------------------------
    async def send(
        self, me: str, conversation_id: str, client_id: str, body: str, reply_to: str | None
    ) -> tuple[MessageRecord, bool]:
        # No membership read first: the store checks it in the write itself (the one
        # check that cannot race a leave), and a send is the hottest request there is.
        self.rate.take(me)
        new = NewMessage(conversation_id, me, client_id, body, reply_to, now_ms())
        message, event = await self.store.append_message(new)
        await self._publish(event)
        if event is not None:
            self._stop_typing(conversation_id, me)
        return message, event is not None

    async def messages(
        self, me: str, conversation_id: str, before: int | None, after: int | None, limit: int
    ) -> tuple[list[MessageRecord], bool]:
        await self.conversation_for(me, conversation_id)
        return await self.store.list_messages(conversation_id, before, after, limit)

    async def _own_message(
        self, me: str, conv: ConversationRecord, message_id: str
    ) -> MessageRecord:
        message = await self.store.get_message(conv.id, message_id)
        if message is None:
            raise NotFound("No such message.")
        if message.sender_id != me:
            raise Forbidden("Only its sender can change a message.")
        return message

    async def edit(
        self, me: str, conversation_id: str, message_id: str, body: str
    ) -> MessageRecord:
        conv = await self.conversation_for(me, conversation_id)
        message = await self._own_message(me, conv, message_id)
        if message.deleted:
            raise Gone("That message was deleted.")
        try:
            edited, event = await self.store.edit_message(conv.id, message_id, body, now_ms())
        except NotFound:
            raise Gone("That message was deleted.") from None
        await self._publish(event, conv.member_ids)
        return edited

    async def delete(self, me: str, conversation_id: str, message_id: str) -> None:
        conv = await self.conversation_for(me, conversation_id)
        message = await self._own_message(me, conv, message_id)
        if message.deleted:
            return  # deleting twice changes nothing
        _, event = await self.store.delete_message(conv.id, message_id, now_ms())
        await self._publish(event, conv.member_ids)

    # -- receipts and typing -------------------------------------------------------------
    async def receipt(
        self, me: str, conversation_id: str, delivered: int | None, read: int | None
    ) -> dict[str, Any]:
        conv = await self.conversation_for(me, conversation_id)
        receipt, event = await self.store.update_receipt(conv.id, me, delivered, read)
        await self._publish(event, conv.member_ids)
        return wire.receipt(receipt)

    async def typing(self, me: str, conversation_id: str, is_typing: bool) -> None:
        conv = await self.conversation_for(me, conversation_id)
        key = (conv.id, me)
        timer = self._typing.pop(key, None)
        if timer is not None:
            timer.cancel()
        if is_typing:
            loop = asyncio.get_running_loop()
            self._typing[key] = loop.call_later(
                TYPING_TTL_S, lambda: self._spawn(self._expire_typing(conv, me))
            )
        await self._publish_typing(conv, me, is_typing)

    def _stop_typing(self, conversation_id: str, me: str) -> None:
        """A sent message ends its sender's typing."""
        timer = self._typing.pop((conversation_id, me), None)
        if timer is not None:
            timer.cancel()
            self._spawn(self._typing_ended(conversation_id, me))

    async def _expire_typing(self, conv: ConversationRecord, me: str) -> None:
        self._typing.pop((conv.id, me), None)
        await self._typing_ended(conv.id, me)

    async def _typing_ended(self, conversation_id: str, me: str) -> None:
        # The members may have changed since the `typing: true`: tell those there now.
        fresh = await self.store.get_conversation(conversation_id)
        if fresh is not None:
            await self._publish_typing(fresh, me, False)

    async def _publish_typing(self, conv: ConversationRecord, me: str, is_typing: bool) -> None:
        audience = frozenset(u for u in conv.member_ids if u != me)
        await self.bus.publish(Event("typing", wire.typing(conv.id, me, is_typing), audience))
