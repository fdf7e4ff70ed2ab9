"""`hellow bench`: each scenario at a tiny size against a real server it starts itself,
loss counted when streams are cut without resume, and the pure parts on plain data.

No timed assertions: figures are checked for sanity (present, positive, consistent),
never against a latency or a rate.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hellow.bench.sse_reader import Sink, SseStream, StreamSpec
from hellow.bench.stats import Latency, account, histogram
from support import ROOT


def bench(tmp_path: Path, *args: str, timeout: float = 120) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "hellow", "bench", *args, "--readers", "1", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    report = json.loads(out.read_text()) if out.exists() else {}
    return proc.returncode, report, proc.stdout + proc.stderr


def sane(result: dict[str, Any]) -> None:
    loss = result["loss"]
    assert result["ok"], result
    assert loss["lost"] == 0 and loss["duplicated"] == 0 and loss["unexpected"] == 0
    assert loss["expected"] > 0 and loss["delivered"] == loss["expected"]
    assert result["accepted"] == result["sent"] > 0
    assert result["latency"]["count"] == loss["delivered"]
    lat = result["latency"]
    assert 0 <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"]
    assert result["deliveries_per_s"] > 0 and result["sends_per_s"] > 0
    assert result["server_cpu_percent"] is not None and result["server_cpu_percent"] >= 0
    assert sum(count for _, count in result["histogram_ms"]) == lat["count"]


SCENARIOS = {
    "latency": ["--rate", "50", "--duration", "1"],
    "fanout": ["--streams", "12", "--rate", "20,40", "--duration", "1"],
    "connections": ["--streams", "40", "--messages", "2", "--rate", "10"],
    "throughput": ["--conversations", "4", "--connections", "4", "--duration", "1"],
    "resume": ["--messages", "300", "--streams", "2"],
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_scenario_runs_clean(tmp_path: Path, scenario: str) -> None:
    code, report, output = bench(tmp_path, scenario, *SCENARIOS[scenario])
    assert code == 0, output
    assert report["ok"] and not report["problems"], output
    results = report["results"]
    assert results and all(r["scenario"] == scenario for r in results), output
    for result in results:
        sane(result)
    if scenario == "fanout":
        assert [r["rate"] for r in results] == [20, 40]
        assert all(r["streams"] == 12 for r in results)
    if scenario == "connections":
        assert results[0]["streams"] == 40
        assert results[0]["mem_per_stream_kib"] is not None
    if scenario == "resume":
        (result,) = results
        assert result["loss"]["expected"] == 2 * 300
        assert result["extra"]["catch_up_s"] > 0


def test_cut_without_resume_counts_loss_and_fails(tmp_path: Path) -> None:
    args = ["fanout", "--streams", "6", "--rate", "50", "--duration", "2", "--cut-at", "0.7"]
    code, report, output = bench(tmp_path, *args, "--no-resume", "--reconnect-delay", "0.4")
    assert code == 1, output
    assert "LOST" in output
    (result,) = report["results"]
    assert result["loss"]["lost"] > 0 and not result["ok"] and not report["ok"]
    assert result["reconnects"] == 6


def test_cut_with_resume_loses_nothing(tmp_path: Path) -> None:
    args = ["fanout", "--streams", "6", "--rate", "50", "--duration", "2", "--cut-at", "0.7"]
    code, report, output = bench(tmp_path, *args, "--reconnect-delay", "0.4")
    assert code == 0, output
    (result,) = report["results"]
    sane(result)
    assert result["reconnects"] == 6


def test_unknown_scenario_is_a_usage_error(tmp_path: Path) -> None:
    code, _, output = bench(tmp_path, "nonsense")
    assert code == 2 and "unknown scenario" in output


# -- pure parts ---------------------------------------------------------------------------


def test_account_counts_lost_duplicated_and_unexpected() -> None:
    accepted = {0: bytes([1, 1, 1, 0]), 1: bytes([1, 1])}
    received = {
        10: {0: bytes([1, 1, 1]), 1: bytes([1, 1])},  # all, exactly once
        11: {0: bytes([1, 0, 2, 1]), 1: bytes([1])},  # 1 lost + 1 lost, 1 dup, 1 unexpected
        12: {7: bytes([1])},  # a conversation it was not owed
    }
    subscriptions = {10: [0, 1], 11: [0, 1], 12: [0]}
    loss = account(accepted, received, subscriptions)
    assert loss.expected == 3 * 5 - 2
    assert loss.lost == 2 + 3
    assert loss.duplicated == 1
    assert loss.unexpected == 1 + 1
    assert loss.delivered == 5 + 5 + 1


def test_latency_percentiles_by_nearest_rank() -> None:
    lat = Latency.of([i * 1000 for i in range(1, 1001)])  # 1..1000 ms
    assert lat is not None
    assert (lat.p50, lat.p90, lat.p99, lat.p999, lat.max) == (500, 900, 990, 999, 1000)
    assert Latency.of([]) is None
    assert sum(c for _, c in histogram([5, 50_000, 10**9])) == 3


def _frames() -> bytes:
    body = '"body":"hb 3 1 {n} 0"'
    events = [b"retry: 2000\n\n", b'event: ready\ndata: {"last_event_id":41}\n\n', b": ping\n\n"]
    for n in range(5):
        data = ("{" + body.format(n=n) + "}").encode()
        events.append(b"id: %d\nevent: message.created\ndata: %s\n\n" % (42 + n, data))
    events.append(b"id: 46\nevent: message.created\ndata: {" + body.format(n=4).encode() + b"}\n\n")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events)
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    return head + chunks


@pytest.mark.parametrize("piece", [1, 7, 10_000])
def test_sse_reader_parses_chunked_events_split_anywhere(piece: int) -> None:
    raw = _frames()
    stream = SseStream(StreamSpec(0, "h", 1, "t"), Sink(), lambda s: None)
    for i in range(0, len(raw), piece):
        stream.data_received(raw[i : i + piece])
    assert stream.status == 200 and stream.ready and stream.ready_last_id == 41
    assert bytes(stream.counts[(3, 1)][:6]) == bytes([1, 1, 1, 1, 2, 0])
    assert stream.out_of_order == 1  # id 46 came after 46
    assert stream.last_id == 46
    assert stream.sink.delivered == 6
