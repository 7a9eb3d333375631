#!/usr/bin/env python3
"""How well Prometheus reads a VoIP path's RTT from the agent's histogram buckets:
`.venv/bin/python scripts/bench_rtt_buckets.py [--samples 3600] [--sd 2] [--paths 30,80,150]`.

Not a test: it prints figures, no network. For each path (mean RTT in ms, normal with ``--sd`` ms, clipped at
+-2.25 sd as a relay's jitter is), the true median and p95 of the samples, and what ``histogram_quantile(0.5 /
0.95, ...)`` gives for them (its linear interpolation inside the bucket, as Prometheus computes it) with the buckets
before 2026-12-01 (22 bounds, 25 then 50 ms) and with ``pingmos.monitor.metrics.RTT_BUCKETS_S``; and the series a
hop's histogram costs with each (bounds + +Inf + _count + _sum). The breaker's 30 ms path read 37.5 / 48.75 ms.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pingmos.monitor.metrics import RTT_BUCKETS_S  # noqa: E402 - after the path

OLD_BUCKETS_S = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25,
                 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0)  # fmt: skip


def histogram_quantile(q: float, bounds: tuple[float, ...], values: np.ndarray) -> float:
    """Prometheus's histogram_quantile over cumulative buckets of ``values`` (linear inside a bucket; the lowest
    bucket starts at 0; a rank in +Inf gives the highest finite bound)."""
    counts = np.array([np.count_nonzero(values <= b) for b in bounds] + [len(values)], dtype=float)
    rank = q * counts[-1]
    i = int(np.searchsorted(counts, rank))
    if i >= len(bounds):
        return bounds[-1]
    lo, below = (0.0, 0.0) if i == 0 else (bounds[i - 1], counts[i - 1])
    return lo + (bounds[i] - lo) * (rank - below) / (counts[i] - below)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=3600, help="RTT samples per path (3600: an hour at 1/s)")
    ap.add_argument("--sd", type=float, default=2.0, help="standard deviation of the RTT, ms (2)")
    ap.add_argument("--paths", default="5,30,80,150,250", help="mean RTTs, ms, comma-separated")
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    for name, bounds in (("old", OLD_BUCKETS_S), ("new", RTT_BUCKETS_S)):
        print(f"{name} buckets: {len(bounds)} bounds, {len(bounds) + 3} series per hop")
    for mean_ms in (float(p) for p in args.paths.split(",")):
        x = rng.normal(mean_ms, args.sd, args.samples).clip(mean_ms - 2.25 * args.sd, mean_ms + 2.25 * args.sd)
        x /= 1000.0
        old, new = (
            " / ".join(f"{histogram_quantile(q, b, x) * 1000:.1f}" for q in (0.5, 0.95))
            for b in (OLD_BUCKETS_S, RTT_BUCKETS_S)
        )
        true = f"{np.median(x) * 1000:.1f} / {np.quantile(x, 0.95) * 1000:.1f}"
        print(f"{mean_ms:g} ms path: true median / p95 {true} ms; histogram_quantile old {old} ms, new {new} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
