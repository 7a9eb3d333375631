"""The second witness, run: direct echo probes to the hops a diagnosis is unsure of, then the diagnosis with them.

Glue between the pure diagnosis (which hops to ask, how many echoes tell their loss apart, what the answers mean)
and the engine (the probes). It sends traffic, so it runs only when asked (``pingmos report --witness``, the
window's "Ask the routers" button) and only to addresses that answered the trace: the routers on the path the
user is tracing already.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pingmos.diagnosis import (
    DEFAULT_THRESHOLDS,
    Diagnosis,
    EchoWitness,
    Thresholds,
    candidates_for_witness,
    diagnose,
    witness_count,
)
from pingmos.engine import Network, echo_probe
from pingmos.hop_report import TraceSnapshot


def planned_count(snap: TraceSnapshot, th: Thresholds = DEFAULT_THRESHOLDS, most: int = 1000) -> tuple[int, str]:
    """How many echo requests each suspect hop gets, and why in words (``diagnosis.witness_count``): enough to
    tell from none the loss in question, which is the destination's (at 80 % of the lower end of its interval:
    whether that loss is already there at the suspect) when the destination loses, else the suspect's own.
    (0, reason) without suspects."""
    hops = candidates_for_witness(snap, th)
    if not hops:
        return 0, "no hop needs a second witness"
    end = snap.hops[-1]
    least = min(hops, key=lambda h: h.loss_pct or 0.0)
    loss = least.loss_pct or 0.0
    what = f"hop {least.ttl}'s own" if len(hops) > 1 else "its own"
    if snap.destination_reached and end.loss_ci_pct is not None and end.loss_ci_pct[0] > th.loss_pct_above:
        floor = 0.8 * end.loss_ci_pct[0]
        if floor < loss:
            # Not the destination's loss itself: the least it credibly has, with room (the breaker read "a loss
            # of 4.6 % (the destination's)" beside a destination showing 9.0 %).
            lo, hi = end.loss_ci_pct
            what = f"80 % of the low end of the destination's {end.loss_pct:.1f} % (95 % CI {lo:.1f}-{hi:.1f})"
            loss = floor
    count = witness_count(loss, th, most)
    return count, (
        f"{count} echo requests to {', '.join(f'hop {h.ttl}' for h in hops)}: enough to tell a loss of "
        f"{loss:.1f} % ({what}) from none"
    )


def diagnose_with_witness(
    snap: TraceSnapshot,
    network_factory: Callable[[], Network],
    count: int | None = None,
    interval_s: float = 0.05,
    timeout_s: float = 1.0,
    th: Thresholds = DEFAULT_THRESHOLDS,
) -> tuple[Diagnosis, dict[int, EchoWitness]]:
    """Probe every hop ``candidates_for_witness`` names ``count`` times (None: ``planned_count``; about
    count * interval_s + timeout_s seconds in all, the hops in parallel) and diagnose with the results, each
    witness stamped with the snapshot's round so it goes stale as new rounds arrive. No candidates: no probe is
    sent."""
    hops = candidates_for_witness(snap, th)
    witnesses: dict[int, EchoWitness] = {}
    if hops:
        n = count if count is not None else planned_count(snap, th)[0]
        taken_at = time.time()
        network = network_factory()
        try:
            rtts = echo_probe([h.address for h in hops], network, n, interval_s, timeout_s)
        finally:
            network.close()
        witnesses = {h.ttl: EchoWitness(h.address, tuple(rtts[h.address]), snap.rounds, taken_at) for h in hops}
    return diagnose(snap, th, witnesses), witnesses
