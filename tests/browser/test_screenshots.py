"""Screenshots of the main screens, light and dark, desktop and phone, for the README.

They also show at a glance whether a change broke the look.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from playwright.sync_api import expect

from support import ROOT, Client, EventReader, ServerProcess

from ._ui import bubble, expect_live, open_conversation, row
from .conftest import DESKTOP, PHONE, Person

SHOTS = ROOT / "docs" / "screenshots"


def _scene(url: str) -> tuple[Client, dict[str, Client], dict[str, str]]:
    """Alice and friends, with a few conversations worth looking at."""
    tag = uuid.uuid4().hex[:4]  # readable handles, unique per run
    me = Client.register(url, f"alice.{tag}", display_name="Alice Appleseed")
    bob = Client.register(url, f"bob.{tag}", display_name="Bob Baker")
    carol = Client.register(url, f"carol.{tag}", display_name="Carol Chen")
    dan = Client.register(url, f"dan.{tag}", display_name="Dan Diaz")
    dan_chat = me.direct(dan)["id"]
    me.send(dan_chat, "Thanks for the book, I loved it!")
    group = me.group("Weekend hike", bob, carol, dan)["id"]
    me.send(group, "Who is bringing the map?")
    bob.send(group, "I have the trail app, but a paper map never hurts.")
    carol.send(group, "I'll print one tonight.")
    dan.send(group, "Meet at the car park at 7:30?")
    carol_chat = carol.direct(me)["id"]
    carol.send(carol_chat, "Did you see the photos from Sunday?")
    bob_chat = bob.direct(me)["id"]
    bob.send(bob_chat, "Hey! Are we still on for the hike on Saturday?")
    snacks = me.send(bob_chat, "Absolutely. I'll bring snacks.")
    me.send(bob_chat, "Trail starts at 8, right?")
    bob.send(bob_chat, "8 sharp. Bring a jacket, it gets windy up top.")
    bob.send(bob_chat, "The good ones, please", reply_to=snacks["id"])
    last = me.send(bob_chat, "Obviously. The ones with the salted caramel.")
    bob.post(f"/api/conversations/{bob_chat}/receipts", json={"read_seq": last["seq"]})
    friends = {"bob": bob, "carol": carol, "dan": dan}
    chats = {"bob": bob_chat, "group": group, "carol": carol_chat, "dan": dan_chat}
    return me, friends, chats


def _shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))  # type: ignore[attr-defined]


def test_screenshots(
    person: Callable[..., Person], make_server: Callable[..., ServerProcess]
) -> None:
    srv = make_server()
    for theme in ("light", "dark"):
        me, friends, chats = _scene(srv.url)  # afresh: the phone pass reads the group
        online = EventReader(srv.url, friends["bob"].token)  # Bob is online
        try:
            guest = person(me, sign_in=False, color_scheme=theme)
            expect(guest.page.get_by_role("button", name="Sign in")).to_be_visible()
            guest.page.get_by_label("Username").fill("alice")
            _shot(guest.page, f"signin-{theme}")
            guest.context.close()

            desk = person(me, color_scheme=theme, viewport=DESKTOP)
            page = desk.page
            expect_live(page)
            expect(row(page, chats["group"])).to_have_attribute("data-unread", "3")
            open_conversation(page, chats["bob"])
            expect(bubble(page, "salted caramel")).to_have_attribute("data-status", "read")
            friends["bob"].post(f"/api/conversations/{chats['bob']}/typing", json={"typing": True})
            expect(page.locator("#typing")).to_be_visible()
            page.get_by_label("Message", exact=True).fill("See you there")
            _shot(page, f"desktop-{theme}")
            expect(row(page, chats["bob"])).to_have_attribute("data-unread", "0")
            desk.context.close()

            phone = person(me, color_scheme=theme, viewport=PHONE)
            page = phone.page
            expect_live(page)
            expect(row(page, chats["carol"])).to_be_visible()
            _shot(page, f"phone-list-{theme}")
            open_conversation(page, chats["group"])
            expect(bubble(page, "car park")).to_be_visible()
            page.mouse.move(PHONE["width"] / 2, PHONE["height"] - 200)  # no hover effects
            _shot(page, f"phone-thread-{theme}")
            phone.context.close()
        finally:
            online.close()
    names = ("signin", "desktop", "phone-list", "phone-thread")
    assert all(
        (SHOTS / f"{n}-{t}.png").stat().st_size > 10_000 for n in names for t in ("light", "dark")
    )
