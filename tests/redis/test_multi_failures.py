"""Failures on Redis: an instance killed mid-load, Redis itself stopped and restarted."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from multi_util import Client, ServerProcess, instances, live, on, ready, wait_until


def test_kill_9_one_instance_mid_load_and_nothing_acknowledged_is_lost(
    make_server: Callable[..., ServerProcess], redis_url: str
) -> None:
    victim, survivor = instances(make_server, redis_url, 2)
    alice = Client.register(survivor.url)
    bob = Client.register(survivor.url)
    conv = alice.group("load", bob)
    acknowledged: dict[str, str] = {}  # client_id -> message id
    unanswered: list[str] = []  # in flight when the instance died: maybe stored, maybe not
    lock = threading.Lock()
    stop = threading.Event()

    def sender(server: ServerProcess) -> None:
        with httpx.Client(base_url=server.url, timeout=5, headers=alice.headers()) as http:
            while not stop.is_set():
                client_id = uuid.uuid4().hex
                body = {"client_id": client_id, "body": f"load {client_id}"}
                try:
                    r = http.post(f"/api/conversations/{conv['id']}/messages", json=body)
                except httpx.HTTPError:
                    with lock:
                        unanswered.append(client_id)
                    return  # the instance died under it
                assert r.status_code in (200, 201), r.text
                with lock:
                    acknowledged[client_id] = r.json()["id"]

    threads = [threading.Thread(target=sender, args=(s,)) for s in (victim,) * 3 + (survivor,)]
    for t in threads:
        t.start()
    wait_until(lambda: len(acknowledged) >= 60, timeout=20, step=0.01)
    victim.kill()  # SIGKILL: no shutdown, no flush, mid-request
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(10)
    assert len(unanswered) == 3  # each victim sender was cut off mid-request
    stored = on(bob, survivor).all_messages(conv["id"])
    by_client = {m["client_id"]: m for m in stored}
    lost = [c for c in acknowledged if c not in by_client]
    assert lost == [], f"{len(lost)} of {len(acknowledged)} acknowledged messages lost"
    assert all(by_client[c]["id"] == acknowledged[c] for c in acknowledged)
    assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))  # gapless
    # A client that never heard back resends to the survivor: never a second message.
    for client_id in unanswered:
        r = on(alice, survivor).post(
            f"/api/conversations/{conv['id']}/messages",
            json={"client_id": client_id, "body": f"load {client_id}"},
        )
        assert r.status_code == (200 if client_id in by_client else 201)
    after = on(bob, survivor).all_messages(conv["id"])
    assert len(after) == len({m["client_id"] for m in after}) == len(acknowledged) + 3


def test_redis_restart_gives_503s_then_recovers_and_clients_lose_nothing(
    make_server: Callable[..., ServerProcess], redis_url: str, redis_server: Any
) -> None:
    s1, s2 = instances(make_server, redis_url, 2)
    alice = Client.register(s1.url)
    bob = Client.register(s2.url)
    conv = alice.direct(bob)
    stream = live(s2, bob)
    sent = [alice.send(conv["id"], f"before {n}") for n in range(3)]
    last_id = [stream.wait_for("message.created", id=m["id"]) for m in sent][-1].id
    redis_server.stop()
    try:
        started = time.monotonic()
        r = alice.post(
            f"/api/conversations/{conv['id']}/messages",
            json={"client_id": uuid.uuid4().hex, "body": "while away"},
        )
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert time.monotonic() - started < 5  # an answer, not a hang
        assert stream.closed.wait(10)  # open streams are told and closed
        for server in (s1, s2):
            assert httpx.get(server.url + "/readyz", timeout=5).status_code == 503
            assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
    finally:
        stream.close()
        redis_server.start()
    wait_until(lambda: ready(s1) and ready(s2), timeout=20)
    after = [on(alice, s2).send(conv["id"], f"after {n}") for n in range(3)]
    resumed = live(s1, bob, last_event_id=last_id)
    try:
        replayed = resumed.replayed  # type: ignore[attr-defined]
        assert [e.json()["id"] for e in replayed if e.event == "message.created"] == [
            m["id"] for m in after
        ]
        live_one = alice.send(conv["id"], "live again")
        resumed.wait_for("message.created", id=live_one["id"])
    finally:
        resumed.close()
    bodies = [m["body"] for m in bob.all_messages(conv["id"])]
    assert bodies == [*(m["body"] for m in sent), *(m["body"] for m in after), "live again"]
