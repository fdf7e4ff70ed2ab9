"""The event stream: framing, ready, pings, ids, resume (header and query), reset, visibility."""

from __future__ import annotations

import httpx
import pytest

from ._util import (
    DURABLE,
    Client,
    LiveReader,
    assert_problem,
    assert_time,
    collect_until,
    is_message,
    mentions,
    open_reader,
    poll,
    send_retry,
)


def durable(events):
    return [ev for ev in events if ev.event in DURABLE]


def key(ev):
    data = ev.json()
    return (ev.id, ev.event, data.get("id") or data.get("user_id"), ev.data)


def test_stream_headers_and_retry(alice, streams):
    reader = streams(alice)
    assert reader.status == 200
    assert reader.headers["content-type"].startswith("text/event-stream")
    assert "no-cache" in reader.headers.get("cache-control", "")
    assert reader.headers.get("x-accel-buffering") == "no"
    assert "gzip" not in reader.headers.get("content-encoding", "")
    assert reader.retry == 2000


def test_stream_starts_with_retry_line(server, alice):
    with (
        httpx.Client(base_url=server.url, timeout=10) as http,
        http.stream(
            "GET",
            "/api/events",
            headers={"Authorization": f"Bearer {alice.token}", "Accept-Encoding": "gzip"},
        ) as r,
    ):
        assert r.status_code == 200
        assert "content-encoding" not in r.headers
        lines = []
        for line in r.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
    assert lines[0] == "retry: 2000", lines
    assert "event: ready" in lines


def test_ready_first_without_last_event_id(alice, bob, streams):
    c = alice.direct(bob)
    alice.send(c["id"], "old news")
    reader = streams(bob)
    assert reader.replayed == [], f"replayed without Last-Event-ID: {reader.replayed}"
    ready = reader.ready.json()
    assert set(ready) >= {"user_id", "last_event_id", "heartbeat_s", "server_time"}
    assert ready["user_id"] == bob.id
    assert isinstance(ready["last_event_id"], int) and ready["last_event_id"] >= 0
    assert ready["heartbeat_s"] == 15
    assert_time(ready["server_time"])
    assert reader.ready.id is None or reader.ready.id == ready["last_event_id"]
    m = alice.send(c["id"], "live")
    ev = reader.wait_for("message.created", id=m["id"])
    assert ev.id > ready["last_event_id"]


def test_data_is_one_line_of_json(alice, bob, streams):
    c = alice.direct(bob)
    reader = streams(bob)
    m = alice.send(c["id"], "line one\nline two\r\nline three")
    ev = reader.wait_for("message.created", id=m["id"])
    assert "\n" not in ev.data
    assert ev.json()["body"] == "line one\nline two\r\nline three".strip()


def test_durable_events_have_growing_ids(alice, bob, carol, streams):
    reader = streams(bob)
    g = alice.group("ids", bob)
    m1 = alice.send(g["id"], "one")
    bob.post(f"/api/conversations/{g['id']}/receipts", json={"read_seq": 1})
    alice.patch(f"/api/conversations/{g['id']}/messages/{m1['id']}", json={"body": "one!"})
    alice.post(f"/api/conversations/{g['id']}/members", json={"user_ids": [carol.id]})
    alice.delete(f"/api/conversations/{g['id']}/messages/{m1['id']}")
    m2 = alice.send(g["id"], "two")
    events = collect_until(reader, lambda ev: is_message(ev, m2["id"]))
    kinds = [ev.event for ev in durable(events)]
    for kind in DURABLE:
        assert kind in kinds, (kind, kinds)
    ids = [ev.id for ev in durable(events)]
    assert all(isinstance(i, int) and i > 0 for i in ids), ids
    assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
    for ev in events:
        if ev.event not in DURABLE:
            assert ev.id is None, ev


def test_pings(make_server):
    srv = make_server(HELLOW_HEARTBEAT_S="0.5")
    a = Client.register(srv.url)
    reader = open_reader(srv.url, a.token)
    try:
        assert reader.ready.json()["heartbeat_s"] == 0.5
        poll(lambda: reader.pings >= 3, timeout=15, what="3 pings")
        assert not reader.closed.is_set()
    finally:
        reader.close()


def resume_exact(server_url: str, query: bool) -> None:
    a, b, c = (Client.register(server_url) for _ in range(3))
    chat = a.direct(b)
    hidden = a.direct(c)  # traffic bob must never see, interleaved
    baseline = open_reader(server_url, b.token)  # stays connected throughout
    dropped = open_reader(server_url, b.token)
    try:
        first = a.send(chat["id"], "before")
        ev = dropped.wait_for("message.created", id=first["id"])
        last_id = ev.id
        dropped.close()
        sent = []
        for i in range(100):
            if i % 3 == 0:
                send_retry(a, hidden["id"], f"hidden {i}")
            who = a if i % 2 else b
            m = send_retry(who, chat["id"], f"missed {i}")
            sent.append(m["id"])
            if i % 10 == 0:
                a.post(f"/api/conversations/{chat['id']}/receipts", json={"read_seq": m["seq"]})
        live_ref = collect_until(baseline, lambda e: is_message(e, sent[-1]), timeout=30)
        expected = [key(e) for e in durable(live_ref) if e.id > last_id]
        resumed = open_reader(server_url, b.token, last_event_id=last_id, query=query, timeout=30)
        try:
            got = [key(e) for e in resumed.replayed]
            assert not [e for e in resumed.replayed if e.event == "reset"], (
                "reset instead of replay"
            )
            assert len(got) == len(expected), (len(got), len(expected))
            assert got == expected
            assert [g[2] for g in got if g[1] == "message.created"] == sent
            ready = resumed.ready.json()
            assert ready["last_event_id"] >= expected[-1][0]
            assert not any(mentions(e, hidden["id"]) for e in resumed.replayed)
            # Then live.
            m = a.send(chat["id"], "live again")
            resumed.wait_for("message.created", id=m["id"])
        finally:
            resumed.close()
    finally:
        baseline.close()
        dropped.close()


def test_resume_after_100_missed_events_header(busy_server):
    resume_exact(busy_server.url, query=False)


def test_resume_after_100_missed_events_query(busy_server):
    resume_exact(busy_server.url, query=True)


def test_resume_from_ready_last_event_id(alice, bob, streams):
    c = alice.direct(bob)
    first = streams(bob)
    mark = first.ready.json()["last_event_id"]
    first.close()
    sent = [alice.send(c["id"], f"while away {i}")["id"] for i in range(3)]
    resumed = streams(bob, last_event_id=mark)
    assert [ev.json()["id"] for ev in resumed.replayed if ev.event == "message.created"] == sent


def test_resume_after_dropped_streams_loses_nothing(alice, bob, streams):
    c = alice.direct(bob)
    reader = streams(bob)
    m0 = alice.send(c["id"], "seen")
    last = reader.wait_for("message.created", id=m0["id"]).id
    r = bob.post("/api/test/drop-streams")
    assert r.status_code in (200, 204), r.text
    assert reader.closed.wait(10), "drop-streams did not close the stream"
    assert bob.get("/api/users/me").status_code == 200, "dropping streams ended the session"
    sent = [alice.send(c["id"], f"gap {i}")["id"] for i in range(5)]
    resumed = streams(bob, last_event_id=last)
    assert [ev.json()["id"] for ev in resumed.replayed if ev.event == "message.created"] == sent


def test_resume_from_future_id_sends_reset(alice, bob, streams):
    c = alice.direct(bob)
    alice.send(c["id"], "x")
    reader = LiveReader(bob.base_url, bob.token, last_event_id=10**12)
    try:
        assert reader.status == 200, reader.body
        ev = reader.wait_for("reset")
        assert ev.id is None
        assert ev.json() == {}
    finally:
        reader.close()


@pytest.mark.parametrize("value", ["abc", "-5", "1e9", "99999999999999999999999999999"])
def test_resume_from_nonsense_id_is_reset_or_4xx(bob, value):
    with httpx.Client(base_url=bob.base_url, timeout=10) as http:
        headers = {"Authorization": f"Bearer {bob.token}", "Last-Event-ID": value}
        with http.stream("GET", "/api/events", headers=headers) as r:
            if r.status_code != 200:
                r.read()
                assert_problem(r)
                return
            for line in r.iter_lines():
                if line == "event: reset":
                    return
                assert line != "event: ready", "neither reset nor an error for a nonsense id"


def test_resume_from_before_retention_sends_reset(make_server):
    srv = make_server(HELLOW_RETENTION_DAYS="0.00001")  # under a second
    a, b = Client.register(srv.url), Client.register(srv.url)
    c = a.direct(b)
    first = open_reader(srv.url, b.token)
    try:
        m = a.send(c["id"], "soon forgotten")
        old = first.wait_for("message.created", id=m["id"]).id
    finally:
        first.close()

    def got_reset() -> bool:
        a.send(c["id"], "newer")  # keeps the log moving
        reader = LiveReader(srv.url, b.token, last_event_id=old - 1)
        try:
            while True:
                ev = reader.next(5)
                if ev.event == "reset":
                    return True
                if ev.event == "ready":
                    return False
        finally:
            reader.close()

    poll(got_reset, timeout=20, interval=0.5, what="reset for an id older than what is kept")


def test_non_member_sees_nothing(alice, bob, carol, streams):
    spy = streams(carol)
    g = alice.group("private", bob)
    m = alice.send(g["id"], "psst")
    bob.send(g["id"], "reply", reply_to=m["id"])
    bob.post(f"/api/conversations/{g['id']}/receipts", json={"read_seq": 2})
    alice.post(f"/api/conversations/{g['id']}/typing", json={"typing": True})
    alice.patch(f"/api/conversations/{g['id']}/messages/{m['id']}", json={"body": "psst!"})
    alice.delete(f"/api/conversations/{g['id']}/messages/{m['id']}")
    own = carol.direct(alice)
    marker = alice.send(own["id"], "marker")
    events = collect_until(spy, lambda e: is_message(e, marker["id"]))
    leaked = [e for e in events if mentions(e, g["id"])]
    assert not leaked, leaked
    # Nor in a replay of everything since her stream started.
    resumed = streams(carol, last_event_id=spy.ready.json()["last_event_id"])
    assert not [e for e in resumed.replayed if mentions(e, g["id"])]
    assert any(is_message(e, marker["id"]) for e in resumed.replayed)


def test_every_stream_of_a_user_gets_events(alice, bob, streams):
    c = alice.direct(bob)
    one, two = streams(bob), streams(bob)
    m = alice.send(c["id"], "both tabs")
    assert (
        one.wait_for("message.created", id=m["id"]).id
        == two.wait_for("message.created", id=m["id"]).id
    )


def test_sender_gets_own_events_too(alice, bob, streams):
    c = alice.direct(bob)
    mine = streams(alice)
    m = alice.send(c["id"], "echo")
    assert mine.wait_for("message.created", id=m["id"]).json()["body"] == "echo"


@pytest.mark.parametrize("auth", [None, "Bearer nonsense"])
def test_unsigned_stream_is_401(server, auth):
    headers = {"Authorization": auth} if auth else {}
    r = httpx.get(server.url + "/api/events", headers=headers, timeout=10)
    assert_problem(r, 401)


def test_stream_with_ended_session_is_401(alice):
    token = alice.token
    assert alice.post("/api/auth/logout").status_code == 204
    r = httpx.get(
        alice.base_url + "/api/events", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert_problem(r, 401)


def test_resume_from_the_latest_id_replays_nothing_and_no_reset(alice, bob, streams):
    c = alice.direct(bob)
    first = streams(bob)
    m = alice.send(c["id"], "latest")
    latest = first.wait_for("message.created", id=m["id"]).id
    resumed = streams(bob, last_event_id=latest)
    assert resumed.replayed == []
    assert resumed.ready.json()["last_event_id"] >= latest


def test_an_event_seen_is_already_stored(alice, bob, streams):
    c = alice.direct(bob)
    reader = streams(bob)
    for i in range(15):
        alice.send(c["id"], f"durable {i}")
        ev = reader.wait_for("message.created", conversation_id=c["id"])
        seq = ev.json()["seq"]
        page = bob.get(f"/api/conversations/{c['id']}/messages", params={"after": seq - 1})
        assert [x["id"] for x in page.json()["messages"]][:1] == [ev.json()["id"]]


def test_resume_while_live_traffic_flows_is_gapless(busy_server):
    """Events that arrive during the replay are neither lost nor sent twice."""
    import threading

    url = busy_server.url
    a, b = Client.register(url), Client.register(url)
    chat = a.direct(b)
    baseline = open_reader(url, b.token)
    try:
        start = baseline.ready.json()["last_event_id"]
        for i in range(150):
            send_retry(a, chat["id"], f"backlog {i}")
        live: list[str] = []

        def keep_sending() -> None:
            for i in range(150):
                live.append(send_retry(a, chat["id"], f"live {i}")["id"])

        sender = threading.Thread(target=keep_sending)
        sender.start()
        resumed = open_reader(url, b.token, last_event_id=start, timeout=30)
        try:
            sender.join(60)
            last = live[-1]
            ref = collect_until(baseline, lambda e: is_message(e, last), timeout=30)
            got = [*resumed.replayed, resumed.ready]
            got += collect_until(resumed, lambda e: is_message(e, last), timeout=30)
            ids = [e.id for e in got if e.event in DURABLE]
            assert ids == sorted(ids) and len(ids) == len(set(ids)), "out of order or duplicated"
            assert ids == [e.id for e in ref if e.event in DURABLE]
        finally:
            resumed.close()
    finally:
        baseline.close()
