"""The event stream: many tabs share one; drops, restarts and silences are survived."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import expect

from support import Client, ServerProcess

from ._ui import bubble, connection, expect_live, open_conversation
from .conftest import Person

TABS = 10


def test_ten_tabs_are_all_live_on_one_stream(
    person: Callable[..., Person], alice: Client, bob: Client
) -> None:
    cid = alice.direct(bob)["id"]
    p = person(alice, open_tab=False)
    streams: list[Any] = []
    p.context.on("request", lambda r: streams.append(r) if r.url.endswith("/api/events") else None)
    pages = [p.tab(f"/#/c/{cid}") for _ in range(TABS)]
    for page in pages:
        expect_live(page)

    bob.send(cid, "hello, every tab")
    for page in pages:
        expect(bubble(page, "hello, every tab")).to_be_visible()
    # Browsers allow 6 connections per host: one tab reads the stream for all of them.
    assert len(streams) == 1, [r.frame.page.url for r in streams]

    leader = streams[0].frame.page
    leader.close()
    rest = [page for page in pages if page is not leader]
    for page in rest:
        expect_live(page)
    bob.send(cid, "after the hand-over")
    for page in rest:
        expect(bubble(page, "after the hand-over")).to_be_visible()
    assert len(streams) == 2
    assert streams[1].header_value("last-event-id"), "the new leader resumes where the old one was"


def test_dropped_stream_resumes_with_nothing_lost(
    person: Callable[..., Person], server: ServerProcess, alice: Client, bob: Client
) -> None:
    cid = alice.direct(bob)["id"]
    p = person(alice)
    page = p.page
    open_conversation(page, cid)
    expect_live(page)
    streams: list[Any] = []
    page.on("request", lambda r: streams.append(r) if r.url.endswith("/api/events") else None)

    # Hold reconnects back while Bob writes, so the messages can only come by resume.
    page.route("**/api/events", lambda route: route.abort())
    assert httpx.post(server.url + "/api/test/drop-streams").status_code in (200, 204)
    expect(connection(page)).to_have_attribute("data-connection", "connecting")
    missed = [f"missed {n}" for n in range(3)]
    for text in missed:
        bob.send(cid, text)
    page.unroute("**/api/events")

    expect_live(page)
    for text in missed:
        expect(bubble(page, text)).to_have_count(1)
    assert streams[-1].header_value("last-event-id"), "reconnects resume with Last-Event-ID"


def test_server_restart_is_survived(
    person: Callable[..., Person], make_server: Callable[..., ServerProcess]
) -> None:
    srv = make_server()
    alice, bob = Client.register(srv.url), Client.register(srv.url)
    cid = alice.direct(bob)["id"]
    p = person(alice, base_url=srv.url)
    open_conversation(p.page, cid)
    expect_live(p.page)

    srv.stop()
    expect(connection(p.page)).to_have_attribute("data-connection", "connecting")
    srv.start()
    bob.send(cid, "back after the restart")
    expect_live(p.page)
    expect(bubble(p.page, "back after the restart")).to_have_count(1)


def test_late_heartbeats_show_poor_then_recover(
    person: Callable[..., Person], make_server: Callable[..., ServerProcess]
) -> None:
    srv = make_server(HELLOW_HEARTBEAT_S="2")
    alice = Client.register(srv.url)
    p = person(alice, base_url=srv.url)
    expect_live(p.page)
    assert srv.proc is not None
    os.kill(srv.proc.pid, signal.SIGSTOP)  # the socket stays open, but no ping comes
    try:
        expect(connection(p.page)).to_have_attribute("data-connection", "poor", timeout=10000)
    finally:
        os.kill(srv.proc.pid, signal.SIGCONT)
    expect_live(p.page, timeout=20000)
