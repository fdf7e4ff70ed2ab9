"""A process started while Redis is away waits for it, then serves as usual."""

from __future__ import annotations

import httpx
from multi_util import FAST, live, wait_until

from support import Client


def test_a_server_started_while_redis_is_down_recovers_when_it_returns(
    make_server, redis_server, redis_url
):
    redis_server.stop()
    try:
        server = make_server(HELLOW_REDIS_URL=redis_url, **FAST)
        ready = httpx.get(server.url + "/readyz", timeout=10)
        assert ready.status_code == 503
        body = {"username": "nobody", "password": "whatever1"}
        refused = httpx.post(server.url + "/api/auth/register", json=body, timeout=10)
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    finally:
        redis_server.start()
    wait_until(lambda: httpx.get(server.url + "/readyz", timeout=5).status_code == 200)
    alice, bob = Client.register(server.url), Client.register(server.url)
    chat = alice.direct(bob)
    reader = live(server, bob)
    try:
        sent = alice.send(chat["id"], "after the outage")
        assert reader.wait_for("message.created", id=sent["id"]).id > 0
    finally:
        reader.close()
