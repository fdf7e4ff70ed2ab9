"""Helpers for the multi-process Redis tests: several real servers on one real Redis."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from support import PASSWORD, Client, EventReader, ServerProcess, SSEEvent, unique

# Sends are not the subject here: lift the per-user rate limit.
FAST = {"HELLOW_SEND_RATE_PER_S": "100000"}


def instances(
    make_server: Callable[..., ServerProcess], redis_url: str, n: int, **env: str
) -> list[ServerProcess]:
    return [make_server(HELLOW_REDIS_URL=redis_url, **FAST, **env) for _ in range(n)]


def on(client: Client, server: ServerProcess) -> Client:
    """The same signed-in user, talking to another instance (load balancers do this)."""
    other = Client(server.url, client.token)
    other.user = client.user
    return other


def live(server: ServerProcess, client: Client, last_event_id: int | None = None) -> EventReader:
    """A stream that reached `ready`; `.replayed` holds what came before it."""
    reader = EventReader(server.url, client.token or "", last_event_id=last_event_id)
    assert reader.status == 200, f"/api/events answered {reader.status}: {reader.body[:300]}"
    replayed: list[SSEEvent] = []
    while True:
        ev = reader.next(10)
        if ev.event == "ready":
            reader.replayed = replayed  # type: ignore[attr-defined]
            reader.ready = ev.json()  # type: ignore[attr-defined]
            return reader
        replayed.append(ev)


def login(server: ServerProcess, username: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(
        server.url + "/api/auth/login",
        json={"username": username, "password": password},
        timeout=10,
    )


def wait_until(check: Callable[[], bool], timeout: float = 15.0, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)


def ready(server: ServerProcess) -> bool:
    try:
        return httpx.get(server.url + "/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


__all__ = ["Client", "EventReader", "ServerProcess", "unique"]
