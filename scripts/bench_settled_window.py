#!/usr/bin/env python3
"""What a live window's cut costs (``TraceHistory.known_before``): CPU time of ``select`` and of a cold snapshot
of a 30-hop trace (an hour at 0.2 s, 5 % loss beyond hop 3, losses settling 15 rounds late as the engine's 3 s
timeout settles them), without the cut (``settle_s`` None: a finished recording) and with it (a live trace),
measured back to back in one process. No network, no root.

    .venv/bin/python scripts/bench_settled_window.py [--seconds 2]

Prints per window (10, 100, all) the process CPU time per call and the ratio with/without the cut; the MOS
interval's bootstrap is left out (the same either way).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pingmos.engine.events import Sample  # noqa: E402
from pingmos.scoring import load_model  # noqa: E402
from pingmos.state import TraceHistory, snapshot_of  # noqa: E402
from pingmos.state import snapshot as snapshot_module  # noqa: E402

HOPS, ROUNDS, INTERVAL_S, TIMEOUT_S = 30, 3600, 0.2, 3.0
FIELDS = dict(target="bench", address="198.18.9.9", protocol="icmp", interval_s=INTERVAL_S, model_name="g107-jb")


def history(settle_s: float | None) -> TraceHistory:
    h = TraceHistory(settle_s=settle_s)
    rng = random.Random(1)
    late: list[list[Sample]] = []
    for rnd in range(ROUNDS):
        lost = []
        for ttl in range(1, HOPS + 1):
            sent = 1.7e9 + rnd * INTERVAL_S + ttl * 0.003
            if ttl > 3 and rng.random() < 0.05:
                lost.append(Sample(rnd, ttl, 0, sent, None, None))
            elif ttl == HOPS:
                h.apply(Sample(rnd, ttl, 0, sent, 20.0 + rng.random(), "198.18.9.9", True, "echo_reply"))
            else:
                h.apply(Sample(rnd, ttl, 0, sent, ttl + rng.random(), f"198.18.{ttl}.1", False, "time_exceeded"))
        late.append(lost)
        if len(late) > TIMEOUT_S / INTERVAL_S:
            for sample in late.pop(0):
                h.apply(sample)
    return h


def cpu_ms(fn, seconds: float) -> float:
    fn()
    start, n = time.process_time(), 0
    while time.process_time() - start < seconds:
        fn()
        n += 1
    return (time.process_time() - start) / n * 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="CPU seconds per figure (2)")
    args = parser.parse_args()
    snapshot_module.snapshot_intervals = lambda _batch, keys, *rest, **kw: [None] * len(keys)
    model = load_model("g107-jb")
    traces = {settle: history(settle) for settle in (None, TIMEOUT_S)}
    print(f"{HOPS} hops, {ROUNDS} rounds at {INTERVAL_S:g} s; CPU time per call (process user+system)")
    for window in (10, 100, None):
        figures = {}
        for settle, h in traces.items():
            select = cpu_ms(lambda h=h, w=window: h.select(w), args.seconds)
            snap = cpu_ms(lambda h=h, w=window: snapshot_of(h, model, window=w, **FIELDS), args.seconds)
            figures[settle] = (select, snap)
            what = "with the cut (live)   " if settle else "without (settled run) "
            print(f"  window {window or 'all':>3} {what}: select {select:6.3f} ms, cold snapshot {snap:6.2f} ms")
        (s0, n0), (s1, n1) = figures[None], figures[TIMEOUT_S]
        print(f"  window {window or 'all':>3} ratio with/without: select {s1 / s0:.2f}, snapshot {n1 / n0:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
