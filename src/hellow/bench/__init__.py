"""`hellow bench`: the load tool. It starts its own server (or targets `--url`), opens
event streams from separate processes, drives a scenario and reports latency,
throughput, loss, memory per stream and CPU. See docs/benchmarks.md.

Modules: `cli` (command line), `standard` (the standard set), `scenarios` (the five
scenarios), `runner` (set-up and the measured step), `pool` and `worker` (load
processes), `sse_reader` and `sender` (the wire), `api` (set-up calls), `servers`
(processes under test, /proc readings), `stats`, `targets`, `report`, `plot`, `progress`.
"""

from __future__ import annotations

from .cli import main

__all__ = ["main"]
