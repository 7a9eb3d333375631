"""The monitoring agent: many targets traced indefinitely, each recorded to its own sessions, alerts as in the report,
and the state of all of them for /metrics.

One ``TargetRunner`` per target: a ``LiveTrace`` (the history kept to the target's window: older samples live only
in the session files) with three observers: the per-sample counters
(``metrics.TargetCounters``), the session recorder and the alert rules. The agent's loop (``tick``, once a
second) evaluates the alert rules, restarts traces that stopped on an error (a network that went away comes back),
and every ``refresh_s`` recomputes each target's window snapshot and diagnosis, rolls session files and applies the
retention. ``reload`` applies a new configuration: a target whose settings did not change keeps running with every
sample; changed ones restart; removed ones stop and their series leave /metrics.

Every target's probes are sent and its replies received by a few threads each driving many targets
(``engine.TraceLoop``, TARGETS_PER_ENGINE_THREAD each: a thread per target made a hundred threads queue for the
interpreter lock, at twice the CPU per probe). With ``probe_process`` (what ``pingmos monitor`` runs) those threads
live in a child process (``monitor.prober``) that does nothing else, so no window, scrape or session write of the
agent holds the interpreter lock they need when a round is due; the settled probes come back in batches and a
reader thread folds them into each target's history, counters, recorder and alert rules. Each target's own thread
only resolves its host, chooses its probe mode and then waits. Window snapshots, alerts, sessions and /metrics run
in the agent's loop, the writer and the HTTP thread.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from pingmos.alerts import COMMAND_FAILED, AlertEngine, AlertEvent, CommandRunner, with_diagnoses
from pingmos.diagnosis import diagnose
from pingmos.display_text import display_text
from pingmos.engine import (
    Network,
    NoProbeMode,
    ProbeMode,
    ReverseDNS,
    Sample,
    TraceLoop,
    choose_mode,
    family_of,
)
from pingmos.hop_report import TraceSnapshot
from pingmos.live_trace import LiveTrace
from pingmos.monitor.config import AgentConfig, TargetConfig, folder_name
from pingmos.monitor.metrics import AgentHealth, TargetCounters, TargetView
from pingmos.monitor.prober import CHILD_MODES, GONE, Prober, RemoteNetwork
from pingmos.run import WIND_DOWN_MARGIN_S, WIND_DOWN_MAX_S, default_timeout_s, wind_down_limit_s  # noqa: F401
from pingmos.scoring.interval import MOS_INTERVALS_KEY, MosIntervals
from pingmos.session.evidence import session_info
from pingmos.session.model import SessionError, SessionEvent
from pingmos.session.store import SessionRecorder

SESSION_SUFFIX = ".pingmos"
# A trace stopped by an error is started again after 1 s, then 2, 4 ... up to a minute while it keeps failing; a
# trace that ran for a minute counts as well again.
RESTART_MAX_S = 60.0
PENDING_LIMIT = 100_000  # samples kept for the first session file while the target's address is not known yet
# Every target's session is written in one transaction this often, by one writer thread for all targets: a killed
# agent loses at most these seconds, and a hundred targets cost 20 small transactions a second, not a hundred
# (nor a hundred writer threads).
RECORD_FLUSH_S = 5.0
EVENTS_KEPT = 100  # alert events a target keeps in memory (all of them are in its session's event log)
RETENTION_EVERY_S = 60.0  # the data directory is checked for old and excess session files this often
# MOS intervals (a bootstrap of ~200 model evaluations: 70-100 ms of CPU for g107-jb at a 30-sample window) are
# recomputed for about this many targets a second, all targets together: a hundred targets each every 30 s took
# a quarter of a core, more than sending and receiving their 3,000 probes a second.
INTERVALS_PER_S = 1.0
# Targets whose probes one engine thread (engine.TraceLoop) sends and receives unless ``[agent] engine_threads``
# says how many threads. One thread for all is the least CPU per probe, but on a busy machine the kernel gives
# each thread its share: measured on the lab (100 x 31 hops at
# 1 round/s, 2 cores at load 10-13) with 1, 4, 10 and 25 threads: 78-93 %, 22-33 %, 14 % and 12 % late rounds at
# 121, 100-127, 168 and 195 us of CPU per probe (a thread per target before: 11 % at 234 us).
TARGETS_PER_ENGINE_THREAD = 25
Log = Callable[[str], None]


def log_stderr(line: str) -> None:
    """Print one line of the agent's log to stderr, terminal-safe: target, rule and label names come from the
    configuration (and addresses from the network), so a newline in one would forge a log line and U+202E would
    reverse what follows; every control character becomes '?' (``display_text``, as ``report`` prints names)."""
    # One write of the whole line under a lock: print() writes the text and its newline apart, and the agent logs
    # from several threads (a target's trace thread said "probing via ..." between another line and its newline).
    text = f"pingmos monitor: {display_text(line)}\n"
    with _LOG_LOCK:
        sys.stderr.write(text)
        sys.stderr.flush()


_LOG_LOCK = threading.Lock()


def monitor_mode(protocol: str, family, requested: str = "auto") -> ProbeMode:
    """How an agent sends probes: unprivileged ICMP/UDP sockets wherever they work, even as root, then what
    ``choose_mode("auto")`` picks (raw sockets, the helper). Why: every raw ICMP socket receives a copy of every
    ICMP packet the host gets, so N targets on raw sockets parse N times all replies; ping sockets and UDP sockets
    are handed only their own replies by the kernel, so the cost per target stays the same however many there are.
    Another ``requested`` mode (raw, unprivileged, helper) is used as asked. Raises NoProbeMode (a NoPermission)
    with what the user can do when nothing works."""
    if requested != "auto":
        return choose_mode(requested, family, protocol)
    if protocol in ("icmp", "udp"):
        try:
            return choose_mode("unprivileged", family, protocol)
        except NoProbeMode:
            pass
    return choose_mode("auto", family, protocol)


def diagnosis_state(snapshot: TraceSnapshot, diagnosis) -> tuple[str, int | None, tuple[int, int] | None]:
    """(problem / no_problem / undecided, the TTL it names, for a problem the first and last hop it can start at:
    ``Diagnosis.location_ttls``). Uses the diagnosis's own status when it has one."""
    status = getattr(diagnosis, "status", None)
    ttl = diagnosis.deteriorates_at_ttl
    span = getattr(diagnosis, "location_ttls", None)
    if isinstance(status, str):
        status = status.replace("-", "_")
        if status in ("problem", "no_problem", "undecided"):
            return status, ttl, span if status == "problem" else None
    if ttl is not None:
        return "problem", ttl, span or (ttl, ttl)
    answered = any(h.received for h in snapshot.hops)
    return ("no_problem" if answered else "undecided"), None, None


class HopIntervals(MosIntervals):
    """The snapshot builder's live MOS intervals (``scoring.interval.MosIntervals``: refreshed every 30 s or when
    the window's size changes by a tenth, at most 400 model evaluations per update) for the hops an agent shows an
    interval for: ``which`` = "last" (the last hop that answered: the destination's call quality; what the summary
    window and a dashboard read), "all", or "none". Why not always all: each interval is a bootstrap of ~200 model
    evaluations, so 100 targets x 31 hops cost about 20,000 evaluations a second, more than the probing itself."""

    def __init__(self, which: str = "last", refresh_s: float = 30.0):
        super().__init__(refresh_s=refresh_s)
        self.which = which

    def update(self, score_batch, model_key, hops):
        """MosIntervals.update for the chosen hops (``hops``: (TTL, RTTs) of the scored hops); None for the rest."""
        if self.which == "all":
            return super().update(score_batch, model_key, hops)
        out: list = [None] * len(hops)
        if self.which == "last" and hops:
            i = max(range(len(hops)), key=lambda j: hops[j][0])
            out[i] = super().update(score_batch, model_key, [hops[i]])[0]
        return out


class TargetRunner:
    """One target: its trace, counters, sessions and alerts. The agent calls ``tick``/``refresh`` from its loop."""

    def __init__(
        self,
        cfg: TargetConfig,
        model,
        data_dir: str | None,
        session_hours: float,
        names: ReverseDNS | None,
        network_factory: Callable[[], Network] | None,
        thread_context: Callable[[], AbstractContextManager],
        tracer_clock,
        on_error: Callable[[str], None],
        log: Log,
        clock: Callable[[], float] = time.time,
        probe_mode: str = "auto",
        mos_interval: str = "last",
        driver: Callable | None = None,
        interval_every_s: float = 0.0,
        prober: Prober | None = None,
    ):
        self.cfg = cfg
        self._prober = prober
        self._probe_mode = probe_mode
        self.model = model
        self.counters = TargetCounters(cfg.interval_s, cfg.flows)
        self._data_dir = Path(data_dir) / folder_name(cfg.name) if data_dir else None
        self._session_s = session_hours * 3600.0
        self._on_error = on_error
        self._log = log
        self._clock = clock
        self._lock = threading.Lock()  # guards the recorder and the pending samples
        self.recorder: SessionRecorder | None = None
        self._recorder_since = 0.0
        self._pending: list[Sample] = []
        self._recording_failed = False
        self._settle_s = cfg.timeout_s if cfg.timeout_s is not None else default_timeout_s(cfg.interval_s)
        self.alerts = AlertEngine(
            [dataclasses.replace(r, target=None) for r in cfg.rules], cfg.name, model, settle_s=self._settle_s
        )
        self.commands = CommandRunner(on_result=self._command_result, on_failure=self._command_failed)
        self.events: collections.deque[AlertEvent] = collections.deque(maxlen=EVENTS_KEPT)  # the latest ones
        self.probe_mode = ""
        if network_factory is None:
            network_factory = self._open_network
        self.trace = LiveTrace(
            cfg.host,
            protocol=cfg.protocol,
            interval_s=cfg.interval_s,
            max_ttl=cfg.max_ttl,
            network_factory=network_factory,
            names=names,
            thread_context=thread_context,
            tracer_clock=tracer_clock,
            port=cfg.port,
            flows=cfg.flows,
            keep_samples=cfg.window,
            driver=driver,
            timeout_s=cfg.timeout_s,
        )
        self.trace.add_observer(self._observe)
        self._interval_every_s = interval_every_s
        self._cache: dict = {MOS_INTERVALS_KEY: HopIntervals(mos_interval, self._interval_refresh_s())}
        self.snapshot: TraceSnapshot | None = None
        self.diagnosis: tuple[str, int | None, tuple[int, int] | None] | None = None
        self.last_diagnosis = None  # the window's one diagnosis at the last refresh: alert events carry it
        self._stopped_at: float | None = None
        self._error_seen: str | None = None
        self._failures = 0  # errors in a row (the restart delay doubles with each)
        self._started_at = time.monotonic()
        self._samples_at_restart = 0  # the counters' samples when the trace was last started again after an error
        self._last_sample_mono = time.monotonic()  # when the latest sample arrived (the window ages without new ones)
        self.sip = None
        if cfg.sip is not None:
            from pingmos.monitor.sip import SipProber

            self.sip = SipProber(
                cfg.sip.host,
                cfg.sip.port,
                cfg.sip.interval_s or cfg.interval_s,
                cfg.window,
                self._settle_s,
                thread_context=thread_context,
                on_result=self._sip_result,
            )

    # -- engine thread ------------------------------------------------------------------------------------

    def _open_network(self) -> Network:
        # Called by the trace's engine thread once the target is resolved.
        mode = monitor_mode(self.cfg.protocol, family_of(self.trace.status().address), self._probe_mode)
        if mode.description != self.probe_mode:
            self.probe_mode = mode.description
            self._log(f"{self.cfg.name}: probing via {mode.description}")
        if self._prober is not None and mode.name in CHILD_MODES:
            return self._prober.network(mode.name, mode.description)  # the agent's probing process opens it
        return mode.open()

    def _observe(self, sample: Sample) -> None:
        self.counters.observe(sample)
        self._last_sample_mono = time.monotonic()
        if self.alerts.rules:  # a target without rules keeps no second history
            self.alerts.feed(sample)
        with self._lock:
            if self.recorder is not None:
                self.recorder.record(sample)
            elif self._data_dir is not None and not self._recording_failed and len(self._pending) < PENDING_LIMIT:
                self._pending.append(sample)

    def _sip_result(self, event) -> None:
        with self._lock:
            if self.recorder is not None:
                self.recorder.record_event(event)

    def _command_result(self, result) -> None:
        if result.error:
            self._on_error("alert_command")  # every failure counts; the log line is rate-limited (_command_failed)

    def _command_failed(self, line: str) -> None:
        self._log(f"{self.cfg.name}: {line}")
        with self._lock:
            if self.recorder is not None:  # the session's event log, where its alerts are
                self.recorder.record_event(SessionEvent(self._clock(), COMMAND_FAILED, {"message": line}))

    # -- the agent's loop ---------------------------------------------------------------------------------

    def start(self) -> None:
        self.counters.new_schedule()
        self.trace.start()
        if self.sip is not None:
            self.sip.start()

    def tick(self, now: float, mono: float | None = None) -> None:
        """Once a second: alert rules, and a trace that stopped on an error is started again after a while.
        ``now``: wall-clock s (the samples' send times); ``mono``: the same moment on the monotonic clock, on which
        the rules' ``for_s`` runs (None: ``now``, a test's virtual time)."""
        # A fire carries the target's one diagnosis (its window, as /metrics shows it); a clear the diagnosis of the
        # rule's own window, which no longer holds the outage that the target's longer window may still.
        events = self.alerts.evaluate(now, mono)
        for event in with_diagnoses(events, lambda: self.last_diagnosis, lambda w: self._window_diagnosis(now, w)):
            self._publish(event)
        status = self.trace.status()
        mono = time.monotonic()
        if status.running and self._failures and mono - self._started_at >= RESTART_MAX_S:
            self._failures = 0
        if status.error and not status.running:
            if self._stopped_at is None:
                self._stopped_at = mono
                self._failures += 1
                self._on_error("trace")
                said = self._prober is not None and GONE in status.error  # the agent said it once for all
                if (status.error != self._error_seen or self._failures == 1) and not said:
                    self._log(f"{self.cfg.name}: {status.error} (trying again in {self._restart_delay():g} s)")
                self._error_seen = status.error
            elif mono - self._stopped_at >= self._restart_delay():
                self._stopped_at = None
                self._started_at = mono
                self._samples_at_restart = self.counters.samples
                self.counters.new_schedule()
                self.trace.start()

    def _publish(self, event: AlertEvent, rules=None) -> None:
        """An alert event to the log, the session's event log and the rule's command."""
        self.events.append(event)
        self._log(event.message)
        with self._lock:
            if self.recorder is not None:
                self.recorder.record_event(event.to_session_event())
        self.commands.dispatch(self.alerts.rules if rules is None else rules, [event])

    def _window_diagnosis(self, now: float, window_s: float):
        """The diagnosis of the samples an alert rule's value was measured over (the settled rounds sent within
        ``window_s`` before the windows' end, ``AlertEngine.window_end``: the trace's history cuts its time ranges
        as the rule's does): what a clear says beside its value. The target's own
        window (``last_diagnosis``) may be longer and still hold the outage the rule's window no longer has (a
        clear line said "loss 0.0 % ...; diagnosis (problem)"). The target's diagnosis when it cannot be computed."""
        end = self.alerts.window_end if self.alerts.window_end is not None else now
        try:
            snap = self.trace.snapshot(None, self.model.score_many, self.model.name, time_range=(end - window_s, end))
            return diagnose(snap)
        except Exception as exc:  # a model failing now: the event still goes out, with the window's diagnosis
            self._on_error("scoring")
            self._log(f"{self.cfg.name}: the alert's diagnosis could not be computed: {type(exc).__name__}: {exc}")
            return self.last_diagnosis

    def hand_over_alerts(self, new: TargetRunner | None, now: float) -> Callable[[], None]:
        """A reload replaces this target (``new``: its restarted runner, None when the target was removed): an
        episode of a rule that ``new`` has unchanged (its command aside) goes on there, firing until its values
        clear; every other firing rule ends now with a clear event saying why ("removed by reload", "changed by
        reload"): nothing judges it any more, and an incident must not stay open for ever. Returns what says those
        events (log, session, command), for the caller to call once /metrics shows the new runners."""
        firing = self.alerts.firing()
        if not firing:
            return lambda: None
        same_as = {} if new is None else {r.name: r for r in new.alerts.rules}
        carried, changed, removed = [], [], []
        for rule in self.alerts.rules:
            if rule.name not in firing:
                continue
            other = same_as.get(rule.name)
            if other is None:
                removed.append(rule.name)
            elif dataclasses.replace(other, command=rule.command, command_timeout_s=rule.command_timeout_s) == rule:
                carried.append(rule.name)
            else:
                changed.append(rule.name)
        if new is not None:
            new.alerts.carry_over(self.alerts, carried)
        rules = self.alerts.rules  # the commands of the rules as they were: what paged for the episode
        events = self.alerts.end(removed, now, "removed by reload") + self.alerts.end(changed, now, "changed by reload")

        def publish() -> None:
            for event in events:
                self._publish(event, rules)

        return publish

    def _restart_delay(self) -> float:
        return min(RESTART_MAX_S, 2.0 ** max(0, self._failures - 1))

    def refresh(self, now: float) -> None:
        """Recompute the window snapshot and diagnosis; open, roll or close the session file."""
        snap = self._window_snapshot()
        self.snapshot = snap
        if any(h.score_error for h in snap.hops):
            self._on_error("scoring")
        self.last_diagnosis = diagnose(snap)
        self.diagnosis = diagnosis_state(snap, self.last_diagnosis)
        self._roll_session(now)

    def _window_snapshot(self) -> TraceSnapshot:
        """The target's window: its last ``window`` rounds while the trace sends; while it sends nothing (stopped on
        a send error such as "no route to host", its restarts failing again), the samples sent within the window's
        time (``window`` x ``interval_s``, plus the probes' timeout) before now. Why: the history keeps the last
        samples whatever their age, and a window of hour-old samples is not this window: without new samples the
        old ones age out as new ones would have pushed them out, and the gauges go absent below the minimum of
        samples instead of showing the last good figures. "Now" in the samples' clock is the newest sample's send
        time plus the (monotonic) time since it arrived, so a wall clock that steps moves nothing."""
        cfg = self.cfg
        idle_s = time.monotonic() - self._last_sample_mono
        span = self.trace.time_span() if idle_s > 2 * cfg.interval_s + self._settle_s else None
        if span is not None:
            now = span[1] + idle_s
            since = now - cfg.window * cfg.interval_s - self._settle_s
            return self.trace.snapshot(
                None, self.model.score_many, self.model.name, time_range=(since, now), cache=self._cache
            )
        return self.trace.snapshot(cfg.window, self.model.score_many, self.model.name, cache=self._cache)

    def _roll_session(self, now: float) -> None:
        if self._data_dir is None or self._recording_failed:
            return
        address = self.trace.status().address
        if address is None:
            return
        with self._lock:
            old = self.recorder
            if old is not None and now - self._recorder_since < self._session_s and old.error is None:
                return
        if old is not None and old.error is not None:
            self._on_error("session")
            self._log(f"{self.cfg.name}: recording stopped: {old.error}")
        info = session_info(
            self.cfg.name,
            address=address,
            protocol=self.cfg.protocol,
            interval_s=self.cfg.interval_s,
            max_ttl=self.cfg.max_ttl,
            timeout_s=self.cfg.timeout_s,
            port=self.cfg.port,
            flows=self.cfg.flows,
            started_at=now,
            model=self.model.name,
            window=self.cfg.window,
            labels=dict(self.cfg.labels),
            host=self.cfg.host,
        )
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        try:
            self._data_dir.mkdir(parents=True, exist_ok=True)
            path = self._data_dir / f"{stamp}{SESSION_SUFFIX}"
            n = 1
            while path.exists():
                n += 1
                path = self._data_dir / f"{stamp}-{n}{SESSION_SUFFIX}"
            new = SessionRecorder(path, info, flush_interval_s=0)  # the agent's writer thread flushes it
        except (OSError, SessionError) as exc:
            self._on_error("session")
            self._log(f"{self.cfg.name}: cannot record to {self._data_dir}: {exc}; the target is still monitored")
            with self._lock:
                self._recording_failed = old is None
            return
        with self._lock:
            self.recorder, self._recorder_since = new, now
            for s in self._pending:
                new.record(s)
            self._pending = []
        if old is not None:
            old.close()

    def set_mos_interval(self, which: str, every_s: float | None = None) -> None:
        """Which hops get a MOS interval from the next refresh on (a reload changed ``[agent] mos_interval``), and
        at least how often (s) it is recomputed (the number of targets changed); None keeps that."""
        if every_s is not None:
            self._interval_every_s = every_s
        live = self._cache.get(MOS_INTERVALS_KEY)
        if not isinstance(live, HopIntervals) or live.which != which:
            self._cache[MOS_INTERVALS_KEY] = HopIntervals(which, self._interval_refresh_s())
        else:
            live.refresh_s = self._interval_refresh_s()

    def _interval_refresh_s(self) -> float:
        # A window's samples are all new after window x interval seconds; an interval computed more often than that
        # (and every 30 s at least) would mostly repeat itself. Many targets: see INTERVALS_PER_S.
        return max(30.0, self.cfg.window * self.cfg.interval_s, self._interval_every_s)

    def flush_recording(self) -> None:
        """Write the samples and events recorded since the last flush to the session file (the writer thread)."""
        with self._lock:
            recorder = self.recorder
        if recorder is not None:
            recorder.flush()

    def open_session_path(self) -> Path | None:
        with self._lock:
            return self.recorder.path if self.recorder is not None else None

    def view(self) -> TargetView:
        status = self.trace.status()
        diag = self.diagnosis
        firing = set(self.alerts.firing())
        samples = self.counters.samples
        up: bool | None = status.running and status.error is None
        if self._failures and samples == self._samples_at_restart:
            up = False  # started again after an error and not one probe settled yet: still down
        elif status.error is None and not samples and not status.probes_sent:
            up = None  # not tried yet (resolving, opening): no 0 for a target that has not started
        return TargetView(
            name=self.cfg.name,
            labels=self.cfg.labels,
            model=self.model.name,
            up=up,
            counters=self.counters.copy(self._path_end_ttl()),
            snapshot=self.snapshot,
            diagnosis_status=diag[0] if diag else None,
            diagnosis_ttl=diag[1] if diag else None,
            diagnosis_span=diag[2] if diag else None,
            alerts={r.name: r.name in firing for r in self.alerts.rules},
            sip=self.sip.view() if self.sip is not None else None,
        )

    def _path_end_ttl(self) -> int | None:
        """The TTL where the path ends after every sample so far (the destination's, or a router's unreachable);
        None while unknown. /metrics has no hop beyond it."""
        destination, blocked, _highest = self.trace.history.path_end()
        ends = [t for t in (destination, blocked) if t is not None]
        return min(ends) if ends else None

    @property
    def timeout_s(self) -> float:
        """The probe timeout of this target's trace (s): the configured one, or the engine's default."""
        return self._settle_s

    def wind_down(self) -> None:
        """Send no more probes; the trace ends once those in flight are answered or timed out (``timeout_s`` at
        most). Returns at once. SIP OPTIONS stop at once (``stop`` follows)."""
        self.trace.wind_down()

    def stop(self) -> None:
        self.trace.stop()
        if self.sip is not None:
            self.sip.stop()

    def close(self, join_s: float = 5.0) -> None:
        """Stop probing, wait for the engine thread, write what is left and close the session file."""
        self.stop()
        self.trace.join(join_s)
        if self.sip is not None:
            self.sip.join(join_s)
        with self._lock:
            unrecorded = self.recorder is None and bool(self._pending)
        if unrecorded:
            # Stopped before the first refresh opened the session file (within a few seconds of the start): the
            # samples held for it are written, not dropped with the process.
            self._roll_session(time.time())
        with self._lock:
            recorder, self.recorder = self.recorder, None
        if recorder is not None:
            snap = self.snapshot
            for hop in snap.hops if snap is not None else ():
                if hop.address and hop.name:
                    recorder.record_name(hop.address, hop.name)
            recorder.close()


class Agent:
    """Every target of a configuration. ``run`` loops until ``stop``; tests call ``tick``/``refresh`` themselves.

    ``network_factory``/``tracer_clock``/``thread_context`` go to every target's LiveTrace (tests pass a
    FakeNetwork; the lab benchmark enters a lab namespace); None = the best probe mode this process may use.
    ``shared_loop``: the targets' tracers run in a few ``engine.TraceLoop`` threads (``engine_threads`` of the
    configuration, or one per TARGETS_PER_ENGINE_THREAD; targets assigned in turn, also those a reload adds;
    None = yes unless tracer clocks are given: a fake clock is one target's virtual time, so such targets keep a
    thread each)."""

    def __init__(
        self,
        config: AgentConfig,
        network_factory: Callable[[TargetConfig], Callable[[], Network]] | None = None,
        tracer_clock_factory: Callable[[TargetConfig], object] | None = None,
        thread_context: Callable[[], AbstractContextManager] = nullcontext,
        use_dns: bool = True,
        log: Log = log_stderr,
        shared_loop: bool | None = None,
        probe_process: bool = False,
    ):
        from pingmos.scoring import load_model

        self.config = config
        self._load_model = load_model
        self._network_factory = network_factory
        self._clock_factory = tracer_clock_factory
        self._thread_context = thread_context
        self._log = log
        self.names = ReverseDNS() if use_dns else None
        self._models: dict = {}
        self.runners: dict[str, TargetRunner] = {}
        self._lock = threading.Lock()  # guards runners (the HTTP thread reads them on every scrape)
        self.errors: dict[str, int] = {}
        # /metrics requests whose client went away before the answer was written (a scraper's timeout): normal,
        # counted rather than logged (``count_scrape_aborted``).
        self.scrapes_aborted = 0
        self._stop = threading.Event()
        self._stop_now = threading.Event()  # a second signal: the probes in flight are not waited for
        self.stopped_by: int | None = None  # the signal that stopped the agent (``stop(signum)``), if one did
        self._samples_at_refresh: tuple[float, int] | None = None
        self._retention_at: float | None = None  # monotonic time of the last retention pass
        self._refresh_turn = 0  # the runner whose window is recomputed next (run() spreads refreshes over time)
        self._refreshed_in_pass = 0  # windows recomputed since the last full pass ended
        # Probes settled per second over the last refresh pass; None until the first pass measured it (/metrics
        # then leaves the gauge out rather than say 0 while probes flow).
        self.probes_per_s: float | None = None
        self._reload_requested = threading.Event()
        self._writer: threading.Thread | None = None
        if shared_loop is None:
            shared_loop = tracer_clock_factory is None
        threads = config.engine_threads or max(1, math.ceil(len(config.targets) / TARGETS_PER_ENGINE_THREAD))
        threads = threads if shared_loop else 0
        self.loops = [TraceLoop(f"pingmos-trace-loop-{i}") for i in range(threads)]
        self._next_loop = 0
        # ``probe_process``: the targets' probes are sent and received by a child process (monitor.prober) with
        # as many engine threads, so that no window, scrape or session write of the agent delays a round; only
        # targets whose probe mode it cannot open alone (the helper's raw sockets) stay on this process's loops.
        use_prober = probe_process and shared_loop and network_factory is None
        self.prober = Prober(threads, log) if use_prober else None

    # -- targets ---------------------------------------------------------------------------------------------

    def _model(self, cfg: TargetConfig):
        key = (cfg.model, cfg.model_settings)
        model = self._models.get(key)
        if model is None:
            model = self._models[key] = self._load_model(cfg.model, dict(cfg.model_settings))
        return model

    def count_error(self, kind: str) -> None:
        with self._lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1

    def count_scrape_aborted(self) -> None:
        with self._lock:
            self.scrapes_aborted += 1

    def _runner(self, cfg: TargetConfig) -> TargetRunner:
        return TargetRunner(
            cfg,
            self._model(cfg),
            self.config.data_dir,
            self.config.session_hours,
            self.names,
            self._network_factory(cfg) if self._network_factory else None,
            self._thread_context,
            self._clock_factory(cfg) if self._clock_factory else None,
            self.count_error,
            self._log,
            probe_mode=self.config.probe_mode,
            mos_interval=self.config.mos_interval,
            driver=self._driver(),
            interval_every_s=self._interval_every_s(),
            prober=self.prober,
        )

    def _driver(self):
        if not self.loops:
            return None
        self._next_loop += 1
        local = self.loops[self._next_loop % len(self.loops)].drive
        prober = self.prober
        if prober is None:
            return local

        def drive(tracer) -> None:
            if isinstance(tracer.network, RemoteNetwork):
                prober.drive(tracer)
            else:
                local(tracer)

        return drive

    def _interval_every_s(self) -> float:
        return len(self.config.targets) / INTERVALS_PER_S

    def start(self) -> None:
        """Start every target (returns at once; probing runs in the targets' threads, or the probing process)."""
        if self.prober is not None:
            try:
                self.prober.start()
            except OSError as exc:
                self._log(f"no probing process ({exc.strerror or exc}): probing in this one")
                self.prober = None
        # The first pass's rate is measured from here, when every counter is 0 (the rate of the first seconds,
        # resolving and opening sockets included).
        self._samples_at_refresh = (time.monotonic(), 0)
        for cfg in self.config.targets:
            runner = self._runner(cfg)
            with self._lock:
                self.runners[cfg.name] = runner
            runner.start()
        self._start_writer()
        self._log(
            f"monitoring {len(self.runners)} target(s)"
            + (f", recording to {self.config.data_dir}" if self.config.data_dir else ", not recording")
        )

    def reload(self, config: AgentConfig) -> tuple[int, int, int]:
        """Apply a new configuration: (targets kept, started (new or changed), removed). Targets with unchanged
        settings keep running with their samples, counters and alert episodes; a changed one is restarted; a
        removed one stops."""
        old = self.runners
        new_by_name = {t.name: t for t in config.targets}
        kept = [n for n, r in old.items() if new_by_name.get(n) == r.cfg]
        gone = [r for n, r in old.items() if n not in kept]
        self.config = config
        for name in kept:
            old[name].set_mos_interval(config.mos_interval, self._interval_every_s())
        fresh = {cfg.name: self._runner(cfg) for cfg in config.targets if cfg.name not in kept}
        now = time.time()
        # Episodes carried over before /metrics sees the new runners (alert_firing never drops to 0 between them);
        # the ended ones said once it no longer shows the old ones, before those close (their sessions get it).
        ended = [runner.hand_over_alerts(fresh.get(runner.cfg.name), now) for runner in gone]
        with self._lock:
            self.runners = {cfg.name: old[cfg.name] if cfg.name in kept else fresh[cfg.name] for cfg in config.targets}
        # The targets removed or changed stop as the agent stops (``close``): no more probes, and the answers to
        # those in flight are waited for and counted in their own counters and sessions, before a restarted
        # target probes again (a late answer was left out, or went to the restarted trace as an unmatched reply).
        self._wind_down(gone, "reload")
        for runner, publish in zip(gone, ended, strict=True):
            publish()
            runner.close()
        for runner in fresh.values():
            runner.start()
        self._start_writer()
        used = {(t.model, t.model_settings) for t in config.targets}
        for key in [k for k in self._models if k not in used]:
            self._models.pop(key).close()
        removed = len([n for n in old if n not in new_by_name])
        self._log(
            f"configuration reloaded: {len(kept)} target(s) kept, {len(fresh)} started "
            f"({len(gone) - removed} of them changed), {removed} removed"
        )
        return len(kept), len(fresh), removed

    # -- the loop ------------------------------------------------------------------------------------------

    def tick(self, now: float | None = None) -> None:
        """Every target's ``tick`` at wall-clock ``now`` (None: the clocks now, the monotonic one for ``for_s``)."""
        mono = time.monotonic() if now is None else None
        now = time.time() if now is None else now
        for runner in list(self.runners.values()):
            runner.tick(now, mono)

    def refresh(self, now: float | None = None) -> None:
        """Recompute every target's window, the probe rate and apply the retention (tests; ``run`` spreads the
        targets' refreshes over ``refresh_s`` instead, see ``_refresh_some``)."""
        now = time.time() if now is None else now
        for runner in list(self.runners.values()):
            self._refresh_one(runner, now)
        self._after_pass(now, retention=True)

    def _refresh_one(self, runner: TargetRunner, now: float) -> None:
        try:
            runner.refresh(now)
        except Exception as exc:  # one target's failure must not stop the others' metrics
            self.count_error("scoring")
            self._log(f"{runner.cfg.name}: the window could not be computed: {type(exc).__name__}: {exc}")

    def _refresh_some(self, now: float, share: float) -> None:
        """Recompute the windows of the next ``share`` of the targets (round robin); after a full pass, the probe
        rate and (once a minute) the retention. Why in slices: every window of a hundred targets at once holds
        the interpreter for a second or more, which delays everything else the agent does (a scrape, the samples
        coming in), and the engine threads of targets probed in this process send their rounds late."""
        runners = list(self.runners.values())
        if not runners:
            self._after_pass(now, retention=False)
            return
        count = min(len(runners), max(1, math.ceil(len(runners) * share)))
        for _ in range(count):
            self._refresh_turn %= len(runners)
            self._refresh_one(runners[self._refresh_turn], now)
            self._refresh_turn += 1
        # A pass ends once as many windows as there are targets were recomputed since the last pass ended, wherever
        # the turn stands: with 51 targets in slices of 11 the turn wraps to 4, 8, ... and hardly ever lands on 51,
        # which left the probe rate unmeasured (and the retention undone) for a minute or more.
        self._refreshed_in_pass += count
        if self._refreshed_in_pass >= len(runners):
            self._refreshed_in_pass -= len(runners)  # the slice's windows past the pass's end start the next one
            mono = time.monotonic()
            due = self._retention_at is None or mono - self._retention_at >= RETENTION_EVERY_S
            self._after_pass(now, retention=due)

    def _after_pass(self, now: float, retention: bool) -> None:
        mono = time.monotonic()
        samples = sum(r.counters.samples for r in self.runners.values())
        if self._samples_at_refresh is not None:
            t0, n0 = self._samples_at_refresh
            if mono > t0:
                self.probes_per_s = max(0.0, (samples - n0) / (mono - t0))
        self._samples_at_refresh = (mono, samples)
        if retention and self.config.data_dir:
            self._retention_at = mono
            apply_retention(
                self.config.data_dir,
                self.config.retention_days * 86400.0,
                self.config.retention_mb * 1e6,
                self._open_paths(),
                now,
                self._log,
            )

    def _start_writer(self) -> None:
        if self.config.data_dir and self._writer is None:
            self._writer = threading.Thread(target=self._write_sessions, name="pingmos-session-writer", daemon=True)
            self._writer.start()

    def _write_sessions(self) -> None:
        # One writer thread for every target's session (see RECORD_FLUSH_S); SQLite works without the interpreter
        # lock, so the engine threads go on while a batch is written.
        while not self._stop.wait(RECORD_FLUSH_S):
            for runner in list(self.runners.values()):
                try:
                    runner.flush_recording()
                except Exception as exc:  # a recorder keeps its own write errors; anything else is logged
                    self.count_error("session")
                    self._log(f"{runner.cfg.name}: writing the session failed: {type(exc).__name__}: {exc}")

    def _open_paths(self) -> set[Path]:
        return {p for r in self.runners.values() if (p := r.open_session_path()) is not None}

    def request_reload(self) -> None:
        """Ask the loop to reload the configuration file (safe from a signal handler)."""
        self._reload_requested.set()

    def run(self, reload_config: Callable[[], AgentConfig] | None = None) -> None:
        """Tick every second and recompute each target's window every ``refresh_s`` (the targets spread over that
        time, a share of them each second) until ``stop()``; a requested reload reads the configuration again with
        ``reload_config`` (a bad file is logged and the running configuration kept)."""
        first = time.monotonic() + min(2.0, self.config.refresh_s)
        while not self._stop.wait(max(0.0, 1.0 - (time.time() % 1.0))):
            if self._reload_requested.is_set():
                self._reload_requested.clear()
                if reload_config is not None:
                    try:
                        self.reload(reload_config())
                    except Exception as exc:  # ConfigError, or a model that cannot load any more
                        self.count_error("config")
                        self._log(f"reload refused, the running configuration stays: {exc}")
            self.tick()
            if time.monotonic() >= first:
                self._refresh_some(time.time(), min(1.0, 1.0 / self.config.refresh_s))

    def stop(self, signum: int | None = None) -> None:
        """End ``run`` (safe from a signal handler); ``signum``: the signal that asked, kept in ``stopped_by`` (the
        first one) for the exit status. A signal that comes once the agent is stopping (a second Ctrl+C) ends its
        wait for the probes in flight (see ``close``)."""
        if signum is not None:
            if self._stop.is_set():
                self._stop_now.set()
            if self.stopped_by is None:
                self.stopped_by = signum
        self._stop.set()

    def close(self) -> None:
        """Stop every target and write what is left. Probes in flight are waited for first (``wind_down``): each
        settles as it would have, answered or, once its own timeout passed, lost, so a stop neither drops the
        answers on their way nor counts a probe lost whose timeout had not expired. The wait is the longest probe
        timeout at most (plus run.WIND_DOWN_MARGIN_S; run.WIND_DOWN_MAX_S at most); a second signal (``stop(signum)``)
        ends it at once, and the probes still in flight are then left out of every counter, neither received nor
        lost (pingmos_hop_probes_sent_total counts the probes whose fate is known)."""
        self._stop.set()
        if self._writer is not None:
            self._writer.join()
        self._wind_down()
        for runner in list(self.runners.values()):
            runner.stop()
        for runner in list(self.runners.values()):
            runner.close()
        if self.prober is not None:
            self.prober.close()  # after the traces: their last samples reached the sessions
        for loop in self.loops:
            loop.close()
        for model in self._models.values():
            model.close()
        if self.names is not None:
            self.names.close()

    def _wind_down(self, runners: list[TargetRunner] | None = None, why: str = "stopping") -> None:
        """Wind ``runners`` down (None: every target) and wait until their probes in flight are settled, the
        longest timeout (plus margin) at most, or a second signal. ``why``: "stopping" or "reload" (the log says
        which)."""
        every = runners is None
        runners = [r for r in (list(self.runners.values()) if every else runners) if r.trace.running]
        if not runners or self._stop_now.is_set():
            return
        limit_s = wind_down_limit_s(*(r.timeout_s for r in runners))  # (pingmos.run: the one bound of every stop)
        for runner in runners:
            runner.wind_down()
        if every:
            self._log(
                f"{why}: waiting up to {limit_s:g} s for the replies to the probes in flight (signal again to stop now)"
            )
        else:
            names = ", ".join(r.cfg.name for r in runners)
            self._log(f"{why}: waiting up to {limit_s:g} s for the replies to the probes in flight of {names}")
        deadline = time.monotonic() + limit_s
        for runner in runners:
            while not self._stop_now.is_set():
                left_s = deadline - time.monotonic()
                if left_s <= 0.0 or runner.trace.join(min(0.1, left_s)):  # short joins: a signal is handled between
                    break
        if self._stop_now.is_set() or any(r.trace.running for r in runners):
            self._log("stopped before every reply came: the probes still in flight are left out of the counters")

    # -- for /metrics ------------------------------------------------------------------------------------

    def views(self) -> list[TargetView]:
        with self._lock:
            runners = list(self.runners.values())
        return [r.view() for r in runners]

    def health(self) -> AgentHealth:
        with self._lock:
            errors = dict(self.errors)
            targets = len(self.runners)
            aborted = self.scrapes_aborted
        prober = self.prober
        return AgentHealth(
            self.probes_per_s,
            errors,
            targets,
            resident_bytes(),
            sys.getallocatedblocks(),
            send_stamps=prober.send_stamps if prober is not None else None,
            scrapes_aborted=aborted,
        )


def resident_bytes() -> int | None:
    """Resident set size of this process (Linux /proc), None elsewhere."""
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return None


def apply_retention(
    data_dir: str, max_age_s: float, max_bytes: float, open_paths: set[Path], now: float, log: Log
) -> list[Path]:
    """Delete closed session files older than ``max_age_s``, then the oldest closed ones while all session files
    together are larger than ``max_bytes``. Files being written are never deleted. Returns what was deleted."""
    files = []
    for path in Path(data_dir).glob(f"*/*{SESSION_SUFFIX}"):
        with contextlib.suppress(OSError):
            st = path.stat()
            files.append((st.st_mtime, st.st_size, path))
    files.sort()
    total = sum(size for _, size, _ in files)
    deleted = []
    for mtime, size, path in files:
        if path in open_paths:
            continue
        if now - mtime > max_age_s or total > max_bytes:
            try:
                path.unlink()
            except OSError as exc:
                log(f"retention: cannot delete {path}: {exc.strerror or exc}")
                continue
            total -= size
            deleted.append(path)
    return deleted
