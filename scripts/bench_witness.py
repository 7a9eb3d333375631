#!/usr/bin/env python3
"""Wrong hops named with an echo witness (`--witness auto`), by simulation: no packet is sent.

The README's experiment (`scripts/lab.py --routers 5 --delay 2 --link 3:loss=10`, truth: hop 4) drops each packet
crossing link 3 on its own, 10 % each way: every probe to hop 4, 5 or the destination (hop 6), and every echo to
hop 4 or 5, is lost with 1 - 0.9 ** 2 = 19 % chance, independently. A trial traces R rounds, sizes the witness as
`--witness auto` does (``witness.planned_count``), draws the echoes of each suspect hop with its true loss, and
diagnoses. A second scenario weighs what the witness is for: router 3 rate limits its own time-exceeded replies
(ICMP echo replies are not limited: Linux's default icmp_ratemask), the same 10 % per packet on link 3: truth
hop 4, and a clean echo to hop 3 should clear it.

Prints, per scenario, for the trace alone and with the witness: named the true hop / a range holding it / undecided
/ WRONG (a hop named that is not the truth, or a range without it), and the wrong answers the witness made where
the trace alone was not wrong. The issue's target (F26): that last count 0 (a wrong answer of the trace alone,
e.g. hop 4 losing credibly less than the destination by chance, is the per-hop tests' part, not the witness's).
Run it with the tree to measure on its path first, e.g. `PYTHONPATH=/tmp/old .venv/bin/python
scripts/bench_witness.py` for the old tree, back to back.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pingmos.diagnosis import PROBLEM, EchoWitness, candidates_for_witness, diagnose  # noqa: E402
from pingmos.engine.events import Sample  # noqa: E402
from pingmos.scoring.formulas import pingplotter  # noqa: E402
from pingmos.state import TraceState  # noqa: E402
from pingmos.witness import planned_count  # noqa: E402

HOPS = 6  # 5 routers and the target
INTO = 4  # the lossy link (link 3) first shows at hop 4
PER_PACKET = 1.0 - 0.9**2  # 10 % each way


def addr(ttl: int) -> str:
    return f"198.18.{ttl - 1}.2"


def _score(w):
    return pingplotter.score(w.avg_ms, w.jitter_ms, w.loss_pct)


def trial(rng: random.Random, rounds: int, ratelimit_pct: float):
    """One traced run and its echo witnesses: (snapshot, {ttl: EchoWitness})."""
    st = TraceState("target.lab.test", addr(HOPS), "icmp", 0.1)
    for r in range(rounds):
        for ttl in range(1, HOPS + 1):
            lost = ttl >= INTO and rng.random() < PER_PACKET
            lost = lost or (ttl == INTO - 1 and rng.random() * 100 < ratelimit_pct)
            rtt = None if lost else 4.0 * ttl + rng.uniform(0, 0.5)
            st.apply(Sample(r, ttl, r * 64 + ttl, 1000.0 + r * 0.1, rtt, None if lost else addr(ttl), ttl == HOPS))
    snap = st.snapshot(None, _score, "pingplotter")
    count = planned_count(snap)[0]
    witnesses = {}
    for h in candidates_for_witness(snap):
        p = PER_PACKET if h.ttl >= INTO else 0.0
        echoes = tuple(None if rng.random() < p else 4.0 * h.ttl for _ in range(count))
        witnesses[h.ttl] = EchoWitness(h.address, echoes, snap.rounds, 0.0)
    return snap, witnesses


def classify(d) -> str:
    if d.status != PROBLEM:
        return "undecided"
    if d.deteriorates_at_ttl == INTO:
        return "right"
    first, last = d.location_ttls
    if d.deteriorates_at_ttl is None and first <= INTO <= last:
        return "range"
    return "WRONG"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=1000, help="trials per scenario (1000)")
    p.add_argument("--rounds", type=int, default=300, help="rounds per trace (300, as the findings' runs)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    cpu = time.process_time()
    print(f"bench_witness: {args.trials} trials of {args.rounds} rounds, --witness auto, seed {args.seed}")
    for name, rl in (("10 % per packet into hop 4", 0.0), ("same, router 3 rate limits 30 %", 30.0)):
        rng = random.Random(args.seed)
        tally = {"right": 0, "range": 0, "undecided": 0, "WRONG": 0}
        alone = {"right": 0, "range": 0, "undecided": 0, "WRONG": 0}
        by_witness = 0
        wrong = []
        for _ in range(args.trials):
            snap, witnesses = trial(rng, args.rounds, rl)
            d = diagnose(snap, witnesses=witnesses)
            tally[classify(d)] += 1
            base = classify(diagnose(snap))
            alone[base] += 1
            if classify(d) == "WRONG" and base != "WRONG":
                by_witness += 1
                if len(wrong) < 2:
                    wrong.append(d.verdict)
        print(f"{name}:")
        for what, t in (("trace alone", alone), ("with the witness", tally)):
            print(f"  {what:18s} right {t['right']:4d}  range {t['range']:4d}  undecided {t['undecided']:4d}  "
                  f"WRONG {t['WRONG']:3d}")  # fmt: skip
        print(f"  WRONG made by the witness (the trace alone was not): {by_witness}")
        for v in wrong:
            print(f"  e.g. {v}")
    print(f"cpu {time.process_time() - cpu:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
