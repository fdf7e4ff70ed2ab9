"""Bus contract: what every implementation does, the in-process one and Redis pub/sub."""

from __future__ import annotations

import orjson

from hellow.bus.base import Bus, Event

from .conftest import Recorder


def _event(n: int, durable: bool = True) -> Event:
    return Event(
        kind="message.created",
        data=b'{"n":%d,"text":"caf\xc3\xa9 \\"quoted\\""}' % n,
        audience=frozenset({"u1", "u2"}),
        id=n if durable else None,
        conversation_id="c1",
    )


async def test_a_published_event_reaches_the_listener_intact(bus: Bus) -> None:
    heard = Recorder()
    await bus.start(heard)
    sent = Event("session.ended", b'{"reason":"logout"}', frozenset({"u"}), None, None, "s1")
    await bus.publish(_event(1))
    await bus.publish(sent)
    await heard.wait(lambda: len(heard.events) == 2)
    first, second = heard.events
    assert (first.kind, first.data, first.audience, first.id, first.conversation_id) == (
        "message.created",
        _event(1).data,
        frozenset({"u1", "u2"}),
        1,
        "c1",
    )
    assert second == sent and second.session_id == "s1"
    assert second.frame == sent.frame  # the same SSE bytes


async def test_events_of_one_publisher_arrive_in_publish_order(bus: Bus) -> None:
    heard = Recorder()
    await bus.start(heard)
    for n in range(1, 201):
        await bus.publish(_event(n, durable=n % 3 != 0))
    await heard.wait(lambda: len(heard.events) == 200)
    assert [orjson.loads(e.data)["n"] for e in heard.events] == list(range(1, 201))


async def test_ephemeral_events_are_delivered_every_time(bus: Bus) -> None:
    heard = Recorder()
    await bus.start(heard)
    typing = Event("typing", b'{"typing":true}', frozenset({"u"}))
    for _ in range(3):
        await bus.publish(typing)
    await heard.wait(lambda: len(heard.events) == 3)


async def test_ping_answers_once_started(bus: Bus) -> None:
    await bus.start(Recorder())
    await bus.ping()
