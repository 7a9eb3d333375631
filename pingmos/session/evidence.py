"""What a headless report run keeps besides its final table: the session recording, the alert episodes and the
echo witness's answers (an event "echo-witness", so an opened session diagnoses with the same evidence).

``Evidence.observe`` is the report runner's per-sample hook. It records the sample and runs the alert rules live:
each fire and clear is reported the moment it happens (``on_event``), written to the session's event log, and
starts the rule's command in the background. ``close`` (after the run) takes a last look at the rules, writes
the reverse-DNS names and closes the session.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from collections.abc import Callable

from pingmos.alerts import COMMAND_FAILED, AlertEngine, AlertEvent, AlertRule, CommandRunner
from pingmos.diagnosis import Diagnosis, EchoWitness, diagnose
from pingmos.engine import ProbeCounts, Sample, TraceSettings
from pingmos.hop_report import RECORD_LIVE, TraceSnapshot
from pingmos.scoring import Scorer
from pingmos.session.model import SessionError, SessionEvent, SessionInfo
from pingmos.session.replay import PROBE_COUNTS
from pingmos.session.store import SessionRecorder
from pingmos.state import TraceState

WITNESS_EVENT = "echo-witness"


def witness_event(witnesses: dict[int, EchoWitness]) -> SessionEvent:
    """The echo witness's answers as one session event: per TTL the address, RTTs in ms (null = lost), the round
    it was taken at and its time."""
    taken = min((w.taken_at for w in witnesses.values()), default=time.time())
    data = {
        str(ttl): {"address": w.address, "rtts_ms": list(w.rtts_ms), "round": w.round, "taken_at": w.taken_at}
        for ttl, w in witnesses.items()
    }
    message = "echo witness: " + "; ".join(
        f"hop {ttl} ({w.address}): {w.lost} of {w.sent} lost" for ttl, w in sorted(witnesses.items())
    )
    return SessionEvent(taken, WITNESS_EVENT, {"message": message, "hops": data})


def witnesses_from_events(events: list[SessionEvent]) -> dict[int, EchoWitness]:
    """The latest echo witness per TTL recorded in a session's events ({} when none; malformed entries are
    skipped: a session file is data, not trusted)."""
    out: dict[int, EchoWitness] = {}
    for e in events:
        if e.kind != WITNESS_EVENT or not isinstance(e.data.get("hops"), dict):
            continue
        for ttl, w in e.data["hops"].items():
            try:
                rtts = tuple(None if r is None else float(r) for r in w["rtts_ms"])
                out[int(ttl)] = EchoWitness(str(w["address"]), rtts, int(w["round"]), float(w["taken_at"]))
            except (KeyError, TypeError, ValueError):
                continue
    return out


def session_info(
    target: str,
    *,
    address: str,
    protocol: str,
    interval_s: float,
    max_ttl: int,
    timeout_s: float | None = None,
    rounds: int | None = None,
    port: int | None = None,
    flows: int = 1,
    started_at: float | None = None,
    **facts,
) -> SessionInfo:
    """The one session settings record every front end writes (report, window, monitor): the trace's settings
    (``address`` "" while the target is not resolved yet; the window fills it in later), ``started_at`` wall-clock
    s (now when None), and front-end ``facts`` (``model``, ``window``, ``labels``...) beside them in ``extra``."""
    return SessionInfo(
        target=target,
        address=address,
        protocol=protocol,
        interval_s=interval_s,
        max_ttl=max_ttl,
        started_at=time.time() if started_at is None else started_at,
        source="pingmos",
        extra={"timeout_s": timeout_s, "rounds": rounds, "port": port, "flows": flows, **facts},
    )


# The trace settings a session records (``session_info``'s keywords, ``TraceSettings``'s fields).
_RECORDED = ("address", "protocol", "interval_s", "max_ttl", "timeout_s", "rounds", "port", "flows")


def info_for(target: str, settings: TraceSettings, started_at: float | None = None, **facts) -> SessionInfo:
    """``session_info`` of a resolved trace's ``settings``."""
    recorded = {name: getattr(settings, name) for name in _RECORDED}
    return session_info(target, started_at=started_at, **recorded, **facts)


class RunningDiagnosis:
    """The one diagnosis of a trace as it runs, for alert events (``pingmos.alerts.DiagnosisSource``): the samples
    folded as the report folds them (``pingmos.state.TraceState``), over the report's ``window`` (samples per hop,
    None = all) and scored with its model, diagnosed by ``pingmos.diagnosis.diagnose`` (with the echo witness
    ``witnesses``, when a session recorded one). ``feed`` only queues the sample (the trace's thread must keep its
    pace); ``current(until)`` folds in the samples sent by ``until`` (wall-clock s: the end of the rules' window,
    so a replayed session gives the answer the live run gave) and diagnoses (the thread that evaluates the
    rules). ``settle`` fixes the answer to the report's final one (its footer), for the last look at the rules
    after the run."""

    def __init__(
        self,
        target: str,
        address: str,
        protocol: str,
        interval_s: float,
        scorer: Scorer,
        model_name: str,
        window: int | None = None,
        flows: int = 1,
        witnesses: dict[int, EchoWitness] | None = None,
        record: str = RECORD_LIVE,
        settle_s: float | None = None,
    ):
        self.state = TraceState(target, address, protocol, interval_s, flows)
        # The trace's probe timeout: only the rounds settled at every hop count, as in the window and the alert
        # rules' windows (TraceHistory.known_before); None: every sample fed counts.
        self.state.history.settle_s = settle_s
        # A replay of a finished record (report --session --alerts) gets no more rounds: its verdicts say "not
        # enough samples in this record", never "about N more rounds" (hop_report.RECORD_*).
        self.record = record
        self.window = window
        self.witnesses = witnesses or {}
        self._scorer = scorer
        self._model_name = model_name
        self._queue: collections.deque[Sample] = collections.deque()
        self._held: list[Sample] = []  # fed, but sent after the moment last asked about
        self._final: Diagnosis | None = None

    def feed(self, sample: Sample) -> None:
        self._queue.append(sample)  # deque.append is atomic: no lock on the trace's thread

    def _fold(self, until: float) -> None:
        while self._queue:
            self._held.append(self._queue.popleft())
        later = []
        for sample in self._held:
            if sample.sent_at <= until:
                self.state.apply(sample)
            else:
                later.append(sample)
        self._held = later

    def _diagnose(self, window: int | None, time_range: tuple[float, float] | None) -> Diagnosis | None:
        if self.state.history.rounds() == 0:
            return None
        snapshot = self.state.snapshot(window, self._scorer, self._model_name, time_range=time_range)
        if self.record != RECORD_LIVE:
            snapshot = dataclasses.replace(snapshot, record=self.record)
        return diagnose(snapshot, witnesses=self.witnesses)

    def current(self, until: float) -> Diagnosis | None:
        if self._final is not None:
            return self._final
        self._fold(until)
        return self._diagnose(self.window, None)

    def over(self, start: float, end: float) -> Diagnosis | None:
        """The diagnosis of the samples sent within ``start``-``end`` (wall-clock s): an alert rule's own window,
        which a clear carries (``pingmos.alerts.with_diagnoses``), also after ``settle``."""
        self._fold(end)
        return self._diagnose(None, (start, end))

    def settle(self, snapshot: TraceSnapshot) -> None:
        """From now on, the diagnosis of the report's final ``snapshot`` (with its witness, when it has one); every
        probe has settled (a rule's own window then counts every sample fed)."""
        self.state.history.settle_s = None
        d = snapshot.diagnosis
        self._final = d if isinstance(d, Diagnosis) else diagnose(snapshot)


class RecordingFailed(OSError):
    """The session file cannot be written any more; the message names the cause (``SQLITE_FULL`` ...)."""


class Evidence:
    """ValueError from the constructor when the session file cannot be created (message for the user).

    Alert rules are evaluated at most once per interval (by ``clock``, as ``observe`` sees samples arrive), in a
    thread of their own (``pingmos-alerts``), never in the thread that calls ``observe`` (the trace's): an MOS rule
    scores with the user's formula, which may take up to its deadline, and the probes must keep their pace. When
    the evaluations fall behind (a slow formula), only the latest one asked for waits (``MAX_PENDING``). Windows
    hold the settled rounds only, as the report's table does, so an open probe never counts (see ``AlertEngine``)."""

    MAX_PENDING = 1

    def __init__(
        self,
        target: str,
        settings: TraceSettings,
        record_path: str | None,
        rules: list[AlertRule] | None,
        scorer: Scorer | None = None,
        on_event: Callable[[AlertEvent], None] | None = None,
        clock: Callable[[], float] = time.time,
        window: int | None = None,
        on_note: Callable[[str], None] | None = None,
        mono_clock: Callable[[], float] | None = None,
    ):
        """``clock``: wall-clock s (the samples' send times: the rules' windows end there); ``mono_clock``: the
        monotonic clock the rules' ``for_s`` and ``clear_for_s`` run on, so a wall clock stepped back or forward (NTP)
        neither delays nor hastens an alert (``AlertEngine.evaluate``); None: ``time.monotonic`` beside the default
        ``clock``, the injected ``clock`` itself beside another one (a test's virtual time, which never steps).
        ``window``: the report's window (samples per hop, None = all): the diagnosis each alert event carries
        is the one the report's footer gives for the samples so far. ``on_note`` gets one line for each rule
        command that could not run, timed out or failed (rate-limited when it repeats; from the command's
        thread); the recording keeps the same line in its event log."""
        self.target = target
        self.interval_s = settings.interval_s
        self.events: list[AlertEvent] = []
        self.error: str | None = None
        self.recorder = None
        self.commands = CommandRunner(on_failure=self._command_failed)
        self._on_event = on_event
        self._on_note = on_note
        self._clock = clock
        if mono_clock is None:
            mono_clock = time.monotonic if clock is time.time else clock
        self._mono_clock = mono_clock
        self._last_eval: float | None = None  # monotonic s
        self.alerts = None
        self.diagnosis: RunningDiagnosis | None = None
        self._pending: collections.deque[tuple[float, float]] = collections.deque(maxlen=self.MAX_PENDING)
        self._busy = False
        self._stopping = False
        self._cond = threading.Condition()
        self._evaluator: threading.Thread | None = None
        if rules:
            if scorer is None:
                raise ValueError("alert rules need a scorer")
            self.diagnosis = RunningDiagnosis(
                target,
                settings.address,
                settings.protocol,
                settings.interval_s,
                scorer,
                getattr(scorer, "name", ""),
                window,
                getattr(settings, "flows", 1),
                settle_s=settings.effective_timeout_s,
            )
            self.alerts = AlertEngine(
                rules, target, scorer, settle_s=settings.effective_timeout_s, diagnosis=self.diagnosis
            )
        if record_path:
            try:
                self._info = info_for(target, settings)
                self.recorder = SessionRecorder(record_path, self._info)
            except SessionError as exc:
                raise ValueError(str(exc)) from exc  # the cause tells a full disk (exit 1) from a bad name
        if self.alerts is not None:
            self._evaluator = threading.Thread(target=self._evaluate_loop, name="pingmos-alerts", daemon=True)
            self._evaluator.start()

    def observe(self, sample: Sample) -> None:
        """Record ``sample`` and feed it to the alert rules. Raises RecordingFailed once the session file cannot
        be written (disk full, permissions): a run that was asked to record stops instead of going on unrecorded."""
        if self.recorder is not None:
            if self.recorder.error is not None:
                raise RecordingFailed(self.recorder.error)
            self.recorder.record(sample)
        if self.alerts is not None:
            self.alerts.feed(sample)
            now, mono = self._clock(), self._mono_clock()
            if self._last_eval is None or mono - self._last_eval >= self.interval_s:
                self._last_eval = mono
                with self._cond:
                    self._pending.append((now, mono))
                    self._cond.notify_all()

    def _evaluate_loop(self) -> None:
        assert self.alerts is not None
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._stopping)
                if not self._pending:
                    return
                now, mono = self._pending.popleft()
                self._busy = True
            try:
                self._handle(self.alerts.evaluate(now, mono))
            except Exception as exc:  # a rule that cannot be judged must not end the judging of the others
                self.error = self.error or f"evaluating the alert rules failed: {type(exc).__name__}: {exc}"
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def wait_alerts(self, timeout_s: float | None = None) -> bool:
        """Wait until the evaluations asked for so far are done (tests, shutdown); True when they are."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout_s)

    def record_witness(self, witnesses: dict[int, EchoWitness]) -> None:
        """Keep the echo witness's answers in the session (nothing without a recording or a witness)."""
        if self.recorder is not None and witnesses:
            self.recorder.record_event(witness_event(witnesses))

    def _command_failed(self, line: str) -> None:
        if self.recorder is not None:
            self.recorder.record_event(SessionEvent(self._clock(), COMMAND_FAILED, {"message": line}))
        if self._on_note is not None:
            self._on_note(line)

    def _handle(self, events: list[AlertEvent]) -> None:
        for e in events:
            self.events.append(e)
            if self.recorder is not None:
                self.recorder.record_event(e.to_session_event())
            if self._on_event is not None:
                self._on_event(e)
        if self.alerts is not None:
            self.commands.dispatch(self.alerts.rules, events)

    def abandon(self) -> None:
        """The run is abandoned (a second Ctrl+C): the session written and closed now, with every sample observed,
        without the last look at the rules and without waiting for their evaluation or commands. Idempotent."""
        with self._cond:
            self._stopping = True
            self._pending.clear()
            self._cond.notify_all()
        if self.recorder is not None:
            self.recorder.close()
            self.error = self.recorder.error

    def close(self, snapshot: TraceSnapshot | None, command_wait_s: float = 10.0) -> list[AlertEvent]:
        """Every alert event of the run; the session written and closed; running commands given a moment."""
        if self.alerts is not None:
            with self._cond:
                self._stopping = True  # the evaluations asked for are still done, in order
                self._cond.notify_all()
            if self._evaluator is not None:
                self._evaluator.join()  # each ends within the formula's deadline
            # Every probe has settled now: a last look with the settle time spent, with the report's own diagnosis.
            if snapshot is not None and self.diagnosis is not None:
                self.diagnosis.settle(snapshot)
            self._handle(self.alerts.evaluate_settled(self._clock(), self._mono_clock()))
            self.commands.wait(command_wait_s)
            self.commands.close()  # the repeats of a failure held back: said before the recording closes
        if self.recorder is not None:
            if snapshot is not None:
                # The run's counters as its report shows them (engine.ProbeCounts), so that the recording's report
                # says the same: its samples alone miss the probes beyond the destination and every reply that
                # answered no probe.
                counts = ProbeCounts(snapshot.probes_sent, snapshot.unmatched_replies or 0,
                                     snapshot.suspicious_replies or 0)  # fmt: skip
                extra = {**self._info.extra, PROBE_COUNTS: counts.to_json()}
                self.recorder.set_info(dataclasses.replace(self._info, extra=extra))
            for hop in snapshot.hops if snapshot is not None else ():
                if hop.address and hop.name:
                    self.recorder.record_name(hop.address, hop.name)
            self.recorder.close()
            self.error = self.recorder.error
        return self.events
