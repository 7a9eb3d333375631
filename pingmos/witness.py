"""The second witness, run: direct echo probes to the hops a diagnosis is unsure of, then the diagnosis with them.

Glue between the pure diagnosis (which hops to ask, what the answers mean) and the engine (the probes). It sends
traffic, so it runs only when asked (``pingmos report --witness N``, a GUI button) and only to addresses that
answered the trace: the routers on the path the user is tracing already.
"""

from __future__ import annotations

from collections.abc import Callable

from pingmos.diagnosis import DEFAULT_THRESHOLDS, Diagnosis, EchoWitness, Thresholds, candidates_for_witness, diagnose
from pingmos.engine.echo_witness import echo_probe
from pingmos.engine.network import Network
from pingmos.hop_report import TraceSnapshot


def diagnose_with_witness(
    snap: TraceSnapshot,
    network_factory: Callable[[], Network],
    count: int = 20,
    interval_s: float = 0.05,
    timeout_s: float = 1.0,
    th: Thresholds = DEFAULT_THRESHOLDS,
) -> tuple[Diagnosis, dict[int, EchoWitness]]:
    """Probe every hop ``candidates_for_witness`` names ``count`` times (about count * interval_s + timeout_s
    seconds in all, the hops in parallel) and diagnose with the results. No candidates: no probe is sent."""
    hops = candidates_for_witness(snap, th)
    witnesses: dict[int, EchoWitness] = {}
    if hops:
        network = network_factory()
        try:
            rtts = echo_probe([h.address for h in hops], network, count, interval_s, timeout_s)
        finally:
            network.close()
        witnesses = {h.ttl: EchoWitness(h.address, tuple(rtts[h.address])) for h in hops}
    return diagnose(snap, th, witnesses), witnesses
