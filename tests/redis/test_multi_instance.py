"""Several server processes on one Redis serve one chat (issue 4), seen through HTTP and SSE."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
from multi_util import Client, ServerProcess, instances, live, login, on, unique

import redis


def test_a_message_sent_through_one_instance_reaches_a_stream_on_another(
    make_server: Callable[..., ServerProcess], redis_url: str
) -> None:
    s1, s2 = instances(make_server, redis_url, 2)
    alice = Client.register(s1.url)
    bob = Client.register(s2.url)
    conv = alice.direct(bob)
    stream = live(s2, bob)
    try:
        sent = alice.send(conv["id"], "across the wire")
        ev = stream.wait_for("message.created", id=sent["id"])
        assert ev.id is not None and ev.json()["body"] == "across the wire"
        r = alice.post(f"/api/conversations/{conv['id']}/typing", json={"typing": True})
        assert r.status_code == 204
        typing = stream.wait_for("typing", user_id=alice.id)
        assert typing.id is None and typing.json()["typing"] is True
    finally:
        stream.close()


def test_resume_on_any_instance_is_exact_and_ids_grow_across_instances(
    make_server: Callable[..., ServerProcess], redis_url: str
) -> None:
    servers = instances(make_server, redis_url, 3)
    alice = Client.register(servers[0].url)
    bob = Client.register(servers[1].url)
    conv = alice.group("trio", bob)
    first = live(servers[0], bob)
    mark = first.ready["last_event_id"]  # type: ignore[attr-defined]
    first.close()
    sent = [on(alice, servers[n % 3]).send(conv["id"], f"m{n}") for n in range(30)]
    assert [m["seq"] for m in sent] == list(range(1, 31))
    for server in servers:
        again = live(server, bob, last_event_id=mark)
        try:
            replayed = again.replayed  # type: ignore[attr-defined]
            assert [e.event for e in replayed] == ["message.created"] * 30
            assert [e.json()["id"] for e in replayed] == [m["id"] for m in sent]
            ids = [e.id for e in replayed]
            assert ids == sorted(ids) and len(set(ids)) == 30  # one log, one id, in order
            assert again.ready["last_event_id"] == ids[-1]  # type: ignore[attr-defined]
        finally:
            again.close()


def test_a_client_id_resent_to_another_instance_returns_the_same_message(
    make_server: Callable[..., ServerProcess], redis_url: str
) -> None:
    s1, s2 = instances(make_server, redis_url, 2)
    alice = Client.register(s1.url)
    bob = Client.register(s1.url)
    conv = alice.direct(bob)
    body = {"client_id": uuid.uuid4().hex, "body": "only once"}
    first = alice.post(f"/api/conversations/{conv['id']}/messages", json=body)
    again = on(alice, s2).post(f"/api/conversations/{conv['id']}/messages", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    listed = on(bob, s2).get(f"/api/conversations/{conv['id']}/messages").json()
    assert [m["id"] for m in listed["messages"]] == [first.json()["id"]]


def test_logout_on_one_instance_ends_streams_and_the_token_everywhere(
    make_server: Callable[..., ServerProcess], redis_url: str
) -> None:
    s1, s2 = instances(make_server, redis_url, 2)
    alice = Client.register(s1.url)
    streams = [live(s1, alice), live(s2, alice)]
    try:
        assert on(alice, s2).post("/api/auth/logout").status_code == 204
        for stream in streams:
            ended = stream.wait_for("session.ended")
            assert ended.json()["reason"] == "logout"
            assert stream.closed.wait(5)
        for server in (s1, s2):
            assert on(alice, server).get("/api/users/me").status_code == 401
    finally:
        for stream in streams:
            stream.close()


def test_presence_is_online_while_any_instance_holds_a_stream(
    make_server: Callable[..., ServerProcess], redis_url: str
) -> None:
    s1, s2 = instances(make_server, redis_url, 2)
    alice = Client.register(s1.url)
    bob = Client.register(s2.url)
    conv = alice.direct(bob)
    watcher = live(s1, alice)

    def bob_online(server: ServerProcess) -> bool:
        r = on(alice, server).get(f"/api/conversations/{conv['id']}")
        return next(m["online"] for m in r.json()["members"] if m["id"] == bob.id)

    try:
        first = live(s1, bob)
        watcher.wait_for("presence", user_id=bob.id, online=True)
        second = live(s2, bob)
        first.close()
        assert bob_online(s1) and bob_online(s2)  # still online: s2 holds a stream
        second.close()
        offline = watcher.wait_for("presence", user_id=bob.id, online=False)
        assert offline.json()["last_seen_at"] is not None
        assert not bob_online(s1) and not bob_online(s2)
    finally:
        watcher.close()


def test_login_throttling_counts_across_instances(
    make_server: Callable[..., ServerProcess], redis_url: str
) -> None:
    s1, s2 = instances(make_server, redis_url, 2, HELLOW_LOGIN_MAX_FAILURES="4")
    name = unique()
    Client.register(s1.url, username=name)
    for n in range(4):
        r = login(s1 if n % 2 else s2, name, "wrong password!")
        assert r.status_code == 401, r.text
    for server in (s1, s2):
        r = login(server, name, "wrong password!")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_a_wrong_typed_key_is_quarantined_and_only_that_request_fails(
    make_server: Callable[..., ServerProcess], redis_url: str
) -> None:
    s1, s2 = instances(make_server, redis_url, 2)
    alice = Client.register(s1.url)
    bob = Client.register(s1.url)
    broken, fine = alice.group("broken", bob), alice.group("fine", bob)
    alice.send(broken["id"], "a message")
    alice.send(fine["id"], "another")
    raw = redis.Redis.from_url(redis_url)
    key = f"hellow:v1:conv:{{{broken['id']}}}:seqs"
    raw.delete(key)
    raw.set(key, "planted")  # a string where a sorted set belongs
    r = on(alice, s2).get(f"/api/conversations/{broken['id']}/messages")
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 500 and "Traceback" not in r.text
    moved = [k.decode() for k in raw.scan_iter(match="hellow:quarantine:*")]
    assert len(moved) == 1 and key in moved[0] and raw.get(moved[0]) == b"planted"
    assert "quarantined redis key" in s2.log()
    for server in (s1, s2):  # every other conversation, on every instance, goes on
        assert on(bob, server).get(f"/api/conversations/{fine['id']}/messages").status_code == 200
        on(bob, server).send(fine["id"], "still here")
    assert on(alice, s1).get(f"/api/conversations/{broken['id']}").status_code == 200
    assert httpx.get(s1.url + "/readyz").status_code == 200
    raw.close()
