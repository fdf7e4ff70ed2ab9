"""What the tool writes: the terminal table, the JSON file and the Markdown page."""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from .stats import NOISY, Result
from .targets import Verdict

KEEP_BEGIN = "<!-- analysis:begin -->"
KEEP_END = "<!-- analysis:end -->"

COLUMNS = [
    ("scenario", 34),
    ("backend", 9),
    ("streams", 7),
    ("sends/s", 8),
    ("deliv/s", 9),
    ("p50 ms", 7),
    ("p90 ms", 7),
    ("p99 ms", 7),
    ("p99.9", 7),
    ("max ms", 7),
    ("lost", 5),
    ("dup", 4),
    ("KiB/str", 7),
    ("srv CPU", 7),
    ("load CPU", 8),
    ("other", 6),
]


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    commit = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "kernel": platform.release(),
        "commit": commit,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _f(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def row(r: Result) -> list[str]:
    lat = r.latency
    backend = r.backend if r.servers == 1 else f"{r.backend}x{r.servers}"
    return [
        r.label,
        backend,
        str(r.streams),
        _f(r.sends_per_s, 0),
        _f(r.deliveries_per_s, 0),
        _f(lat.p50, 2) if lat else "-",
        _f(lat.p90, 2) if lat else "-",
        _f(lat.p99, 2) if lat else "-",
        _f(lat.p999, 1) if lat else "-",
        _f(lat.max, 1) if lat else "-",
        str(r.loss.lost),
        str(r.loss.duplicated),
        _f(r.mem_per_stream_kib, 1),
        _f(r.server_cpu_percent, 0) + ("%" if r.server_cpu_percent is not None else ""),
        _f(r.load_cpu_percent, 0) + ("%" if r.load_cpu_percent is not None else ""),
        _f(r.other_cpu_percent, 0) + ("%" if r.other_cpu_percent is not None else ""),
    ]


def table(results: list[Result]) -> str:
    head = "  ".join(name.rjust(w) if i else name.ljust(w) for i, (name, w) in enumerate(COLUMNS))
    lines = [head, "-" * len(head)]
    for r in results:
        cells = row(r)
        lines.append(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, (_, w)) in enumerate(zip(cells, COLUMNS, strict=True))
            )
        )
    return "\n".join(lines)


def markdown_table(results: list[Result]) -> str:
    head = "| " + " | ".join(name for name, _ in COLUMNS) + " |"
    rule = "| --- " + "| ---: " * (len(COLUMNS) - 1) + "|"
    return "\n".join([head, rule] + ["| " + " | ".join(row(r)) + " |" for r in results])


def problems(results: list[Result]) -> list[str]:
    """Loss, duplicates and other faults, one line each: the tool fails loudly on these."""
    out = []
    for r in results:
        where = f"{r.label} [{r.backend}]"
        if r.loss.lost:
            out.append(f"{where}: {r.loss.lost} deliveries LOST (of {r.loss.expected} owed)")
        if r.loss.duplicated:
            out.append(f"{where}: {r.loss.duplicated} deliveries DUPLICATED")
        if r.out_of_order:
            out.append(f"{where}: {r.out_of_order} events OUT OF ORDER (ids not increasing)")
    return out


def warnings(results: list[Result]) -> list[str]:
    out = []
    for r in results:
        where = f"{r.label} [{r.backend}]"
        if r.send_errors:
            out.append(f"{where}: send errors {r.send_errors}")
        if r.loss.unexpected:
            out.append(
                f"{where}: {r.loss.unexpected} deliveries of sends that were not acknowledged"
            )
        if r.reconnects:
            out.append(f"{where}: {r.reconnects} stream reconnects")
        if r.resets:
            out.append(f"{where}: {r.resets} `reset` events")
        if (r.other_cpu_percent or 0) > NOISY:
            out.append(
                f"{where}: other processes used {r.other_cpu_percent:.0f}% of a core meanwhile:"
                " the figures are noisy"
            )
        if r.session_ended:
            out.append(f"{where}: {r.session_ended} `session.ended` events")
    return out


def write_json(
    path: Path, results: list[Result], verdicts: list[Verdict], meta: dict[str, Any]
) -> None:
    doc = {
        "tool": "hellow bench",
        "machine": machine(),
        **meta,
        "ok": not problems(results),
        "problems": problems(results),
        "warnings": warnings(results),
        "results": [r.to_json() for r in results],
        "targets": [
            {"target": v.target, "backend": v.backend, "measured": v.measured, "met": v.met}
            for v in verdicts
        ],
    }
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))


def _kept(path: Path) -> str:
    """The hand-written analysis between the markers survives a rerun."""
    try:
        old = path.read_text()
    except FileNotFoundError:
        return ""
    if KEEP_BEGIN in old and KEEP_END in old:
        return old[old.index(KEEP_BEGIN) + len(KEEP_BEGIN) : old.index(KEEP_END)].strip("\n")
    return ""


def write_markdown(
    path: Path,
    results: list[Result],
    verdicts: list[Verdict],
    commands: list[str],
    plots: list[Path],
    notes: list[str],
) -> None:
    m = machine()
    kept = _kept(path) or "_No analysis written yet._"
    mark = {True: "met", False: "**missed**", None: "not at size"}
    lines = [
        "# Benchmarks",
        "",
        f"Written by `hellow bench --standard --report {path}` ({m['date']}, commit "
        f"`{m['commit'] or '?'}`). Rerun with `make bench`; the analysis section below is kept.",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        f"| CPU | {m['cpu']} |",
        f"| cores | {m['cores']} |",
        f"| memory | {m['memory_gib']} GiB |",
        f"| Python | {m['implementation']} {m['python']} |",
        f"| kernel | {m['kernel']} |",
        "",
        "The load tool runs on the same machine (loopback), in its own processes.",
        "",
        "## Commands",
        "",
        "```",
        *commands,
        "```",
        "",
        "## Results",
        "",
        markdown_table(results),
        "",
        "Latency is from the start of the send request to the arrival on each stream "
        "(for `resume`, from the reconnect). CPU is per cent of one core over the step: "
        "`srv` the server process(es), `load` the tool's own processes, `other` the rest "
        "of the machine (noise).",
        "",
        "## Targets",
        "",
        "| target | backend | measured | |",
        "| --- | --- | --- | --- |",
        *[f"| {v.target} | {v.backend} | {v.measured} | {mark[v.met]} |" for v in verdicts],
        "",
    ]
    if notes:
        lines += ["## Notes from this run", "", *[f"- {n}" for n in notes], ""]
    if plots:
        lines += ["## Plots", ""]
        lines += [
            f"![{p.stem}]({os.path.relpath(p, path.parent)})"
            for p in sorted(plots, key=_sqlite_first)
        ]
        lines += [""]
    lines += ["## Analysis", "", KEEP_BEGIN, kept, KEEP_END, ""]
    path.write_text("\n".join(lines))


def _sqlite_first(p: Path) -> tuple[bool, str]:
    return ("sqlite" not in p.name, p.name)


def print_summary(results: list[Result], verdicts: list[Verdict], out: Any = None) -> None:
    out = out or sys.stdout
    print(table(results), file=out)
    if verdicts:
        print(file=out)
        for v in verdicts:
            flag = {True: "met   ", False: "MISSED", None: "n/a   "}[v.met]
            print(f"  {flag} [{v.backend}] {v.target}: {v.measured}", file=out)
