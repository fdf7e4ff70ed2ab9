"""Every Redis key Hellow uses: the one table (DESIGN.md rule 8: keys are typed by name).

Each row is a key name pattern under the prefix (default `hellow:v1:`), the one Redis type
that name may hold, and what it means. The store, the bus and `hellow doctor` all build and
recognise key names from this table only, so a key is never read as two different types.

The keys of one conversation share the hash tag `{<cid>}`, so a conversation's own data
lives in one Cluster slot. What is still global (the event counter and log, user indexes)
is listed in docs/redis.md.

A key found holding the wrong type or unparseable data is renamed under `hellow:quarantine:`
(see `quarantine_name`), never deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

QUARANTINE = "hellow:quarantine:"


@dataclass(frozen=True, slots=True)
class KeyKind:
    name: str
    pattern: str  # after the prefix; <placeholders> stand for ids
    type: str  # the Redis TYPE answer: string, hash, set or zset
    meaning: str

    @property
    def regex(self) -> re.Pattern[str]:
        parts = re.split(r"(<\w+>)", self.pattern)
        out = []
        for part in parts:
            if part.startswith("<"):
                # ids never hold ':', '{' or '}'; a throttle key or a direct pair may hold ':'
                out.append("(.+)" if part in ("<key>", "<pair>") else r"([^:{}]+)")
            else:
                out.append(re.escape(part))
        return re.compile("^" + "".join(out) + "$")


TABLE: tuple[KeyKind, ...] = (
    # -- the event log (global: one counter, one index) --------------------------------
    KeyKind("event_counter", "events:last", "string", "last event id given out (INCR)"),
    KeyKind(
        "event_log",
        "events:log",
        "zset",
        "every kept event: score = event id, member `<id>:<ms>:<cid>` (gap fills, trimming)",
    ),
    # -- users and sessions --------------------------------------------------------------
    KeyKind(
        "user",
        "user:<uid>",
        "hash",
        "a user: id username display_name password_hash created_at last_seen_at",
    ),
    KeyKind("user_convs", "user:<uid>:convs", "set", "ids of the user's conversations"),
    KeyKind("username", "username:<name>", "string", "the user id owning a lower-case username"),
    KeyKind(
        "user_index",
        "users:index",
        "zset",
        "prefix search: score 0, members `<lower name or display name>\\0<uid>` (ZRANGEBYLEX)",
    ),
    KeyKind(
        "session",
        "session:<sid>",
        "hash",
        "a session: id user_id created_at expires_at last_active_at revoked; expires a day "
        "after expires_at",
    ),
    # -- shared ephemeral state ------------------------------------------------------------
    KeyKind("throttle", "throttle:<key>", "string", "hits in the current window (INCR, PEXPIRE)"),
    KeyKind(
        "presence",
        "presence:<uid>",
        "hash",
        "instance id -> open event streams of the user on that instance",
    ),
    KeyKind(
        "instances",
        "instances",
        "zset",
        "instance id -> liveness deadline (ms); refreshed every 5 s, counts of dead ones ignored",
    ),
    # -- conversations (hash tag {<cid>}) ----------------------------------------------------
    KeyKind("direct", "direct:<pair>", "string", "the direct conversation of a pair `a:b`"),
    KeyKind(
        "conv",
        "conv:{<cid>}",
        "hash",
        "a conversation: id kind title created_at last_seq last_activity_at direct_key "
        "joins (member order counter) ver (bumped by every write, for compare-and-set)",
    ),
    KeyKind("members", "conv:{<cid>}:members", "zset", "current member ids, score = join order"),
    KeyKind("receipts", "conv:{<cid>}:receipts", "hash", "member id -> `<delivered>:<read>`"),
    KeyKind("seqs", "conv:{<cid>}:seqs", "zset", "every message id, score = seq"),
    KeyKind("live", "conv:{<cid>}:live", "zset", "message ids not deleted, score = seq (unread)"),
    KeyKind("sent", "conv:{<cid>}:sent:<uid>", "zset", "a sender's messages not deleted (unread)"),
    KeyKind("clients", "conv:{<cid>}:clients", "hash", "`<sender>:<client_id>` -> message id"),
    KeyKind("message", "conv:{<cid>}:msg:<mid>", "string", "a message record (JSON)"),
    KeyKind(
        "message_events",
        "conv:{<cid>}:msg:<mid>:events",
        "set",
        "ids of events whose payload holds this message's text (rewritten on edit/delete)",
    ),
    KeyKind("replies", "conv:{<cid>}:msg:<mid>:replies", "set", "ids of messages quoting it"),
    KeyKind(
        "events",
        "conv:{<cid>}:events",
        "zset",
        "the conversation's events: score = id, member `<id>\\t<ms>\\t<kind>\\t<json>`",
    ),
)

BY_NAME = {kind.name: kind for kind in TABLE}
CHANNEL = "bus"  # a pub/sub channel, not a key: `<prefix>bus` carries `Event.to_bytes()`


def classify(prefix: str, key: str) -> tuple[KeyKind, tuple[str, ...]] | None:
    """The table row a key name belongs to, and its placeholder values; None if unknown."""
    if not key.startswith(prefix):
        return None
    rest = key[len(prefix) :]
    for kind in TABLE:
        m = kind.regex.match(rest)
        if m:
            return kind, m.groups()
    return None


def quarantine_name(key: str, at_ms: int) -> str:
    """Where a bad key is moved. It keeps the key's Cluster slot, so RENAME works there too:
    a key with a hash tag keeps it; a key without one becomes the tag itself."""
    if "{" in key and "}" in key[key.index("{") :]:
        return f"{QUARANTINE}{key}:{at_ms}"
    return f"{QUARANTINE}{{{key}}}:{at_ms}"


class Keys:
    """Key names for one prefix, built from the table."""

    def __init__(self, prefix: str = "hellow:v1:") -> None:
        self.prefix = prefix
        self.channel = prefix + CHANNEL
        self.event_counter = self._k("event_counter")
        self.event_log = self._k("event_log")
        self.user_index = self._k("user_index")
        self.instances = self._k("instances")

    def _k(self, kind: str, /, **parts: str) -> str:
        pattern = BY_NAME[kind].pattern
        for part, value in parts.items():
            pattern = pattern.replace(f"<{part}>", value)
        return self.prefix + pattern

    def user(self, uid: str) -> str:
        return self._k("user", uid=uid)

    def user_convs(self, uid: str) -> str:
        return self._k("user_convs", uid=uid)

    def username(self, name: str) -> str:
        return self._k("username", name=name)

    def session(self, sid: str) -> str:
        return self._k("session", sid=sid)

    def throttle(self, key: str) -> str:
        return self._k("throttle", key=key)

    def presence(self, uid: str) -> str:
        return self._k("presence", uid=uid)

    def direct(self, pair: str) -> str:
        return self._k("direct", pair=pair)

    def conv(self, cid: str) -> str:
        return self._k("conv", cid=cid)

    def members(self, cid: str) -> str:
        return self._k("members", cid=cid)

    def receipts(self, cid: str) -> str:
        return self._k("receipts", cid=cid)

    def seqs(self, cid: str) -> str:
        return self._k("seqs", cid=cid)

    def live(self, cid: str) -> str:
        return self._k("live", cid=cid)

    def sent(self, cid: str, uid: str) -> str:
        return self._k("sent", cid=cid, uid=uid)

    def clients(self, cid: str) -> str:
        return self._k("clients", cid=cid)

    def message(self, cid: str, mid: str) -> str:
        return self._k("message", cid=cid, mid=mid)

    def message_events(self, cid: str, mid: str) -> str:
        return self._k("message_events", cid=cid, mid=mid)

    def replies(self, cid: str, mid: str) -> str:
        return self._k("replies", cid=cid, mid=mid)

    def events(self, cid: str) -> str:
        return self._k("events", cid=cid)
