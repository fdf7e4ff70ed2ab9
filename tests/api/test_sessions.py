"""Idle expiry: GETs and open streams are not activity; unsafe requests are; expiry ends streams."""

from __future__ import annotations

import threading
import time

from ._util import Client, assert_problem, open_reader, parse_time, poll


def test_idle_expiry(make_server):
    srv = make_server(HELLOW_IDLE_TIMEOUT_S="2")
    idle = Client.register(srv.url)  # only GETs and an open stream
    active = Client.register(srv.url)  # POST /api/auth/activity
    sender = Client.register(srv.url)  # other unsafe requests
    session = idle.get("/api/auth/session").json()
    assert session["idle_timeout_s"] == 2
    conv = sender.direct(active)

    reader = open_reader(srv.url, idle.token or "")
    stop = threading.Event()
    failures: list[str] = []

    def keep_busy() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            r1 = active.post("/api/auth/activity")
            r2 = sender.post(f"/api/conversations/{conv['id']}/typing", json={"typing": n % 2 == 0})
            if r1.status_code != 204 or r2.status_code != 204:
                failures.append(f"{r1.status_code} {r2.status_code}")
            stop.wait(0.4)

    busy = threading.Thread(target=keep_busy, daemon=True)
    busy.start()
    try:
        # GETs every 0.2 s do not keep the idle session alive: it ends.
        poll(
            lambda: idle.get("/api/users/me").status_code == 401,
            timeout=15,
            interval=0.2,
            what="idle session expired",
        )
        ended = reader.wait_for("session.ended", timeout=10)
        assert isinstance(ended.json().get("reason"), str)
        assert reader.closed.wait(10), "the stream stayed open after session.ended"
        assert_problem(idle.post("/api/auth/activity"), 401)
        # Outlive the idle timeout a few times over while staying active.
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            time.sleep(0.25)
    finally:
        stop.set()
        busy.join(5)
        reader.close()
    assert not failures, failures
    assert active.get("/api/users/me").status_code == 200, "POST activity did not keep it alive"
    assert sender.get("/api/users/me").status_code == 200, "unsafe requests did not keep it alive"
    s = active.get("/api/auth/session").json()
    assert parse_time(s["idle_expires_at"]) > parse_time(session["idle_expires_at"])
    # And once everyone stops, expiry comes for them too.
    poll(lambda: active.get("/api/users/me").status_code == 401, timeout=15, interval=0.2)


def test_session_max_life_caps_even_an_active_session(make_server):
    srv = make_server(HELLOW_SESSION_MAX_S="3")
    a = Client.register(srv.url)
    reader = open_reader(srv.url, a.token or "")
    try:

        def ended() -> bool:
            r = a.post("/api/auth/activity")  # active all along
            return r.status_code == 401

        poll(ended, timeout=20, interval=0.25, what="session ended at its max life")
        assert_problem(a.get("/api/users/me"), 401)
        reader.wait_for("session.ended", timeout=10)
        assert reader.closed.wait(10)
    finally:
        reader.close()
