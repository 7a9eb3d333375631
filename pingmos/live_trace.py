"""A trace that runs while someone watches it: the real engine in a background thread, its samples folded into
the trace's one history (``pingmos.state.TraceHistory``), and snapshots of it on demand (any window, any time
range) built by the one snapshot builder the report and a replayed session use too. No Qt here.

Threads: the engine thread calls ``apply`` for every sample; any other thread calls ``snapshot``/``series``/
``status``. The history's lock is held only to copy array slices, never while statistics or scoring run, so the
engine is never held up by a slow formula and the caller never waits on the network.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np

from pingmos.engine import Network, ProbeCounts, ReverseDNS, Sample
from pingmos.hop_report import RECORD_LIVE, RECORD_RANGE, TraceSnapshot
from pingmos.run import RunError, TraceRun, default_port, default_timeout_s, wind_down_limit_s
from pingmos.scoring import BatchScorer
from pingmos.state import TraceHistory, snapshot_of


@dataclass(frozen=True)
class HopSamples:
    """A copy of one hop's samples over a range, for the timeline: send times (s), RTTs (ms, NaN = lost)."""

    ttl: int
    sent_at: np.ndarray
    rtt_ms: np.ndarray
    # How many samples, from the first, are of rounds whose fate is known at every hop shown (a live trace's newest
    # rounds may still have losses to come: TraceHistory.known_before); None = all of them.
    settled: int | None = None


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
    error: str | None  # why the trace stopped, one line in no front end's words (pingmos.run.RunError)
    samples: int
    history_bytes: int
    probe_mode: str = ""  # how probes are sent ("raw sockets", "unprivileged ICMP sockets", ...); "" = not yet
    port: int | None = None  # UDP/TCP destination port; None = the engine's default
    error_stage: str | None = None  # where it failed: pingmos.run.RESOLVE ... NETWORK; None = internal error
    winding_down: bool = False  # running, but sending nothing more: waiting for the replies to the probes in flight

    @property
    def mode(self) -> str:
        """The probing mode in words: protocol (and port), interval, and how probes are sent once that is known."""
        kind = {"icmp": "ICMP echo", "udp": "UDP", "tcp": "TCP SYN"}.get(self.protocol, self.protocol.upper())
        if self.protocol in ("udp", "tcp"):
            port = self.port
            if port is None:  # the engine's default, named so the user knows what is probed
                port = default_port(self.protocol)
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
    probe from (None = what the kernel would use); ``driver`` runs the tracer elsewhere (``TraceRun``'s: the
    agent's one ``engine.TraceLoop`` for every target; the engine thread then only resolves, opens and waits, and
    the samples arrive in the driver's thread).
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
        ip_version: int | None = None,
        driver: Callable | None = None,
        timeout_s: float | None = None,
    ):
        self.target = target
        self.timeout_s = timeout_s  # a probe's timeout (TraceSettings.timeout_s; None = the engine's default)
        # 4 or 6 (-4 / -6); None = IPv4 where the name has it, else IPv6: the policy of every front end (pingmos.run)
        self.ip_version = ip_version
        self.protocol = protocol
        self.port = port  # UDP/TCP destination port (None = the engine's default); read at start()
        self.flows = flows  # TraceSettings.flows (a replayed session's); route changes are followed per flow
        # RECORD_FINISHED for a session replayed from a file (never started): no more rounds come, and the
        # diagnosis words "not enough samples" for that (its snapshots say so).
        self.record = RECORD_LIVE
        self.interval_s = interval_s
        self.max_ttl = max_ttl
        self._network_factory = network_factory
        self._mode_description = mode_description
        self._names = names
        self._thread_context = thread_context
        self._tracer_clock = tracer_clock
        self._source = source
        self._rounds_limit = rounds
        self._driver = driver  # TraceRun's: None = the tracer runs in this trace's engine thread
        self._lock = threading.Lock()
        # Every sample of every run of this trace; with keep_samples, at most about that many per hop stay in memory
        # (memory stays flat however long it runs).
        self.history = TraceHistory(flows, keep_samples)
        self._address: str | None = None
        self._error: str | None = None
        self._error_stage: str | None = None  # pingmos.run's stage of the failure (None: an internal error)
        self._current: TraceRun | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._started_mono: float | None = None  # when the current run started (None: not running)
        self._elapsed_before_s = 0.0  # probing time of earlier runs of this trace (Stop, then Start again)
        self._counts_before = ProbeCounts()  # the counters of earlier runs of this trace (Stop, then Start again)
        self._observers: list[Callable[[Sample], None]] = []
        self._winding_down = False

    # -- the engine side ----------------------------------------------------------------------------

    def apply(self, sample: Sample) -> None:
        """Add one sample (the engine thread calls this; tests and benchmarks feed samples directly)."""
        self.history.apply(sample)
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
        self._winding_down = False
        with self._lock:
            self._error = None
        # From now on its newest rounds are in flight: snapshots end before the first round not settled at every
        # hop they show (TraceHistory.known_before). A session replayed, never started, has every fate known.
        self.history.settle_s = self.timeout_s if self.timeout_s is not None else default_timeout_s(self.interval_s)
        self._started_mono = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="pingmos-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the engine to stop; returns at once. Everything measured stays."""
        self._stop.set()
        run = self._current
        if run is not None:
            run.stop()

    def wind_down(self, limit_s: float | None = None) -> None:
        """Ask the engine to send no more probes and to end once those in flight are answered or timed out (at most
        the probe timeout: ``TraceRun.wind_down``; ``limit_s``: then stopped, see ``pingmos.run.wind_down_limit_s``);
        returns at once. ``stop()`` still ends it at once."""
        self._winding_down = True
        run = self._current
        if run is None:
            self.stop()  # not probing (yet): nothing in flight
        else:
            run.wind_down(limit_s)

    @property
    def wind_down_limit_s(self) -> float:
        """How long a stop of this trace waits for the replies to its probes in flight at most (s): its probe
        timeout and a margin, bounded as every front end's (``pingmos.run.wind_down_limit_s``)."""
        return wind_down_limit_s(self.timeout_s if self.timeout_s is not None else default_timeout_s(self.interval_s))

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
        return self.history.samples

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def winding_down(self) -> bool:
        """True from ``wind_down()`` until the next ``start()``: the engine sends nothing more (while ``running``,
        it still counts the replies to the probes in flight)."""
        return self._winding_down

    def _fail(self, message: str, stage: str | None = None) -> None:
        with self._lock:
            self._error = message
            self._error_stage = stage

    def _run(self) -> None:
        try:
            with self._thread_context():
                self._run_engine()
        except Exception as exc:  # the last line of defence: the user sees what broke, the window stays
            self._fail(f"the trace stopped because of an internal error: {type(exc).__name__}: {exc}")
        finally:
            with self._lock:  # one step: ``counts`` never sees this run twice or not at all
                self._counts_before = self._counts()
                self._current = None
            if self._started_mono is not None:
                self._elapsed_before_s += time.monotonic() - self._started_mono
            self._started_mono = None

    def _run_engine(self) -> None:
        # The one way every front end sets up a trace (pingmos.run.TraceRun); here in the engine thread, so the
        # caller never waits on DNS, a helper's start or the network.
        run = TraceRun(
            self.target,
            protocol=self.protocol,
            interval_s=self.interval_s,
            max_ttl=self.max_ttl,
            timeout_s=self.timeout_s,
            rounds=self._rounds_limit,
            port=self.port,
            flows=self.flows,
            ip_version=self.ip_version,
            source=self._source,
            network_factory=self._network_factory,
            clock=self._tracer_clock,
            first_round=self._next_round(),  # round numbers continue after a Stop/Start: the history stays ordered
            driver=self._driver,
        )
        run.add_observer(self.apply)
        self._current = run
        try:
            run.resolve()
            with self._lock:
                self._address = run.address
            try:
                run.open()
            finally:  # the mode chosen is shown even when it could not open (a refused helper, a denied socket)
                if run.mode_description:
                    self._mode_description = run.mode_description
            if self._stop.is_set():
                return
            run.run()
        except RunError as exc:
            self._fail(exc.words, exc.stage)
        finally:
            run.close()

    def _next_round(self) -> int:
        return self.history.next_round()

    # -- the watcher side ---------------------------------------------------------------------------

    def counts(self) -> ProbeCounts:
        """The trace's counters (``engine.ProbeCounts``) over every run of it (Stop, then Start again)."""
        with self._lock:
            return self._counts()

    def _counts(self) -> ProbeCounts:
        run, before = self._current, self._counts_before
        now = run.counts() if run is not None else ProbeCounts()
        return ProbeCounts(
            before.probes_sent + now.probes_sent,
            before.unmatched_replies + now.unmatched_replies,
            before.suspicious_replies + now.suspicious_replies,
        )

    def status(self) -> TraceStatus:
        rounds = self.history.rounds()
        samples = self.history.samples
        history_bytes = self.history.nbytes()
        with self._lock:
            error = self._error
            error_stage = self._error_stage
            address = self._address
        started = self._started_mono
        elapsed_s = self._elapsed_before_s + ((time.monotonic() - started) if started is not None else 0.0)
        return TraceStatus(
            target=self.target,
            address=address,
            protocol=self.protocol,
            interval_s=self.interval_s,
            running=self.running,
            rounds=rounds,
            probes_sent=self.counts().probes_sent,
            elapsed_s=elapsed_s,
            error=error,
            error_stage=error_stage,
            samples=samples,
            history_bytes=history_bytes,
            probe_mode=self._mode_description,
            port=self.port,
            winding_down=self._winding_down,
        )

    def time_span(self) -> tuple[float, float] | None:
        """Wall-clock send times of the first and the last sample (None before any sample)."""
        return self.history.time_span()

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
        counts = self.counts()
        with self._lock:
            address = self._address or ""
        snap = snapshot_of(
            self.history,
            _as_scorer(scorer),
            window=window,
            time_range=time_range,
            cache=cache,
            target=self.target,
            address=address,
            protocol=self.protocol,
            interval_s=self.interval_s,
            model_name=model_name,
            names=(lambda a: self._names.name(a)) if self._names is not None else (lambda a: None),
            probes_sent=counts.probes_sent,
            unmatched_replies=counts.unmatched_replies,
            suspicious_replies=counts.suspicious_replies,
            mode=self._mode_description or None,
        )
        if self.record == RECORD_LIVE:
            return snap
        return dataclasses.replace(snap, record=RECORD_RANGE if time_range is not None else self.record)

    def series(self, ttl: int, time_range: tuple[float, float] | None = None) -> HopSamples:
        """A copy of one hop's send times and RTTs (NaN = lost), all of them or those within ``time_range``."""
        if time_range is None:
            sent_at, rtt_ms, settled = self.history.series_settled(ttl)
            return HopSamples(ttl, sent_at, rtt_ms, settled)
        sent_at, rtt_ms = self.history.series(ttl, time_range)
        return HopSamples(ttl, sent_at, rtt_ms)

    def destination_ttl(self) -> int | None:
        return self.history.destination_ttl()


class _BatchAsModel:
    """A BatchScorer in the shape the snapshot builder takes (an object with ``score_many``)."""

    def __init__(self, batch: BatchScorer) -> None:
        self.score_many = batch


def _as_scorer(scorer):
    return scorer if hasattr(scorer, "score_many") else _BatchAsModel(scorer)
