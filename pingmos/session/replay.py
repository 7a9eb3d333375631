"""Sessions as a trace: replay the stored Samples into a TraceState (or anything with ``apply``) and snapshot.

Every number a reopened session shows is recomputed here from its raw samples with the window and model the user
picks now, so "what would this hour have scored with G.729?" needs no probing. An imported mtr --json report has
only per-hop aggregates; its snapshot scores those aggregates as summary windows (see ``summary_snapshot``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Protocol

from pingmos.diagnosis import Diagnosis
from pingmos.engine import ProbeCounts, Sample
from pingmos.hop_report import RECORD_FINISHED, RECORD_RANGE, TraceSnapshot, scored_hop
from pingmos.scoring import HopWindow, Scorer, score_all
from pingmos.session.model import HopSummary, RouteEntry, SessionError, SessionEvent, SessionInfo
from pingmos.state import TraceState
from pingmos.stats import wilson_interval_pct

TimeRange = tuple[float, float]  # wall-clock seconds since the epoch, both ends included
# SessionInfo.extra's key of a recorded run's counters (engine.ProbeCounts), written when the run ends
# (session.evidence); a session without it (recorded by the window or the monitor, or killed) has its samples only.
PROBE_COUNTS = "probe_counts"


class Sink(Protocol):
    def apply(self, sample: Sample) -> None: ...


class Session:
    """The read side every session kind offers (a recorded SQLite file, an mtr import)."""

    path: str
    info: SessionInfo

    def samples(self, time_range: TimeRange | None = None) -> Iterator[Sample]:
        """The raw samples in the order they were recorded, those sent within ``time_range`` if given."""
        raise NotImplementedError

    def summaries(self) -> tuple[HopSummary, ...]:
        """Per-hop aggregates of an imported mtr --json report; () for a session with raw samples."""
        return ()

    def events(self) -> list[SessionEvent]:
        return []

    def names(self) -> dict[str, str]:
        """Reverse-DNS names known when the session was recorded: address -> name."""
        return {}

    def route(self) -> list[RouteEntry]:
        """Every responder seen at every TTL, with when it was first and last seen."""
        return []

    def time_span(self) -> TimeRange | None:
        """Send times of the first and last sample (None without samples)."""
        first = last = None
        for s in self.samples():
            first = s.sent_at if first is None else min(first, s.sent_at)
            last = s.sent_at if last is None else max(last, s.sent_at)
        return None if first is None else (first, last)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- derived ---------------------------------------------------------------------------------------

    def samples_by_round(self, time_range: TimeRange | None = None) -> Iterator[Sample]:
        """The samples ordered by round (recorded order within a round), whatever order the file keeps them in."""
        return iter(sorted(self.samples(time_range), key=lambda s: s.round))

    def replay(self, into: Sink, time_range: TimeRange | None = None) -> int:
        """Apply every sample (within ``time_range``) to ``into`` round by round; returns how many.

        Round order keeps the replay O(n log n) for a file whose rows are in any order: the fold inserts a sample
        that arrives after a later round's by shifting what follows it (quadratic for rows stored backwards)."""
        n = 0
        for sample in self.samples_by_round(time_range):
            into.apply(sample)
            n += 1
        return n

    def trace_state(self, time_range: TimeRange | None = None) -> TraceState:
        return self._replayed(time_range)[0]

    def _replayed(self, time_range: TimeRange | None) -> tuple[TraceState, int]:
        """The session's trace state, and how many samples (probes whose fate is recorded) went into it."""
        info = self.info
        # Route changes are followed per flow, so the flow count recorded with the session matters (route_changes).
        flows = info.extra.get("flows")
        # A file's settings record is data: anything but a sensible flow count means one flow.
        flows = flows if isinstance(flows, int) and not isinstance(flows, bool) and 1 <= flows <= 64 else 1
        state = TraceState(info.target, info.address, info.protocol, info.interval_s, flows)
        return state, self.replay(state, time_range)

    def snapshot(
        self,
        window: int | None,
        scorer: Scorer,
        model_name: str,
        time_range: TimeRange | None = None,
    ) -> TraceSnapshot:
        """Per-hop statistics and scores of the session, recomputed now with this window and model.

        For an mtr --json import (aggregates only) a window or a time range cannot be applied: SessionError.
        """
        summaries = self.summaries()
        if summaries:
            if window is not None or time_range is not None:
                raise SessionError(
                    f"{self.path}: the {self.info.source} file holds only its totals per hop, so a window or a time "
                    "range cannot be applied; record with mtr --raw (or pingmos --record) to keep every sample"
                )
            return summary_snapshot(self.info, summaries, scorer, model_name)
        names = self.names()
        state, recorded = self._replayed(time_range)
        # The run's counters as its live report gave them (engine.ProbeCounts), recorded when it ended; without
        # them (or over a time range: they are the whole run's) the probes are those the file recorded (within the
        # range), and the replies that answered no probe are unknown (null), never a made-up 0.
        counts = ProbeCounts.from_json(self.info.extra.get(PROBE_COUNTS)) if time_range is None else None
        if counts is not None:
            snap = state.snapshot(
                window,
                scorer,
                model_name,
                names=names.get,
                probes_sent=max(counts.probes_sent, recorded),
                unmatched_replies=counts.unmatched_replies,
            )
            snap = dataclasses.replace(snap, suspicious_replies=counts.suspicious_replies)
        else:
            snap = state.snapshot(window, scorer, model_name, names=names.get, probes_sent=recorded)
            snap = dataclasses.replace(snap, unmatched_replies=None, suspicious_replies=None)
        span = self.time_span()
        if span is not None and time_range is not None:
            span = (max(span[0], time_range[0]), min(span[1], time_range[1]))
        record = RECORD_RANGE if time_range is not None else RECORD_FINISHED  # no more rounds will come
        return dataclasses.replace(snap, time_range=span if span and span[0] <= span[1] else None, record=record)


def summary_snapshot(
    info: SessionInfo, summaries: tuple[HopSummary, ...], scorer: Scorer, model_name: str
) -> TraceSnapshot:
    """A snapshot from another tool's per-hop aggregates: the numbers are that tool's, scored as summary windows
    (``HopWindow.for_scoring``: a model is given their average, jitter and loss).

    Only what the report holds is used: a count it lacks stays None in the hop (and ``rounds`` is None when no hop
    has one), a loss interval needs both counts, and a hop is scored only from a known loss and a known average
    (or, all lost, as the worst score); otherwise its R and MOS are None and the importer's notes say why."""
    windows = []
    for s in summaries:
        counted = s.sent is not None and s.received is not None
        windows.append(
            HopWindow(
                sent=s.sent,  # type: ignore[arg-type]  # None: the report has no count (see HopSummary)
                received=s.received,  # type: ignore[arg-type]
                loss_pct=s.loss_pct,
                loss_ci_pct=wilson_interval_pct(s.sent - s.received, s.sent) if counted and s.sent else None,
                last_ms=s.last_ms,
                avg_ms=s.avg_ms,
                min_ms=s.min_ms,
                max_ms=s.max_ms,
                stdev_ms=s.stdev_ms,
                given_jitter_ms=s.jitter_ms,
            )
        )
    # What can be scored: a known loss with a known average, or every probe lost (the worst score,
    # scoring.ALL_LOST, as everywhere). Nothing sent, no loss figure, or no latency field: nothing to score.
    todo = [
        i
        for i, s in enumerate(summaries)
        if s.sent != 0 and s.loss_pct is not None and (s.avg_ms is not None or s.loss_pct >= 100.0 or s.received == 0)
    ]
    # One batch, as TraceState does: a user's formula answers all hops in one round trip to its worker. A summary
    # window is scored from its loss, average and jitter (HopWindow.for_scoring), so a count it lacks is not needed.
    batch = [windows[i] for i in todo]
    results: list[object] = [None] * len(summaries)
    for i, result in zip(todo, score_all(scorer, batch) if batch else [], strict=True):
        results[i] = result
    hops = []
    # The last row is the destination's where the importer says the report reached it (its losses are a call's).
    reached = info.extra.get("destination_reached", False) is True
    for i, (s, window, result) in enumerate(zip(summaries, windows, results, strict=True)):
        responders = dict(s.responders) or ({s.address: s.received} if s.address and s.received else {})
        end = reached and i == len(summaries) - 1
        hops.append(
            scored_hop(s.ttl, s.address, s.name, responders, window, result, unreachable=s.unreachable, destination=end)
        )
    known = [s.sent for s in summaries if s.sent is not None]
    # When the totals were measured, where the file says (a pingmos report's time_range; mtr's and Trippy's do not).
    span = info.extra.get("time_range")
    measured = (float(span[0]), float(span[1])) if isinstance(span, list | tuple) and len(span) == 2 else None
    recorded = info.extra.get("recorded") or {}
    diagnosis = None
    if _same_model(recorded, scorer, model_name):
        # A pingmos report re-scored as it was scored: its own figures, computed from the samples, which its rounded
        # totals cannot give again (report_import's docstring).
        scores = recorded["scores"]
        hops = [
            dataclasses.replace(
                h,
                r=scores[h.ttl][0],
                mos=scores[h.ttl][1],
                mos_ci=scores[h.ttl][2],
                mos_ci_few_samples=scores[h.ttl][3],
                score_detail={},
            )
            if h.ttl in scores and not h.unmeasured  # (a file's score for a silent router is no measurement)
            else h
            for h in hops
        ]
        diagnosis = _recorded_diagnosis(recorded["diagnosis"], max(known, default=0))
    return TraceSnapshot(
        time_range=measured,
        record=RECORD_FINISHED,
        target=info.target,
        address=info.address,
        protocol=info.protocol,
        interval_s=info.interval_s,
        window=None,
        rounds=max(known, default=0) if known or not summaries else None,  # type: ignore[arg-type]
        model=model_name,
        # Decided by the importer from the report's target address, never from the last row (a report cut short
        # by mtr -m ends at a router); None = the report cannot tell.
        destination_reached=info.extra.get("destination_reached", False),
        hops=tuple(hops),
        # Every probe the run sent where the file says (a pingmos report: those beyond the destination too), else
        # the report's own per-hop counts, those it has.
        probes_sent=recorded.get("probes_sent", sum(known)),
        # The reply counters where the file has them (a pingmos report's JSON); unknown (None) otherwise.
        unmatched_replies=recorded.get("unmatched_replies"),
        suspicious_replies=recorded.get("suspicious_replies"),
        diagnosis=diagnosis,
    )


def _same_model(recorded: dict, scorer: object, model_name: str) -> bool:
    """Is the file's model the one asked for now, with the same settings (as JSON writes them)?"""
    if recorded.get("model") != model_name or "scores" not in recorded:
        return False
    settings = getattr(scorer, "settings", None)  # a scoring.Model's effective settings; a bare scorer has none
    if not isinstance(settings, dict):
        return False
    return json.loads(json.dumps(settings, default=str)) == recorded["model_settings"]


def _recorded_diagnosis(doc: dict, rounds: int) -> Diagnosis:
    """The diagnosis a pingmos report wrote (its JSON, checked by report_import), as the formats show it again."""
    location = doc.get("location_ttls")
    return Diagnosis(
        deteriorates_at_ttl=doc.get("deteriorates_at_ttl"),
        rate_limited_ttls=tuple(doc.get("rate_limited_ttls") or ()),
        verdict=doc["verdict"],
        status=doc["status"],
        rounds_needed=doc.get("rounds_needed"),
        per_round=doc["per_round"],
        location_ttls=tuple(location) if location is not None else None,
        record=RECORD_FINISHED,
        rounds=rounds,
    )


def sample_filter(time_range: TimeRange | None) -> Callable[[Sample], bool]:
    if time_range is None:
        return lambda s: True
    lo, hi = time_range
    return lambda s: lo <= s.sent_at <= hi


class MemorySession(Session):
    """A session held in memory (an mtr import, or a test)."""

    def __init__(
        self,
        path: str,
        info: SessionInfo,
        samples: list[Sample] | tuple[Sample, ...] = (),
        summaries: tuple[HopSummary, ...] = (),
        events: list[SessionEvent] | None = None,
        names: dict[str, str] | None = None,
    ):
        self.path = path
        self.info = info
        self._samples = tuple(samples)
        self._summaries = tuple(summaries)
        self._events = list(events or [])
        self._names = dict(names or {})

    def samples(self, time_range: TimeRange | None = None) -> Iterator[Sample]:
        keep = sample_filter(time_range)
        return (s for s in self._samples if keep(s))

    def summaries(self) -> tuple[HopSummary, ...]:
        return self._summaries

    def events(self) -> list[SessionEvent]:
        return list(self._events)

    def names(self) -> dict[str, str]:
        return dict(self._names)

    def route(self) -> list[RouteEntry]:
        return route_of(self._samples)


def route_of(samples) -> list[RouteEntry]:
    """Responders per TTL with first/last time seen, from samples (sorted by TTL, then first seen)."""
    seen: dict[tuple[int, str], list] = {}
    for s in samples:
        if s.responder is None:
            continue
        entry = seen.get((s.ttl, s.responder))
        if entry is None:
            seen[(s.ttl, s.responder)] = [s.sent_at, s.sent_at, 1]
        else:
            entry[0] = min(entry[0], s.sent_at)
            entry[1] = max(entry[1], s.sent_at)
            entry[2] += 1
    out = [RouteEntry(ttl, addr, f, la, n) for (ttl, addr), (f, la, n) in seen.items()]
    return sorted(out, key=lambda e: (e.ttl, e.first_seen, e.responder))
