"""Alert rules on the live trace: the rule engine (``pingmos.alerts``) fed by the trace, evaluated once a second
in a worker thread (a MOS rule calls the scoring model, which may be a user's script in a worker process: never
in the GUI thread), and the fire/clear events handed to the GUI thread as a signal.

Rules come from ``<config dir>/alerts.json`` (``$PINGMOS_CONFIG_DIR`` when set); without that file the seeds'
defaults apply (MOS below 3.5 for 5 minutes; loss above 1 % for 5 minutes).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from pingmos.alerts import (
    CLEAR,
    DEFAULT_RULES,
    AlertEngine,
    AlertEvent,
    AlertRule,
    CommandRunner,
    RulesError,
    check_reach,
    load_rules,
    mos_ceiling,
    save_rules,
    with_diagnoses,
)
from pingmos.diagnosis import Diagnosis, diagnose
from pingmos.engine import Sample
from pingmos.gui import models
from pingmos.gui.alert_mail import MailSettings, send_events
from pingmos.gui.background import Background
from pingmos.live_trace import LiveTrace
from pingmos.paths import alert_rules_file
from pingmos.run import default_timeout_s
from pingmos.session import SessionEvent

EVALUATE_MS = 1000


def rules_path() -> Path:
    return alert_rules_file()


def read_rules(path: Path) -> tuple[list[AlertRule], str | None]:
    """The rules in ``path`` (worker thread), or the defaults when there is no such file. A broken file keeps
    the defaults and says why (RulesError's message names the file and the rule)."""
    if not path.exists():
        return list(DEFAULT_RULES), None
    try:
        return load_rules(path), None
    except Exception as exc:  # RulesError, or an OSError the loader did not wrap
        return list(DEFAULT_RULES), f"{exc}; using the default rules"


def reach_problem(rules: list[AlertRule], model_name: str, settings: tuple, where: str) -> str | None:
    """Why one of ``rules`` could never clear with the model (``pingmos.alerts.check_reach``, the dialog's and
    every rules file's check), as one line with what to do; None when every rule can. Worker thread."""
    if not any(r.metric == "mos" for r in rules):
        return None
    try:
        model = models.load_model(model_name, dict(settings))
    except (ValueError, OSError):
        return None  # the window shows the model's own error
    try:
        check_reach(rules, mos_ceiling(model), model_name, where, clear_key="'clears at'")
    except RulesError as exc:
        return f"{exc}; change it in Alerts › Alert rules…"
    except ValueError:
        return None  # the model gives no MOS for a clean path: its error shows where it scores
    finally:
        model.close()
    return None


class AlertMonitor(QObject):
    """``trace_created(trace)`` starts watching a live trace (None: nothing to watch, e.g. a replayed session).
    ``fired`` carries each evaluation's list of AlertEvents (never empty); ``command_done`` a CommandResult;
    ``ended`` a list of "alert-clear" SessionEvents for episodes that end because the rules can no longer judge
    them (the trace stopped, the rule was changed or removed), each saying why in its message."""

    fired = Signal(list)
    ended = Signal(list)
    command_done = Signal(object)
    rules_changed = Signal()
    note = Signal(str)  # a line for the event log: an alert e-mail sent, or why it could not be

    def __init__(
        self,
        model: Callable[[], tuple[str, tuple]],
        clock: Callable[[], float] = time.time,
        evaluate_ms: int = EVALUATE_MS,
        parent: QObject | None = None,
        mono_clock: Callable[[], float] = time.monotonic,
    ):
        """``clock``: wall-clock s (the samples' send times: the rules' windows end there, events carry it);
        ``mono_clock``: the monotonic clock the rules' ``for_s`` and ``clear_for_s`` run on, so a wall clock stepped
        back or forward (NTP) neither delays nor hastens an alert (``AlertEngine.evaluate``)."""
        super().__init__(parent)
        self._model_of = model  # the window's current model name and settings (read in the GUI thread)
        self.clock = clock
        self.mono_clock = mono_clock
        self.rules: list[AlertRule] = list(DEFAULT_RULES)
        self.rules_error: str | None = None
        self.rules_loaded = False
        self.engine: AlertEngine | None = None
        self.trace: LiveTrace | None = None
        self.worker = Background("alerts", self)
        self.runner = CommandRunner(on_result=self._command_result)
        self.mail = MailSettings()  # where alert e-mail goes (the window sets it from its settings)
        self.mailer = Background("alert-mail", self)  # a slow mail server never delays the rules
        self._busy = False
        # The window's one diagnosis (its verdict line), read in the GUI thread: each event carries it (message,
        # event log, session, command environment, e-mail), as the report's and the monitor's do.
        self.diagnosis_of: Callable[[], Diagnosis | None] = lambda: None
        self._model_key = None
        self._model = None  # touched by the worker thread only
        self._reach_key = None  # the model, settings and rules last checked by check_reach
        self._closed = False
        self.timer = QTimer(self)
        self.timer.setInterval(evaluate_ms)
        self.timer.timeout.connect(lambda: self.check())
        self.timer.start()
        self.worker.run(read_rules, rules_path(), on_done=self._rules_read)

    def _rules_read(self, result) -> None:
        if isinstance(result, BaseException):
            result = (list(DEFAULT_RULES), f"cannot read the alert rules: {result}")
        rules, error = result
        self.rules_error = error
        self.rules_loaded = True
        self.set_rules(rules, save=False)
        self.check_reach()

    def check_reach(self) -> None:
        """Check the rules against the window's model (worker thread): a MOS rule that could never clear with it
        (after the rules file was read, or another model or setting was chosen) is said once in the event log."""
        if self._closed:  # (the rules were read after the window closed)
            return
        name, settings = self._model_of()
        rules = list(self.rules)
        key = (name, settings, tuple(rules))
        if key == self._reach_key:
            return
        self._reach_key = key
        self.worker.run(reach_problem, rules, name, settings, str(rules_path()), on_done=self._reach_checked)

    def _reach_checked(self, problem) -> None:
        if isinstance(problem, str):
            self.note.emit(problem)

    def set_rules(self, rules: list[AlertRule], save: bool = True) -> None:
        """Use ``rules`` from now on. The watched trace gets a fresh engine (it judges once its windows fill) unless
        nothing changed. An episode of a rule kept exactly as it was carries on (it clears when its values are good
        again, as before); an episode of a rule changed or removed ends now, with a note saying so."""
        if list(rules) == self.rules:  # (OK in the dialog without a change): every episode goes on
            if save:
                self._save()
            self.rules_changed.emit()
            return
        old = self.engine
        self.rules = list(rules)
        if save:
            self._save()
        if self.trace is not None:
            new = self._engine_for(self.trace)
            if old is not None:
                # The samples stay: every rule judges the same window as before the edit (not one restarted).
                kept = {r.name for r in old.rules} & {r.name for r in new.rules if r in old.rules}
                new.continue_from(old, kept)
                self._end_episodes(old, [n for n in old.firing() if n not in kept], "its rule was changed or removed")
            self.engine = new
        self.rules_changed.emit()

    def _save(self) -> None:
        path = rules_path()
        rules = list(self.rules)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_rules(path, rules)

        self.worker.run(write, on_error=lambda exc: self._note(f"cannot save the alert rules to {path}: {exc}"))

    def trace_stopped(self, trace: LiveTrace | None) -> None:
        """The watched trace stopped probing (Stop, an error, a count reached): nothing measures it any more, so a
        firing rule could never clear. Its episode ends now with a note; a resumed trace is judged anew."""
        engine = self.engine
        if engine is None or trace is not self.trace:
            return
        self._end_episodes(engine, engine.firing(), "the trace stopped, so nothing measures it any more")
        self.engine = self._engine_for(trace)
        self.rules_changed.emit()

    def _end_episodes(self, engine: AlertEngine, names: list[str], reason: str) -> None:
        if not names:
            return
        now = self.clock()
        events = []
        titles = {r.name: r.title for r in engine.rules}
        for name in names:
            text = f"{titles.get(name, name)}: alert ended for {engine.target} without clearing: {reason}"
            data = {"rule": name, "kind": "clear", "target": engine.target, "value": None, "reason": reason}
            events.append(SessionEvent(now, "alert-clear", {**data, "message": text}))
        self.ended.emit(events)

    def _note(self, text: str) -> None:
        self.rules_error = text
        self.rules_changed.emit()

    def _engine_for(self, trace: LiveTrace) -> AlertEngine:
        # A probe may settle up to its timeout after it was sent: windows hold the rounds settled by now only, as
        # the trace's table and verdict do (the trace's timeout: the default one, as the window's traces use).
        settle_s = default_timeout_s(trace.interval_s)
        return AlertEngine(self.rules, trace.target, self._score, settle_s=settle_s)

    def trace_created(self, trace: LiveTrace | None) -> None:
        self.trace = trace
        self.engine = None
        if trace is not None:
            self.engine = self._engine_for(trace)
            trace.add_observer(lambda sample, t=trace: self._feed(t, sample))

    def _feed(self, trace: LiveTrace, sample: Sample) -> None:  # engine thread
        engine = self.engine
        if engine is not None and trace is self.trace:
            engine.feed(sample)

    def firing(self) -> list[str]:
        return self.engine.firing() if self.engine is not None else []

    # -- evaluation (worker thread) --------------------------------------------------------------------------

    def _score(self, window):
        model = self._model
        if model is None:
            return None
        return model.score_many([window])[0]

    def _evaluate(
        self, engine: AlertEngine, trace: LiveTrace, now: float, mono: float | None, model_name: str, settings: tuple
    ) -> list[AlertEvent]:
        key = (model_name, settings)  # kept across saves of its formula: a script re-reads its file (refresher)
        if key != self._model_key:
            if self._model is not None:
                self._model.close()
            self._model_key = key
            try:
                self._model = models.load_model(model_name, dict(settings))
            except (ValueError, OSError):
                self._model = None  # MOS rules cannot be judged; the window shows the model's error already
        events = engine.evaluate(now, mono)
        # A clear carries the diagnosis of its rule's own window, computed here (it scores); a fire the window's
        # one diagnosis, added in the GUI thread (``_evaluated``). The shared policy: ``alerts.with_diagnoses``.
        return with_diagnoses(events, lambda: None, lambda w: self._window_diagnosis(trace, engine, now, w))

    def _window_diagnosis(self, trace: LiveTrace, engine: AlertEngine, now: float, window_s: float):
        """The diagnosis of the samples a rule judged (the settled rounds sent within ``window_s`` before the
        windows' end, ``AlertEngine.window_end``: the trace's history cuts its time ranges as the rule's does);
        None when no model can score them (the event then carries the window's)."""
        model = self._model
        if model is None:
            return None
        end = engine.window_end if engine.window_end is not None else now
        try:
            return diagnose(trace.snapshot(None, model.score_many, model.name, time_range=(end - window_s, end)))
        except Exception:  # a model failing now: the event still goes out, with the window's diagnosis
            return None

    def check(self, now: float | None = None, mono: float | None = None) -> bool:
        """Evaluate the rules once (in the worker); False when there is nothing to watch or one is under way.
        ``now``/``mono``: wall-clock and monotonic s (None: ``clock`` and ``mono_clock``; a ``now`` given alone is
        a test's virtual time, on which ``for_s`` then runs too)."""
        engine, trace = self.engine, self.trace
        if engine is None or trace is None or self._busy:
            return False
        if now is None:
            now, mono = self.clock(), self.mono_clock()
        self._busy = True
        name, settings = self._model_of()
        self.worker.run(
            self._evaluate,
            engine,
            trace,
            now,
            mono,
            name,
            settings,
            on_done=lambda events, e=engine: self._evaluated(e, events),
        )
        return True

    @property
    def busy(self) -> bool:
        return self._busy

    def _evaluated(self, engine: AlertEngine, events) -> None:
        self._busy = False
        if isinstance(events, BaseException):
            self._note(f"evaluating the alert rules failed: {type(events).__name__}: {events}")
            return
        if engine is not self.engine or not events:
            return  # a trace or rule set since replaced
        # A fire carries the window's one diagnosis (its verdict line); so does a clear whose own window could not be
        # diagnosed (no model), as the agent's does.
        diagnosis = self.diagnosis_of()
        events = [e if e.kind == CLEAR and e.diagnosis_status else e.with_diagnosis(diagnosis) for e in events]
        self.runner.dispatch(engine.rules, events)
        self.fired.emit(list(events))
        self.send_mail(list(events))

    def send_mail(self, events: list[AlertEvent]) -> None:
        """E-mail ``events`` when the user set it up (worker thread); the event log says how it went."""
        mail = self.mail
        if not mail.enabled or not events:
            return
        problem = mail.problem()
        if problem:
            self.note.emit(f"alert e-mail not sent: {problem}")
            return
        self.mailer.run(
            send_events,
            mail,
            events,
            on_done=self.note.emit,
            on_error=lambda exc: self.note.emit(f"alert e-mail to {', '.join(mail.recipients)} failed: {exc}"),
        )

    def _command_result(self, result) -> None:  # the runner's thread: the signal queues it to the GUI thread
        with contextlib.suppress(RuntimeError):  # the window is gone
            self.command_done.emit(result)

    def close(self) -> None:
        self._closed = True
        self.timer.stop()
        self.trace = None
        self.engine = None
        self.worker.run(self._close_model)
        self.worker.close(wait=False)
        self.mailer.close(wait=False)

    def _close_model(self) -> None:
        if self._model is not None:
            self._model.close()
            self._model = None
