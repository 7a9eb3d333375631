"""The one history of a trace: a fold of the engine's ``Sample`` stream into per-hop numpy arrays.

``TraceHistory.apply(sample)`` is the only thing that changes it. Per TTL it keeps, in round order, each probe's
round, wall-clock send time, RTT (ms, NaN = lost), responder (an index into one address table; 0 = lost), reply
kind (with a "reached the destination" bit) and ICMP code: 24 bytes a sample, so a day at one round a second over
30 hops (2.6 million samples) costs about 62 MB, and statistics run on the arrays without a Python loop.

Besides the samples it keeps, incrementally: every hop's route changes (route_changes.py's rule, per flow) and,
per TTL, the latest answer of each kind, from which the destination's TTL is found. That TTL follows the path
both ways (``destination_ttl``): it is the lowest TTL whose latest answer came from the destination. After a route
gets longer, the TTL that used to reach the destination is answered by a router again and the destination moves
out; after a transient shortening, the longer path's TTL answers again and the destination moves back.

Threads: the engine thread calls ``apply``; any other thread calls ``select`` (which copies what a snapshot needs
under the lock and returns) and the small queries. The lock is never held while statistics or scoring run.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field

import numpy as np

from pingmos.engine import REPLY_KINDS, Sample
from pingmos.route_changes import find_route_changes
from pingmos.state.summary import RunningSummary

NO_RESPONDER = 0  # responder index of a lost sample; real addresses start at 1
# Reply kind per sample (uint8): 0 = lost; 1..len(REPLY_KINDS) = that kind; ANSWERED_UNKNOWN = answered by a session
# recorded before kinds were kept. The REACHED bit is set when the answer came from the destination.
LOST = 0
KIND_CODE = {kind: i + 1 for i, kind in enumerate(REPLY_KINDS)}
ANSWERED_UNKNOWN = 7
KIND_MASK = 0x07
REACHED = 0x08
UNREACHABLE = KIND_CODE["dest_unreachable"]
NO_CODE = 255  # icmp_code of a sample that is not a destination-unreachable

TimeRange = tuple[float, float]  # wall-clock seconds since the epoch, both ends included


def kind_code(sample: Sample) -> int:
    """The uint8 kind of a sample (see LOST, KIND_CODE, ANSWERED_UNKNOWN, REACHED)."""
    if sample.responder is None or sample.rtt_ms is None:
        return LOST
    code = KIND_CODE.get(sample.reply, ANSWERED_UNKNOWN) if sample.reply else ANSWERED_UNKNOWN
    return code | (REACHED if sample.reached else 0)


class HopHistory:
    """Every settled sample of one TTL, ordered by round, in growable numpy arrays (``n`` of them are used).

    Replies settle out of order (a lost probe settles at its timeout, after later rounds answered), so a sample is
    inserted at its round's place; that is almost always at or near the end, where the shift is cheap.
    """

    __slots__ = (
        "ttl",
        "n",
        "rounds",
        "sent_at",
        "rtt_ms",
        "responder",
        "kind",
        "code",
        "version",
        "epoch",
        "flows",
        "changes",
        "reached",
        "routers",
        "last",
        "shared",
        "_last_answered",
        "earlier",
        "let_go",
        "_top_round",
    )

    def __init__(self, ttl: int, flows: int = 1, capacity: int = 64) -> None:
        self.ttl = ttl
        self.n = 0
        self.rounds = np.empty(capacity, np.uint32)  # 4 bytes: 13 years at 10 rounds a second
        self.sent_at = np.empty(capacity, np.float64)  # wall clock, seconds since the epoch
        self.rtt_ms = np.empty(capacity, np.float64)  # NaN = lost
        self.responder = np.empty(capacity, np.uint16)  # index into TraceHistory.addresses, NO_RESPONDER = lost
        self.kind = np.empty(capacity, np.uint8)
        self.code = np.empty(capacity, np.uint8)
        self.version = 0  # counts every change: a snapshot cache knows the hop's samples are the same
        # Counts the changes that were not appends (an insert behind later rounds, forgetting the oldest): while it
        # stays the same, the first samples a snapshot builder has already seen are still the hop's first samples.
        self.epoch = 0
        self.shared = False  # views of the buffers were handed out (see _unshare)
        self.flows = flows
        # Route changes as responder indexes: (round, sent_at, flow, old, new), oldest first (route_changes.py).
        self.changes: list[tuple[int, float, int, int, int]] = []
        self.reached = 0  # samples answered by the destination
        self.routers = 0  # samples answered by anything else (TTL exceeded, an unreachable from a router)
        # The latest answer of each kind: "reached", "router", "unreachable" -> (round, responder, icmp code).
        self.last: dict[str, tuple[int, int, int]] = {}
        self._last_answered: dict[int, tuple[int, int]] = {}  # flow -> (round, responder) of its latest answer
        # Summaries of the samples let go (TraceHistory(summarise=True)): (router row's, destination row's); None =
        # samples let go are forgotten (the monitor's and the window's history: their snapshots show a window).
        self.earlier: tuple[RunningSummary, RunningSummary] | None = None
        self.let_go = 0  # samples no longer in memory
        self._top_round = -1  # rounds[n - 1] while n > 0, as a Python int (read once per sample)

    def __len__(self) -> int:
        return self.n

    def _grow(self, size: int | None = None) -> None:
        size = size or max(64, 2 * len(self.rounds))
        for name in ("rounds", "sent_at", "rtt_ms", "responder", "kind", "code"):
            old = getattr(self, name)
            new = np.empty(size, old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)
        self.shared = False

    def _unshare(self) -> None:
        """Before samples already stored move (an insert behind later rounds, forgetting the oldest): new buffers
        if a snapshot may still be reading views of the current ones. Appending never touches what a view sees."""
        if self.shared:
            self._grow(len(self.rounds))

    def view(self, name: str, lo: int, hi: int) -> np.ndarray:
        """A read-only view of samples [lo, hi) of one array, valid however the history changes afterwards."""
        self.shared = True
        v = getattr(self, name)[lo:hi]
        v.flags.writeable = False
        return v

    def add(self, round_no: int, sent_at: float, rtt_ms: float, responder: int, kind: int, code: int) -> None:
        if self.n == len(self.rounds):
            self._grow()
        n = self.n
        if n == 0 or round_no >= self._top_round:
            i = n
            self._top_round = round_no
        else:
            i = int(np.searchsorted(self.rounds[:n], round_no, side="right"))
            self.epoch += 1
            self._unshare()
            for a in (self.rounds, self.sent_at, self.rtt_ms, self.responder, self.kind, self.code):
                a[i + 1 : n + 1] = a[i:n]
        self.rounds[i] = round_no
        self.sent_at[i] = sent_at
        self.rtt_ms[i] = rtt_ms
        self.responder[i] = responder
        self.kind[i] = kind
        self.code[i] = code
        self.n = n + 1
        self.version += 1
        if responder == NO_RESPONDER:
            return  # a lost probe says nothing about the route
        role = "reached" if kind & REACHED else ("unreachable" if kind & KIND_MASK == UNREACHABLE else "router")
        if role == "reached":
            self.reached += 1
        else:
            self.routers += 1
        if role not in self.last or round_no >= self.last[role][0]:
            self.last[role] = (round_no, responder, code)
        flow = round_no % self.flows
        last = self._last_answered.get(flow)
        if last is None or round_no >= last[0]:
            if last is not None and last[1] != responder:
                self.changes.append((round_no, sent_at, flow, last[1], responder))
            self._last_answered[flow] = (round_no, responder)
            return
        # An answer settled behind a later answered round of its flow (rare): work the hop's changes out again.
        m = self.n
        who = [int(r) or None for r in self.responder[:m]]
        found = find_route_changes(0, self.rounds[:m].tolist(), who, self.sent_at[:m].tolist(), self.flows)
        self.changes = [(c.round, c.sent_at, c.flow, c.old, c.new) for c in found]

    def bounds(self, window: int | None, time_range: TimeRange | None, cut: int | None = None) -> tuple[int, int]:
        """The index range [lo, hi) of a selection: the samples sent within ``time_range`` (wall-clock seconds,
        both ends included) if one is given, else the last ``window`` samples (None = all of them); with ``cut``
        (a round number), only among the samples of the rounds before it (``TraceHistory.known_before``)."""
        n = self.n
        end = n if cut is None or cut > self._top_round else int(np.searchsorted(self.rounds[:n], cut, "left"))
        if time_range is not None:
            # Send times follow rounds except for sub-ms reordering within a round; a binary search is exact enough.
            sent = self.sent_at[:n]
            hi = min(end, int(np.searchsorted(sent, time_range[1], "right")))
            return min(hi, int(np.searchsorted(sent, time_range[0], "left"))), hi
        return (0 if window is None else max(0, end - window)), end

    def trim(self, keep: int) -> None:
        """Forget all but the last ``keep`` samples (a monitoring agent keeps only its window in memory; the
        session file holds the rest). Route changes before the first kept round go too."""
        cut = self.n - keep
        if cut <= 0:
            return
        first = int(self.rounds[cut])
        self._cut(cut)
        if self.earlier is None:  # summarised: the whole run's route changes stay (a few numbers each)
            self.changes = [c for c in self.changes if c[0] >= first]

    def drop_before(self, sent_at: float) -> None:
        """Forget the samples sent before ``sent_at`` (an alert engine keeps only its longest window)."""
        cut = int(np.searchsorted(self.sent_at[: self.n], sent_at, "left"))
        if cut:
            self._cut(cut)

    def _cut(self, cut: int) -> None:
        if self.earlier is not None:
            kinds, rtts = self.kind[:cut], self.rtt_ms[:cut]
            reached = (kinds & REACHED) != 0
            first = (int(self.rounds[0]), float(self.sent_at[0]))
            # The rows they belong to (see _row): a router's row has no destination replies; the destination's
            # row its replies and the losses at its TTL.
            who = self.responder[:cut]
            router, destination = ~reached, reached | (kinds == LOST)
            self.earlier[0].add(rtts[router], who[router], *first)
            self.earlier[1].add(rtts[destination], who[destination], *first)
        self.let_go += cut
        self.epoch += 1
        self._unshare()
        for a in (self.rounds, self.sent_at, self.rtt_ms, self.responder, self.kind, self.code):
            a[: self.n - cut] = a[cut : self.n]
        self.n -= cut
        self.version += 1

    def nbytes(self) -> int:
        return self.n * sum(
            a.itemsize for a in (self.rounds, self.sent_at, self.rtt_ms, self.responder, self.kind, self.code)
        )


@dataclass(frozen=True)
class RowData:
    """One visible hop's samples over a selection, copied out of the history (safe to use without the lock).

    ``rounds`` int64 ascending, ``sent_at`` wall-clock s, ``rtt_ms`` float64 (NaN = lost), ``responder`` indexes
    into ``Selection.addresses``. ``role`` is "router" (replies of the routers at this TTL: a destination's reply
    that came back at this TTL while the path was shorter belongs to the destination's row) or "destination" (the
    destination's replies, at this TTL and, while the path was shorter, at lower TTLs: one per round).
    ``unreachable`` is (responder index, ICMP code) when the path ends here with a destination-unreachable from a
    router. ``key`` identifies the data (hop versions, selection) for a snapshot cache. ``earlier``: for a
    selection of every sample, the summary of this row's samples no longer in memory (summary.py), else None.

    ``lineage`` (role, hop epoch, samples of the hop seen): set when the row is every sample of its TTL and grows
    only by appending (a router's row; the destination's row where no other TTL or address is merged into it), so
    a snapshot builder may keep its arrays and extend them (``TraceHistory.select``'s ``held``). ``extends``: None
    when the arrays are the whole row; else they hold only the samples after the first ``extends`` samples of the
    hop, which the caller already holds. ``rtt_all``: with ``lineage``, where the row is every sample of its
    TTL unfiltered, a read-only view of all its RTTs (the history's own array: the caller need not copy them).
    ``in_flight_rtt_ms``: the newest answer of the row's kind (ms) among the samples after a window's end, in rounds
    not yet settled at every hop (``TraceHistory.known_before``); None when there is none (the window's own last
    answer is then the newest).
    """

    ttl: int
    role: str
    rounds: np.ndarray
    sent_at: np.ndarray
    rtt_ms: np.ndarray
    responder: np.ndarray
    changes: tuple[tuple[int, float, int, int, int], ...]
    last_responder: int  # the latest responder of this TTL before or within the selection (0 = never answered)
    unreachable: tuple[int, int] | None
    key: tuple
    earlier: RunningSummary | None = None
    lineage: tuple[str, int, int] | None = None
    extends: int | None = None
    rtt_all: np.ndarray | None = None
    in_flight_rtt_ms: float | None = None


@dataclass(frozen=True)
class Selection:
    """What one snapshot is built from: the visible rows and the trace's own counts, copied under the lock."""

    rows: tuple[RowData, ...]
    addresses: tuple[str | None, ...]
    destination_ttl: int | None  # where the destination's row is (None: not reached within the selection)
    rounds: int  # settled samples of the busiest hop (TraceSnapshot.rounds)
    samples: int = 0
    extra: dict = field(default_factory=dict)


class TraceHistory:
    """The fold of one trace's samples (see the module docstring). ``flows``: TraceSettings.flows (route changes
    are followed per flow). ``keep_samples``: at most about this many samples per hop stay in memory (None = all;
    a monitoring agent's memory then stays flat however long it runs). ``summarise``: the samples let go are
    folded into running sums (summary.py), so a selection of every sample still gives the whole run's counts,
    loss, latency, stdev and jitter (a long report's memory stays flat too).

    ``settle_s``: the probe timeout (s) of a trace still probing, whose newest rounds are not settled yet (an
    answer comes at once, a loss only at the timeout): every selection then ends before the first round whose
    fate is not known at every hop it shows (``known_before``), so a window never counts the newest rounds'
    answers without their losses. None: every probe's fate is known when its sample is applied (a finished
    recording, a report at its end), or the caller chooses its time range itself (the alert rules)."""

    def __init__(
        self, flows: int = 1, keep_samples: int | None = None, summarise: bool = False, settle_s: float | None = None
    ) -> None:
        self.flows = flows
        self.keep_samples = keep_samples
        self.summarise = summarise
        self.settle_s = settle_s
        self._newest_sent = -np.inf  # the latest send time of any sample applied (wall clock, s)
        self._top_round = -1  # the highest round of any sample applied
        self.hops: dict[int, HopHistory] = {}
        self.addresses: list[str | None] = [None]  # index NO_RESPONDER = lost
        self._index: dict[str, int] = {}
        self.samples = 0
        self.lock = threading.Lock()

    # -- the fold -----------------------------------------------------------------------------------

    def apply(self, sample: Sample) -> None:
        """Add one settled sample (answered or lost). Any thread; the caller's order does not matter."""
        with self.lock:
            if sample.responder is None or sample.rtt_ms is None:
                index = NO_RESPONDER
            else:
                index = self._index.get(sample.responder, 0)
                if not index:
                    index = len(self.addresses)
                    if index > 0xFFFF:  # a 16-bit index; 65535 distinct responders is not a route any more
                        index = NO_RESPONDER
                    else:
                        self.addresses.append(sample.responder)
                        self._index[sample.responder] = index
            hop = self.hops.get(sample.ttl)
            if hop is None:
                hop = self.hops[sample.ttl] = HopHistory(sample.ttl, self.flows)
                if self.summarise:
                    hop.earlier = (RunningSummary(), RunningSummary())
            rtt = np.nan if sample.rtt_ms is None or index == NO_RESPONDER else sample.rtt_ms
            code = sample.icmp_code if sample.icmp_code is not None and 0 <= sample.icmp_code < NO_CODE else NO_CODE
            hop.add(sample.round, sample.sent_at, rtt, index, kind_code(sample) if index else LOST, code)
            if sample.sent_at > self._newest_sent:
                self._newest_sent = sample.sent_at
            if sample.round > self._top_round:
                self._top_round = sample.round
            keep = self.keep_samples
            if keep is not None and hop.n >= keep + max(64, keep // 4):
                # The samples of rounds possibly in flight elsewhere stay besides ``keep`` settled ones: a window
                # of ``keep`` rounds whose fate is known still has them all.
                if self.settle_s is not None:
                    recent = self._newest_sent - 2 * self.settle_s
                    keep += hop.n - int(np.searchsorted(hop.sent_at[: hop.n], recent, "left"))
                if hop.n >= keep + max(64, keep // 4):
                    hop.trim(keep)  # in steps, so the arrays are not shifted on every sample
            self.samples += 1

    def drop_before(self, sent_at: float) -> None:
        with self.lock:
            for hop in self.hops.values():
                hop.drop_before(sent_at)

    # -- which rounds are settled ---------------------------------------------------------------------

    def known_before(self, ttls) -> int | None:
        """The first round whose fate is not known yet at every TTL of ``ttls`` (the hops a selection shows): the
        rounds before it are settled there, each probe answered or timed out. None when every round is
        (``settle_s`` None). Call it with the lock held.

        A round's fate at a TTL is known once its sample there is in; a round sent twice ``settle_s`` (the probe
        timeout) or longer before the newest sample's send time is settled wherever it was probed (the newest
        sample was sent before now; twice: the engine holds an answer that claims the path's end until the
        probes that prove it settled, and a refused claim's probe waits for its own deadline again). The rounds
        after the newest round settled that way count one by one from there: the first missing at any of
        ``ttls`` (its probe in flight: a loss settles only at the timeout, while the later rounds' answers are
        in) is the cut. The cut is the same for every row, so a window's rows hold the same rounds, and a lost
        probe is never left out while its round's answers count (the bias this removes: loss p understated by
        about p(1-p)(timeout/interval)/window, 0 % once the window is no longer than timeout/interval rounds). A
        round never probed at one of ``ttls`` (a round skipped after a stall, a probe abandoned by a stop) holds
        the cut back until it is twice ``settle_s`` old."""
        settle_s = self.settle_s
        if settle_s is None or self._top_round < 0:
            return None
        horizon = self._newest_sent - 2 * settle_s
        before = None  # the newest round with a probe sent by the horizon: it and those before are settled
        first = None
        hops = [self.hops[t] for t in ttls if t in self.hops]
        for hop in hops:
            n = hop.n
            if not n:
                continue
            i = int(np.searchsorted(hop.sent_at[:n], horizon, "right"))
            if i:
                r = int(hop.rounds[i - 1])
                before = r if before is None or r > before else before
            elif before is None:
                r = int(hop.rounds[0]) - 1
                first = r if first is None or r < first else first
        if before is None:
            before = first if first is not None else self._top_round
        cut = self._top_round + 1
        for ttl in ttls:
            hop = self.hops.get(ttl)
            n = hop.n if hop is not None else 0
            if not n:
                return before + 1  # nothing settled at this TTL since: every later round is in flight there
            rounds = hop.rounds[:n]
            j = int(np.searchsorted(rounds, before, "right"))
            m = n - j
            if not m:
                return before + 1
            # The rounds after ``before`` follow one another; the first one missing here is in flight here.
            if rounds[j] == before + 1 and rounds[n - 1] == before + m:
                gap = before + 1 + m  # all there (rounds ascend, one sample per round)
            else:
                missing = np.flatnonzero(rounds[j:n] != np.arange(before + 1, before + 1 + m))
                gap = before + 1 + (int(missing[0]) if len(missing) else m)
            if gap < cut:
                cut = gap
        return cut

    # -- small queries ------------------------------------------------------------------------------

    def destination_ttl(self) -> int | None:
        """The destination's TTL after every sample so far (see the module docstring); None before it answered."""
        with self.lock:
            return _path_end({t: h.last for t, h in self.hops.items()})[0]

    def path_end(self) -> tuple[int | None, int | None, int | None]:
        """(destination TTL, blocked TTL, highest TTL probed) after every sample so far: the destination as
        ``destination_ttl``; the lowest TTL whose latest answer is a router's destination-unreachable (the path ends
        there), None when none is; the highest TTL with a sample in memory, None before any."""
        with self.lock:
            destination, blocked = _path_end({t: h.last for t, h in self.hops.items()})
            return destination, blocked, max((t for t, h in self.hops.items() if h.n), default=None)

    def rounds(self) -> int:
        with self.lock:
            return max((h.n + h.let_go for h in self.hops.values()), default=0)

    def next_round(self) -> int:
        """One more than the highest round seen (a trace that starts again continues its numbering)."""
        with self.lock:
            return max((int(h.rounds[h.n - 1]) + 1 for h in self.hops.values() if h.n), default=0)

    def nbytes(self) -> int:
        with self.lock:
            return sum(h.nbytes() for h in self.hops.values())

    def time_span(self) -> TimeRange | None:
        """Wall-clock send times of the first and the last sample (None before any sample)."""
        with self.lock:
            firsts = [float(h.sent_at[0]) for h in self.hops.values() if h.n]
            firsts += [e.first_sent_at for h in self.hops.values() for e in h.earlier or () if e.first_sent_at]
            lasts = [float(h.sent_at[h.n - 1]) for h in self.hops.values() if h.n]
        return (min(firsts), max(lasts)) if firsts else None

    def series(self, ttl: int, time_range: TimeRange | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A copy of one TTL's send times (s) and RTTs (ms, NaN = lost), all of them or those within the range."""
        with self.lock:
            hop = self.hops.get(ttl)
            if hop is None:
                return np.array([]), np.array([])
            lo, hi = hop.bounds(None, time_range)
            return hop.sent_at[lo:hi].copy(), hop.rtt_ms[lo:hi].copy()

    def series_settled(self, ttl: int) -> tuple[np.ndarray, np.ndarray, int]:
        """A copy of all of one TTL's send times (s) and RTTs (ms, NaN = lost), and how many of them, from the
        first, are of rounds settled at every row a snapshot shows now (``known_before``; all of them without
        ``settle_s``): a curve of windows over the series ends there, as the window does."""
        with self.lock:
            hop = self.hops.get(ttl)
            if hop is None:
                return np.array([]), np.array([]), 0
            cut = None
            if self.settle_s is not None:
                shown = self._last_shown({t: h.last for t, h in self.hops.items()})[2]
                cut = self.known_before(sorted(set(range(1, shown + 1)) | {ttl}))
            end = hop.bounds(None, None, cut)[1]
            return hop.sent_at[: hop.n].copy(), hop.rtt_ms[: hop.n].copy(), end

    # -- what a snapshot is built from --------------------------------------------------------------

    def select(
        self,
        window: int | None = None,
        time_range: TimeRange | None = None,
        cached: dict | None = None,
        held: dict | None = None,
    ) -> Selection:
        """The visible rows over the last ``window`` samples of each hop (None = all) or over the samples sent
        within ``time_range`` (the window is then ignored).

        Which rows are visible: up to the destination's row; or, where a router answered with a
        destination-unreachable as its latest answer, up to that router's row (the path ends there); or, while
        the destination has not answered, up to the last answering TTL and one silent TTL after it (a row of ???
        standing for the rest, as traceroute users expect), never 30 rows of nothing. All judged from the answers
        within the selection, so a replayed time range and the same range of a live trace agree.

        ``cached``: ttl -> key of rows the caller already has numbers for; such a row comes back with empty arrays
        and the same ``key`` (its data did not change), so nothing is copied for it.

        ``held``: ttl -> ``lineage`` of rows the caller keeps the arrays of (see RowData); such a row, if it still
        has that lineage's role and epoch, comes back with only the samples added since (``extends``): a live
        view of a day's samples copies one round's, not the day's.

        With ``settle_s`` (a trace still probing), the window is the last ``window`` rounds whose fate is known at
        every row shown, and a time range holds only such rounds (``known_before``): their answers and their
        losses, never the answers of rounds whose losses are still to come.
        """
        with self.lock:
            spans, lasts, destination, blocked, last_ttl, cut = self._visible(window, time_range)
            rows = []
            for ttl in range(1, last_ttl + 1):
                role = "destination" if ttl == destination else "router"
                rows.append(self._row(ttl, role, spans, lasts, window, time_range, cached, blocked, held, cut))
            return Selection(
                rows=tuple(rows),
                addresses=tuple(self.addresses),
                destination_ttl=destination,
                rounds=max((h.n + h.let_go for h in self.hops.values()), default=0),
                samples=self.samples,
            )

    def row(self, ttl: int, time_range: TimeRange | None = None, window: int | None = None) -> RowData:
        """One TTL's row over a selection, whether or not it is visible: the destination's row (its replies at
        every TTL, see ``select``) when ``ttl`` is where the destination is after every sample so far, a router's
        row otherwise. What an alert rule on "the destination" or on a named hop measures. With ``settle_s``, over
        the rounds whose fate is known at this TTL and at every row ``select`` shows (as ``select``)."""
        with self.lock:
            spans, lasts, _dest, _blocked, _last, cut = self._visible(window, time_range, ttl)
            destination = _path_end({t: h.last for t, h in self.hops.items()})[0]
            role = "destination" if ttl == destination else "router"
            return self._row(ttl, role, spans, lasts, window, time_range, None, None, cut=cut)

    def _visible(self, window, time_range, also: int | None = None):
        """(spans, lasts, destination, blocked, last TTL shown, cut) of a selection (see ``select``): each TTL's
        index range and latest answers, where the destination's row is (None: not reached), the TTL where a
        router's unreachable ends the path, the last row shown, and the first round left out as not yet settled
        at every row shown (and at ``also``): None when none is (``known_before``)."""
        cut = None
        ttls: set[int] = set()
        if self.settle_s is not None:
            # The rows shown after every sample so far: almost always those of the selection too (else once more).
            ttls = set(range(1, self._last_shown({t: h.last for t, h in self.hops.items()})[2] + 1))
            ttls |= {also} if also is not None else set()
            cut = self.known_before(sorted(ttls))
        while True:
            spans = {t: h.bounds(window, time_range, cut) for t, h in self.hops.items()}
            lasts = {t: self._latest(h, *spans[t]) for t, h in self.hops.items()}
            destination, blocked, last_ttl = self._last_shown(lasts)
            if self.settle_s is None:
                return spans, lasts, destination, blocked, last_ttl, None
            shown = set(range(1, last_ttl + 1)) | ({also} if also is not None else set())
            if shown <= ttls:  # the cut was found over these rows (or more: a cut as early or earlier)
                return spans, lasts, destination, blocked, last_ttl, cut
            ttls |= shown
            cut = self.known_before(sorted(ttls))

    def _last_shown(self, lasts: dict) -> tuple[int | None, int | None, int]:
        """(destination TTL, blocked TTL, last row shown) from each TTL's latest answers (see ``select``)."""
        destination, blocked = _path_end(lasts)
        if blocked is not None and (destination is None or blocked < destination):
            return None, blocked, blocked
        if destination is not None:
            return destination, blocked, destination
        if self.hops:
            answered = [t for t in self.hops if lasts.get(t)]
            return None, blocked, min(max(self.hops), (max(answered) + 1) if answered else 1)
        return None, blocked, 0

    @classmethod
    def _latest(cls, hop: HopHistory, lo: int, hi: int) -> dict[str, tuple[int, int, int]]:
        """The latest answers of each kind within [lo, hi); for a TTL silent all through it, those before it (a
        destination silent for the whole window is still the destination, 100 % lost, not a row of ???)."""
        found = cls._last_within(hop, lo, hi)
        if not found and lo < hi and lo > 0:
            found = cls._last_within(hop, 0, hi)
        return found

    @staticmethod
    def _last_within(hop: HopHistory, lo: int, hi: int) -> dict[str, tuple[int, int, int]]:
        """``hop.last`` (latest answer of each kind) restricted to the samples [lo, hi)."""
        if lo >= hi:
            return {}
        first_round = int(hop.rounds[lo])
        end_round = int(hop.rounds[hi]) if hi < hop.n else None
        # The usual case: the hop's latest answer of a kind is inside (a window ending now, or before rounds in
        # flight that brought no newer answer of that kind), or before it (none inside).
        out = {}
        wanted = []
        for k, v in hop.last.items():
            if end_round is not None and v[0] >= end_round:
                wanted.append(k)  # a newer one came after the selection: find the latest inside
            elif v[0] >= first_round:
                out[k] = v
        if not wanted:
            return out
        # The latest answers inside are near its end (answers are most samples): the last few one by one, all of
        # it for a kind not among them.
        kind, rounds, who, code = hop.kind, hop.rounds, hop.responder, hop.code
        stop = max(lo, hi - 16)
        for i in range(hi - 1, stop - 1, -1):
            k = int(kind[i])
            role = "reached" if k & REACHED else ("unreachable" if k & KIND_MASK == UNREACHABLE else "router")
            if k != LOST and role in wanted:
                out[role] = (int(rounds[i]), int(who[i]), int(code[i]))
                wanted.remove(role)
                if not wanted:
                    return out
        if stop > lo:
            found = TraceHistory._scan(hop, lo, stop)
            out.update({k: found[k] for k in wanted if k in found})
        return out

    @staticmethod
    def _scan(hop: HopHistory, lo: int, hi: int) -> dict[str, tuple[int, int, int]]:
        out: dict[str, tuple[int, int, int]] = {}
        kinds = hop.kind[lo:hi]
        for role, mask in (
            ("reached", (kinds & REACHED) != 0),
            ("unreachable", ((kinds & REACHED) == 0) & ((kinds & KIND_MASK) == UNREACHABLE)),
            ("router", ((kinds & REACHED) == 0) & (kinds != LOST) & ((kinds & KIND_MASK) != UNREACHABLE)),
        ):
            hits = np.flatnonzero(mask)
            if len(hits):
                i = lo + int(hits[-1])
                out[role] = (int(hop.rounds[i]), int(hop.responder[i]), int(hop.code[i]))
        return out

    def _row(self, ttl, role, spans, lasts, window, time_range, cached, blocked, held=None, cut=None) -> RowData:
        hop = self.hops.get(ttl)
        # The lower TTLs whose destination replies (a shorter path for a while) belong to the destination's row.
        merged = []
        if role == "destination":
            merged = [t for t, h in self.hops.items() if t < ttl and h.reached and spans[t][0] < spans[t][1]]
        versions = tuple((t, self.hops[t].version) for t in [ttl, *merged] if t in self.hops)
        key = (role, versions, window, time_range, ttl == blocked, cut)
        unreachable = None
        if ttl == blocked and "unreachable" in lasts.get(ttl, {}):
            _round, who, code = lasts[ttl]["unreachable"]
            unreachable = (who, code)
        last_responder = self._last_responder(ttl, role, merged, lasts)
        changes = tuple(hop.changes) if hop is not None else ()
        earlier = None
        if hop is not None and hop.earlier is not None and hop.let_go and window is None and time_range is None:
            # A copy: the summary goes on changing under the lock. (A destination reply let go at a lower TTL,
            # while the path was shorter, stays in that TTL's summary.)
            summary = hop.earlier[1 if role == "destination" else 0]
            earlier = dataclasses.replace(summary, responders=dict(summary.responders))
        newest = None
        if cut is not None and time_range is None and hop is not None and spans[ttl][1] < hop.n:
            newest = self._newest_answer(hop, spans[ttl][1], role)
        lineage = None
        appends_only = role == "router" or not (hop is None or hop.routers or merged)  # see RowData.lineage
        if hop is not None and window is None and time_range is None and appends_only:
            lineage = (role, hop.epoch, spans[ttl][1])
        empty = np.empty(0)
        if cached is not None and cached.get(ttl) == key:
            return RowData(
                ttl, role, empty.astype(np.int64), empty, empty, empty.astype(np.uint16), changes,
                last_responder, unreachable, key, earlier, lineage, in_flight_rtt_ms=newest,
            )  # fmt: skip
        extends = None
        if lineage is not None and held is not None:
            seen = held.get(ttl)
            if seen is not None and seen[:2] == lineage[:2] and seen[2] <= lineage[2]:
                extends = seen[2]
        if hop is not None:
            lo, hi = spans[ttl]
            if extends is not None:
                lo = extends  # the caller holds the row's samples before
            # Views, not copies (a day of samples per hop): the history never changes what they show (_unshare).
            rounds = hop.rounds[lo:hi].astype(np.int64)
            sent, rtt, who, kind = (hop.view(a, lo, hi) for a in ("sent_at", "rtt_ms", "responder", "kind"))
        else:
            rounds, sent, rtt = empty.astype(np.int64), empty, empty
            who, kind = empty.astype(np.uint16), empty.astype(np.uint8)
        if role == "router" and hop is not None and hop.reached:
            keep = (kind & REACHED) == 0  # the destination's replies at this TTL belong to the destination's row
            rounds, sent, rtt, who = rounds[keep], sent[keep], rtt[keep], who[keep]
        elif role == "destination":
            if hop is not None and hop.routers:
                # Another address's TTL-exceeded (or unreachable) here: the path was longer then; not the
                # destination's. (A reply from the destination's own address counts, whatever its kind.)
                reached = (kind & REACHED) != 0
                keep = (kind == LOST) | reached | np.isin(who, np.unique(who[reached]))
                rounds, sent, rtt, who, kind = rounds[keep], sent[keep], rtt[keep], who[keep], kind[keep]
            if merged:
                parts = [(rounds, sent, rtt, who, kind, np.full(len(rounds), ttl))]
                for t in merged:
                    h = self.hops[t]
                    a, b = spans[t]
                    mask = (h.kind[a:b] & REACHED) != 0
                    part = (h.rounds, h.sent_at, h.rtt_ms, h.responder, h.kind)
                    rounds_t, *rest = (x[a:b][mask] for x in part)
                    parts.append((rounds_t.astype(np.int64), *rest, np.full(int(mask.sum()), t)))
                rounds, sent, rtt, who, kind, ttls = (np.concatenate(p) for p in zip(*parts, strict=True))
                # One sample per round: the destination's reply at the lowest TTL it came back from that round, a
                # loss only where no TTL of the round reached it.
                answered_first = np.where((kind & REACHED) != 0, 0, 1)
                order = np.lexsort((ttls, answered_first, rounds))
                rounds, sent, rtt, who = rounds[order], sent[order], rtt[order], who[order]
                first = np.ones(len(rounds), bool)
                first[1:] = rounds[1:] != rounds[:-1]
                rounds, sent, rtt, who = rounds[first], sent[first], rtt[first], who[first]
                if window is not None and time_range is None:
                    rounds, sent, rtt, who = rounds[-window:], sent[-window:], rtt[-window:], who[-window:]
        rtt_all = None
        if lineage is not None and not (role == "router" and hop.reached):
            rtt_all = hop.view("rtt_ms", 0, spans[ttl][1])
        return RowData(
            ttl, role, rounds, sent, rtt, who, changes, last_responder, unreachable, key, earlier, lineage, extends,
            rtt_all, newest,
        )  # fmt: skip

    @staticmethod
    def _newest_answer(hop: HopHistory, start: int, role: str) -> float | None:
        """The newest RTT (ms) among the hop's samples from ``start`` on answered by this row's kind of
        responder (the destination's row: the destination; a router's: anything else); None when none is."""
        kind, destination = hop.kind, role == "destination"
        for i in range(hop.n - 1, start - 1, -1):  # a few samples (the rounds in flight), the newest first
            k = int(kind[i])
            if k != LOST and bool(k & REACHED) == destination:
                return float(hop.rtt_ms[i])
        return None

    def _last_responder(self, ttl: int, role: str, merged: list[int], lasts: dict) -> int:
        """The latest responder of this row's kind within the selection, else the latest known before it (a hop
        silent for the whole window still has an address); 0 when none ever answered."""
        wanted = ("reached",) if role == "destination" else ("router", "unreachable")
        for source in (lasts, {t: h.last for t, h in self.hops.items()}):
            found = [source.get(t, {}).get(k) for t in [ttl, *merged] for k in wanted]
            found = [f for f in found if f is not None]
            if found:
                return max(found)[1]
        return 0


def _path_end(lasts: dict[int, dict[str, tuple[int, int, int]]]) -> tuple[int | None, int | None]:
    """(destination TTL, blocked TTL) from each TTL's latest answers by kind (round, responder, code).

    The destination's TTL is the lowest TTL whose latest answer came from the destination, and no later than the
    destination's latest answer at any higher TTL (when the route gets longer, the old TTL may lose a probe or two
    before a router answers there, while the next TTL already reaches the destination). When no TTL qualifies
    any more but one did (the route got longer and the TTLs beyond have not been answered by it yet), it is one
    past the highest TTL answered at all: where the destination must now be. The blocked TTL is the lowest whose
    latest answer is a destination-unreachable from a router (the path ends there), None when there is none.
    """
    destination = blocked = None
    ever_reached = False
    highest_answer = 0
    reached_above = -1  # the latest round the destination answered at a higher TTL
    for ttl in sorted((t for t in lasts if lasts[t]), reverse=True):
        last = lasts[ttl]
        highest_answer = max(highest_answer, ttl)
        latest = max(last.values())[0]
        reached = last.get("reached")
        if reached is not None:
            ever_reached = True
            if reached[0] >= latest and reached[0] >= reached_above:
                destination = ttl  # the lowest such TTL wins: the loop runs downwards
            reached_above = max(reached_above, reached[0])
        unreachable = last.get("unreachable")
        if unreachable is not None and unreachable[0] >= latest:
            blocked = ttl
    if destination is None and ever_reached:
        destination = highest_answer + 1
    return destination, blocked
