"""Plain records the domain and the stores exchange. Times are integer milliseconds (UTC)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field


def now_ms() -> int:
    return int(time.time() * 1000)


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(slots=True)
class UserRecord:
    id: str
    username: str
    display_name: str
    password_hash: str
    created_at: int
    last_seen_at: int | None = None


@dataclass(slots=True)
class SessionRecord:
    id: str
    user_id: str
    created_at: int
    expires_at: int
    last_active_at: int
    revoked: bool = False


@dataclass(slots=True)
class ConversationRecord:
    id: str
    kind: str  # "direct" | "group"
    title: str | None
    created_at: int
    last_seq: int = 0
    last_activity_at: int = 0
    member_ids: list[str] = field(default_factory=list)  # current members, in joining order
    direct_key: str | None = None  # "a:b" (sorted user ids) for direct conversations


@dataclass(slots=True)
class ReceiptRecord:
    conversation_id: str
    user_id: str
    delivered_seq: int = 0
    read_seq: int = 0


@dataclass(slots=True)
class ReplyRef:
    """A quote of the replied-to message as it is now (excerpt empty once deleted)."""

    id: str
    seq: int
    sender_id: str
    excerpt: str


@dataclass(slots=True)
class NewMessage:
    conversation_id: str
    sender_id: str
    client_id: str
    body: str
    reply_to_id: str | None
    created_at: int


@dataclass(slots=True)
class MessageRecord:
    id: str
    conversation_id: str
    seq: int
    sender_id: str
    client_id: str
    body: str
    reply_to: ReplyRef | None
    created_at: int
    edited_at: int | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One entry of the durable event log. `data` is the event's JSON, encoded once."""

    id: int
    kind: str
    conversation_id: str
    data: bytes
    # Who may receive it, as read in the same transaction as the write (None: not known,
    # the caller's view of the members is used).
    audience: tuple[str, ...] | None = None
