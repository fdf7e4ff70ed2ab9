"""Browser fixtures: one headless system Chromium per session, a fresh context per person.

Two contexts are two people; two pages of one context are two tabs of one person (they
share cookies, localStorage, BroadcastChannel and Web Locks).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from support import PASSWORD, Client, ServerProcess, required

# Facts about these machines (DESIGN.md): Playwright drives Debian's Chromium; it cannot
# download its own browsers here.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _missing(message: str) -> None:
    if required("browser"):
        pytest.fail(message)
    pytest.skip(message)


def chromium_path() -> str | None:
    configured = os.environ.get("HELLOW_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Python Playwright is missing: pip install -e '.[test]'")
    path = chromium_path()
    if not path or not os.path.exists(path):
        _missing("Chromium is missing: apt-get install chromium (or set HELLOW_CHROMIUM)")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@dataclass
class Person:
    """One person in their own browser context, with an HTTP client for setup and checks."""

    client: Client
    context: Any
    errors: list[str] = field(default_factory=list)
    pages: list[Any] = field(default_factory=list)

    @property
    def page(self) -> Any:
        return self.pages[0]

    def tab(self, path: str = "/") -> Any:
        """A new tab of the same person, loaded and live."""
        page = self.context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        self.pages.append(page)
        page.goto(path)
        return page


@pytest.fixture
def person(browser: Any, server: ServerProcess) -> Iterator[Callable[..., Person]]:
    """person(client, ...) -> Person signed in through the session cookie, one tab open.

    Every page's uncaught errors are collected; any of them fails the test at teardown.
    """
    made: list[Person] = []

    def make(
        client: Client,
        *,
        base_url: str | None = None,
        viewport: dict[str, int] | None = None,
        color_scheme: str = "light",
        open_tab: bool = True,
        sign_in: bool = True,
    ) -> Person:
        context = browser.new_context(
            base_url=base_url or client.base_url,
            viewport=viewport or DESKTOP,
            color_scheme=color_scheme,
            reduced_motion="reduce",
        )
        context.set_default_timeout(15000)
        who = Person(client=client, context=context)
        made.append(who)
        if sign_in:
            r = context.request.post(
                "/api/auth/login",
                data={"username": client.user["username"], "password": PASSWORD},
                headers={"X-Hellow-CSRF": "1"},
            )
            assert r.status == 200, r.text()
        if open_tab:
            who.tab()
        return who

    yield make
    errors = [e for p in made for e in p.errors]
    for p in made:
        p.context.close()
    assert not errors, f"uncaught page errors: {errors}"
