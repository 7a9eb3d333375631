"""From a live number to evidence, in the main window: the session recording and File menu
(``session_actions``), the verdict line and diagnosis marks (``verdict_bar``), the alert rules (``alert_monitor``,
``alerts_dialog``), the event log dock and the alert episodes on the timeline.

The main window calls four hooks: ``trace_created`` (a new live trace), ``update_shown`` (after each drawn
update), ``is_replay`` (Start never resumes a trace read from a file) and ``close``.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QLabel, QStyle, QSystemTrayIcon

from pingmos import alerts
from pingmos.alerts import AlertEvent
from pingmos.diagnosis import Diagnosis
from pingmos.display_text import display_text, safe_snapshot
from pingmos.engine import choose_mode, family_of
from pingmos.gui.alert_monitor import AlertMonitor
from pingmos.gui.alerts_dialog import AlertsDialog
from pingmos.gui.background import Background
from pingmos.gui.episode_shading import EpisodeShading
from pingmos.gui.event_log import EventLogDock
from pingmos.gui.session_actions import OpenedSession, SessionActions
from pingmos.gui.shown_context import judged_words, model_text, score_errors_text, score_failure_text
from pingmos.gui.verdict_bar import DiagnosisMarks, VerdictBar, diagnosis_thresholds
from pingmos.hop_report import TraceSnapshot
from pingmos.live_trace import LiveTrace
from pingmos.session.evidence import session_info, witness_event, witnesses_from_events
from pingmos.witness import diagnose_with_witness, planned_count


def watched_window(extra: object, setting: int | None) -> int | None:
    """The window an opened file was watched with: the one it records (``extra["window"]``: a count, or None /
    "all" for all samples), else ``setting`` (the Samples setting: what a live view of it would have used)."""
    if not isinstance(extra, dict) or "window" not in extra:
        return setting
    own = extra["window"]
    if isinstance(own, int) and not isinstance(own, bool) and own > 0:
        return own
    return None if own in (None, "all") else setting


class WindowEvidence(QObject):
    def __init__(self, window, alert_clock=time.time):
        super().__init__(window)
        self.window = window
        self._closed = False
        self.summary: TraceSnapshot | None = None  # an opened mtr --json report's scored totals
        self.event_log = EventLogDock(window)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.event_log)
        window.resizeDocks([self.event_log], [130], Qt.Orientation.Vertical)
        self.verdict_bar = VerdictBar()
        # Across the window under the model's row: the main answer, whole, as wide as it can be (in the table's
        # pane at 800 x 500 it had 480 px and was cut to two lines).
        central = window.centralWidget().layout()
        central.insertWidget(central.indexOf(window.main_splitter), self.verdict_bar)
        self.marks = DiagnosisMarks(window.trace_graph)
        self.episodes = EpisodeShading(window.timeline)
        self.sessions = SessionActions(window, self)
        self.alerts = AlertMonitor(lambda: (window.model_name, window.model_settings()), clock=alert_clock, parent=self)
        self.alerts.diagnosis_of = lambda: self.verdict_bar.diagnosis
        self.alerts.fired.connect(self._alerts_fired)
        self.alerts.ended.connect(self._episodes_ended)
        self.alerts.command_done.connect(self._command_done)
        self._command_failures = alerts.RepeatLimiter()  # a command failing at every firing: a note per 5 min
        self.alerts.rules_changed.connect(self._rules_changed)
        self.witness_worker = Background("witness", self)
        # address -> a function opening the network the echo probes go out on (tests put a fake one here)
        self.witness_network = lambda address: choose_mode("auto", family_of(address), "icmp").open
        self.verdict_bar.witness_runner = self._run_witness
        self.firing_label = QLabel("")
        window.statusBar().addPermanentWidget(self.firing_label)
        self.event_log.export_button.clicked.connect(lambda: self.sessions.export_dialog("events", ""))
        self.event_log.rules_button.clicked.connect(self.edit_rules)
        self.tray: QSystemTrayIcon | None = None  # made at the first alert: no tray icon for a trace without one
        self._build_menu()
        window.model_combo.currentIndexChanged.connect(lambda _: self._model_changed())
        self._rules_changed()

    def _build_menu(self) -> None:
        menu = self.window.menuBar().addMenu("&Alerts")
        self.rules_action = QAction("Alert &rules…", self.window)
        self.rules_action.setShortcut("Ctrl+Shift+A")
        self.rules_action.triggered.connect(self.edit_rules)
        self.window.addAction(self.rules_action)  # (its shortcut works wherever the focus is)
        menu.addAction(self.rules_action)
        self.notify_action = QAction("Desktop &notifications", self.window)
        self.notify_action.setCheckable(True)
        self.notify_action.setChecked(self.window.settings.desktop_notifications())
        self.notify_action.setStatusTip("a pop-up from the system tray when a rule fires or clears")
        self.notify_action.toggled.connect(self.window.settings.set_desktop_notifications)
        menu.addAction(self.notify_action)
        log = self.event_log.toggleViewAction()
        log.setText("&Event log")
        log.setShortcut("Ctrl+Shift+E")
        self.window.addAction(log)
        self.event_log.addAction(log)  # (from the floated log too: it is a window of its own)
        menu.addAction(log)
        # Float the log or dock it again by keyboard (the title bar's buttons and a double click need a mouse).
        floating = self.event_log.float_action
        self.window.addAction(floating)
        self.window.view_menu.addSeparator()
        self.window.view_menu.addAction(floating)

    def _tray(self) -> QSystemTrayIcon | None:
        if self.tray is not None or not QSystemTrayIcon.isSystemTrayAvailable():
            return self.tray  # offscreen, or a desktop without a tray: the status bar and the log still say it
        icon = self.window.windowIcon()
        if icon.isNull():
            icon = self.window.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        tray = QSystemTrayIcon(QIcon(icon), self)
        tray.setToolTip("pingmos")
        tray.show()
        self.tray = tray
        return tray

    # -- hooks the main window calls ---------------------------------------------------------------------

    def trace_created(self, trace: LiveTrace) -> None:
        """A new live trace (not a resumed one): record it, watch it with the alert rules."""
        w = self.window
        self.summary = None
        info = session_info(  # the report's and the monitor's record too
            trace.target,
            address="",  # known once the engine thread resolved the target (update_shown fills it in)
            protocol=trace.protocol,
            interval_s=trace.interval_s,
            max_ttl=trace.max_ttl,
            port=trace.port,
            flows=trace.flows,
            model=w.model_name,
            window=w.window_size,
        )
        self.sessions.trace_created(trace, info)
        self.alerts.trace_created(trace)
        self.event_log.clear()
        self.episodes.show([], 0.0)
        self.verdict_bar.clear()
        self.verdict_bar.witness_runner = self._run_witness
        self.marks.show(None)
        self._enable_window_and_focus(True)
        self._rules_changed()

    def is_replay(self, trace: LiveTrace | None) -> bool:
        return trace is not None and id(trace) in self.sessions.replays

    def diagnosis_for(self, snapshot: TraceSnapshot) -> Diagnosis:
        """The one diagnosis of ``snapshot`` that the table mark, the graph and the verdict line all show."""
        return self.verdict_bar.diagnose(snapshot, self.window.thresholds)

    def update_shown(self, update) -> None:
        snapshot = update.snapshot
        if update.status.error is not None and update.status.samples == 0 and not self.is_replay(update.request.trace):
            self.verdict_bar.show_nothing_measured()
            d = None
        else:
            over = judged_words(self.window, snapshot)
            d = self.verdict_bar.show_snapshot(snapshot, self.window.thresholds, over=over)
        self.marks.show(d)
        self.sessions.update_shown(snapshot, update.status.address)
        if self.is_replay(update.request.trace):
            o = self.sessions.opened
            span = update.request.trace.time_span()
            if o is not None and span:
                t0, t1 = (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) for t in span)
                self.window.status_label.setText(
                    f"session {Path(o.path).name}  |  {t0} to {t1}  |  rounds {update.status.rounds}  |  "
                    f"{update.status.mode}"
                )
            now = span[1] if span else time.time()
        else:
            now = time.time()
            rec = self.sessions.recording
            if rec is not None and rec.problem:
                self.firing_label.setText("not recording (see File)")
                self.firing_label.setToolTip(rec.problem)
        self.episodes.show(alerts.episodes(self.event_log.session_events()), now)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.alerts.close()
        self.sessions.close()
        self.witness_worker.close()
        if self.tray is not None:
            self.tray.hide()

    # -- opened sessions -----------------------------------------------------------------------------------

    def show_opened(self, opened: OpenedSession) -> None:
        """Show a session read from a file instead of the trace on screen (which stops; its recording closes)."""
        w = self.window
        if w.trace is not None:
            w.trace.close()
        w.trace = opened.trace
        if opened.trace is not None:
            # A file is a finished record: judged on all its samples, as `pingmos report --session` judges it (the
            # last 100 of a long file told "loss 0.0 %, undecided" where the report said "problem, loss 11 %").
            # Not remembered: the next live trace has the rolling window chosen before.
            # Its timeline scores each point over the window it was watched with, as live: the file's own (a
            # report's), else the Samples setting (a 10-sample curve dipped to 1.9 where the table said 3.14).
            w.opened_window = (opened.trace, watched_window(opened.info.extra, w.settings.window()))
            w.set_window(None, remember=False)
        w.last_update = None
        w.timeline.clear_focus()
        w.set_focus(None)
        w.table_model.set_hops((), None)
        w.table.clearSelection()
        w.start_action.setText("Start")
        target = display_text(opened.info.target)  # the file's own text: made safe to show
        probe = "" if opened.probe is None else f" (RIPE Atlas probe {opened.probe})"
        w.setWindowTitle(f"pingmos - {target} - {display_text(Path(opened.path).name)}{probe}")
        w.target_combo.setCurrentText(target)  # Start then traces the same target live, anew
        # The record's interval, protocol, port and other probing settings, never the next live trace's.
        w.toolbar.show_record_settings(opened.info)
        self.alerts.trace_created(None)  # rules judge live traffic; the file's own events are in the log
        self.event_log.set_events(opened.events)
        self.episodes.show([], 0.0)
        self.verdict_bar.clear()
        self.verdict_bar.witness_runner = None  # the routers of then cannot be asked now
        # The echo witness recorded with the session is weighed as it was (and goes stale as it did).
        self.verdict_bar.witnesses = witnesses_from_events(opened.events)
        self.marks.show(None)
        self._rules_changed()
        self.summary = opened.summary
        self._enable_window_and_focus(opened.summary is None)
        if opened.summary is not None:
            self.show_summary(opened.summary)
            rounds = "unknown" if opened.summary.rounds is None else opened.summary.rounds
            kind = "Trippy report" if opened.info.source.startswith("trippy") else "mtr report"
            w.status_label.setText(f"{kind} {display_text(Path(opened.path).name)}  |  {rounds} probes per hop")
        else:
            w.mark_dirty()
        w.update_range_label()  # names the file and its time span instead of "Live"

    def show_summary(self, snapshot: TraceSnapshot) -> None:
        """An mtr --json report's hops, scored with the current model (no window, no focus, no timeline)."""
        w = self.window
        snapshot = safe_snapshot(snapshot)  # another tool's report: its hosts are shown in every view
        self.summary = snapshot
        w.table_model.pending = None
        d = self.verdict_bar.show_snapshot(snapshot, w.thresholds)
        w.marked_ttl = d.deteriorates_at_ttl  # the one diagnosis, as for a live trace
        w.marked_span = d.open_range
        w.marked_rate_limited = d.rate_limited_ttls
        w.table_model.set_hops(snapshot.hops, d.deteriorates_at_ttl, d.open_range, d.rate_limited_ttls)
        # A failing model says so where its MOS is drawn and above the table, as for a live trace (the table's
        # cells alone said ERR, with no word of why).
        error = score_failure_text(snapshot.hops, snapshot.model or w.model_name)
        w.trace_graph.set_hops(
            snapshot.hops,
            d.deteriorates_at_ttl,
            d.short,
            model=model_text(w, snapshot),
            error=error,
            span=d.open_range,
            rate_limited=d.rate_limited_ttls,
        )
        w._show_error(score_errors_text(snapshot.hops))
        w.timeline.set_data([])
        w.timeline.set_route_changes(())
        self.marks.show(d)

    def shown_snapshot(self) -> TraceSnapshot | None:
        w = self.window
        if w.trace is None:
            return self.summary
        return w.last_update.snapshot if w.last_update is not None else None

    def _enable_window_and_focus(self, on: bool) -> None:
        tip = "" if on else "an mtr --json report holds only mtr's totals per hop"
        for widget in (self.window.window_combo, self.window.timeline.focus_button):
            widget.setEnabled(on)
            if tip:
                widget.setToolTip(tip)

    def _model_changed(self) -> None:
        if self.window.trace is None and self.summary is not None:
            self.sessions.rescore_summary(self.window.model_name, dict(self.window.model_settings()))

    # -- alerts -----------------------------------------------------------------------------------------------

    def _alerts_fired(self, events: list[AlertEvent]) -> None:
        # Each event carries the window's one diagnosis in its message (AlertMonitor.diagnosis_of).
        for event in events:
            session_event = event.to_session_event()
            self.sessions.record_event(session_event)
            self.event_log.add(session_event)
            self.window.statusBar().showMessage(event.message, 30000)
            tray = self._tray() if self.notify_action.isChecked() else None  # (the user may turn it off)
            if tray is not None:
                icon = (
                    QSystemTrayIcon.MessageIcon.Warning
                    if event.kind == alerts.FIRE
                    else QSystemTrayIcon.MessageIcon.Information
                )
                tray.showMessage(f"pingmos: {event.rule}", event.message, icon, 10000)
        self.episodes.show(alerts.episodes(self.event_log.session_events()), time.time())
        self._rules_changed()

    def _episodes_ended(self, events) -> None:
        """Episodes the rules can no longer judge (the trace stopped, a rule changed): ended in the log, the
        session and on the timeline, with the reason."""
        for event in events:
            self.sessions.record_event(event)
            self.event_log.add(event)
            self.window.statusBar().showMessage(event.data["message"], 30000)
        self.episodes.show(alerts.episodes(self.event_log.session_events()), time.time())
        self._rules_changed()

    def trace_stopped(self, trace) -> None:
        """The main window's trace stopped probing (Stop pressed, or the engine ended by itself)."""
        self.alerts.trace_stopped(trace)

    def _command_done(self, result) -> None:
        line = self._command_failures.line(result.error) if result.error else None
        if line is not None:
            self.event_log.add_note(line + (f": {result.output.strip()[-300:]}" if result.output else ""))

    def _rules_changed(self) -> None:
        firing = self.alerts.firing()
        if firing:
            self.firing_label.setText(f"⚠ alert: {', '.join(firing)}")
            self.firing_label.setStyleSheet("QLabel { color: white; background: #c62828; padding: 1px 6px; }")
        else:
            watching = self.alerts.engine is not None
            n = len(self.alerts.engine.rules) if watching else 0
            self.firing_label.setText(f"alerts: {n} rule{'s' if n != 1 else ''} watching" if watching else "")
            self.firing_label.setStyleSheet("")
        self.firing_label.setToolTip("\n".join(r.describe() for r in self.alerts.rules))
        if self.alerts.rules_error:
            self.event_log.add_note(self.alerts.rules_error)
            self.alerts.rules_error = None

    def edit_rules(self) -> None:
        dialog = AlertsDialog(self.alerts.rules, parent=self.window)
        if dialog.exec() and dialog.result_rules is not None:
            self.alerts.set_rules(dialog.result_rules)

    # -- the echo witness ------------------------------------------------------------------------------------

    def _run_witness(self, snapshot: TraceSnapshot, done) -> None:
        th = diagnosis_thresholds(self.window.thresholds)
        address = snapshot.address

        count, why = planned_count(snapshot, th)
        self.window.statusBar().showMessage(f"asking the routers: {why}", 30000)

        def ask():
            return diagnose_with_witness(snapshot, self.witness_network(address), count=count, th=th)

        def answered(result) -> None:
            diagnosis, witnesses = result
            if witnesses:  # kept in the recording, so the reopened session weighs the same evidence
                session_event = witness_event(witnesses)
                self.sessions.record_event(session_event)
                self.event_log.add(session_event)
            done(diagnosis, witnesses)

        self.witness_worker.run(
            ask,
            on_done=answered,
            on_error=lambda exc: done(None, f"asking the routers failed: {exc}"),
        )
