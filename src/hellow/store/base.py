"""The `Store` protocol: everything durable (and the little shared state presence needs).

Implementations: `SqliteStore` (embedded default) and `RedisStore` (many processes).
Both pass `tests/store/test_store_contract.py` unchanged.

Rules every implementation keeps:
- A method that appends an event writes it in the same atomic step as the change it
  describes, and returns it; the caller publishes it on the bus only afterwards.
- Event ids are positive, only grow, and are shared by every process on the store.
  They are assigned in commit order, so a reader never sees id N+1 before N.
- Message events carry the message's current JSON: editing or deleting a message
  rewrites the payload of every stored event that holds its text (its own events
  and the quotes in replies to it), so a deleted text is gone from storage.
- Wrong-typed or unparseable stored data raises `StoreCorrupt`; nothing is deleted.
- An unreachable backend raises `Unavailable`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ..records import (
    ConversationRecord,
    EventRecord,
    MessageRecord,
    NewMessage,
    ReceiptRecord,
    SessionRecord,
    UserRecord,
)


class Store(Protocol):
    # True when the store itself publishes each durable event on the bus in the step that
    # writes it (Redis: so pub/sub order is id order); callers then publish only
    # ephemeral events, and every durable event crosses the bus once.
    publishes_events: bool

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None:
        """Return when the backend answers; raise `Unavailable` otherwise."""

    # -- users ---------------------------------------------------------------
    async def create_user(self, user: UserRecord) -> None:
        """Raise `Conflict` when the (lower-case) username is taken."""

    async def get_user(self, user_id: str) -> UserRecord | None: ...
    async def get_user_by_name(self, username: str) -> UserRecord | None: ...
    async def get_users(self, user_ids: Iterable[str]) -> dict[str, UserRecord]: ...
    async def search_users(self, prefix: str, limit: int) -> list[UserRecord]:
        """Users whose username or display name starts with `prefix` (case-insensitive)."""

    async def set_last_seen(self, user_id: str, at: int) -> None: ...

    # -- sessions ------------------------------------------------------------
    async def create_session(self, session: SessionRecord) -> None: ...
    async def get_session(self, session_id: str) -> SessionRecord | None: ...
    async def touch_session(self, session_id: str, at: int) -> None:
        """Record activity: last_active_at = max(last_active_at, at)."""

    async def revoke_session(self, session_id: str) -> None: ...

    # -- throttling (fixed windows, shared by every process) -------------------
    async def throttle_hit(self, key: str, window_s: int) -> tuple[int, float]:
        """Count one hit; return (hits in the current window, seconds until it resets)."""

    async def throttle_peek(self, key: str) -> tuple[int, float]: ...
    async def throttle_clear(self, key: str) -> None: ...

    # -- presence (ephemeral: never in the event log) ------------------------
    async def presence_join(self, user_id: str, instance_id: str) -> bool:
        """One more open stream for the user on that instance; True when they just came online."""

    async def presence_leave(self, user_id: str, instance_id: str, at: int) -> bool:
        """One stream fewer; True when they just went offline (last_seen_at set to `at`)."""

    async def online(self, user_ids: Iterable[str]) -> set[str]: ...

    # -- conversations ---------------------------------------------------------
    async def create_conversation(
        self, conversation: ConversationRecord, data: bytes
    ) -> tuple[ConversationRecord, EventRecord | None]:
        """Create it with a `conversation.created` event carrying `data`.

        A direct conversation whose `direct_key` exists already is not created again:
        the existing one is returned with no event.
        """

    async def get_conversation(self, conversation_id: str) -> ConversationRecord | None: ...
    async def list_conversations(self, user_id: str) -> list[ConversationRecord]:
        """The user's conversations, most recent activity first."""

    async def add_members(
        self, conversation_id: str, user_ids: list[str], data: bytes
    ) -> tuple[ConversationRecord, EventRecord | None]:
        """Add those not yet members; a `conversation.updated` event when anyone was added."""

    async def remove_member(
        self, conversation_id: str, user_id: str, data: bytes
    ) -> tuple[ConversationRecord, EventRecord | None]: ...

    async def contacts(self, user_id: str) -> set[str]:
        """Everyone who shares a conversation with the user (presence goes to them)."""

    # -- receipts ----------------------------------------------------------------
    async def get_receipts(self, conversation_id: str) -> list[ReceiptRecord]:
        """One per current member."""

    async def update_receipt(
        self, conversation_id: str, user_id: str, delivered_seq: int | None, read_seq: int | None
    ) -> tuple[ReceiptRecord, EventRecord | None]:
        """Move the watermarks forward only, capped at last_seq; read implies delivered.

        A `receipt.updated` event only when something moved.
        """

    async def unread_count(self, conversation_id: str, user_id: str) -> int:
        """Messages after the user's read watermark, not theirs, not deleted."""

    # -- messages ----------------------------------------------------------------
    async def append_message(self, new: NewMessage) -> tuple[MessageRecord, EventRecord | None]:
        """Give it the next seq and append `message.created`.

        The same (sender, conversation, client_id) again returns the first message and no event.
        A sender who is not a member (in the same atomic step as the write) is `NotFound`:
        the store is the one membership check a send needs. `reply_to_id` must name a
        message of the same conversation, else `NotFound`.
        """

    async def get_message(self, conversation_id: str, message_id: str) -> MessageRecord | None: ...
    async def last_message(self, conversation_id: str) -> MessageRecord | None: ...
    async def list_messages(
        self, conversation_id: str, before: int | None, after: int | None, limit: int
    ) -> tuple[list[MessageRecord], bool]:
        """A page ascending by seq and whether more lie beyond it.

        `after` given: the first `limit` with seq > after (more: newer ones exist).
        Otherwise: the last `limit` with seq < before (or the newest; more: older exist).
        """

    async def edit_message(
        self, conversation_id: str, message_id: str, body: str, at: int
    ) -> tuple[MessageRecord, EventRecord]: ...

    async def delete_message(
        self, conversation_id: str, message_id: str, at: int
    ) -> tuple[MessageRecord, EventRecord]:
        """Leave a tombstone and erase the text everywhere it is stored."""

    # -- the event log -----------------------------------------------------------
    async def last_event_id(self) -> int: ...
    async def first_event_id(self) -> int:
        """The oldest id still kept (last_event_id + 1 when the log is empty)."""

    async def events_for_user(self, user_id: str, after_id: int, limit: int) -> list[EventRecord]:
        """Events after `after_id` of the conversations the user is a member of now, ascending."""

    async def events_between(self, after_id: int, upto_id: int) -> list[EventRecord]:
        """Every event with after_id < id <= upto_id, ascending (fills a gap on the bus)."""

    async def trim_events(self, before_ms: int) -> int:
        """Drop resume-log events older than `before_ms` (messages stay); return how many."""
