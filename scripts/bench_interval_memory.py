#!/usr/bin/env python3
"""Benchmark one hop's MOS interval: `.venv/bin/python scripts/bench_interval_memory.py [--samples N ...] [--repo OLD]`.

Not a test: it prints figures. For each window size (default 86,400 and 250,000 samples: a day at one probe a
second, and MAX_RAW_PROBES_PER_HOP, the most one hop of an mtr --raw log may have) a fresh interpreter builds the
window (3 % lost, exponential RTTs; the same numbers in every run) and computes its interval with
``pingmos.scoring.interval.mos_intervals`` and the default model, no time budget. It prints:

- ``interval MB``: the peak RSS the interval added (ru_maxrss after it minus ru_maxrss before it, with the window
  and the model already loaded): the target of the issue ("outputs", item 1) is that this stays bounded whatever
  the window's size and resample count;
- ``CPU s``: the interval's process time (user + system), the figure to compare on a shared machine;
- the interval itself, to the last digit: chunking must not change it.

``--repo OLD`` runs the same windows with another checkout too (``git worktree add /tmp/old <commit>``; the
interpreter stays this one), back to back. No network, no file but the interpreter's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
import numpy as np
from pingmos.scoring import DEFAULT_MODEL, load_model
from pingmos.scoring.interval import mos_intervals, resamples_for

n, name = int(sys.argv[1]), sys.argv[2] or DEFAULT_MODEL
rng = np.random.default_rng(7)
x = 30.0 + rng.exponential(8.0, n)
x[rng.random(n) < 0.03] = np.nan
model = load_model(name)
model.score_many([])  # whatever the model loads on first use is loaded before the measurement
before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
cpu = time.process_time()
(ci,) = mos_intervals(model.score_many, [x], budget_s=None)
cpu = time.process_time() - cpu
after_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_mb": before_kb / 1024, "peak_mb": after_kb / 1024, "cpu_s": cpu,
                  "resamples": resamples_for(n), "model": model.name if hasattr(model, "name") else name,
                  "ci": None if ci is None else [repr(v) for v in ci]}))
"""


def run(checkout: Path, n: int, model: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), model], cwd=checkout, env=env, capture_output=True,
                         text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, action="append", default=[], help="window size (repeatable)")
    ap.add_argument("--model", default="", help="scoring model (the default model)")
    ap.add_argument("--repo", type=Path, help="another checkout to compare with (e.g. main before the change)")
    args = ap.parse_args()
    sizes = args.samples or [86_400, 250_000]
    trees = [("new", REPO_ROOT)] + ([("old", args.repo)] if args.repo else [])
    print(f"{'samples':>9} {'resamples':>9} {'tree':<4} {'base MB':>8} {'interval MB':>11} {'CPU s':>6}  interval")
    for n in sizes:
        for tree, checkout in trees:
            r = run(checkout, n, args.model)
            ci = "None" if r["ci"] is None else f"{r['ci'][0]} - {r['ci'][1]}"
            print(f"{n:9,} {r['resamples']:9} {tree:<4} {r['before_mb']:8.0f} {r['peak_mb'] - r['before_mb']:11.0f} "
                  f"{r['cpu_s']:6.2f}  {ci}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
