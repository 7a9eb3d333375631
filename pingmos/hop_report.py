"""The plain data every front end consumes: one HopReport per hop, in one TraceSnapshot per update."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pingmos.scoring.score import Score
    from pingmos.scoring.window import HopWindow


@dataclass(frozen=True)
class HopReport:
    """One hop's numbers over the window. Latencies in ms, loss in percent; None where nothing was measured."""

    ttl: int
    address: str | None  # the address that answered most often; None if no probe to this TTL was answered
    name: str | None
    responders: dict[str, int]  # address -> replies, several where load balancers answer from several routers
    sent: int
    received: int
    loss_pct: float | None
    loss_ci_pct: tuple[float, float] | None
    # The newest probe's RTT: None once the newest probe of the window was lost (the table's Cur and the report's
    # LAST then say "-", never an older reply), or nothing was received. A summary without samples (an mtr report)
    # gives its own Last.
    last_ms: float | None
    avg_ms: float | None
    min_ms: float | None
    max_ms: float | None
    stdev_ms: float | None
    jitter_ms: float | None
    r: float | None
    mos: float | None
    score_detail: dict[str, float] = field(default_factory=dict)
    score_error: str | None = None  # why the model could not score this hop (a broken user script)
    # While ``score_error`` says the user's formula file is broken, what the last version of it that worked gives
    # for this hop (scoring.ModelError.fallback): shown beside the error, marked as such; ``r``/``mos`` stay None.
    score_fallback: Score | None = None
    # The responder changes (route_changes.RouteChange) within the window: the route moved, so the numbers above
    # mix two paths from that round on; ``responders`` says how many replies came from each.
    route_changes: tuple = ()
    # The window's probes to this hop, round by round (for per-round judgements such as "are the rounds lost here
    # lost further on too?"): ``window_rounds`` the round numbers ascending (numpy int64), ``window_rtts_ms`` the
    # RTTs aligned with them (numpy float64, NaN = lost). None when the producer has no per-round data (a saved mtr
    # summary).
    window_rounds: object = field(default=None, compare=False, repr=False)
    window_rtts_ms: object = field(default=None, compare=False, repr=False)
    # 95 % interval of the MOS from the sampling uncertainty of its inputs (scoring.interval); None where no MOS,
    # nothing received or its turn did not come within the time budget.
    mos_ci: tuple[float, float] | None = None
    # The interval is from fewer than scoring.interval.MIN_SAMPLES samples (or one reply): bounds from the loss's
    # and the delay variation's intervals rather than a bootstrap, wide on purpose; front ends mark it with the
    # words "not enough samples" (FEW_SAMPLES_WORDS).
    mos_ci_few_samples: bool = False
    # The path ends at this hop with an ICMP destination-unreachable, in words ("admin prohibited, from 198.18.2.2").
    unreachable: str | None = None
    # Send time (wall clock, s since the epoch) of the newest probe of the window that was answered; None when
    # none was or the producer does not know (a summary). With ``window_rtts_ms``: since when the hop is silent.
    last_answer_at: float | None = field(default=None, compare=False)
    # A live trace's newest answered RTT (ms) among the rounds after the window: rounds whose fate is not yet known
    # at every hop (a loss settles only at the probe timeout; TraceHistory.known_before), so they are in no figure
    # of the window. None when none of them was answered (or nothing is in flight). A live "Cur" shows it before
    # ``last_ms`` (the window's newest probe, up to a probe timeout older).
    in_flight_rtt_ms: float | None = None
    # This row is the destination's (its probes' fate is the path's): every probe to it lost is a measured fact, R 0
    # and MOS 1, where a router's row with no reply is no measurement at all (``unmeasured``).
    destination: bool = False

    @property
    def unmeasured(self) -> bool:
        """This hop has no responder samples: ``no_responder_samples`` of its counts (the one predicate every
        front end reads: no R, MOS, MOS interval or band colour for it, no metric series, no alert value)."""
        return no_responder_samples(
            self.received, self.loss_pct, path_end=self.destination or self.unreachable is not None
        )


def no_responder_samples(received: int | None, loss_pct: float | None = None, *, path_end: bool) -> bool:
    """True for a hop that gave no sample to compute a figure from: none of its probes in the window (or range)
    was answered (``received`` 0; a report without counts: ``loss_pct`` 100) and it is not where the path ends
    (``path_end``: the destination's row, or the router whose destination-unreachable ends the path). A silent
    router ("???", or one that stopped answering) is such a hop: a router that does not answer says nothing about
    the path through it, so it has no R or MOS (the all-lost score R 0 / MOS 1 would say "a call is unusable" of a
    hop nobody measured). The destination losing every probe is different: there MOS 1 is what a call gets."""
    if path_end:
        return False
    if received is None:
        return loss_pct is not None and loss_pct >= 100.0
    return received == 0


def scored_hop(
    ttl: int,
    address: str | None,
    name: str | None,
    responders: dict[str, int],
    stats: HopWindow,
    result: object,
    **extra,
) -> HopReport:
    """One hop's HopReport from its window statistics and what the scoring model answered for that window: a
    ``Score``; a ``scoring.ModelError`` (the hop shows the error, plus the last working version's score as
    ``score_fallback``) or an error text; or None (nothing to score). ``extra``: further HopReport fields
    (``route_changes``, ``destination``). Every producer of snapshots (live trace, saved session, report) builds its
    hops here, so a field added to HopReport is filled the same way everywhere. A hop with no responder samples
    (``HopReport.unmeasured``: a silent router) gets no score whatever ``result`` says: R, MOS, its interval, the
    score's detail, error and fallback all stay empty."""
    from pingmos.scoring import ModelError, Score, error_text  # scoring imports nothing of ours; kept lazy anyway

    if no_responder_samples(
        stats.received,
        stats.loss_pct,
        path_end=bool(extra.get("destination")) or extra.get("unreachable") is not None,
    ):
        result = None
        extra = {**extra, "mos_ci": None, "mos_ci_few_samples": False}
    score = result if isinstance(result, Score) else None
    return HopReport(
        last_ms=newest_rtt_ms(stats),
        ttl=ttl,
        address=address,
        name=name,
        responders=responders,
        sent=stats.sent,
        received=stats.received,
        loss_pct=stats.loss_pct,
        loss_ci_pct=stats.loss_ci_pct,
        avg_ms=stats.avg_ms,
        min_ms=stats.min_ms,
        max_ms=stats.max_ms,
        stdev_ms=stats.stdev_ms,
        jitter_ms=stats.jitter_ms,
        r=score.r if score else None,
        mos=score.mos if score else None,
        score_detail=dict(score.detail) if score else {},
        score_error=error_text(result),
        score_fallback=result.fallback if isinstance(result, ModelError) else None,
        **extra,
    )


# How every front end says that a MOS interval is from too few samples (HopReport.mos_ci_few_samples): the
# wording the verdict uses for thin evidence.
FEW_SAMPLES_WORDS = "not enough samples"


def newest_rtt_ms(stats: HopWindow) -> float | None:
    """THE "last"/"Cur" figure of a hop (ms): the RTT of the window's newest probe, None when that probe was lost
    (a hop that stopped answering shows "-", not a reply from minutes ago). A summary window without samples (an
    imported mtr report): its own last RTT."""
    if not len(stats.rtts_ms):
        return stats.last_ms
    newest = float(stats.rtts_array[-1])
    return None if newest != newest else newest  # NaN: lost


def silent_rounds(hop: HopReport) -> int:
    """How many of the hop's newest probes in the window were lost in a row (0 when the newest was answered or
    the producer has no per-round data)."""
    if hop.window_rtts_ms is None:
        return 0
    rtts = np.asarray(hop.window_rtts_ms, dtype=float)
    got = np.flatnonzero(~np.isnan(rtts))
    return int(len(rtts) - (got[-1] + 1 if len(got) else 0))


RECORD_LIVE = "live"  # a trace under way: more rounds can come
RECORD_FINISHED = "finished"  # a whole record read from a file (imported, replayed): no more rounds come
RECORD_RANGE = "range"  # a time range of a record (--from/--to): a wider range holds more rounds


@dataclass(frozen=True)
class TraceSnapshot:
    """The state of one trace at one moment, as a report or the GUI shows it."""

    target: str
    address: str
    protocol: str
    interval_s: float
    window: int | None  # samples to include; None = every sample of the run
    # Rounds measured: the settled probes (answered or lost) of the busiest TTL. Not every TTL's: a lost probe
    # settles at its timeout, after a router's answer of the same round, and a record can end between the two;
    # the diagnosis counts the destination's own (diagnosis.judged_rounds_words says both where they differ).
    rounds: int
    model: str
    destination_reached: bool | None  # None: the source cannot tell (an mtr --json report naming hosts by name)
    hops: tuple[HopReport, ...]
    # The run's counters (engine.ProbeCounts defines them): every probe sent, beyond the destination too.
    probes_sent: int = 0
    # Replies that matched no probe of ours (other programs', late ones): ignored. None: unknown (a recording
    # without its counters, a time range of one).
    unmatched_replies: int | None = 0
    # Replies that named a probe of ours but did not prove it (wrong address, a quote of another packet, an early
    # "reached" contradicted by the other TTLs): forged or misrouted, ignored (engine.matcher, engine.path_end).
    suspicious_replies: int | None = 0
    mode: str | None = None  # how the probes were sent ("raw sockets", "unprivileged ICMP sockets", ...)
    route_changes: tuple = ()  # every route_changes.RouteChange of the visible hops, by round: for the timeline
    # Where the problem is (a pingmos.diagnosis.Diagnosis), when the producer computed one with extra evidence (echo
    # witnesses); None = the formats derive it from the hops themselves. Typed loosely on purpose: diagnosis is
    # computed from these snapshots, so naming its type here would make the two modules import each other.
    diagnosis: object | None = None
    # Send times (wall clock, s since the epoch) of the first and last sample the snapshot was built from; None
    # when unknown (a live snapshot, an mtr --json summary). Exports print it so a file says when it measured.
    # Not compared: two snapshots with the same numbers are equal whichever clock placed them.
    time_range: tuple[float, float] | None = field(default=None, compare=False)
    # The model's effective settings, (name, value) pairs: what the MOS assumed rather than measured (codec, jitter
    # buffer, one-way share; ITU-T P.564 asks that assumed values be reported beside the score). () = not given.
    model_settings: tuple = ()
    # What the snapshot is of (RECORD_*): a live trace, where more rounds can still come, or a finished record (an
    # imported or replayed file) or a time range of one, where they cannot: the diagnosis words "not enough
    # samples" for it (pingmos.diagnosis).
    record: str = "live"
