"""Signing in and out: field errors in words, idle logout that a reload does not reset,
"Stay signed in", and what sign-out leaves behind in the browser."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from support import PASSWORD, Client, ServerProcess, unique

from ._ui import expect_live
from .conftest import Person

IDLE_S = "8"  # short enough for a test; the warning shows for the last third (~2.7 s)


def test_sign_in_and_create_account_say_what_is_wrong(
    person: Callable[..., Person], alice: Client
) -> None:
    p = person(alice, sign_in=False)
    page = p.page
    username, password = page.get_by_label("Username"), page.get_by_label("Password")
    sign_in = page.get_by_role("button", name="Sign in")
    create = page.get_by_role("button", name="Create account")

    create.click()
    expect(page.locator("#auth-username-error")).to_have_text("Enter your username.")

    username.fill(alice.user["username"])
    password.fill("short")
    create.click()
    expect(page.locator("#auth-password-error")).to_contain_text("at least 8 characters")

    password.fill(PASSWORD)
    create.click()
    expect(page.locator("#auth-username-error")).to_contain_text("taken")

    password.fill("not the password")
    sign_in.click()
    expect(page.locator("#auth-password-error")).to_have_text("Wrong username or password.")
    expect(username).to_have_attribute("aria-invalid", "false")

    newcomer = unique("new")
    username.fill(newcomer)
    password.fill(PASSWORD)
    create.click()
    expect_live(page)
    expect(page.locator("#me")).to_have_text(newcomer)

    page.get_by_role("button", name="Sign out").click()
    expect(sign_in).to_be_visible()
    username.fill(newcomer)
    password.fill(PASSWORD)
    password.press("Enter")
    expect_live(page)


def test_idle_logout_survives_reload_and_wipes_storage(
    person: Callable[..., Person], make_server: Callable[..., ServerProcess]
) -> None:
    srv = make_server(HELLOW_IDLE_TIMEOUT_S=IDLE_S)
    alice = Client.register(srv.url)
    p = person(alice)
    page = p.page
    expect_live(page)
    expect(page.locator("#idle-warning")).to_be_visible(timeout=15000)
    expect(page.get_by_role("button", name="Stay signed in")).to_be_visible()
    clock = page.evaluate("localStorage.getItem('hellow:idle')")
    assert clock

    page.reload()  # loading a page is not activity: the shared clock keeps running
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=15000)
    expect(page.locator("#auth-notice")).to_contain_text("signed out")
    assert p.context.request.get("/api/auth/session").status == 401
    kept = page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('hellow:'))")
    assert set(kept) <= {"hellow:outbox"}, kept


def test_idle_clock_is_shared_and_stay_signed_in_keeps_the_session(
    person: Callable[..., Person], make_server: Callable[..., ServerProcess]
) -> None:
    srv = make_server(HELLOW_IDLE_TIMEOUT_S=IDLE_S)
    alice = Client.register(srv.url)
    p = person(alice)
    first, second = p.page, p.tab()
    for page in (first, second):
        expect(page.locator("#idle-warning")).to_be_visible(timeout=15000)

    second.keyboard.press("Shift")  # activity in one tab resets the clock of every tab
    for page in (first, second):
        expect(page.locator("#idle-warning")).to_be_hidden()

    expect(second.locator("#idle-warning")).to_be_visible(timeout=15000)
    second.get_by_role("button", name="Stay signed in").click()
    for page in (first, second):
        expect(page.locator("#idle-warning")).to_be_hidden()
    expect_live(first)
    assert p.context.request.get("/api/auth/session").status == 200


def test_sign_out_in_one_tab_signs_out_all(person: Callable[..., Person], alice: Client) -> None:
    p = person(alice)
    other = p.tab()
    expect_live(other)
    p.page.get_by_role("button", name="Sign out").click()
    expect(other.get_by_role("button", name="Sign in")).to_be_visible()
    expect(p.page.get_by_role("button", name="Sign in")).to_be_visible()
    assert p.context.request.get("/api/auth/session").status == 401
