"""The one function that turns a trace's history into the ``TraceSnapshot`` every front end shows.

The report, a replayed session, the window and the alert rules all build their numbers here, from a
``TraceHistory`` selection, so the same samples give the same snapshot whichever way they arrived.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pingmos.hop_report import HopReport, TraceSnapshot, scored_hop
from pingmos.route_changes import RouteChange
from pingmos.scoring import HopWindow, Score, Scorer, score_all
from pingmos.scoring.interval import MOS_INTERVALS_KEY, few_samples, snapshot_intervals
from pingmos.state.history import NO_RESPONDER, RowData, Selection, TimeRange, TraceHistory
from pingmos.stats import pairwise_sum, scratch

# The scorer a snapshot takes: a scoring.Model (its ``score_many`` scores all hops of a snapshot in one batch: one
# worker round trip for a user's formula), an object with such a ``score_many`` (a BatchScorer), or a
# scoring.Scorer taking one window.

# ICMP destination-unreachable codes in words (RFC 792 / RFC 1812 for IPv4; RFC 4443 for IPv6).
UNREACHABLE_V4 = {
    0: "net unreachable",
    1: "host unreachable",
    2: "protocol unreachable",
    3: "port unreachable",
    4: "fragmentation needed",
    5: "source route failed",
    6: "destination network unknown",
    7: "destination host unknown",
    9: "network administratively prohibited",
    10: "host administratively prohibited",
    11: "network unreachable for TOS",
    12: "host unreachable for TOS",
    13: "admin prohibited",
    14: "host precedence violation",
    15: "precedence cutoff",
}
UNREACHABLE_V6 = {
    0: "no route to destination",
    1: "admin prohibited",
    2: "beyond scope of source address",
    3: "address unreachable",
    4: "port unreachable",
    5: "source address failed ingress/egress policy",
    6: "reject route to destination",
}


def unreachable_words(code: int | None, responder: str | None) -> str:
    """A destination-unreachable in words: ``"admin prohibited, from 198.18.2.2"``. ``code`` is the ICMP code
    (None or 255: not known, as in sessions recorded before codes were kept); the family follows the address."""
    table = UNREACHABLE_V6 if responder and ":" in responder else UNREACHABLE_V4
    what = table.get(code, f"code {code}") if code is not None and code != 255 else "code not recorded"
    return f"{what}, from {responder}" if responder else what


# Where build_snapshot keeps its rows of every sample (_Grown, per TTL) in the caller's cache dict.
GROWN_KEY = "grown_rows"


@dataclass(frozen=True)
class _Row:
    ttl: int
    stats: HopWindow
    counts: dict[int, int]  # responder index -> replies
    rounds: np.ndarray
    rtt_ms: np.ndarray
    extent: tuple[int, float, float] | None  # (first round, first and last send time) of the row's samples
    last_answer_at: float | None = None  # send time of the row's newest answered sample (HopReport.last_answer_at)


def _responder_counts(responder: np.ndarray) -> dict[int, int]:
    """Replies per responder index (NO_RESPONDER left out)."""
    if not len(responder):
        return {}
    # bincount takes intp: converted in the thread's scratch buffer, not a new day-sized array (stats.scratch).
    ids = scratch(len(responder), np.int64)
    np.copyto(ids, responder)
    per_index = np.bincount(ids)
    return {int(i): int(per_index[i]) for i in np.flatnonzero(per_index) if i != NO_RESPONDER}


class _Grown:
    """A row of every sample of its TTL kept between snapshots and extended by the samples added since
    (``RowData.lineage``): one round's samples are appended, not a day's copied. Its buffers only grow at the end,
    so the read-only views handed to earlier snapshots keep showing what they showed."""

    __slots__ = (
        "lineage",
        "n",
        "rounds",
        "rtt",
        "own",
        "received",
        "n_received",
        "counts",
        "sent_first",
        "sent_last",
        "answered_at",
        "low",
        "high",
        "sum_blocks",
        "step_blocks",
    )

    def __init__(self) -> None:
        self.lineage: tuple | None = None
        self.n = 0
        self.rounds = np.empty(0, np.int64)
        # The row's RTTs: a view of the history's own array while the row is that array unfiltered; a buffer of
        # this row's (``own``) once it is not (a router's row after the destination answered at its TTL).
        self.rtt = np.empty(0)
        self.own = False
        self.received = np.empty(0)
        self.n_received = 0
        self.counts: dict[int, int] = {}
        self.sent_first = self.sent_last = 0.0
        self.answered_at: float | None = None
        # Kept as the row grows, the same bits as numpy over the whole row (HopWindow.from_arrays's ``sums``):
        # the extremes, and the pairwise tree's block sums of the received values and of |their differences|.
        self.low, self.high = math.inf, -math.inf
        self.sum_blocks: dict = {}
        self.step_blocks: dict = {}

    @staticmethod
    def _append(buf: np.ndarray, used: int, values: np.ndarray) -> np.ndarray:
        need = used + len(values)
        if need > len(buf):
            grown = np.empty(max(need, len(buf) + len(buf) // 2, 64), buf.dtype)
            grown[:used] = buf[:used]
            buf = grown
        buf[used:need] = values
        return buf

    def extend(self, row: RowData) -> None:
        """Append ``row``'s arrays (all of the row when this holds nothing yet, else ``row.extends`` onwards)."""
        m = len(row.rounds)
        if m:
            if not self.n:
                self.sent_first = float(row.sent_at[0])
            self.sent_last = float(row.sent_at[-1])
            self.rounds = self._append(self.rounds, self.n, row.rounds)
            if row.rtt_all is not None:
                self.rtt = row.rtt_all
            else:
                if not self.own:
                    self.rtt, self.own = self.rtt[: self.n].copy(), True
                self.rtt = self._append(self.rtt, self.n, row.rtt_ms)
            got = row.rtt_ms[~np.isnan(row.rtt_ms)]
            if len(got):
                self.answered_at = _last_answer_at(row.rtt_ms, row.sent_at)
            self.received = self._append(self.received, self.n_received, got)
            self.n_received += len(got)
            if len(got):
                self.low = min(self.low, float(np.minimum.reduce(got)))
                self.high = max(self.high, float(np.maximum.reduce(got)))
            for i, k in _responder_counts(row.responder).items():
                self.counts[i] = self.counts.get(i, 0) + k
            self.n += m
        self.lineage = row.lineage

    def compute(self, row: RowData) -> _Row:
        n = self.n
        rounds, received = self.rounds[:n], self.received[: self.n_received]
        rtt = self.rtt[:n]
        for view in (rounds, rtt, received):
            view.flags.writeable = False
        extent = (int(rounds[0]), self.sent_first, self.sent_last) if n else None
        sums = None
        if len(received):

            def values(start: int, k: int) -> float:
                return np.add.reduce(received[start : start + k])

            def steps(start: int, k: int) -> float:
                d = np.subtract(received[start + 1 : start + k + 1], received[start : start + k], out=scratch(k))
                return np.add.reduce(np.abs(d, out=d))

            m = len(received)
            total = pairwise_sum(m, values, self.sum_blocks)
            sums = (total, self.low, self.high, pairwise_sum(m - 1, steps, self.step_blocks))
        stats = HopWindow.from_arrays(rtt, received, sums)
        return _finish(row, stats, dict(self.counts), rounds, rtt, extent, self.answered_at)


def _compute(row: RowData) -> _Row:
    counts = _responder_counts(row.responder)
    extent = (int(row.rounds[0]), float(row.sent_at[0]), float(row.sent_at[-1])) if len(row.rounds) else None
    answered_at = _last_answer_at(row.rtt_ms, row.sent_at)
    return _finish(row, HopWindow.from_rtts(row.rtt_ms), counts, row.rounds, row.rtt_ms, extent, answered_at)


def _last_answer_at(rtt_ms: np.ndarray, sent_at: np.ndarray) -> float | None:
    """Send time of the newest answered sample of these (None: none was answered)."""
    got = np.flatnonzero(~np.isnan(rtt_ms))
    return float(sent_at[got[-1]]) if len(got) else None


def _finish(row: RowData, stats: HopWindow, counts: dict[int, int], rounds, rtt_ms, extent, answered_at=None) -> _Row:
    earlier = row.earlier
    if earlier is not None and earlier.sent:  # samples no longer in memory (a long report): whole-run numbers
        stats = earlier.combined(stats)
        for i, n in earlier.responders.items():
            counts[i] = counts.get(i, 0) + n
        if extent is not None and earlier.first_round is not None:
            extent = (earlier.first_round, earlier.first_sent_at, extent[2])
    return _Row(row.ttl, stats, counts, rounds, rtt_ms, extent, answered_at)


def build_snapshot(
    selection: Selection,
    scorer: Scorer,
    *,
    target: str,
    address: str,
    protocol: str,
    interval_s: float,
    window: int | None,
    model_name: str,
    names: Callable[[str], str | None] = lambda addr: None,
    probes_sent: int = 0,
    unmatched_replies: int = 0,
    suspicious_replies: int = 0,
    mode: str | None = None,
    cache: dict | None = None,
) -> TraceSnapshot:
    """The TraceSnapshot of a selection (``TraceHistory.select``): per visible hop its window statistics, the
    model's score, responders with their counts, the route changes within the window, its per-round data
    (``window_rounds`` / ``window_rtts_ms``) and, where the path ends at a router's destination-unreachable, that
    in words (``unreachable``).

    A hop's address is the responder that answered most often within the window; a hop silent for the whole
    window keeps the address that answered it last before (its numbers stay those of the window: 100 % loss).
    ``cache``: a dict the caller keeps for one scorer (clear it when the model or its settings change; see
    ``snapshot_of``, which passes ``select`` what the cache holds): rows the selection reports unchanged keep their
    statistics and score; rows of every sample (``RowData.lineage``) are kept between calls and extended by the
    samples added since (``_Grown``), their sums kept as numpy would compute them over the whole row, so a live
    view of a day's samples works on one round per update. A row whose samples moved (an answer settled behind
    later rounds, as a lost probe does at its timeout; samples let go) is built again from the history. The
    scorer runs once for all hops that need it.
    """
    computed: dict[int, tuple[_Row, object]] = {}
    todo: list[_Row] = []
    held: dict[int, _Grown] = cache.get(GROWN_KEY, {}) if cache is not None else {}
    grown: dict[int, _Grown] = {}  # the rows of every sample kept for the next snapshot with this cache
    for row in selection.rows:
        kept = held.get(row.ttl)
        if kept is not None and row.lineage is not None and kept.lineage[:2] == row.lineage[:2]:
            grown[row.ttl] = kept
        hit = cache.get(row.ttl) if cache is not None else None
        if hit is not None and hit[0] == row.key:
            computed[row.ttl] = hit[1]
            continue
        if cache is None or row.lineage is None:
            todo.append(_compute(row))
            continue
        if row.extends is None or row.ttl not in grown:
            grown[row.ttl] = _Grown()  # the whole row: start again
        grown[row.ttl].extend(row)
        todo.append(grown[row.ttl].compute(row))
    results = score_all(scorer, [r.stats for r in todo]) if todo else []
    for r, result in zip(todo, results, strict=True):
        computed[r.ttl] = (r, result)
    # The MOS's 95 % interval of every scored hop (a bootstrap through the same scorer; scoring.interval).
    intervals = snapshot_intervals(
        lambda batch: score_all(scorer, batch),
        [row.ttl for row in selection.rows],
        [computed[row.ttl][0].stats for row in selection.rows],
        [isinstance(computed[row.ttl][1], Score) for row in selection.rows],
        (model_name, window),
        cache,
        # Each hop's MOS now: a kept interval that no longer holds it is not shown beside it (MosIntervals).
        [computed[row.ttl][1].mos if isinstance(computed[row.ttl][1], Score) else None for row in selection.rows],
    )
    if cache is not None:
        live_intervals = cache.get(MOS_INTERVALS_KEY)
        cache.clear()
        for row in selection.rows:
            cache[row.ttl] = (row.key, computed[row.ttl])
        if live_intervals is not None:
            cache[MOS_INTERVALS_KEY] = live_intervals
        cache[GROWN_KEY] = grown
    addresses = selection.addresses
    hops: list[HopReport] = []
    all_changes: list[RouteChange] = []
    for row, interval in zip(selection.rows, intervals, strict=True):
        r, result = computed[row.ttl]
        by_address = {addresses[i]: n for i, n in sorted(r.counts.items(), key=lambda kv: (-kv[1], kv[0]))}
        best = next(iter(by_address), None)
        if best is None and row.last_responder:
            best = addresses[row.last_responder]
        hop_changes = [RouteChange(row.ttl, rd, t, f, addresses[a], addresses[b]) for rd, t, f, a, b in row.changes]
        all_changes += hop_changes
        extent = r.extent
        unreachable = None
        if row.unreachable is not None:
            unreachable = unreachable_words(row.unreachable[1], addresses[row.unreachable[0]])
        hops.append(
            scored_hop(
                row.ttl,
                best,
                names(best) if best else None,
                by_address,
                r.stats,
                result,
                # The changes within the window (from its first round on) or the time range.
                route_changes=tuple(
                    c for c in hop_changes if extent is not None and c.round >= extent[0] and c.sent_at <= extent[2]
                ),
                window_rounds=r.rounds,
                window_rtts_ms=r.rtt_ms,
                unreachable=unreachable,
                mos_ci=interval,
                mos_ci_few_samples=interval is not None and few_samples(r.stats.rtts_array),
                in_flight_rtt_ms=row.in_flight_rtt_ms,
                last_answer_at=r.last_answer_at,
                destination=row.ttl == selection.destination_ttl,
            )
        )
    return TraceSnapshot(
        target=target,
        address=address,
        protocol=protocol,
        interval_s=interval_s,
        window=window,
        rounds=selection.rounds,
        model=model_name,
        destination_reached=selection.destination_ttl is not None,
        hops=tuple(hops),
        probes_sent=probes_sent,
        unmatched_replies=unmatched_replies,
        suspicious_replies=suspicious_replies,
        mode=mode,
        route_changes=tuple(sorted(all_changes, key=lambda c: (c.round, c.ttl))),
    )


def snapshot_of(
    history: TraceHistory,
    scorer: Scorer,
    *,
    window: int | None,
    time_range: TimeRange | None = None,
    cache: dict | None = None,
    **fields,
) -> TraceSnapshot:
    """``build_snapshot`` of ``history.select(window, time_range)``; ``fields`` are build_snapshot's keywords
    (target, address, protocol, interval_s, model_name, names, probes_sent, ...). With a ``cache``, rows whose
    samples did not change since the last call with that cache are neither copied nor recomputed."""
    cached = held = None
    if cache is not None:
        cached = {ttl: hit[0] for ttl, hit in cache.items() if isinstance(ttl, int)}
        held = {ttl: g.lineage for ttl, g in cache.get(GROWN_KEY, {}).items()}
    selection = history.select(window, time_range, cached, held)
    return build_snapshot(selection, scorer, window=window, cache=cache, **fields)
