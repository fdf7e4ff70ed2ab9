"""Two people chatting in two browser contexts: receipts, typing, edit, delete, reply."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import expect

from support import Client

from ._ui import bubble, expect_live, open_conversation, row, send
from .conftest import Person


def test_two_people_chat_with_receipts_and_unread(
    person: Callable[..., Person], alice: Client, bob: Client
) -> None:
    cid = alice.direct(bob)["id"]
    a, b = person(alice), person(bob)
    expect_live(b.page)
    open_conversation(a.page, cid)

    send(a.page, "Hello Bob")
    mine = bubble(a.page, "Hello Bob")
    expect(mine).to_have_attribute("data-status", re.compile("sending|sent|delivered"))
    # Bob's client is live, so it received the message: delivered, not yet read.
    expect(mine).to_have_attribute("data-status", "delivered")
    expect(row(b.page, cid)).to_have_attribute("data-unread", "1")
    expect(b.page).to_have_title(re.compile(r"^\(1\) "))

    open_conversation(b.page, cid)
    expect(bubble(b.page, "Hello Bob")).to_be_visible()
    expect(mine).to_have_attribute("data-status", "read")
    expect(row(b.page, cid)).to_have_attribute("data-unread", "0")
    expect(b.page).not_to_have_title(re.compile(r"^\("))

    b.page.get_by_label("Message", exact=True).press("H")
    b.page.get_by_label("Message", exact=True).press("i")
    b.page.keyboard.press("Shift+Enter")
    b.page.keyboard.type("there")
    b.page.keyboard.press("Enter")
    expect(bubble(a.page, "there")).to_contain_text("Hi\nthere")
    theirs = bubble(a.page, "there")
    expect(theirs).not_to_have_attribute("data-status", re.compile("."))


def test_typing_shows_and_clears(person: Callable[..., Person], alice: Client, bob: Client) -> None:
    cid = alice.direct(bob)["id"]
    a, b = person(alice), person(bob)
    open_conversation(a.page, cid)
    open_conversation(b.page, cid)
    typing = a.page.locator("#typing")
    box = b.page.get_by_label("Message", exact=True)

    box.press_sequentially("thinking")
    expect(typing).to_be_visible()
    expect(typing).to_contain_text("is typing")
    expect(row(a.page, cid)).to_contain_text("typing…")
    box.fill("")  # cleared text: typing false
    expect(typing).to_be_hidden()

    box.press_sequentially("sent now")
    expect(typing).to_be_visible()
    box.press("Enter")  # sending ends typing
    expect(bubble(a.page, "sent now")).to_be_visible()
    expect(typing).to_be_hidden()

    box.press_sequentially("and then silence")
    expect(typing).to_be_visible()
    # No false ever comes: the indicator clears itself 6 s after the last true.
    expect(typing).to_be_hidden(timeout=12000)


def test_edit_delete_and_reply_propagate(
    person: Callable[..., Person], alice: Client, bob: Client
) -> None:
    cid = alice.direct(bob)["id"]
    a, b = person(alice), person(bob)
    open_conversation(a.page, cid)
    open_conversation(b.page, cid)

    send(a.page, "Lunch at noon?")
    original = bubble(a.page, "Lunch at noon?")
    expect(original).to_have_attribute("data-status", re.compile("delivered|read"))
    expect(bubble(b.page, "Lunch at noon?")).to_be_visible()
    message_id = original.get_attribute("data-message-id")
    at_a = a.page.locator(f'[data-message-id="{message_id}"]')
    at_b = b.page.locator(f'[data-message-id="{message_id}"]')

    # Edit from the context menu.
    at_a.locator(".bubble").click(button="right")
    a.page.get_by_role("menuitem", name="Edit").click()
    box = a.page.get_by_label("Message", exact=True)
    expect(box).to_have_value("Lunch at noon?")
    box.fill("Lunch at one?")
    box.press("Enter")
    expect(at_b).to_contain_text("Lunch at one?")
    expect(at_b.locator(".msg-edited")).to_be_visible()

    # Reply from the keyboard: focus the message, press R.
    at_b.focus()
    b.page.keyboard.press("r")
    expect(b.page.locator("#composer-context")).to_contain_text("Replying to")
    b.page.get_by_label("Message", exact=True).fill("One works")
    b.page.keyboard.press("Enter")
    reply = bubble(a.page, "One works")
    expect(reply.locator(".quote")).to_contain_text("Lunch at one?")
    # The quote is tappable: it brings the original into focus.
    reply.locator(".quote").click()
    expect(at_a).to_be_focused()

    # Delete with its shortcut, then confirm.
    at_a.focus()
    a.page.keyboard.press("Delete")
    a.page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(at_b).to_contain_text("This message was deleted")
    expect(bubble(b.page, "One works").locator(".quote")).to_contain_text("Deleted message")
    r = bob.get(f"/api/conversations/{cid}/messages")
    bodies = [m["body"] for m in r.json()["messages"]]
    assert "Lunch at one?" not in bodies and "Lunch at noon?" not in bodies


def test_hostile_text_is_shown_as_text(person: Callable[..., Person], alice: Client) -> None:
    hostile = '<img src=x onerror="window.__pwned=1">'
    mallory = Client.register(alice.base_url, display_name='<b onmouseover="window.__pwned=2">M')
    cid = mallory.direct(alice)["id"]
    mallory.send(cid, hostile)
    a = person(alice)
    expect(row(a.page, cid)).to_contain_text('<b onmouseover="window.__pwned=2">M')
    open_conversation(a.page, cid)
    expect(bubble(a.page, "onerror")).to_contain_text(hostile)
    expect(a.page.locator("#thread-title")).to_have_text('<b onmouseover="window.__pwned=2">M')
    assert a.page.locator("#log img, #conversation-list b").count() == 0
    assert a.page.evaluate("window.__pwned") is None


def test_find_people_start_a_chat_and_make_a_group(
    person: Callable[..., Person], alice: Client, bob: Client, carol: Client
) -> None:
    a, b = person(alice), person(bob)
    page = a.page
    page.get_by_role("searchbox", name="Search people").fill(bob.user["username"])
    page.get_by_role("button", name=re.compile("^Bob")).click()
    expect(page.locator("#thread-title")).to_have_text("Bob")
    send(page, "found you")
    expect(b.page.locator("[data-conversation-id]").filter(has_text="found you")).to_have_count(1)

    page.get_by_role("button", name="New group").click()
    sheet = page.get_by_role("dialog", name="New group")
    sheet.get_by_label("Group name").fill("Book club")
    for friend in (bob, carol):
        sheet.get_by_label("Add people").fill(friend.user["username"])
        found = sheet.locator("#group-results").get_by_role("button", name=friend.user["username"])
        found.click()
        expect(found).to_have_attribute("aria-pressed", "true")
    sheet.get_by_role("button", name="Create").click()
    expect(page.locator("#thread-title")).to_have_text("Book club")
    expect(page.locator("#thread-subtitle")).to_contain_text("3 members")
    send(page, "first chapter by Friday")
    expect(b.page.locator("[data-conversation-id]").filter(has_text="Book club")).to_have_attribute(
        "data-unread", "1"
    )


def test_older_history_loads_on_scroll_back(
    person: Callable[..., Person], alice: Client, bob: Client
) -> None:
    cid = alice.direct(bob)["id"]
    for n in range(1, 56):  # one page is 50: the first five need a scroll back
        last = bob.send(cid, f"line {n:02d}")
    alice.post(f"/api/conversations/{cid}/receipts", json={"read_seq": last["seq"]})
    a = person(alice)
    open_conversation(a.page, cid)
    expect(bubble(a.page, "line 55")).to_be_in_viewport()
    expect(a.page.get_by_role("separator", name="New messages")).to_have_count(0)
    expect(bubble(a.page, "line 01")).to_have_count(0)  # only the newest page at first

    a.page.locator("#scroller").evaluate("el => el.scrollTo(0, 0)")
    expect(bubble(a.page, "line 01")).to_have_count(1)
    jump = a.page.get_by_role("button", name="Jump to latest")
    expect(jump).to_be_visible()
    jump.click()
    expect(bubble(a.page, "line 55")).to_be_in_viewport()
    expect(jump).to_be_hidden()


def test_new_messages_divider_marks_the_first_unread(
    person: Callable[..., Person], alice: Client, bob: Client
) -> None:
    cid = alice.direct(bob)["id"]
    alice.send(cid, "old news")
    for n in range(1, 56):
        bob.send(cid, f"unread {n:02d}")
    a = person(alice)
    expect(a.page.locator(f'[data-conversation-id="{cid}"]')).to_have_attribute("data-unread", "55")
    open_conversation(a.page, cid)
    divider = a.page.get_by_role("separator", name="New messages")
    expect(divider).to_be_in_viewport()
    first = bubble(a.page, "unread 01")
    expect(first).to_be_in_viewport()
    # The divider sits right before the first unread message.
    after = divider.evaluate("el => el.nextElementSibling.dataset.messageId")
    assert after == first.get_attribute("data-message-id")
