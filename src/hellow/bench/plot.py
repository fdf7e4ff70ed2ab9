"""The plots: latency distribution per step, and latency against load (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

from .stats import Result


def _quantiles(samples_us: list[int], points: int = 400) -> tuple[list[float], list[float]]:
    """(latency ms, fraction at or below) at `points` ranks: a CDF without a million points."""
    ordered = sorted(samples_us)
    n = len(ordered)
    xs, ys = [], []
    for k in range(points + 1):
        i = min(n - 1, int(k / points * (n - 1)))
        xs.append(max(ordered[i], 1) / 1000.0)
        ys.append((i + 1) / n)
    return xs, ys


def draw(results: list[Result], path: Path, title: str = "") -> bool:
    """Writes `path`; False (and nothing written) when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (dist, load) = plt.subplots(1, 2, figsize=(13, 5))
    for r in results:
        if len(r.samples_us) < 2:
            continue
        xs, ys = _quantiles(list(r.samples_us))
        dist.plot(xs, ys, label=f"{r.label} [{r.backend}]", linewidth=1.4)
    dist.set_xscale("log")
    dist.set_xlabel("delivery latency (ms, log)")
    dist.set_ylabel("fraction of deliveries at or below")
    dist.set_title("latency distribution")
    dist.grid(True, which="both", alpha=0.3)
    dist.legend(fontsize=7, loc="lower right")

    by_series: dict[str, list[Result]] = {}
    for r in results:
        if r.latency and r.scenario in ("latency", "fanout", "throughput", "connections"):
            by_series.setdefault(f"{r.scenario} [{r.backend}]", []).append(r)
    for name, rs in by_series.items():
        rs.sort(key=lambda r: r.deliveries_per_s)
        xs = [r.deliveries_per_s for r in rs]
        p50 = [r.latency.p50 for r in rs if r.latency]
        p99 = [r.latency.p99 for r in rs if r.latency]
        (line,) = load.plot(xs, p99, marker="o", label=f"{name} p99")
        load.plot(xs, p50, marker=".", linestyle="--", color=line.get_color(), label=f"{name} p50")
    load.axhline(100, color="grey", linewidth=0.8, linestyle=":")
    load.set_xscale("log")
    load.set_yscale("log")
    load.set_xlabel("deliveries per second (log)")
    load.set_ylabel("latency (ms, log)")
    load.set_title("latency against load")
    load.grid(True, which="both", alpha=0.3)
    load.legend(fontsize=7, loc="upper left")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
