"""Run one trace to completion for the report: N rounds, then every probe answered or timed out."""

from __future__ import annotations

from collections.abc import Callable

from pingmos.engine.events import Sample
from pingmos.engine.network import Network, RawSocketNetwork
from pingmos.engine.resolve import ReverseDNS
from pingmos.engine.tracer import Tracer, TraceSettings
from pingmos.hop_report import TraceSnapshot
from pingmos.trace_state import Scorer, TraceState

# Once probing is over, how long the report waits for reverse-DNS answers still under way.
DNS_GRACE_S = 2.0


def run_report(
    target: str,
    settings: TraceSettings,
    window: int | None,
    scorer: Scorer,
    model_name: str,
    use_dns: bool = True,
    network_factory: Callable[[], Network] = RawSocketNetwork,
    observer: Callable[[Sample], None] | None = None,
) -> tuple[TraceSnapshot, bool]:
    """Trace and return the final snapshot, and whether the run was interrupted (Ctrl-C) before its end.

    ``observer`` also gets every sample (a SessionRecorder recording the run, alert rules)."""
    network = network_factory()
    rdns = ReverseDNS() if use_dns else None
    state = TraceState(target, settings.address, settings.protocol, settings.interval_s, settings.flows)

    def on_sample(sample: Sample) -> None:
        state.apply(sample)
        if observer is not None:
            observer(sample)
        if rdns is not None and sample.responder is not None:
            rdns.name(sample.responder)  # starts the lookup in the background the first time

    tracer = Tracer(settings, network, on_sample)
    interrupted = False
    try:
        tracer.run()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        network.close()
    try:
        if rdns is not None:
            rdns.wait(DNS_GRACE_S)
        snapshot = state.snapshot(
            window,
            scorer,
            model_name,
            names=rdns.name if rdns is not None else (lambda addr: None),
            probes_sent=tracer.probes_sent,
            unmatched_replies=tracer.matcher.unmatched,
        )
    finally:
        if rdns is not None:
            rdns.close()
    return snapshot, interrupted
