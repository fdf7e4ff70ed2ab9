"""The Redis store's plumbing, messages and event log (`RedisStore` in redis.py adds the rest).

Each write reads what it needs, builds the new records and event payloads here in Python
(wire.py stays the one place that knows the JSON), then hands them to one Lua script that
checks nothing moved meanwhile (the conversation's `ver`), assigns the event id, stores it
all and publishes, atomically. When something moved the script answers RETRY and the write
runs again (`guarded`).
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from redis.commands.core import AsyncScript

from .. import wire
from ..bus.redis import durable_parts
from ..errors import NotFound, StoreCorrupt, Unavailable
from ..records import ConversationRecord, EventRecord, MessageRecord, NewMessage, new_id, now_ms
from ..redis_keys import Keys
from . import redis_codec as codec
from .redis_conn import Conn, Garbled, guarded

log = logging.getLogger("hellow.redis")
EVENT_KEYS = "tzz"  # types of KEYS[1..3] of every event-appending script


class RedisLogStore:
    def __init__(self, url: str, prefix: str = "hellow:v1:") -> None:
        self.url = url
        self.keys = Keys(prefix)
        self._conn: Conn | None = None
        self._scripts: dict[str, AsyncScript] = {}

    @property
    def conn(self) -> Conn:
        if self._conn is None:
            raise Unavailable("The store is closed.")
        return self._conn

    async def _script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> list[Any]:
        return await self.conn.script(self._scripts[name], keys, args)

    def _event_args(
        self, kind: str, conversation_id: str, data: bytes, audience: Iterable[str]
    ) -> list[Any]:
        """ARGV[2..8] of an event-appending script (see redis_lua.py)."""
        head, tail = durable_parts(kind, data, audience, conversation_id)
        return [now_ms(), kind, conversation_id, data, head, tail, self.keys.channel]

    def _event_keys(self, conversation_id: str) -> list[str]:
        k = self.keys
        return [k.event_counter, k.event_log, k.events(conversation_id)]

    # -- loading conversations ------------------------------------------------------------
    async def _load_convs(
        self, ids: Sequence[str]
    ) -> list[tuple[ConversationRecord, bytes] | None]:
        k = self.keys
        cmds: list[tuple[Any, ...]] = []
        for cid in ids:
            cmds += [(k.conv(cid), "HGETALL", k.conv(cid))]
            cmds += [(k.members(cid), "ZRANGE", k.members(cid), 0, -1)]
        raw = await self.conn.run(*cmds)
        out: list[tuple[ConversationRecord, bytes] | None] = []
        for i, cid in enumerate(ids):
            h, members = raw[2 * i], raw[2 * i + 1]
            if not h:
                out.append(None)
                continue
            member_ids = [codec.text(k.members(cid), m) for m in members]
            out.append(codec.conv(k.conv(cid), h, member_ids))
        return out

    async def _load_conv(self, cid: str) -> tuple[ConversationRecord, bytes] | None:
        return (await self._load_convs([cid]))[0]

    async def _last_message_id(self, cid: str) -> str | None:
        key = self.keys.seqs(cid)
        found = await self.conn.one(key, "ZREVRANGE", key, 0, 0)
        return codec.text(key, found[0]) if found else None

    # -- messages -------------------------------------------------------------------------
    async def _raw_messages(self, cid: str, ids: Sequence[str]) -> list[dict[str, Any] | None]:
        keys = [self.keys.message(cid, mid) for mid in ids]
        raw = await self.conn.run(*((key, "GET", key) for key in keys))
        return [
            codec.message(key, r) if r is not None else None
            for key, r in zip(keys, raw, strict=True)
        ]

    async def _messages(self, cid: str, ids: Sequence[str]) -> list[MessageRecord | None]:
        """Messages with their quote as it is now (the quoted message is read alongside)."""
        stored = await self._raw_messages(cid, ids)
        quoted_ids = list({m["reply"] for m in stored if m and m.get("reply")})
        found = await self._raw_messages(cid, quoted_ids)
        quoted = dict(zip(quoted_ids, found, strict=True))
        return [
            codec.record(cid, m, quoted.get(m.get("reply") or "")) if m else None for m in stored
        ]

    @guarded
    async def append_message(self, new: NewMessage) -> tuple[MessageRecord, EventRecord | None]:
        k, cid = self.keys, new.conversation_id
        client_field = f"{new.sender_id}:{new.client_id}"
        # No idempotency look-up here: the write script answers DUP for a known client_id,
        # and a round trip fewer per send is worth more than skipping its preparation.
        loaded = await self._load_conv(cid)
        if loaded is None:
            raise NotFound("No such conversation.")
        conv, ver = loaded
        if new.sender_id not in conv.member_ids:
            # Checked on the version the script verifies: one who left cannot post.
            raise NotFound("No such conversation.")
        quoted_raw = b""
        quoted: dict[str, Any] | None = None
        if new.reply_to_id is not None:
            quoted_key = k.message(cid, new.reply_to_id)
            quoted_raw = await self.conn.one(quoted_key, "GET", quoted_key) or b""
            if not quoted_raw:
                raise NotFound("The message replied to is not in this conversation.")
            quoted = codec.message(quoted_key, quoted_raw)
        mid, seq = new_id(), conv.last_seq + 1
        stored = codec.message_json(
            id=mid,
            seq=seq,
            sender_id=new.sender_id,
            client_id=new.client_id,
            body=new.body,
            reply_to_id=new.reply_to_id,
            created_at=new.created_at,
            edited_at=None,
            deleted=False,
        )
        record = codec.record(cid, codec.message(k.message(cid, mid), stored), quoted)
        data = wire.message_bytes(record)
        reply = new.reply_to_id or ""
        keys = [
            *self._event_keys(cid),
            k.conv(cid),
            k.seqs(cid),
            k.live(cid),
            k.sent(cid, new.sender_id),
            k.clients(cid),
            k.message(cid, mid),
            k.message_events(cid, mid),
            k.replies(cid, reply) if reply else k.conv(cid),
            k.message(cid, reply) if reply else k.conv(cid),
        ]
        spec = EVENT_KEYS + "hzzzhts" + ("st" if reply else "--")
        args = [spec, *self._event_args("message.created", cid, data, conv.member_ids)]
        args += [ver, client_field, mid, seq, stored, new.created_at, quoted_raw]
        result = await self._script("append_message", keys, args)
        if result[0] == b"DUP":
            return await self._existing(cid, codec.text(k.clients(cid), result[1])), None
        if result[0] == b"NOTFOUND":
            raise NotFound("No such conversation.")
        return record, EventRecord(int(result[1]), "message.created", cid, data)

    async def _existing(self, cid: str, mid: str) -> MessageRecord:
        found = (await self._messages(cid, [mid]))[0]
        if found is None:
            log.error("idempotency entry of %s names a missing message %s", cid, mid)
            raise StoreCorrupt("A stored message is missing.")
        return found

    @guarded
    async def get_message(self, conversation_id: str, message_id: str) -> MessageRecord | None:
        return (await self._messages(conversation_id, [message_id]))[0]

    @guarded
    async def last_message(self, conversation_id: str) -> MessageRecord | None:
        mid = await self._last_message_id(conversation_id)
        return (await self._messages(conversation_id, [mid]))[0] if mid else None

    @guarded
    async def list_messages(
        self, conversation_id: str, before: int | None, after: int | None, limit: int
    ) -> tuple[list[MessageRecord], bool]:
        key = self.keys.seqs(conversation_id)
        upper = f"({before}" if before is not None else "+inf"
        if after is not None:
            ids = await self.conn.one(
                key, "ZRANGEBYSCORE", key, f"({after}", upper, "LIMIT", 0, limit + 1
            )
        else:
            ids = await self.conn.one(
                key, "ZREVRANGEBYSCORE", key, upper, "-inf", "LIMIT", 0, limit + 1
            )
            ids.reverse()
        more = len(ids) > limit
        ids = ids[:limit] if after is not None else ids[max(0, len(ids) - limit) :]
        found = await self._messages(conversation_id, [codec.text(key, i) for i in ids])
        return [m for m in found if m is not None], more

    @guarded
    async def edit_message(
        self, conversation_id: str, message_id: str, body: str, at: int
    ) -> tuple[MessageRecord, EventRecord]:
        return await self._change(conversation_id, message_id, body, at)

    @guarded
    async def delete_message(
        self, conversation_id: str, message_id: str, at: int
    ) -> tuple[MessageRecord, EventRecord]:
        return await self._change(conversation_id, message_id, None, at)

    async def _change(
        self, cid: str, mid: str, body: str | None, at: int
    ) -> tuple[MessageRecord, EventRecord]:
        """Edit (body given) or delete, rewriting every kept payload that holds the text."""
        k = self.keys
        loaded = await self._load_conv(cid)
        old_raw = await self.conn.one(k.message(cid, mid), "GET", k.message(cid, mid))
        if loaded is None or old_raw is None:
            raise NotFound("No such message.")
        conv, ver = loaded
        stored = codec.message(k.message(cid, mid), old_raw)
        if stored["deleted"] and body is not None:
            raise NotFound("No such message.")
        if body is None:
            stored.update(body="", deleted=True)
        else:
            stored.update(body=body, edited=at)
        new_raw = orjson.dumps(stored)
        quoted = None
        if stored.get("reply"):
            quoted = (await self._raw_messages(cid, [stored["reply"]]))[0]
        record = codec.record(cid, stored, quoted)
        rewrites = await self._rewrites(cid, mid, stored, record)
        kind = "message.deleted" if body is None else "message.updated"
        data = wire.message_bytes(record)
        keys = [
            *self._event_keys(cid),
            k.conv(cid),
            k.message(cid, mid),
            k.message_events(cid, mid),
            k.live(cid),
            k.sent(cid, record.sender_id),
        ]
        args = [EVENT_KEYS + "htszz", *self._event_args(kind, cid, data, conv.member_ids)]
        args += [ver, old_raw, new_raw, "1" if body is None else "0", mid, *rewrites]
        result = await self._script("change_message", keys, args)
        if result[0] == b"NOTFOUND":
            raise NotFound("No such message.")
        return record, EventRecord(int(result[1]), kind, cid, data)

    async def _rewrites(
        self, cid: str, mid: str, stored: dict[str, Any], record: MessageRecord
    ) -> list[Any]:
        """(event id, new member) for each kept event holding the text of `mid`: its own
        events, its replies' events, and conversation events naming either as last message."""
        k = self.keys
        reply_key = k.replies(cid, mid)
        reply_ids = [
            codec.text(reply_key, r) for r in await self.conn.one(reply_key, "SMEMBERS", reply_key)
        ]
        fresh = {mid: wire.message(record)}
        for reply in await self._raw_messages(cid, reply_ids):
            if reply is not None:
                fresh[reply["id"]] = wire.message(codec.record(cid, reply, stored))
        sets = [k.message_events(cid, m) for m in fresh]
        members = await self.conn.run(*((s, "SMEMBERS", s) for s in sets))
        owner = {
            codec.integer(s, eid): m
            for s, m, ids in zip(sets, fresh, members, strict=True)
            for eid in ids
        }
        events_key = k.events(cid)
        found = await self.conn.run(
            *((events_key, "ZRANGEBYSCORE", events_key, eid, eid) for eid in owner)
        )
        out: list[Any] = []
        for eid, hits in zip(owner, found, strict=True):
            if not hits:
                continue  # trimmed from the resume log
            event, at = codec.event(events_key, cid, hits[0])
            message_json = fresh[owner[eid]]
            if event.kind.startswith("message."):
                payload = wire.dumps(message_json)
            else:
                obj = codec.json_object(events_key, event.data)
                obj["last_message"] = message_json
                payload = wire.dumps(obj)
            out += [eid, codec.event_member(eid, at, event.kind, payload)]
        return out

    # -- the event log ----------------------------------------------------------------------
    @guarded
    async def last_event_id(self) -> int:
        key = self.keys.event_counter
        raw = await self.conn.one(key, "GET", key)
        return 0 if raw is None else codec.integer(key, raw)

    @guarded
    async def first_event_id(self) -> int:
        k = self.keys
        oldest, last = await self.conn.run(
            (k.event_log, "ZRANGE", k.event_log, 0, 0, "WITHSCORES"),
            (k.event_counter, "GET", k.event_counter),
        )
        if oldest:  # [member, score]
            return int(float(oldest[1]))
        return (0 if last is None else codec.integer(k.event_counter, last)) + 1

    @guarded
    async def events_for_user(self, user_id: str, after_id: int, limit: int) -> list[EventRecord]:
        k = self.keys
        last, convs = await self.conn.run(
            (k.event_counter, "GET", k.event_counter),
            (k.user_convs(user_id), "SMEMBERS", k.user_convs(user_id)),
        )
        if last is None or not convs:
            return []
        # Read up to the id given out last: every event up to it is committed (ids are given
        # in commit order), so reading conversations one by one cannot skip one.
        upto = codec.integer(k.event_counter, last)
        cids = [codec.text(k.user_convs(user_id), c) for c in convs]
        pages = await self.conn.run(
            *(
                (k.events(c), "ZRANGEBYSCORE", k.events(c), f"({after_id}", upto, "LIMIT", 0, limit)
                for c in cids
            )
        )
        decoded = [
            [codec.event(k.events(c), c, m)[0] for m in page]
            for c, page in zip(cids, pages, strict=True)
        ]
        merged = heapq.merge(*decoded, key=lambda e: e.id)
        return [e for _, e in zip(range(limit), merged, strict=False)]

    @guarded
    async def events_between(self, after_id: int, upto_id: int) -> list[EventRecord]:
        k = self.keys
        if upto_id <= after_id:
            return []
        entries = await self.conn.one(
            k.event_log, "ZRANGEBYSCORE", k.event_log, f"({after_id}", upto_id
        )
        wanted: dict[str, set[int]] = {}
        for raw in entries:
            parsed = _log_entry(k.event_log, raw)
            if parsed is not None:
                wanted.setdefault(parsed[2], set()).add(parsed[0])
        cids = list(wanted)
        pages = await self.conn.run(
            *((k.events(c), "ZRANGEBYSCORE", k.events(c), f"({after_id}", upto_id) for c in cids)
        )
        out = []
        for c, page in zip(cids, pages, strict=True):
            for member in page:
                event = codec.event(k.events(c), c, member)[0]
                if event.id in wanted[c]:
                    out.append(event)
        return sorted(out, key=lambda e: e.id)

    @guarded
    async def trim_events(self, before_ms: int) -> int:
        """Drop the oldest events older than `before_ms` from the log (messages stay). The
        newest event is kept, so first_event_id stays meaningful."""
        k = self.keys
        trimmed = 0
        newest = await self.last_event_id()
        while True:
            entries = await self.conn.one(k.event_log, "ZRANGE", k.event_log, 0, 999)
            upto: dict[str, int] = {}
            done = not entries
            for raw in entries:
                parsed = _log_entry(k.event_log, raw)
                if parsed is None:
                    continue
                event_id, at, cid = parsed
                if at >= before_ms or event_id >= newest:
                    done = True
                    break
                upto[cid] = max(upto.get(cid, 0), event_id)
            if upto:
                top = max(upto.values())
                cmds = [
                    (k.events(c), "ZREMRANGEBYSCORE", k.events(c), "-inf", i)
                    for c, i in upto.items()
                ]
                results = await self.conn.run(
                    *cmds, (k.event_log, "ZREMRANGEBYSCORE", k.event_log, "-inf", top)
                )
                trimmed += int(results[-1])
            if done or not upto:
                return trimmed


def _log_entry(key: str, raw: bytes) -> tuple[int, int, str] | None:
    """A global log entry; a bad one is skipped (quarantining the whole log would stop every
    resume) and left for `hellow doctor` to report."""
    try:
        return codec.log_entry(key, raw)
    except Garbled:
        log.error("skipping an unreadable entry of %s: %.80r", key, raw)
        return None
