"""The outbox: a message written offline is sent once when the network is back, and a
reload keeps both the session and the queue."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from support import Client

from ._ui import (
    ACKED,
    MESSAGES_URL,
    QUEUED,
    bubble,
    expect_live,
    fail_sends,
    messages_with,
    open_conversation,
    send,
)
from .conftest import Person


def test_message_sent_offline_arrives_exactly_once(
    person: Callable[..., Person], alice: Client, bob: Client
) -> None:
    cid = alice.direct(bob)["id"]
    a, b = person(alice), person(bob)
    open_conversation(a.page, cid)
    open_conversation(b.page, cid)

    a.context.set_offline(True)
    send(a.page, "written on the train")
    queued = bubble(a.page, "written on the train")
    expect(queued).to_have_attribute("data-status", QUEUED)
    assert messages_with(alice, cid, "written on the train") == []

    a.context.set_offline(False)
    expect(queued).to_have_attribute("data-status", ACKED)
    expect(bubble(b.page, "written on the train")).to_have_count(1)
    assert len(messages_with(alice, cid, "written on the train")) == 1


def test_failed_after_ten_seconds_then_retry(
    person: Callable[..., Person], alice: Client, bob: Client
) -> None:
    cid = alice.direct(bob)["id"]
    a = person(alice)
    open_conversation(a.page, cid)
    fail_sends(a.page)
    send(a.page, "no answer")
    pending = bubble(a.page, "no answer")
    expect(pending).to_have_attribute("data-status", "failed", timeout=15000)
    expect(pending.get_by_role("button", name="Retry")).to_be_visible()

    a.page.unroute(MESSAGES_URL)
    pending.get_by_role("button", name="Retry").click()
    expect(pending).to_have_attribute("data-status", ACKED)
    assert len(messages_with(alice, cid, "no answer")) == 1


def test_reload_keeps_session_and_queue(
    person: Callable[..., Person], alice: Client, bob: Client
) -> None:
    cid = alice.direct(bob)["id"]
    a = person(alice)
    open_conversation(a.page, cid)
    # Sends fail (as when the network drops) while the page itself still loads.
    fail_sends(a.page)
    send(a.page, "first in line")
    send(a.page, "second in line")
    expect(bubble(a.page, "second in line")).to_have_attribute("data-status", QUEUED)

    a.page.reload()
    expect_live(a.page)
    expect(a.page.get_by_role("log")).to_be_visible()  # still signed in, same conversation
    expect(bubble(a.page, "first in line")).to_have_attribute("data-status", QUEUED)
    expect(bubble(a.page, "second in line")).to_have_attribute("data-status", QUEUED)
    assert messages_with(alice, cid, "first in line") == []

    a.page.unroute(MESSAGES_URL)
    expect(bubble(a.page, "second in line")).to_have_attribute("data-status", ACKED, timeout=20000)
    r = alice.get(f"/api/conversations/{cid}/messages")
    bodies = [m["body"] for m in r.json()["messages"]]
    assert bodies == ["first in line", "second in line"]
