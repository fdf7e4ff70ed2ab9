"""Local fixtures of the API conformance suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from support import Client, EventReader, ServerProcess

from ._util import open_reader


@pytest.fixture(scope="session")
def busy_server() -> Iterator[ServerProcess]:
    """A server for tests that send a lot: sends are not throttled, stream queues are small."""
    proc = ServerProcess(
        env={"HELLOW_SEND_RATE_PER_S": "100000", "HELLOW_STREAM_QUEUE_BYTES": "262144"}
    ).start()
    yield proc
    proc.cleanup()


@pytest.fixture
def users(server: ServerProcess) -> Callable[..., list[Client]]:
    """users(n, base_url=None): n fresh signed-in users."""

    def make(n: int, base_url: str | None = None) -> list[Client]:
        return [Client.register(base_url or server.url) for _ in range(n)]

    return make


@pytest.fixture
def streams() -> Iterator[Callable[..., EventReader]]:
    """streams(client, **kw) -> a live EventReader (reached `ready`), closed after the test."""
    opened: list[EventReader] = []

    def make(client: Client, **kw: Any) -> EventReader:
        base = kw.pop("base_url", client.base_url)
        reader = open_reader(base, client.token or "", **kw)
        opened.append(reader)
        return reader

    yield make
    for reader in opened:
        reader.close()
