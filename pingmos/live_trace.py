"""A trace that runs while someone watches it: the real engine in a background thread, its samples kept in a
compact per-hop history, and snapshots of that history on demand (any window, any time range). No Qt here.

Why not ``TraceState``: a GUI trace may run for a day. 24 hours at one round a second over 30 hops is 2.6 million
samples; as Python lists of floats, ints and strings that is several hundred MB. Here a sample costs 22 bytes
(round, send time, RTT in ``array`` buffers, responder as an index into a small address table), about 57 MB for
that day, and the arrays hand themselves to numpy without copying for drawing. The history also keeps each
sample's send time, which a time-range ("focus") snapshot needs and ``TraceState`` does not store.

Threads: the engine thread calls ``apply`` for every sample; any other thread calls ``snapshot``/``series``/
``status``. One lock guards the history; it is held only to copy array slices, never while statistics or
scoring run, so the engine is never held up by a slow formula and the caller never waits on the network.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np

from pingmos.engine.events import Sample
from pingmos.engine.mode import NoProbeMode, choose_mode
from pingmos.engine.network import Network, NoPermission
from pingmos.engine.packets import family_of
from pingmos.engine.resolve import ResolveError, ReverseDNS, resolve_target
from pingmos.engine.tracer import Tracer, TraceSettings
from pingmos.hop_report import TraceSnapshot, scored_hop
from pingmos.route_changes import RouteChange, find_route_changes
from pingmos.scoring import ModelError, Score
from pingmos.stats import WindowStats, window_stats

NAN = math.nan
NO_RESPONDER = 0  # responder index for a lost sample; real addresses start at 1

# Scores every hop's window of one update at once (a user script is then asked once per update, not once per
# hop). Each result is a Score, None (nothing to score: no received sample), a ModelError (with the last working
# version's score) or a message saying why it failed.
BatchScorer = Callable[[Sequence[WindowStats]], "list[Score | ModelError | str | None]"]


class HopSeries:
    """Every settled sample of one TTL, ordered by round. Lost samples are NaN in ``rtt_ms``.

    Replies settle out of order (a lost probe settles at its timeout, after later rounds answered), so a sample
    is inserted at its round's place; that is almost always at or near the end, where ``array.insert`` is cheap.
    """

    __slots__ = ("rounds", "sent_at", "rtt_ms", "responder", "version", "changes", "flows", "_last_answered")

    def __init__(self, flows: int = 1) -> None:
        self.rounds = array("I")
        self.sent_at = array("d")  # wall clock, seconds since the epoch
        self.rtt_ms = array("d")
        self.responder = array("H")  # index into LiveTrace's address table, NO_RESPONDER when lost
        self.version = 0  # counts every change: a snapshot cache knows the hop's samples are the same
        # Route changes (route_changes.RouteChange) as responder indexes: (round, sent_at, flow, old, new), oldest
        # first, kept up to date per sample without storing anything per sample. Round r used flow r % flows
        # (TraceSettings.flows); each flow is followed on its own, as route_changes.find_route_changes does.
        self.changes: list[tuple[int, float, int, int, int]] = []
        self.flows = flows
        self._last_answered: dict[int, tuple[int, int]] = {}  # flow -> (round, responder) of its latest answer

    def add(self, round_no: int, sent_at: float, rtt_ms: float | None, responder: int) -> None:
        rtt = NAN if rtt_ms is None else rtt_ms
        self.version += 1
        if not self.rounds or round_no >= self.rounds[-1]:
            self.rounds.append(round_no)
            self.sent_at.append(sent_at)
            self.rtt_ms.append(rtt)
            self.responder.append(responder)
        else:
            i = bisect.bisect(self.rounds, round_no)
            self.rounds.insert(i, round_no)
            self.sent_at.insert(i, sent_at)
            self.rtt_ms.insert(i, rtt)
            self.responder.insert(i, responder)
        if responder == NO_RESPONDER:
            return  # a lost probe says nothing about the route
        flow = round_no % self.flows
        last = self._last_answered.get(flow)
        if last is None or round_no >= last[0]:
            if last is not None and last[1] != responder:
                self.changes.append((round_no, sent_at, flow, last[1], responder))
            self._last_answered[flow] = (round_no, responder)
            return
        # An answer settled behind a later answered round of its flow (rare): work the hop's changes out again.
        found = find_route_changes(0, self.rounds, [r or None for r in self.responder], self.sent_at, self.flows)
        self.changes = [(c.round, c.sent_at, c.flow, c.old, c.new) for c in found]

    def __len__(self) -> int:
        return len(self.rounds)

    def bounds(self, window: int | None, time_range: tuple[float, float] | None) -> tuple[int, int]:
        """The index range [lo, hi) of a snapshot: the samples sent within ``time_range`` (wall-clock seconds,
        both ends included) if one is given, else the last ``window`` samples (None = all of them)."""
        n = len(self.rounds)
        if time_range is not None:
            # Send times follow rounds except for sub-ms reordering within a round; bisect is exact enough.
            return bisect.bisect_left(self.sent_at, time_range[0]), bisect.bisect_right(self.sent_at, time_range[1])
        return (0 if window is None else max(0, n - window)), n

    def trim(self, keep: int) -> None:
        """Forget all but the last ``keep`` samples (a monitoring agent keeps only its window in memory; the
        session file holds the rest). Route changes before the first kept round go too."""
        cut = len(self.rounds) - keep
        if cut <= 0:
            return
        first = self.rounds[cut]
        for a in (self.rounds, self.sent_at, self.rtt_ms, self.responder):
            del a[:cut]
        self.changes = [c for c in self.changes if c[0] >= first]
        self.version += 1

    def nbytes(self) -> int:
        return sum(a.itemsize * len(a) for a in (self.rounds, self.sent_at, self.rtt_ms, self.responder))


@dataclass(frozen=True)
class HopSamples:
    """A copy of one hop's samples over a range, for the timeline: send times (s), RTTs (ms, NaN = lost)."""

    ttl: int
    sent_at: array
    rtt_ms: array


@dataclass(frozen=True)
class TraceStatus:
    """What the status bar shows. ``error`` is a sentence for the user (None when all is well)."""

    target: str
    address: str | None
    protocol: str
    interval_s: float
    running: bool
    rounds: int
    probes_sent: int
    elapsed_s: float  # time spent probing, over every run of this trace (a pause between Stop and Start not counted)
    error: str | None
    samples: int
    history_bytes: int
    probe_mode: str = ""  # how probes are sent ("raw sockets", "unprivileged ICMP sockets", ...); "" = not yet
    port: int | None = None  # UDP/TCP destination port; None = the engine's default

    @property
    def mode(self) -> str:
        """The probing mode in words: protocol (and port), interval, and how probes are sent once that is known."""
        kind = {"icmp": "ICMP echo", "udp": "UDP", "tcp": "TCP SYN"}.get(self.protocol, self.protocol.upper())
        if self.protocol in ("udp", "tcp"):
            port = self.port
            if port is None:  # the engine's default, named so the user knows what is probed
                port = TraceSettings(address="", protocol=self.protocol).effective_port
            kind += f" to port {port}"
        return f"{kind} every {self.interval_s:g} s" + (f", via {self.probe_mode}" if self.probe_mode else "")


class LiveTrace:
    """One trace: ``start()`` resolves the target and runs the engine in a thread until ``stop()``.

    Nothing here blocks its caller on the network or DNS: resolution, socket setup and probing all happen in
    the engine thread, and a failure there (unknown host, no permission for raw sockets) ends up as
    ``status().error`` with everything measured so far kept.

    ``network_factory`` builds the network in the engine thread (tests pass a FakeNetwork; None = the best probe
    mode this process is allowed: raw sockets, unprivileged ICMP sockets or the helper); ``names`` gives
    reverse-DNS names (None = addresses only); ``thread_context`` is entered by the engine thread for its whole
    life (the lab test enters the lab's client network namespace there); ``source`` is the local address to
    probe from (None = what the kernel would use).
    """

    def __init__(
        self,
        target: str,
        protocol: str = "icmp",
        interval_s: float = 1.0,
        max_ttl: int = 30,
        network_factory: Callable[[], Network] | None = None,
        mode_description: str = "",
        names: ReverseDNS | None = None,
        thread_context: Callable[[], AbstractContextManager] = nullcontext,
        tracer_clock=None,
        source: str | None = None,
        rounds: int | None = None,
        port: int | None = None,
        flows: int = 1,
        keep_samples: int | None = None,
    ):
        self.target = target
        # At most this many samples per hop stay in memory (None = all): memory stays flat however long it runs.
        self._keep = keep_samples
        self.protocol = protocol
        self.port = port  # UDP/TCP destination port (None = the engine's default); read at start()
        self.flows = flows  # TraceSettings.flows (a replayed session's); route changes are followed per flow
        self.interval_s = interval_s
        self.max_ttl = max_ttl
        self._network_factory = network_factory
        self._mode_description = mode_description
        self._names = names
        self._thread_context = thread_context
        self._tracer_clock = tracer_clock
        self._source = source
        self._rounds_limit = rounds
        self._lock = threading.Lock()
        self._hops: dict[int, HopSeries] = {}
        self._addresses: list[str | None] = [None]  # index NO_RESPONDER = lost
        self._address_index: dict[str, int] = {}
        self._destination_ttl: int | None = None
        self._samples = 0
        self._address: str | None = None
        self._error: str | None = None
        self._tracer: Tracer | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._started_mono: float | None = None  # when the current run started (None: not running)
        self._elapsed_before_s = 0.0  # probing time of earlier runs of this trace (Stop, then Start again)
        self._probes_sent_before = 0  # probes of earlier runs of this trace (Stop, then Start again)
        self._observers: list[Callable[[Sample], None]] = []

    # -- the engine side ----------------------------------------------------------------------------

    def apply(self, sample: Sample) -> None:
        """Add one sample (the engine thread calls this; tests and benchmarks feed samples directly)."""
        with self._lock:
            if sample.responder is None:
                index = NO_RESPONDER
            else:
                index = self._address_index.get(sample.responder, 0)
                if not index:
                    index = len(self._addresses)
                    if index > 0xFFFF:  # a 16-bit index; 65535 distinct responders is not a route any more
                        index = NO_RESPONDER
                    else:
                        self._addresses.append(sample.responder)
                        self._address_index[sample.responder] = index
            if sample.reached and (self._destination_ttl is None or sample.ttl < self._destination_ttl):
                self._destination_ttl = sample.ttl
            series = self._hops.get(sample.ttl)
            if series is None:
                series = self._hops[sample.ttl] = HopSeries(self.flows)
            series.add(sample.round, sample.sent_at, sample.rtt_ms, index)
            if self._keep is not None and len(series) >= self._keep + max(64, self._keep // 4):
                series.trim(self._keep)  # in steps, so the arrays are not shifted on every sample
            self._samples += 1
        if self._names is not None and sample.responder is not None:
            self._names.name(sample.responder)  # starts the lookup in the background the first time
        for observer in self._observers:
            observer(sample)

    def add_observer(self, observer: Callable[[Sample], None]) -> None:
        """Also hand every later sample to ``observer`` (a session recorder, alert rules), in the engine thread,
        after it is in the history. It must be quick and must not raise: it holds up the engine."""
        self._observers.append(observer)

    def set_address(self, address: str) -> None:
        """The target's address when it is known without resolving (a trace replayed from a session)."""
        with self._lock:
            self._address = address

    def start(self) -> None:
        """Start (or resume after stop()) probing in a background thread; returns at once."""
        if self.running:
            return
        self._stop.clear()
        with self._lock:
            self._error = None
        self._started_mono = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="pingmos-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the engine to stop; returns at once. Everything measured stays."""
        self._stop.set()
        tracer = self._tracer
        if tracer is not None:
            tracer.stop()

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the engine thread to end (tests, shutdown); True when it has."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
            return not thread.is_alive()
        return True

    def close(self) -> None:
        self.stop()
        if self._names is not None:
            self._names.close()

    @property
    def sample_count(self) -> int:
        """Samples applied so far (cheap: front ends poll it to see whether anything changed)."""
        return self._samples

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _fail(self, message: str) -> None:
        with self._lock:
            self._error = message

    def _run(self) -> None:
        try:
            with self._thread_context():
                self._run_engine()
        except Exception as exc:  # the last line of defence: the user sees what broke, the window stays
            self._fail(f"the trace stopped because of an internal error: {type(exc).__name__}: {exc}")
        finally:
            if self._tracer is not None:
                self._probes_sent_before += self._tracer.probes_sent
            self._tracer = None
            if self._started_mono is not None:
                self._elapsed_before_s += time.monotonic() - self._started_mono
            self._started_mono = None

    def _run_engine(self) -> None:
        try:
            address = resolve_target(self.target, None)  # IPv4 or IPv6, as the resolver prefers
        except ResolveError as exc:
            self._fail(f"{exc}. Check the host name, or enter an IP address.")
            return
        with self._lock:
            self._address = address
        try:
            settings = TraceSettings(
                address=address,
                protocol=self.protocol,
                interval_s=self.interval_s,
                max_ttl=self.max_ttl,
                rounds=self._rounds_limit,
                port=self.port if self.protocol != "icmp" else None,
                flows=self.flows,
            )
            settings.validate()
        except ValueError as exc:
            self._fail(f"cannot trace with these settings: {exc}")
            return
        try:
            if self._network_factory is None:
                mode = choose_mode("auto", family_of(address), self.protocol)
                self._mode_description = mode.description
                network = mode.open()
            else:
                network = self._network_factory()
        except NoProbeMode as exc:
            self._fail(in_window_words(str(exc)))
            return
        except NoPermission as exc:
            self._fail(str(exc))
            return
        except OSError as exc:
            self._fail(f"cannot open the network sockets: {exc}")
            return
        try:
            # Round numbers continue after a Stop/Start so the history stays ordered by round.
            first_round = self._next_round()
            on_sample = self.apply if first_round == 0 else (lambda s: self.apply(_renumber(s, first_round)))
            try:
                tracer = Tracer(settings, network, on_sample, clock=self._tracer_clock, source=self._source)
            except OSError as exc:
                self._fail(f"cannot reach {address}: {exc}")
                return
            self._tracer = tracer
            if self._stop.is_set():
                return
            try:
                tracer.run()
            except OSError as exc:
                self._fail(f"sending probes failed: {exc}. Measured data is kept; press Start to try again.")
        finally:
            network.close()

    def _next_round(self) -> int:
        with self._lock:
            return max((s.rounds[-1] + 1 for s in self._hops.values() if len(s)), default=0)

    # -- the watcher side ---------------------------------------------------------------------------

    def status(self) -> TraceStatus:
        tracer = self._tracer
        with self._lock:
            rounds = max((len(s) for s in self._hops.values()), default=0)
            samples = self._samples
            error = self._error
            address = self._address
            history_bytes = sum(s.nbytes() for s in self._hops.values())
        started = self._started_mono
        elapsed_s = self._elapsed_before_s + ((time.monotonic() - started) if started is not None else 0.0)
        return TraceStatus(
            target=self.target,
            address=address,
            protocol=self.protocol,
            interval_s=self.interval_s,
            running=self.running,
            rounds=rounds,
            probes_sent=self._probes_sent_before + (tracer.probes_sent if tracer else 0),
            elapsed_s=elapsed_s,
            error=error,
            samples=samples,
            history_bytes=history_bytes,
            probe_mode=self._mode_description,
            port=self.port,
        )

    def _visible_ttls(self) -> list[int]:
        # The same rule as TraceState.visible_ttls: up to the destination, or up to one silent TTL after the last
        # answering hop, so a silent tail is one row of ??? and not 30.
        if not self._hops:
            return []
        if self._destination_ttl is not None:
            last = self._destination_ttl
        else:
            answered = [t for t, s in self._hops.items() if any(s.responder)]
            last = min(max(self._hops), (max(answered) + 1) if answered else 1)
        return list(range(1, last + 1))

    def time_span(self) -> tuple[float, float] | None:
        """Wall-clock send times of the first and the last sample (None before any sample)."""
        with self._lock:
            firsts = [s.sent_at[0] for s in self._hops.values() if len(s)]
            lasts = [s.sent_at[-1] for s in self._hops.values() if len(s)]
        return (min(firsts), max(lasts)) if firsts else None

    def snapshot(
        self,
        window: int | None,
        scorer: BatchScorer,
        model_name: str,
        time_range: tuple[float, float] | None = None,
        cache: dict | None = None,
    ) -> TraceSnapshot:
        """Per-hop statistics and scores over the last ``window`` samples (None = all), or over the samples sent
        within ``time_range`` (wall-clock seconds) when one is given (the window is then ignored).

        Runs statistics and the scorer in the calling thread, outside the lock: call it off the GUI thread.
        A hop with no sample in the range gets a row with sent 0 and every number None.

        ``cache``: a dict the caller keeps for one scorer (clear it when the model or its settings change). A hop
        whose samples did not change since the last snapshot with the same window or range keeps its statistics
        and score from there instead of computing them again (a stopped trace, an opened session, a selection
        change: a day of "all" samples is then milliseconds, not seconds).
        """
        rows = []
        per_round: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # ttl -> the window's rounds and RTTs (NaN lost)
        with self._lock:
            ttls = self._visible_ttls()
            for ttl in ttls:
                series = self._hops.get(ttl)
                if series is None:
                    rows.append((ttl, None, array("d"), array("H"), []))
                    continue
                lo, hi = series.bounds(window, time_range)
                per_round[ttl] = (
                    np.array(series.rounds[lo:hi], dtype=np.int64),
                    np.array(series.rtt_ms[lo:hi], dtype=np.float64),
                )
                key = (series.version, window, time_range)
                hit = cache.get(ttl) if cache is not None else None
                if hit is not None and hit[0] == key:
                    rows.append((ttl, hit, None, None, list(series.changes)))
                    continue
                lo, hi = series.bounds(window, time_range)
                rows.append((ttl, key, series.rtt_ms[lo:hi], series.responder[lo:hi], list(series.changes)))
                if lo < hi:
                    first = series.rounds[lo], series.sent_at[lo], series.sent_at[hi - 1]
                    rows[-1] = (*rows[-1], first)
            addresses = list(self._addresses)
            destination_reached = self._destination_ttl is not None
            rounds = max((len(s) for s in self._hops.values()), default=0)
            address = self._address or ""
        computed: dict[int, tuple] = {}
        todo = []
        for row in rows:
            ttl, key, rtts, responders = row[:4]
            if rtts is None:
                computed[ttl] = key[1:]  # (stats, result, responder counts, window extent) from the cache
                continue
            counts = Counter(responders)
            counts.pop(NO_RESPONDER, None)
            stats = window_stats([None if v != v else v for v in rtts])
            computed[ttl] = (stats, None, counts, row[5] if len(row) > 5 else None)
            todo.append(ttl)
            time.sleep(0)  # let the GUI thread draw between hops: a day of samples per hop holds the GIL otherwise
        results = scorer([computed[t][0] for t in todo]) if todo else []
        for ttl, result in zip(todo, results, strict=True):
            stats, _, counts, extent = computed[ttl]
            computed[ttl] = (stats, result, counts, extent)
            key = next(r[1] for r in rows if r[0] == ttl)
            if cache is not None and key is not None:
                cache[ttl] = (key, stats, result, counts, extent)
        hops = []
        all_changes: list[RouteChange] = []
        for ttl, _key, _rtts, _responders, changes, *_ in rows:
            stats, result, counts, extent = computed[ttl]
            by_address = {addresses[i]: n for i, n in counts.most_common()}
            best = next(iter(by_address), None)
            hop_changes = [RouteChange(ttl, r, t, f, addresses[a], addresses[b]) for r, t, f, a, b in changes]
            all_changes += hop_changes
            hops.append(
                scored_hop(
                    ttl,
                    best,
                    self._names.name(best) if (best and self._names is not None) else None,
                    by_address,
                    stats,
                    result,
                    # The changes within the window (as TraceState: from its first round on) or the focus range.
                    route_changes=tuple(
                        c for c in hop_changes if extent is not None and c.round >= extent[0] and c.sent_at <= extent[2]
                    ),
                    window_rounds=per_round.get(ttl, (np.zeros(0, np.int64),))[0],
                    window_rtts_ms=per_round.get(ttl, (None, np.zeros(0)))[1],
                )
            )
        tracer = self._tracer
        return TraceSnapshot(
            target=self.target,
            address=address,
            protocol=self.protocol,
            interval_s=self.interval_s,
            window=window,
            rounds=rounds,
            model=model_name,
            destination_reached=destination_reached,
            hops=tuple(hops),
            probes_sent=self._probes_sent_before + (tracer.probes_sent if tracer else 0),
            unmatched_replies=tracer.matcher.unmatched if tracer else 0,
            mode=self._mode_description or None,
            route_changes=tuple(sorted(all_changes, key=lambda c: (c.round, c.ttl))),
        )

    def series(self, ttl: int, time_range: tuple[float, float] | None = None) -> HopSamples:
        """A copy of one hop's send times and RTTs (NaN = lost), all of them or those within ``time_range``."""
        with self._lock:
            s = self._hops.get(ttl)
            if s is None:
                return HopSamples(ttl, array("d"), array("d"))
            lo, hi = s.bounds(None, time_range)
            return HopSamples(ttl, s.sent_at[lo:hi], s.rtt_ms[lo:hi])

    def destination_ttl(self) -> int | None:
        with self._lock:
            return self._destination_ttl


def in_window_words(message: str) -> str:
    """NoProbeMode's advice with the command-line option a window user has no use for put in the window's words
    (the rest of the advice, sudo/setcap/sysctl commands, is the same for both)."""
    return message.replace("(--protocol icmp / udp)", "(the Protocol box in the toolbar)").replace(
        "--protocol icmp or udp", "ICMP or UDP in the Protocol box"
    )


def _renumber(sample: Sample, offset: int) -> Sample:
    return Sample(
        sample.round + offset,
        sample.ttl,
        sample.seq,
        sample.sent_at,
        sample.rtt_ms,
        sample.responder,
        sample.reached,
    )
