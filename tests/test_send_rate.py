"""The per-user send limit: bursts of 3x the rate, then 429; its memory stays bounded."""

from __future__ import annotations

import pytest

from hellow import chat
from hellow.chat import SendRate
from hellow.errors import Throttled


def test_a_burst_of_three_times_the_rate_then_throttled() -> None:
    rate = SendRate(10.0)
    for _ in range(30):
        rate.take("alice")
    with pytest.raises(Throttled) as caught:
        rate.take("alice")
    assert caught.value.retry_after >= 1
    rate.take("bob")  # others are not affected


def test_refilled_buckets_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chat, "PRUNE_ABOVE", 100)
    clock = [1000.0]
    monkeypatch.setattr(chat.time, "monotonic", lambda: clock[0])
    rate = SendRate(10.0)
    for n in range(150):
        rate.take(f"user{n}")
    clock[0] += 60  # every bucket has refilled
    rate.take("late")
    assert len(rate._buckets) <= 1
