"""Run one trace to completion for the report: N rounds, then every probe answered or timed out."""

from __future__ import annotations

import dataclasses
import errno
from collections.abc import Callable

from pingmos.engine import Network, RawSocketNetwork, ReverseDNS, Sample, TraceSettings
from pingmos.hop_report import TraceSnapshot
from pingmos.run import NETWORK, RunError, TraceRun
from pingmos.scoring import Scorer
from pingmos.state import TraceState

# Once probing is over, how long the report waits for reverse-DNS answers still under way.
DNS_GRACE_S = 2.0
# Samples per hop a report keeps in memory (24 bytes each): a longer run folds older ones into running sums, so
# its memory stays flat however many rounds it runs (state/summary.py); --record keeps every sample in its file.
KEEP_SAMPLES = 20_000


class TraceFailed(Exception):
    """The network failed in the middle of a trace (a send or receive error: the probe helper died, the route to
    the target went away, the kernel's buffers ran full, a firewall rule refused a probe).

    ``snapshot`` holds everything measured before (the rounds whose probes were all settled); ``reason`` is one
    line for the user; ``probes_sent`` how many probes went out before it happened.
    """

    def __init__(self, snapshot: TraceSnapshot, reason: str, probes_sent: int) -> None:
        super().__init__(reason)
        self.snapshot = snapshot
        self.reason = reason
        self.probes_sent = probes_sent


def network_error_text(exc: OSError, address: str) -> str:
    """One line saying what a send/receive error means for a trace to ``address`` and what to look at."""
    what = exc.strerror or str(exc) or type(exc).__name__
    code = exc.errno
    if code in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.ENETDOWN):
        return f"no route to {address} any more ({what}): a network interface went down or the routes changed"
    if code == errno.ENOBUFS:
        return f"the kernel's send buffers ran full ({what}): the interface cannot keep up; try a longer --interval"
    if code in (errno.EPERM, errno.EACCES):
        return f"the kernel refused to send a probe ({what}): a firewall rule on this host may drop pingmos's packets"
    if code is None:
        return what  # a HelperError says itself what happened ("the probe helper has exited")
    return f"sending or receiving a probe failed ({what})"


def run_report(
    target: str,
    settings: TraceSettings,
    window: int | None,
    scorer: Scorer,
    model_name: str,
    use_dns: bool = True,
    network_factory: Callable[[], Network] = RawSocketNetwork,
    observer: Callable[[Sample], None] | None = None,
    run: TraceRun | None = None,
    on_measured: Callable[[], None] | None = None,
) -> tuple[TraceSnapshot, bool]:
    """Trace and return the final snapshot, and whether the run was interrupted (Ctrl-C) before its end.

    ``run``: the command line's run, resolved and with its network open (``pingmos.run.TraceRun``); without one,
    a run of ``settings`` on ``network_factory()``. ``observer`` also gets every sample (a SessionRecorder
    recording the run, alert rules). A network error in the middle of the trace raises TraceFailed holding the
    snapshot of what was measured until then. ``on_measured`` is called as soon as probing has ended (its last
    round, Ctrl+C or a failure), before the names are waited for and the snapshot is built: the command line
    then keeps a Ctrl+C from losing what was measured (``pingmos.cli``)."""
    if run is None:
        run = TraceRun.of_settings(target, settings, network_factory=network_factory)
    settings = run.settings or settings
    if run.network is None:
        try:
            run.open()
        except RunError as exc:  # the caller says it as for any socket it opened (NoPermission, OSError)
            raise exc.__cause__ or exc from None
    rdns = ReverseDNS() if use_dns else None
    keep = window if window is not None else KEEP_SAMPLES
    state = TraceState(target, settings.address, settings.protocol, settings.interval_s, settings.flows, keep)

    sent_span: list[float] = []  # first and last send time: the report says when it measured

    def on_sample(sample: Sample) -> None:
        state.apply(sample)
        if not sent_span:
            sent_span.extend((sample.sent_at, sample.sent_at))
        else:
            sent_span[0], sent_span[1] = min(sent_span[0], sample.sent_at), max(sent_span[1], sample.sent_at)
        if observer is not None:
            observer(sample)
        if rdns is not None and sample.responder is not None:
            rdns.name(sample.responder)  # starts the lookup in the background the first time

    run.add_observer(on_sample)
    interrupted = False
    failure: OSError | None = None
    try:
        try:
            run.run()
        except RunError as exc:
            if exc.stage != NETWORK or not isinstance(exc.__cause__, OSError):
                raise exc.__cause__ or exc from None  # not set up: nothing measured, the caller says why
            failure = exc.__cause__  # what was measured so far is still reported (TraceFailed below)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if on_measured is not None:
            on_measured()
        try:
            run.close()
        except OSError:
            if failure is None:
                raise
    try:
        if rdns is not None:
            rdns.wait(DNS_GRACE_S)
        counts = run.counts()  # engine.ProbeCounts: what each counter means; a recording keeps the same (Evidence)
        snapshot = state.snapshot(
            window,
            scorer,
            model_name,
            names=rdns.name if rdns is not None else (lambda addr: None),
            probes_sent=counts.probes_sent,
            unmatched_replies=counts.unmatched_replies,
        )
        snapshot = dataclasses.replace(snapshot, suspicious_replies=counts.suspicious_replies)
        if sent_span:
            snapshot = dataclasses.replace(snapshot, time_range=(sent_span[0], sent_span[1]))
    finally:
        if rdns is not None:
            rdns.close()
    if failure is not None:
        reason = network_error_text(failure, settings.address)
        raise TraceFailed(snapshot, reason, run.probes_sent) from failure
    return snapshot, interrupted
