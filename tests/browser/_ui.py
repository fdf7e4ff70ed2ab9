"""Page helpers: drive the web client only through its stable hooks (issue 3)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from support import Client

QUEUED = re.compile("sending|failed")
ACKED = re.compile("sent|delivered|read")
MESSAGES_URL = "**/api/conversations/*/messages"


def fail_sends(page: Any) -> None:
    """Make every message POST fail as a dropped network would, while pages still load."""

    def handle(route: Any) -> None:
        if route.request.method == "POST":
            route.abort()
        else:
            route.fallback()

    page.route(MESSAGES_URL, handle)


def connection(page: Any) -> Any:
    return page.locator("[data-connection]")


def expect_live(page: Any, timeout: float = 15000) -> None:
    expect(connection(page)).to_have_attribute("data-connection", "live", timeout=timeout)


def row(page: Any, conversation_id: str) -> Any:
    return page.locator(f'[data-conversation-id="{conversation_id}"]')


def open_conversation(page: Any, conversation_id: str) -> None:
    row(page, conversation_id).click()
    expect(page.get_by_role("log")).to_be_visible()


def send(page: Any, text: str) -> None:
    box = page.get_by_label("Message", exact=True)
    box.fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def bubble(page: Any, text: str) -> Any:
    """The message element (carrying data-message-id and data-status) showing `text`."""
    return page.get_by_role("log").locator("[data-message-id]").filter(has_text=text)


def messages_with(client: Client, conversation_id: str, body: str) -> list[dict[str, Any]]:
    r = client.get(f"/api/conversations/{conversation_id}/messages", params={"limit": 200})
    assert r.status_code == 200, r.text
    return [m for m in r.json()["messages"] if m["body"] == body]
