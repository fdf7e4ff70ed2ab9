"""`RedisStore`: the store shared by many server processes (docs/redis.md).

Keys and their types: redis_keys.py. Scripts: redis_lua.py. Messages and the event log:
redis_log.py. Here: opening, users, sessions, throttling, presence, conversations, receipts.

Presence across instances: `presence:<uid>` counts each user's open streams per instance,
and `instances` holds each instance's liveness deadline, pushed 15 s ahead every 5 s while
it runs. Counts held by an instance whose deadline passed (it crashed) are ignored and
pruned, so a crash takes its users offline within 15 s without anyone cleaning up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from .. import wire
from ..errors import Conflict, NotFound
from ..records import (
    ConversationRecord,
    EventRecord,
    ReceiptRecord,
    SessionRecord,
    UserRecord,
    now_ms,
)
from . import redis_codec as codec
from .redis_conn import UNAVAILABLE, Conn, Garbled, guarded, make_client
from .redis_log import EVENT_KEYS, RedisLogStore
from .redis_lua import ALL as SCRIPTS

log = logging.getLogger("hellow.redis")

LIVENESS_S, REFRESH_S = 15.0, 5.0  # an instance silent for 15 s is dead: 3 missed refreshes
SESSION_GRACE_MS = 86_400_000  # sessions leave Redis a day after they expire
SEARCH_SCAN = 200  # index entries read per user search before sorting by username


class RedisStore(RedisLogStore):
    publishes_events = True  # the write scripts PUBLISH in the same atomic step

    def __init__(self, url: str, prefix: str = "hellow:v1:") -> None:
        super().__init__(url, prefix)
        self._instances: set[str] = set()
        self._refresher: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Connects lazily: a process may start while Redis is away and serve once it is back."""
        client = make_client(self.url)
        self._conn = Conn(client)
        self._scripts = {name: client.register_script(src) for name, src in SCRIPTS.items()}
        self._refresher = asyncio.create_task(self._refresh_liveness(), name="redis-liveness")

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        if self._conn is not None:
            if self._instances:
                # Our streams end with us: others stop counting them at once, not in 15 s.
                with contextlib.suppress(*UNAVAILABLE, Exception):
                    await self._conn.client.zrem(self.keys.instances, *self._instances)
            await self._conn.client.aclose()
            self._conn = None

    @guarded
    async def ping(self) -> None:
        await self.conn.client.ping()

    async def _refresh_liveness(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_S)
            if not self._instances or self._conn is None:
                continue
            deadline = now_ms() + int(LIVENESS_S * 1000)
            try:
                await self._conn.client.zadd(
                    self.keys.instances, dict.fromkeys(self._instances, deadline)
                )
            except Exception as exc:  # retried in 5 s; requests report outages
                log.warning("could not refresh instance liveness: %s", exc)

    # -- users -------------------------------------------------------------------------------
    @guarded
    async def create_user(self, user: UserRecord) -> None:
        k = self.keys
        fields = codec.user_fields(user)  # "id" first: the script reads ARGV[4] as the id
        index = [f"{user.username.lower()}\0{user.id}", f"{user.display_name.lower()}\0{user.id}"]
        keys = [k.username(user.username.lower()), k.user(user.id), k.user_index]
        result = await self._script("create_user", keys, ["thz", len(fields), *fields, *index])
        if result[0] == b"CONFLICT":
            raise Conflict("That username is taken.", field="username")

    @guarded
    async def get_user(self, user_id: str) -> UserRecord | None:
        return (await self._users([user_id])).get(user_id)

    @guarded
    async def get_user_by_name(self, username: str) -> UserRecord | None:
        key = self.keys.username(username.lower())
        uid = await self.conn.one(key, "GET", key)
        return (
            (await self._users([codec.text(key, uid)])).get(codec.text(key, uid)) if uid else None
        )

    @guarded
    async def get_users(self, user_ids: Iterable[str]) -> dict[str, UserRecord]:
        return await self._users(list(dict.fromkeys(user_ids)))

    async def _users(self, ids: list[str]) -> dict[str, UserRecord]:
        keys = [self.keys.user(uid) for uid in ids]
        found = await self.conn.run(*((key, "HGETALL", key) for key in keys))
        return {uid: codec.user(key, h) for uid, key, h in zip(ids, keys, found, strict=True) if h}

    @guarded
    async def search_users(self, prefix: str, limit: int) -> list[UserRecord]:
        key, low = self.keys.user_index, prefix.lower().encode()
        hits = await self.conn.one(
            key, "ZRANGEBYLEX", key, b"[" + low, b"[" + low + b"\xff", "LIMIT", 0, SEARCH_SCAN
        )
        ids = list(dict.fromkeys(codec.text(key, h.rpartition(b"\0")[2]) for h in hits))
        users = await self._users(ids)
        return sorted(users.values(), key=lambda u: u.username)[:limit]

    @guarded
    async def set_last_seen(self, user_id: str, at: int) -> None:
        await self._script("set_field", [self.keys.user(user_id)], ["h", "last_seen_at", at, ""])

    # -- sessions ----------------------------------------------------------------------------
    @guarded
    async def create_session(self, session: SessionRecord) -> None:
        key = self.keys.session(session.id)
        await self.conn.one(key, "HSET", key, *codec.session_fields(session))
        if session.expires_at + SESSION_GRACE_MS > now_ms():
            await self.conn.one(key, "PEXPIREAT", key, session.expires_at + SESSION_GRACE_MS)

    @guarded
    async def get_session(self, session_id: str) -> SessionRecord | None:
        key = self.keys.session(session_id)
        h = await self.conn.one(key, "HGETALL", key)
        return codec.session(key, h) if h else None

    @guarded
    async def touch_session(self, session_id: str, at: int) -> None:
        key = self.keys.session(session_id)
        await self._script("set_field", [key], ["h", "last_active_at", at, "max"])

    @guarded
    async def revoke_session(self, session_id: str) -> None:
        await self._script("set_field", [self.keys.session(session_id)], ["h", "revoked", 1, ""])

    # -- throttling ----------------------------------------------------------------------------
    @guarded
    async def throttle_hit(self, key: str, window_s: int) -> tuple[int, float]:
        result = await self._script(
            "throttle_hit", [self.keys.throttle(key)], ["t", window_s * 1000]
        )
        return int(result[1]), int(result[2]) / 1000

    @guarded
    async def throttle_peek(self, key: str) -> tuple[int, float]:
        name = self.keys.throttle(key)
        hits, ttl = await self.conn.run((name, "GET", name), (name, "PTTL", name))
        if hits is None or ttl <= 0:
            return 0, 0.0
        return codec.integer(name, hits), ttl / 1000

    @guarded
    async def throttle_clear(self, key: str) -> None:
        name = self.keys.throttle(key)
        if await self.conn.one(name, "TYPE", name) not in (b"string", b"none"):
            raise Garbled(name, "wrong type")
        await self.conn.one(name, "DEL", name)

    # -- presence --------------------------------------------------------------------------------
    async def _presence(self, user_id: str, instance_id: str, step: int) -> tuple[bool, bool]:
        """(online before, online after) across every live instance."""
        self._instances.add(instance_id)
        now = now_ms()
        keys = [self.keys.presence(user_id), self.keys.instances]
        args = ["hz", instance_id, now, now + int(LIVENESS_S * 1000), step]
        result = await self._script("presence", keys, args)
        return bool(result[1]), bool(result[2])

    @guarded
    async def presence_join(self, user_id: str, instance_id: str) -> bool:
        before, _ = await self._presence(user_id, instance_id, 1)
        return not before

    @guarded
    async def presence_leave(self, user_id: str, instance_id: str, at: int) -> bool:
        _, after = await self._presence(user_id, instance_id, -1)
        if after:
            return False
        await self._script("set_field", [self.keys.user(user_id)], ["h", "last_seen_at", at, ""])
        return True

    @guarded
    async def online(self, user_ids: Iterable[str]) -> set[str]:
        k, ids = self.keys, list(dict.fromkeys(user_ids))
        if not ids:
            return set()
        cmds: list[tuple[Any, ...]] = [(k.presence(u), "HGETALL", k.presence(u)) for u in ids]
        cmds.append((k.instances, "ZRANGEBYSCORE", k.instances, f"({now_ms()}", "+inf"))
        *counts, alive_raw = await self.conn.run(*cmds)
        alive = set(alive_raw)
        out = set()
        for uid, h in zip(ids, counts, strict=True):
            if any(i in alive and codec.integer(k.presence(uid), c) > 0 for i, c in h.items()):
                out.add(uid)
        return out

    # -- conversations ---------------------------------------------------------------------------
    @guarded
    async def create_conversation(
        self, conversation: ConversationRecord, data: bytes
    ) -> tuple[ConversationRecord, EventRecord | None]:
        k, c = self.keys, conversation
        members = list(dict.fromkeys(c.member_ids))
        direct = c.direct_key is not None
        fields = codec.conv_fields(c)
        keys = [*self._event_keys(c.id), k.conv(c.id), k.members(c.id)]
        keys += [k.direct(c.direct_key) if c.direct_key else k.conv(c.id)]
        keys += [k.user_convs(u) for u in members]
        spec = EVENT_KEYS + "hz" + ("t" if direct else "-") + "s" * len(members)
        args = [spec, *self._event_args("conversation.created", c.id, data, members)]
        args += [c.id, "1" if direct else "0", len(fields), *fields, *members]
        result = await self._script("create_conversation", keys, args)
        if result[0] == b"EXISTS":
            existing = codec.text(keys[5], result[1])
            loaded = await self._load_conv(existing)
            if loaded is None:
                raise Garbled(keys[5], f"names a missing conversation {existing}")
            return loaded[0], None
        created = await self._load_conv(c.id)
        assert created is not None
        return created[0], EventRecord(int(result[1]), "conversation.created", c.id, data)

    @guarded
    async def get_conversation(self, conversation_id: str) -> ConversationRecord | None:
        loaded = await self._load_conv(conversation_id)
        return loaded[0] if loaded else None

    @guarded
    async def list_conversations(self, user_id: str) -> list[ConversationRecord]:
        key = self.keys.user_convs(user_id)
        ids = sorted(codec.text(key, c) for c in await self.conn.one(key, "SMEMBERS", key))
        found = [c[0] for c in await self._load_convs(ids) if c is not None]
        return sorted(found, key=lambda c: (-c.last_activity_at, c.id))

    @guarded
    async def add_members(
        self, conversation_id: str, user_ids: list[str], data: bytes
    ) -> tuple[ConversationRecord, EventRecord | None]:
        k, cid = self.keys, conversation_id
        loaded = await self._load_conv(cid)
        if loaded is None:
            raise NotFound("No such conversation.")
        conv, ver = loaded
        added = [u for u in dict.fromkeys(user_ids) if u not in conv.member_ids]
        if not added:
            return conv, None
        last = await self._last_message_id(cid)
        keys = [*self._event_keys(cid), k.conv(cid), k.members(cid)]
        keys += [k.message_events(cid, last) if last else k.conv(cid)]
        keys += [k.user_convs(u) for u in added]
        spec = EVENT_KEYS + "hz" + ("s" if last else "-") + "s" * len(added)
        audience = [*conv.member_ids, *added]
        args = [spec, *self._event_args("conversation.updated", cid, data, audience)]
        args += [ver, "1" if last else "0", *added]
        return await self._membership_result(cid, "add_members", keys, args, data)

    @guarded
    async def remove_member(
        self, conversation_id: str, user_id: str, data: bytes
    ) -> tuple[ConversationRecord, EventRecord | None]:
        k, cid = self.keys, conversation_id
        loaded = await self._load_conv(cid)
        if loaded is None:
            raise NotFound("No such conversation.")
        conv, ver = loaded
        if user_id not in conv.member_ids:
            return conv, None
        last = await self._last_message_id(cid)
        keys = [*self._event_keys(cid), k.conv(cid), k.members(cid), k.receipts(cid)]
        keys += [k.message_events(cid, last) if last else k.conv(cid), k.user_convs(user_id)]
        spec = EVENT_KEYS + "hzh" + ("s" if last else "-") + "s"
        # As with replay: from now on nothing of the conversation reaches the one leaving.
        audience = [u for u in conv.member_ids if u != user_id]
        args = [spec, *self._event_args("conversation.updated", cid, data, audience)]
        args += [ver, "1" if last else "0", user_id]
        return await self._membership_result(cid, "remove_member", keys, args, data)

    async def _membership_result(
        self, cid: str, script: str, keys: list[str], args: list[Any], data: bytes
    ) -> tuple[ConversationRecord, EventRecord | None]:
        result = await self._script(script, keys, args)
        if result[0] == b"NOTFOUND":
            raise NotFound("No such conversation.")
        after = await self._load_conv(cid)
        if after is None:
            raise NotFound("No such conversation.")
        return after[0], EventRecord(int(result[1]), "conversation.updated", cid, data)

    @guarded
    async def contacts(self, user_id: str) -> set[str]:
        k, key = self.keys, self.keys.user_convs(user_id)
        cids = [codec.text(key, c) for c in await self.conn.one(key, "SMEMBERS", key)]
        lists = await self.conn.run(*((k.members(c), "ZRANGE", k.members(c), 0, -1) for c in cids))
        return {m.decode() for members in lists for m in members} - {user_id}

    # -- receipts -----------------------------------------------------------------------------
    @guarded
    async def get_receipts(self, conversation_id: str) -> list[ReceiptRecord]:
        k, cid = self.keys, conversation_id
        members, stored = await self.conn.run(
            (k.members(cid), "ZRANGE", k.members(cid), 0, -1),
            (k.receipts(cid), "HGETALL", k.receipts(cid)),
        )
        out = []
        for m in members:
            delivered, read = codec.receipt(k.receipts(cid), stored.get(m))
            out.append(ReceiptRecord(cid, codec.text(k.members(cid), m), delivered, read))
        return out

    @guarded
    async def update_receipt(
        self, conversation_id: str, user_id: str, delivered_seq: int | None, read_seq: int | None
    ) -> tuple[ReceiptRecord, EventRecord | None]:
        k, cid = self.keys, conversation_id
        loaded = await self._load_conv(cid)
        if loaded is None or user_id not in loaded[0].member_ids:
            raise NotFound("No such conversation.")
        conv, ver = loaded
        old_raw = await self.conn.one(k.receipts(cid), "HGET", k.receipts(cid), user_id)
        delivered, read = codec.receipt(k.receipts(cid), old_raw)
        new_read = max(read, min(read_seq or 0, conv.last_seq))
        new_delivered = max(delivered, min(delivered_seq or 0, conv.last_seq), new_read)
        receipt = ReceiptRecord(cid, user_id, new_delivered, new_read)
        if (new_delivered, new_read) == (delivered, read):
            return receipt, None
        data = wire.receipt_bytes(receipt)
        keys = [*self._event_keys(cid), k.conv(cid), k.receipts(cid)]
        args = [EVENT_KEYS + "hh", *self._event_args("receipt.updated", cid, data, conv.member_ids)]
        args += [ver, user_id, old_raw or b"", f"{new_delivered}:{new_read}"]
        result = await self._script("update_receipt", keys, args)
        if result[0] == b"NOTFOUND":
            raise NotFound("No such conversation.")
        return receipt, EventRecord(int(result[1]), "receipt.updated", cid, data)

    @guarded
    async def unread_count(self, conversation_id: str, user_id: str) -> int:
        k, cid = self.keys, conversation_id
        keys = [k.receipts(cid), k.live(cid), k.sent(cid, user_id)]
        return int((await self._script("unread", keys, ["hzz", user_id]))[1])
