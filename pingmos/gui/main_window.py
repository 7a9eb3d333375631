"""The main window: toolbar, hop table, trace graph, timeline and status bar, refreshed a few times a second.

The engine runs in its own thread (``LiveTrace``); statistics, scoring and series are computed in the
refresher's worker thread; this thread only draws finished updates. A QTimer polls for them, so a 30-hop trace at
10 rounds a second costs at most four redraws a second, whatever the packet rate.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from pingmos.engine import ReverseDNS
from pingmos.gui import models, shown_context
from pingmos.gui.background import Background
from pingmos.gui.elided import ElidedLabel, ElidingStatusBar
from pingmos.gui.event_log import LOW_WINDOW_PX
from pingmos.gui.evidence import WindowEvidence
from pingmos.gui.hop_menu import HopMenu
from pingmos.gui.hop_table import HopTableModel, HopTableView
from pingmos.gui.quality import Thresholds
from pingmos.gui.refresher import Refresher, Request, Update, model_key
from pingmos.gui.screen_fit import resize_within_screen
from pingmos.gui.settings_store import SettingsStore
from pingmos.gui.thresholds_dialog import ThresholdsDialog
from pingmos.gui.timeline import TimelineWidget
from pingmos.gui.trace_graph import TraceGraph
from pingmos.gui.trace_toolbar import WINDOW_CHOICES, ScoringRow, TraceToolbar, parse_window, window_text
from pingmos.gui.verdict_bar import diagnosis_thresholds
from pingmos.gui.window_actions import WindowActions
from pingmos.live_trace import LiveTrace, TraceStatus

__all__ = ["WINDOW_CHOICES", "MainWindow", "ThresholdsDialog", "parse_window", "status_text"]

REFRESH_MS = 250
# The Start button while a stopped trace waits for the replies to its probes in flight (``MainWindow.stop``).
STOPPING = "Stopping\u2026"
IDLE_REFRESH_S = 2.0  # a stopped trace is recomputed this often (reverse-DNS names still arrive)
# A running trace is recomputed when new samples came in, but at most once per round: one round's TTLs arrive spread
# over its interval, and redrawing for each of them cost a quarter of a core at 1 round/s (scripts/bench_gui.py,
# part 3). Never less often than every ROUND_TICKS timer ticks (at the default 250 ms: once a second), so a long
# interval still shows each reply within a second. The status line (elapsed time) follows every tick.
ROUND_TICKS = 4
TABLE_ROWS_LOW = 8  # hop rows a low window (LOW_WINDOW_PX) shows before the timeline gets more than its minimum
TIMELINE_SHARE_LOW = 0.4  # of the room below the toolbars, the most a low window's timeline takes from the table

# The parts an update is shown in, one per pass of the event loop (MainWindow.update_steps); the last makes it the
# update shown.
UPDATE_PARTS = ("graph frame", "graph", "timeline", "table rows", "table")

TraceFactory = Callable[[str, str, float], LiveTrace]


def default_trace_factory(target: str, protocol: str, interval_s: float, reverse_dns: bool = True) -> LiveTrace:
    """The real thing: the best probe mode allowed, and reverse DNS in the background (``reverse_dns`` False:
    addresses only, no lookup at all; ``pingmos --no-dns``)."""
    return LiveTrace(target, protocol=protocol, interval_s=interval_s, names=ReverseDNS() if reverse_dns else None)


def format_elapsed(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def status_text(status: TraceStatus, other_replies: int = 0) -> str:
    """The status line. ``other_replies``: replies that answered no probe of this trace (another program's ping
    or traceroute on the machine, or ours arriving after their timeout): ignored, and said so in words."""
    if not status.running:
        state = "stopped"
    elif status.winding_down:  # Stop pressed: the replies to the probes in flight are still counted
        state = "stopping: waiting for the replies to the probes in flight"
    else:
        state = "running"
    others = f"  |  other programs' replies ignored: {other_replies}" if other_replies else ""
    return (
        f"{state}  |  rounds {status.rounds}  |  probes sent {status.probes_sent}  |  "
        f"elapsed {format_elapsed(status.elapsed_s)}  |  {status.mode}{others}"
    )


class MainWindow(QMainWindow):
    # Milliseconds between the passes of one update (see _next_step); tests stretch it to find races.
    step_gap_ms = 1

    def __init__(
        self,
        settings: SettingsStore | None = None,
        trace_factory: TraceFactory = default_trace_factory,
        refresh_ms: int = REFRESH_MS,
        reverse_dns: bool = True,
    ):
        """``reverse_dns``: whether ``trace_factory``'s traces look hop names up; False says "no DNS" in the title
        and the status line (``pingmos --no-dns``)."""
        super().__init__()
        self.reverse_dns = reverse_dns
        self.dns_note = "" if reverse_dns else " (no DNS)"  # in the title, beside the target
        self.settings = settings or SettingsStore()
        self.trace_factory = trace_factory
        self.trace: LiveTrace | None = None
        self.window_size: int | None = self.settings.window()
        self._remember_window = True  # a change of the Samples box is the next live trace's default (set_window)
        # An opened file's trace and the window it was watched with (evidence.show_opened; see _timeline_window).
        self.opened_window: tuple[object, int | None] = (None, None)
        self.focus: tuple[float, float] | None = None
        self.thresholds = self.settings.thresholds()
        self.last_update: Update | None = None
        self.marked_ttl: int | None = None
        self.marked_span: tuple[int, int] | None = None  # a problem located to a range of hops (Diagnosis.open_range)
        self.marked_rate_limited: tuple[int, ...] = ()  # hops whose own loss is rate limiting (no band colour)
        self.formula_editor = None
        self.paused = False  # the display is frozen (the trace goes on); see pause_display
        self._dirty = True
        self._last_submit = 0.0
        self._last_samples = -1
        self._steps: list = []  # the parts of an update still to be shown (update_steps), one per event-loop pass
        self._closed = False
        self.refresher = Refresher()
        self.model_list_jobs = Background("models", self)  # reads the scoring folder off the GUI thread
        self.model_infos: dict = {}  # name -> ModelInfo, once the list has been read
        self.setWindowTitle("pingmos" + self.dns_note)

        self._build_toolbar()
        self._build_central()
        self._build_status_bar()
        self.actions = WindowActions(self)  # menus, shortcuts and the tab order
        self._load_models()
        self.model_combo.currentIndexChanged.connect(self._model_changed)
        self.evidence = WindowEvidence(self)  # sessions, export, verdict line, alerts and their event log
        self.evidence.alerts.mail = self.settings.mail()
        self.evidence.alerts.note.connect(self.evidence.event_log.add_note)
        # Long status texts (the firing rules' names) shrink with the window instead of setting its minimum width.
        # (Preferred, not Ignored: a status bar lays an Ignored widget out at no width, and its minimum then pushed
        # it past the window's right edge, "alerts: 2 rules watching" showing as "aler".)
        self.evidence.firing_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.evidence.firing_label.setMinimumWidth(160)
        self.hop_menu = HopMenu(self)  # the hop table's right-click menu
        self.actions.set_tab_order()

        geometry = self.settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            resize_within_screen(self, 1280, 860)
        for name, splitter in (("main_splitter", self.main_splitter), ("top_splitter", self.top_splitter)):
            state = self.settings.splitter_state(name)
            if state is not None:
                splitter.restoreState(state)
        state = self.settings.window_state()  # the event log as it was left: docked or floated, shown or hidden
        if state is not None:
            self.restoreState(state)

        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    # -- building ---------------------------------------------------------------------------------

    def _build_toolbar(self) -> None:
        bar = TraceToolbar(self.settings, self.window_size, self)
        self.addToolBar(bar)
        self.toolbar = bar
        # The widgets under the names the rest of the window (and its tests) use.
        self.target_combo = bar.target_combo
        self.start_action = bar.start_action
        self.interval_spin = bar.interval_spin
        self.window_combo = bar.window_combo
        self.protocol_combo = bar.protocol_combo
        self.port_spin = bar.port_spin
        self.port_label = bar.port_label
        # Enter in the target field starts, once: an editable QComboBox hands an unhandled Return back to its line
        # edit, so returnPressed fires twice per key press, and a trace that ended in between (a fast fake or a
        # short one) was resumed by the second. The filter takes the key before the combo box sees it. On the
        # combo box itself too: it is its line edit's focus proxy, so a real keyboard's Return goes to it, and it
        # passes the key to the line edit by a direct call no event filter sees (on the line edit alone, Enter
        # did nothing but in tests that sent the key to the line edit).
        self._enter_starts = _EnterStarts(self.start, self)
        self.target_combo.installEventFilter(self._enter_starts)
        self.target_combo.lineEdit().installEventFilter(self._enter_starts)
        self.start_action.triggered.connect(self.toggle_running)
        self.window_combo.currentTextChanged.connect(self._window_text_changed)

        self.scoring_row = ScoringRow()
        self.model_combo = self.scoring_row.model_combo
        self.model_settings_box = self.scoring_row.settings_box
        self.model_settings_box.changed.connect(self._model_setting_changed)
        self.edit_formula_action = self.scoring_row.edit_formula_action
        self.edit_formula_action.triggered.connect(self.open_formula_editor)

    @property
    def model_setting_widgets(self) -> dict:
        return self.model_settings_box.widgets

    def port(self) -> int | None:
        """The destination port the next UDP/TCP trace probes (None for ICMP)."""
        return self.toolbar.port()

    def _build_central(self) -> None:
        self.table_model = HopTableModel(self.thresholds)
        self.table = HopTableView(self.table_model)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.mark_dirty())
        self.range_label = QLabel()
        self.range_label.setWordWrap(True)
        self.error_banner = QLabel()
        self.error_banner.setWordWrap(True)
        self.error_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_banner.setStyleSheet(
            "QLabel { background: #fde0dc; color: #7f0000; border: 1px solid #e57373; padding: 6px; }"
        )
        self.error_banner.hide()
        left = QWidget()
        self.table_pane = left  # painted a pass after its rows change (update_steps)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(4, 4, 4, 4)
        left_layout.setSpacing(3)  # (the style's 6 px, thrice, was a hop row at 800 x 500)
        left_layout.addWidget(self.error_banner)
        left_layout.addWidget(self.table, 1)

        self.trace_graph = TraceGraph(self.thresholds)
        self._low = False  # a low window (LOW_WINDOW_PX): see _rows_first
        self._fitting = False
        self._user_split = False  # the user dragged the timeline's splitter since the last resize: theirs
        self.table.viewport().installEventFilter(self)
        self.top_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.top_splitter.addWidget(left)
        self.top_splitter.addWidget(self.trace_graph)
        self.top_splitter.setStretchFactor(0, 3)
        self.top_splitter.setStretchFactor(1, 2)
        self.top_splitter.setSizes([780, 500])
        self.top_splitter.setChildrenCollapsible(False)
        left.setMinimumWidth(320)

        self.timeline = TimelineWidget()
        self.timeline.focus_changed.connect(self.set_focus)
        self.main_splitter = QSplitter(Qt.Orientation.Vertical)
        self.main_splitter.addWidget(self.top_splitter)
        self.main_splitter.addWidget(self.timeline)
        self.main_splitter.setStretchFactor(0, 3)
        self.main_splitter.setStretchFactor(1, 2)
        self.main_splitter.setSizes([480, 320])
        self.main_splitter.splitterMoved.connect(lambda *_: setattr(self, "_user_split", True))
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.scoring_row)
        # What the table, the graphs and the verdict (inserted below it by evidence) are over, across the window:
        # a session's line took two lines of the table's pane at 800 x 500.
        layout.addWidget(self.range_label)
        layout.addWidget(self.main_splitter, 1)
        self.setCentralWidget(central)
        self.update_range_label()

    def _build_status_bar(self) -> None:
        # Texts too long for the window end in "…" (the whole in their tooltip), never cut mid-word (gui.elided).
        self.setStatusBar(ElidingStatusBar(self))
        self.status_label = ElidedLabel("Enter a host and press Start (F5).")
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.error_label = QLabel("")
        self.error_label.setStyleSheet("color: #b71c1c")
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.error_label)

    # -- scoring model ----------------------------------------------------------------------------

    def _load_models(self, select: str | None = None) -> None:
        """Select ``select`` (or the saved model) at once, and fill the model list when a worker thread has read the
        scoring folder (user formulas are parsed there): the window never waits on the disk for it. A saved model
        that is gone falls back to the default model when the list arrives."""
        name = select or self.settings.model() or models.DEFAULT_MODEL
        self.model_combo.blockSignals(True)
        if self.model_combo.findData(name) < 0:
            self.model_combo.addItem(name, name)
        self.model_combo.setCurrentIndex(self.model_combo.findData(name))
        self.model_combo.blockSignals(False)
        self.model_list_jobs.run(
            models.available_models,
            on_done=lambda infos: self._fill_models(infos, name),
            on_error=lambda exc: self._fill_models([], name, f"cannot list the scoring models: {exc}"),
        )

    def _fill_models(self, infos: list, name: str, error: str | None = None) -> None:
        if error:
            self._show_error(error)
        self.model_infos = {m.name: m for m in infos}
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for info in self.model_infos.values():
            self.model_combo.addItem(info.name, info.name)
            tip = info.description + (f" ({info.origin})" if info.origin != "built-in" else "")
            self.model_combo.setItemData(self.model_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        index = self.model_combo.findData(name)
        if index < 0:
            index = max(0, self.model_combo.findData(models.DEFAULT_MODEL))
        self.model_combo.setCurrentIndex(index)
        self.model_combo.blockSignals(False)
        if self.model_name != name:
            self.settings.set_model(self.model_name)
            self.mark_dirty()
        self._build_model_settings()

    def use_model(self, name: str) -> None:
        """Score with model ``name`` (a formula the editor just saved may be new: the list is read again)."""
        if name != self.model_name or self.model_combo.findData(name) < 0:
            self._load_models(select=name)
            self.settings.set_model(self.model_name)
            self._model_switched()

    @property
    def model_name(self) -> str:
        return self.model_combo.currentData() or models.DEFAULT_MODEL

    def _model_changed(self, _index: int) -> None:
        self.settings.set_model(self.model_name)
        self._build_model_settings()
        self._model_switched()
        self._check_alert_reach()
        if self.formula_editor is not None and self.formula_editor.isVisible():
            self.formula_editor.set_model(self.model_name)  # (a hidden editor opens the right one when shown)

    def _build_model_settings(self) -> None:
        info = self.model_infos.get(self.model_name)
        self.model_settings_box.show_settings(
            info.settings if info else (), self.settings.model_settings(self.model_name)
        )
        actions = getattr(self, "actions", None)
        if actions is not None:
            actions.set_tab_order()

    def model_settings(self) -> tuple[tuple[str, object], ...]:
        return self.model_settings_box.values()

    def _model_setting_changed(self, key: str, value: str) -> None:
        self.settings.set_model_setting(self.model_name, key, value)
        self._model_switched()
        self._check_alert_reach()
        self.evidence._model_changed()  # an opened mtr report is scored again with the new settings

    def _model_switched(self) -> None:
        """Another model or setting: the shown scores are not this model's. They are cleared to "…" at once
        (never shown as the new model's), and the update under way, scored with the old one, is superseded now
        (Refresher.submit): the latest choice wins, however slow or broken the formula being left."""
        self.mark_dirty()
        self._show_pending()
        self.tick()

    def _show_pending(self) -> None:
        """While the shown update was scored with another model than the chosen one: R, MOS and its interval
        read "…" ("computing with NAME…" in their tooltips and above the MOS plot), the graph's MOS and the
        timeline's MOS curve are cleared; latency and loss, which no model changes, stay."""
        chosen = (self.model_name, self.model_settings())
        update = self.last_update
        summary = getattr(getattr(self, "evidence", None), "summary", None)  # an opened mtr report's totals
        if self.trace is None and summary is not None:
            if (summary.model, summary.model_settings) == chosen:
                return
            snapshot, timelines = summary, []
        elif update is None or model_key(update.request) == chosen:
            return
        else:
            snapshot, timelines = update.snapshot, update.timelines
        text = f"computing with {self.model_name}\u2026"
        hops = _unscored(snapshot.hops)
        self.table_model.pending = text
        self.table_model.set_hops(hops, self.marked_ttl, self.marked_span, self.marked_rate_limited)
        self.trace_graph.set_hops(
            hops, self.marked_ttl, self.trace_graph.mark_text, pending=text, span=self.marked_span
        )
        self.timeline.set_data([dataclasses.replace(t, mos_t=t.mos_t[:0], mos=t.mos[:0]) for t in timelines])

    def _pending_text(self, update: Update) -> str | None:
        """ "computing with NAME…" when ``update`` was scored with another model or settings than the chosen ones,
        else None."""
        if model_key(update.request) == (self.model_name, self.model_settings()):
            return None
        return f"computing with {self.model_name}\u2026"

    def _check_alert_reach(self) -> None:
        """Another model or setting: a MOS alert rule may no longer be able to clear (said in the event log)."""
        evidence = getattr(self, "evidence", None)  # (not yet while the window is being built)
        if evidence is not None:
            evidence.alerts.check_reach()

    # -- commands ---------------------------------------------------------------------------------

    def toggle_running(self) -> None:
        if self.trace is not None and self.trace.running:
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        """Start tracing the target. A new target, protocol or interval starts a new trace (the old one's data
        goes); the same ones resume the stopped trace, keeping its history."""
        target = self.target_combo.currentText().strip()
        if not target:
            self._show_error("Enter a host name, IPv4 or IPv6 address to trace.")
            return
        self.toolbar.show_live_settings()  # (an opened record's were shown: live tracing is with the user's)
        protocol = self.protocol_combo.currentData()
        interval_s = self.toolbar.take_interval_s()
        port = self.port()
        same = self.trace is not None and (
            self.trace.target,
            self.trace.protocol,
            self.trace.interval_s,
            self.trace.port,
        ) == (target, protocol, interval_s, port)
        same = same and not self.evidence.is_replay(self.trace)  # a session opened from a file is never resumed
        if same and self.trace.running and self.trace.winding_down:
            # Its engine thread is still counting the replies to the probes in flight (Stop): it cannot resume yet.
            self.statusBar().showMessage("still stopping (waiting for the replies to the probes in flight): Start "
                                         "again once it has stopped", 5000)  # fmt: skip
            return
        if not same and not self.confirm_replace_trace(f"trace {target}"):
            return
        if not same:
            if self.trace is not None:
                self.trace.close()
            if self.evidence.is_replay(self.trace):  # an opened file was judged whole: live, the rolling default
                self.set_window(self.settings.window(), remember=False)
            self.trace = self.trace_factory(target, protocol, interval_s)
            self.trace.port = port  # read when the engine starts
            self.evidence.trace_created(self.trace)
            self.last_update = None
            self.focus = None
            self.timeline.clear_focus()
            self.table_model.set_hops((), None)
            self.table.clearSelection()
            self.timeline.set_route_changes(())
        self._show_error(None)
        self.update_range_label()
        self.trace.start()
        self.start_action.setText("Stop")
        recent = self.settings.add_recent_target(target)
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        self.target_combo.addItems(recent)
        self.target_combo.setCurrentText(target)
        self.target_combo.blockSignals(False)
        self.setWindowTitle(f"pingmos - {target}{self.dns_note}")
        self.mark_dirty()

    def confirm_replace_trace(self, what: str) -> bool:
        """True when nothing is being traced, or the user agrees to stop the running trace to ``what`` (its
        measurements stay in its recorded session)."""
        if self.trace is None or not self.trace.running:
            return True
        return self.ask(
            "Stop the trace?",
            f"pingmos is tracing {self.trace.target}. Stop it to {what}? What it measured stays in its recorded "
            "session (File > Open recent).",
        )

    def ask(self, title: str, text: str) -> bool:
        """A yes/no question (tests replace this)."""
        answer = QMessageBox.question(
            self,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def pause_display(self, on: bool) -> None:
        """Freeze what is shown (the trace goes on measuring and recording), or follow it again."""
        self.paused = on
        if self.actions.pause_action.isChecked() != on:
            self.actions.pause_action.setChecked(on)
        self.statusBar().showMessage("display paused: F6 to follow the trace again" if on else "", 0 if on else 1)
        self.mark_dirty()

    def copy_window_image(self) -> None:
        self.finish_update()
        QGuiApplication.clipboard().setImage(self.grab().toImage())
        self.statusBar().showMessage("a picture of the window is on the clipboard", 5000)

    def table_context(self) -> list[str]:
        """What the hop table shows, in words (``shown_context.table_context``)."""
        return shown_context.table_context(self)

    def stop(self) -> None:
        """Stop probing; everything measured stays on screen. A running trace winds down first, as the agent's do
        (``LiveTrace.wind_down``): it sends nothing more and the replies to its probes in flight are counted as
        they come, each probe lost only once its own timeout passed. The engine thread waits (the probe timeout
        and a second, 10 s at most: ``pingmos.run.wind_down_limit_s``), never this one; the button says STOPPING
        until ``tick`` sees the engine end (then "Start", and the alert rules stop judging). Stop again meanwhile:
        at once, those probes left out (never counted lost)."""
        trace = self.trace
        if trace is not None and trace.running and not trace.winding_down:
            trace.wind_down(trace.wind_down_limit_s)
            self.start_action.setText(STOPPING)
            self.mark_dirty()
            return
        if trace is not None:
            trace.stop()
            self.evidence.trace_stopped(trace)
        self.start_action.setText("Start")
        self.mark_dirty()

    def set_focus(self, focus: tuple[float, float] | None) -> None:
        """Statistics over [t0, t1] (wall-clock seconds) only, or the live window again with None."""
        self.focus = focus
        self.update_range_label()
        self.mark_dirty()

    def _window_text_changed(self, text: str) -> None:
        try:
            window = parse_window(text)
        except ValueError:
            # A part of one being typed ("", "al"; the validator lets nothing else in): the window in force stays,
            # and the box shows it again when left (WindowValidator.fixup).
            return
        self.window_size = window
        self.toolbar.window_in_force = window
        if self._remember_window:
            self.settings.set_window(window)
        self.update_range_label()
        self.mark_dirty()

    def set_window(self, window: int | None, remember: bool = True) -> None:
        """Judge the last ``window`` samples of each hop (None: all of them), shown in the Samples box.
        ``remember``: kept as the default for the next live trace (the user's choice; False for the window an opened
        file is shown with)."""
        self._remember_window = remember
        try:
            self.window_combo.setCurrentText(window_text(window))
            self._window_text_changed(window_text(window))  # (no signal when the text was the same already)
        finally:
            self._remember_window = True

    def edit_thresholds(self) -> None:
        dialog = ThresholdsDialog(self.thresholds, self)
        if dialog.exec() and dialog.result_thresholds is not None:
            self.set_thresholds(dialog.result_thresholds)

    def set_thresholds(self, thresholds: Thresholds) -> None:
        thresholds.validate()
        self.thresholds = thresholds
        self.settings.set_thresholds(thresholds)
        self.table_model.set_thresholds(thresholds)
        self.trace_graph.set_thresholds(thresholds)
        if self.last_update is not None:
            self.apply_update(self.last_update)  # the marked hop and the colours follow at once

    def open_formula_editor(self) -> None:
        from pingmos.gui.formula_editor import FormulaEditor

        if self.formula_editor is None:
            self.formula_editor = FormulaEditor(self)
        self.formula_editor.set_model(self.model_name)
        self.formula_editor.show()
        self.formula_editor.raise_()
        self.formula_editor.activateWindow()

    def formula_saved(self) -> None:
        """The formula editor saved the model's script: score everything again with it."""
        models.formula_saved(self.model_name)
        self.mark_dirty()

    def selected_hop(self):
        """The HopReport the formula editor's Check scores: the first selected hop, else the destination."""
        if self.last_update is None or not self.last_update.snapshot.hops:
            return None
        hops = self.last_update.snapshot.hops
        ttls = self.table.selected_ttls()
        if ttls:
            for hop in hops:
                if hop.ttl == ttls[0]:
                    return hop
        return hops[-1]

    def selected_window_samples(self):
        """The selected hop's window (samples for a HopWindow) for the formula editor's Check."""
        hop = self.selected_hop()
        if hop is None or self.trace is None:
            return None, None
        series = self.trace.series(hop.ttl, self.focus)
        rtts = [None if v != v else v for v in series.rtt_ms]
        if self.focus is None and self.window_size is not None:
            rtts = rtts[-self.window_size :]
        return hop, rtts

    # -- refreshing -------------------------------------------------------------------------------

    def mark_dirty(self) -> None:
        """Recompute the shown snapshot at the next refresh (the data, the window or the range changed)."""
        self._dirty = True

    def update_range_label(self) -> None:
        """Say again above the table what it shows (live window, focus range, or the session file read)."""
        shown_context.update_range_label(self)
        self._show_range_label()

    def _show_range_label(self) -> None:
        # A low window leaves out "Live: statistics over the last N samples of each hop.": the verdict's head says
        # it ("over the last 100 of 161 rounds"), and its line is the timeline's (at 800 x 500 its plot was 40 px).
        # A focus range or a session file is said whatever the height.
        live = self.focus is None and shown_context.opened_session(self) is None
        self.range_label.setVisible(not (self._low and live))

    def _timeline_ttls(self) -> tuple[int, ...]:
        ttls = self.table.selected_ttls()
        if ttls:
            return tuple(ttls)
        if self.last_update is not None and self.last_update.snapshot.hops:
            return (self.last_update.snapshot.hops[-1].ttl,)  # the destination (or the last hop seen so far)
        return ()

    def _labels(self) -> tuple[tuple[int, str], ...]:
        if self.last_update is None:
            return ()
        labels = []
        for hop in self.last_update.snapshot.hops:
            who = hop.name or hop.address or "???"
            labels.append((hop.ttl, f"hop {hop.ttl} ({who})"))
        return tuple(labels)

    def _timeline_window(self) -> int | None:
        """The samples each timeline MOS point scores when the table judges all of them: an opened file's own
        window (``opened_window``), as it was watched live; None (a live trace on "all") the samples since the
        previous point."""
        trace, window = self.opened_window
        return window if trace is self.trace else None

    def request(self) -> Request | None:
        if self.trace is None:
            return None
        return Request(
            trace=self.trace,
            window=self.window_size,
            model_name=self.model_name,
            model_settings=self.model_settings(),
            focus=self.focus,
            timeline_ttls=self._timeline_ttls(),
            labels=self._labels(),
            timeline_window=self._timeline_window(),
            diagnosis_thresholds=diagnosis_thresholds(self.thresholds),
            witnesses=tuple(sorted(self.evidence.verdict_bar.witnesses.items())),
        )

    def tick(self) -> None:
        """Draw a finished update, if any, and ask for the next one when something may have changed."""
        trace = self.trace
        if trace is not None and self.start_action.text() == STOPPING and not trace.running and not self._closed:
            # Stop's wind-down is over (the engine thread ended): the last replies are in; say so, then show them.
            self.start_action.setText("Start")
            self.evidence.trace_stopped(trace)
            self.mark_dirty()
        if self.paused or self._steps or self._closed:
            return  # (an update being shown in parts goes on without the timer; a closed window asks for nothing)
        result = self.refresher.poll()
        if isinstance(result, Update):
            # The next update is asked for once this one is shown and painted (the last part calls tick again):
            # computed meanwhile, the refresher's Python would take the GIL from the drawing at each Qt call that
            # releases it (each costing up to a switch interval, 5 ms, and the whole time slice whenever the
            # scheduler stops the refresher holding it on a loaded machine).
            self._show_in_steps(result)
            return
        if isinstance(result, BaseException):
            self._show_error(f"internal error while computing the statistics: {type(result).__name__}: {result}")
        # While an update is under way, only a change of the user's asks again: the refresher supersedes it when
        # the model or trace changed (a slow formula is never waited for) and refuses otherwise.
        if self.trace is None or (self.refresher.busy and not self._dirty):
            return
        now = time.monotonic()
        samples = self.trace.sample_count
        changed = samples != self._last_samples
        if changed and self.trace.running:
            # Coalesced: at most one update per round (see ROUND_TICKS).
            changed = now - self._last_submit >= min(self.trace.interval_s, ROUND_TICKS * self.timer.interval() / 1e3)
        if not (self._dirty or changed) and self.trace.running and self.last_update is not None:
            self._show_status(self.trace.status(), self.last_update.snapshot.unmatched_replies)
        if self._dirty or changed or now - self._last_submit >= IDLE_REFRESH_S:
            request = self.request()
            if request is not None and self.refresher.submit(request):
                self._dirty = False
                self._last_submit = now
                self._last_samples = samples

    @property
    def quiet(self) -> bool:
        """No update being computed, waiting to be shown or being shown, and none asked for (tests wait for it)."""
        return not self._dirty and not self._steps and self.refresher.idle

    def apply_update(self, update: Update) -> None:
        """Show ``update``, every part of it at once (``update_steps``)."""
        for name, step in self.update_steps(update):
            self.apply_step(update, name, step)

    def apply_step(self, update: Update, name: str, step: Callable[[], None]) -> None:
        """Show one part of ``update`` (``update_steps``): what the timer's steps call (benchmarks time it)."""
        step()

    def update_steps(self, update: Update) -> list[tuple[str, Callable[[], None]]]:
        """Showing ``update`` in parts (named in UPDATE_PARTS), in order: the trace graph's frame (titles and
        axes, ``TraceGraph.set_frame``), its points, the timeline, the hop table's rows with the errors (taken in,
        not painted yet), then the table painted with the verdict and status lines, which makes ``update`` the one
        shown (``last_update``): what shows in the table is the whole of an update. Each part does nothing once
        another trace replaced the update's (but the last always lets the table paint again).

        The timer shows an update one part per pass of the event loop (``tick``), so that each part is painted
        before the next is taken in: taken in and painted at once, a 30-hop update held the event loop for one
        long stretch (~25 ms of CPU, 100-400 ms on a loaded machine), and the window stuttered."""
        shown: dict = {}

        def current() -> bool:
            return update.request.trace is self.trace

        def diagnosis():
            # The one diagnosis (pingmos.diagnosis, via the verdict line): the table's mark, the graph's title and
            # marker and the verdict line all show it. The refresher's, when it judged with what the window has now.
            if "diagnosis" not in shown:
                self.evidence.verdict_bar.offer(update, self.thresholds)
                shown["diagnosis"] = self.evidence.diagnosis_for(update.snapshot)
            return shown["diagnosis"]

        def draw_graph(draw) -> None:
            # ``draw``: the trace graph's set_frame (titles and axes) or set_hops (its points), with the same inputs.
            if not current():
                return
            snapshot, d = update.snapshot, diagnosis()
            pending = self._pending_text(update)  # scored with a model since left: its MOS is not shown
            hops = _unscored(snapshot.hops) if pending else snapshot.hops
            model = shown_context.model_text(self, snapshot)
            error = shown_context.score_failure_text(snapshot.hops, update.request.model_name, update.model_error)
            draw(
                hops,
                d.deteriorates_at_ttl,
                d.short,
                model=model,
                pending=pending,
                error=error,
                span=d.open_range,
                rate_limited=d.rate_limited_ttls,
            )

        def graph_frame() -> None:
            # The graph's titles and axes first, on a pass of their own: a new trace's first update laid the
            # graph out and drew its axes in the pass that drew its points (45-50 ms, the longest stall).
            draw_graph(self.trace_graph.set_frame)

        def graph() -> None:
            draw_graph(self.trace_graph.set_hops)

        def timeline() -> None:
            if not current():
                return
            timelines = update.timelines
            if self._pending_text(update):
                timelines = [dataclasses.replace(t, mos_t=t.mos_t[:0], mos=t.mos[:0]) for t in timelines]
            self.timeline.set_data(timelines, timeline_mos_note(update))
            self.timeline.set_route_changes(update.snapshot.route_changes)

        def table_rows() -> None:
            # The hop table's rows taken in (made, filled, their columns measured) with the errors on a pass of
            # their own, and painted on the next: a new trace's first rows (30 made, measured and painted) took
            # 20-40 ms of CPU in one pass, and a later update's ~30 changed rows half of a pass's longest.
            if not current():
                return
            snapshot = update.snapshot
            self.marked_ttl = diagnosis().deteriorates_at_ttl
            self.marked_span = diagnosis().open_range
            self.marked_rate_limited = diagnosis().rate_limited_ttls
            pending = self._pending_text(update)
            self.table_model.pending = pending
            # The table's pane (banner, range line, rows) is painted by the next part, which always runs it.
            self.table_pane.setUpdatesEnabled(False)
            self.table_model.set_hops(
                _unscored(snapshot.hops) if pending else snapshot.hops,
                self.marked_ttl,
                self.marked_span,
                self.marked_rate_limited,
            )
            # The view's layout for the new rows now (Qt leaves it to a zero timer): left to it, a vertical scroll
            # bar that the new rows need narrowed the table after its paint, which painted it twice.
            self.table.executeDelayedItemsLayout()
            # The errors with the rows: a failing formula's cells (the last working version's scores, marked *)
            # and the banner that says why appear together.
            errors = [e for e in (shown_context.trace_error_text(update.status), update.model_error) if e]
            errors += [e for e in (shown_context.score_errors_text(snapshot.hops),) if e]
            self._show_error("\n".join(errors) if errors else None)
            # The Start button with the error that ended the engine: on one pass, the banner never says the trace
            # failed while the button still offers to stop it.
            if not update.status.running and self.start_action.text() == "Stop":
                self.start_action.setText("Start")  # the engine ended by itself (an error, or a count reached)
                self.evidence.trace_stopped(self.trace)

        def table() -> None:
            if not self.table_pane.updatesEnabled():
                self.table_pane.setUpdatesEnabled(True)  # paints it whole: the changes while held went unrecorded
            if not current():
                return
            snapshot = update.snapshot
            self.last_update = update
            if update.request.timeline_ttls != self._timeline_ttls() or update.request.labels != self._labels():
                self.mark_dirty()  # the first update of a trace had no hops to choose from yet
            self._show_status(update.status, snapshot.unmatched_replies)
            self.evidence.update_shown(update)

        steps = {
            "graph frame": graph_frame,
            "graph": graph,
            "timeline": timeline,
            "table rows": table_rows,
            "table": table,
        }
        return [(name, steps[name]) for name in UPDATE_PARTS]

    def _show_in_steps(self, update: Update) -> None:
        self._steps = [(update, name, step) for name, step in self.update_steps(update)]
        self._next_step()

    def finish_update(self) -> None:
        """Show at once the parts still to be shown of the update under way (an image of the window shows the whole
        of one update, its table painted)."""
        while self._steps:
            update, name, step = self._steps.pop(0)
            self.apply_step(update, name, step)

    def _next_step(self) -> None:
        if not self._steps:
            return
        update, name, step = self._steps.pop(0)
        self.apply_step(update, name, step)
        # A timer, not a posted call (what a zero timer is): the event loop paints this part first (posted events
        # go before timers) and other timers due meanwhile get their turn. After the last part, tick asks for the
        # next update (see tick).
        QTimer.singleShot(self.step_gap_ms, self, self._next_step if self._steps else self.tick)

    def _show_status(self, status: TraceStatus, other_replies: int) -> None:
        text = status_text(status, other_replies)
        if not self.reverse_dns:
            text += "  |  no DNS: addresses only"
        if text != self.status_label.text():  # the same text again would still cost a relayout of the status bar
            self.status_label.setText(text)
            self.status_label.setToolTip(
                "replies that matched no probe of this trace (another program's ping or traceroute, or late ones "
                "of ours) are counted and ignored: they change no number"
                if other_replies
                else ""
            )

    def _show_error(self, message: str | None) -> None:
        if message:
            self.error_banner.setText(message)
            self.error_banner.show()
            self.error_label.setText("error: see the message above the table")
        else:
            self.error_banner.hide()
            self.error_label.setText("")

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        # A low window gives the hop table and graphs the room: the event log keeps at most a fifth of it.
        evidence = getattr(self, "evidence", None)
        log = getattr(evidence, "event_log", None)
        low = self.height() < LOW_WINDOW_PX
        if log is not None:
            log.set_low(low)  # a low window: the log is its summary line
            evidence.verdict_bar.set_low(low)  # two lines of verdict
        self.timeline.set_low(low)  # the values under the pointer in the caption's line
        if low:
            self._user_split = False
            self._rows_first()
        # The table's room changes after this too (the log's line, the verdict's lines): fitted again then.
        self._low = low
        self._show_range_label()
        if log is not None and log.isVisible() and not log.isFloating() and log.height() > self.height() // 5:
            self.resizeDocks([log], [max(60, self.height() // 5)], Qt.Orientation.Vertical)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Resize and self._low and not self._fitting and not self._user_split:
            self._fitting = True  # once per pass of the event loop, after the layouts settled
            QTimer.singleShot(0, self, self._fit_rows_later)
        return False

    def _fit_rows_later(self) -> None:
        self._fitting = False
        if self._low and not self._user_split:
            self._rows_first()

    def _rows_first(self) -> None:
        """A low window gives the hop table room for TABLE_ROWS_LOW rows first; the timeline takes the rest, at
        most TIMELINE_SHARE_LOW of the graphs' room and never less than its minimum (at 800 x 500 it took 108 px
        and left the table 4 rows; then, held to 30 %, its plot was 40 px high while the table had its rows)."""
        top, timeline = self.main_splitter.sizes()
        total = top + timeline
        table = self.table
        wanted = TABLE_ROWS_LOW * table.verticalHeader().defaultSectionSize() - table.viewport().height()
        floor = self.timeline.minimumSizeHint().height()
        fitted = max(floor, min(int(total * TIMELINE_SHARE_LOW), timeline - wanted))
        if fitted != timeline:
            self.main_splitter.setSizes([total - fitted, fitted])

    # -- lifetime ---------------------------------------------------------------------------------

    def closeEvent(self, event) -> None:
        if event.spontaneous() and self.formula_editor is not None and not self.formula_editor.confirm_discard():
            event.ignore()
            return
        self.settings.set_geometry(self.saveGeometry())
        self.settings.set_splitter_state("main_splitter", self.main_splitter.saveState())
        self.settings.set_splitter_state("top_splitter", self.top_splitter.saveState())
        self.settings.set_window_state(self.saveState())
        self.settings.sync()
        self.timer.stop()
        self._closed = True
        self._steps.clear()
        if self.trace is not None:
            self.trace.close()
        self.refresher.close()
        self.hop_menu.close()
        self.evidence.close()
        if self.formula_editor is not None:
            self.formula_editor.close()
        super().closeEvent(event)


def timeline_mos_note(update: Update) -> str | None:
    """What the timeline's caption says of the MOS when the model failed for a hop it draws: its curve is the last
    working version's (as the table's * cells) or there is none. None: the hops drawn have their scores."""
    drawn = {t.ttl for t in update.timelines}
    failed = [h for h in update.snapshot.hops if h.ttl in drawn and h.score_error]
    if update.model_error and drawn:
        return f"no MOS: {update.request.model_name} failed"
    if not failed:
        return None
    if all(h.score_fallback is not None for h in failed):
        return "MOS (dashed): the formula's last working version *"  # (short: the caption shares its line)
    return f"no MOS: {update.request.model_name} failed"


def _unscored(hops: tuple) -> tuple:
    """``hops`` without their scores (R, MOS, its interval, errors): what is shown while another model computes."""
    unscored = {"r": None, "mos": None, "mos_ci": None, "score_detail": {}, "score_error": None}
    return tuple(dataclasses.replace(h, score_fallback=None, **unscored) for h in hops)


class _EnterStarts(QObject):
    """Event filter: Return or Enter (no modifier but the keypad's) in the target field calls ``on_enter`` and is
    consumed there."""

    def __init__(self, on_enter, parent=None) -> None:
        super().__init__(parent)
        self.on_enter = on_enter

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if (
            event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)
        ):
            self.on_enter()
            return True
        return False
