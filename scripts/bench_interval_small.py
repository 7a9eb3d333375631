#!/usr/bin/env python3
"""Coverage, width and cost of the MOS interval for small windows: `.venv/bin/python scripts/bench_interval_small.py`.

Not a test: it prints figures. For each path (the minimum 20 ms plus one exponential queue or two in a row of
mean ``theta``, random loss ``p``) and each window size n, it draws ``--reps`` windows of n samples, computes
their MOS interval with the default model (g107-jb) by both methods of ``pingmos.scoring.interval``:

- ``bounds``: ``bound_interval`` (the loss's Wilson bounds x the excess's scale bounds, the window's own shape);
- ``bootstrap``: the moving-block bootstrap with the Jeffreys loss draw (``mos_intervals`` at n >= MIN_SAMPLES;
  below it there was none);

and prints per method and n: ``cover``, the share of windows whose interval holds the path's MOS (the model's
score of one window of ``--truth`` samples of the same path: what the window would give with every sample), the
target being >= 0.95; ``miss lo/hi``, the shares that missed below / above; ``width``, the mean interval width;
``point in``, the share of intervals holding the window's own score (must be 1.0); and ``ms CPU``, process time
per interval (the issue's speed check: small windows must stay cheap); then the CPU time of each live update
of 30 hops filling from 1 to 9 samples (``MosIntervals``, every hop's bounds at each new sample). No network, no
file.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pingmos.scoring import DEFAULT_MODEL, HopWindow, load_model
from pingmos.scoring.interval import MIN_SAMPLES, MosIntervals, bound_interval, mos_intervals

PATHS = (  # (name, theta ms, queues, loss share)
    ("lan 0.3ms", 0.3, 1, 0.0),
    ("queue 10ms", 10.0, 1, 0.0),
    ("queue 10ms 2%", 10.0, 1, 0.02),
    ("2 queues 15ms 5%", 15.0, 2, 0.05),
    ("queue 40ms 10%", 40.0, 1, 0.10),
)


def draw(rng: np.random.Generator, n: int, theta: float, queues: int, loss: float) -> np.ndarray:
    x = 20.0 + rng.exponential(theta, (queues, n)).sum(axis=0)
    x[rng.random(n) < loss] = np.nan
    return x


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,2,3,5,9,10,20,30", help="window sizes (comma-separated)")
    ap.add_argument("--reps", type=int, default=200, help="windows per path and size (200)")
    ap.add_argument("--truth", type=int, default=20_000, help="samples of the window that gives the path's MOS")
    ap.add_argument("--bootstrap", action="store_true", help="also the bootstrap at n >= MIN_SAMPLES (slow)")
    ap.add_argument("--tolerance", type=float, default=0.005, help="covered within this (MOS; 0.005: as printed)")
    args = ap.parse_args()
    sizes = [int(v) for v in args.sizes.split(",")]
    model = load_model(DEFAULT_MODEL)
    print(f"model {DEFAULT_MODEL}; {args.reps} windows per cell; MIN_SAMPLES {MIN_SAMPLES}")
    print(f"{'path':18} {'method':9} {'n':>3} {'cover':>6} {'miss lo':>7} {'miss hi':>7} {'width':>6} "
          f"{'point in':>8} {'ms CPU':>7}")  # fmt: skip
    for name, theta, queues, loss in PATHS:
        rng = np.random.default_rng(11)
        truth = model.score(HopWindow.from_rtts(draw(rng, args.truth, theta, queues, loss))).mos
        for n in sizes:
            windows = [draw(rng, n, theta, queues, loss) for _ in range(args.reps)]
            methods = [("bounds", lambda x: bound_interval(model.score_many, x))]
            if args.bootstrap and n >= MIN_SAMPLES:
                methods.append(("bootstrap", lambda x: mos_intervals(model.score_many, [x], budget_s=None)[0]))
            for method, interval in methods:
                cover = lo_miss = hi_miss = point_in = 0
                widths = []
                cpu = 0.0
                got = 0
                for x in windows:
                    start = time.process_time()
                    ci = interval(x)
                    cpu += time.process_time() - start
                    if ci is None:
                        continue
                    got += 1
                    point = model.score(HopWindow.from_rtts(x)).mos
                    point_in += ci[0] - 1e-12 <= point <= ci[1] + 1e-12
                    tol = args.tolerance
                    cover += ci[0] - tol <= truth <= ci[1] + tol
                    lo_miss += truth < ci[0] - tol
                    hi_miss += truth > ci[1] + tol
                    widths.append(ci[1] - ci[0])
                if not got:
                    print(f"{name:18} {method:9} {n:>3}  (no interval: {args.reps} windows all lost)")
                    continue
                print(f"{name:18} {method:9} {n:>3} {cover / got:6.3f} {lo_miss / got:7.3f} {hi_miss / got:7.3f} "
                      f"{np.mean(widths):6.2f} {point_in / got:8.3f} {1000 * cpu / len(windows):7.2f}")  # fmt: skip
        print(f"{name:18} path MOS {truth:.3f}")
    # A live view's first seconds: 30 hops filling at one sample an update, every interval through MosIntervals.
    rng = np.random.default_rng(1)
    hops = [draw(rng, MIN_SAMPLES - 1, 5.0, 1, 0.02) for _ in range(30)]
    now = [0.0]
    cache = MosIntervals(clock=lambda: now[0])
    costs = []
    for size in range(1, MIN_SAMPLES):
        now[0] = float(size)
        start = time.process_time()
        cache.update(model.score_many, "m", [(i, x[:size]) for i, x in enumerate(hops)])
        costs.append(1000 * (time.process_time() - start))
    per_update = " ".join(f"{c:.0f}" for c in costs)
    print(f"live, 30 hops filling, samples 1-{MIN_SAMPLES - 1}: ms CPU per update {per_update}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
