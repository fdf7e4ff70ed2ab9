"""The standard set (`make bench`): the issue's target sizes, about 10 minutes on 2 cores."""

from __future__ import annotations

from .scenarios import Sizes

STANDARD: list[tuple[str, Sizes]] = [
    ("latency", Sizes(rates=[100.0], duration=10.0)),
    ("fanout", Sizes(streams=1000, rates=[20.0, 50.0, 100.0, 200.0], duration=5.0)),
    ("connections", Sizes(streams=10_000, messages=5)),
    ("throughput", Sizes(conversations=32, connections=32, duration=10.0)),
    ("resume", Sizes(messages=10_000)),
]


def command_line(scenario: str, sizes: Sizes, backend: str) -> str:
    """The `hellow bench` command that runs one job of a set on its own."""
    parts = ["hellow bench", scenario]
    if sizes.streams:
        parts.append(f"--streams {sizes.streams}")
    if sizes.rates:
        parts.append("--rate " + ",".join(f"{r:g}" for r in sizes.rates))
    if sizes.duration:
        parts.append(f"--duration {sizes.duration:g}")
    if sizes.messages:
        parts.append(f"--messages {sizes.messages}")
    if sizes.connections:
        parts.append(f"--connections {sizes.connections}")
    if sizes.conversations:
        parts.append(f"--conversations {sizes.conversations}")
    if backend == "redis":
        parts.append("--redis")
    return " ".join(parts)
