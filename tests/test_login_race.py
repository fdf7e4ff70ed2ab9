"""Sign-in throttling holds when the wrong passwords arrive all at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from support import Client, ServerProcess, unique


def test_parallel_wrong_passwords_are_throttled_after_the_limit(
    make_server: Callable[..., ServerProcess],
) -> None:
    server = make_server(HELLOW_LOGIN_MAX_FAILURES="5")
    name = unique("victim")
    Client.register(server.url, username=name)

    def guess(n: int) -> int:
        body = {"username": name, "password": f"wrong guess {n}"}
        return httpx.post(server.url + "/api/auth/login", json=body, timeout=30).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = Counter(pool.map(guess, range(30)))
    assert statuses == {401: 5, 429: 25}
