"""The main window: toolbar, hop table, trace graph, timeline and status bar, refreshed a few times a second.

The engine runs in its own thread (``LiveTrace``); statistics, scoring and series are computed in the
refresher's worker thread; this thread only draws finished updates. A QTimer polls for them, so a 30-hop trace at
10 rounds a second costs at most four redraws a second, whatever the packet rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from pingmos.engine.resolve import ReverseDNS
from pingmos.engine.tracer import MAX_INTERVAL_S, MIN_INTERVAL_S, TraceSettings
from pingmos.gui import models
from pingmos.gui.background import Background
from pingmos.gui.evidence import WindowEvidence
from pingmos.gui.hop_table import HopTableModel, HopTableView
from pingmos.gui.quality import Thresholds
from pingmos.gui.refresher import Refresher, Request, Update
from pingmos.gui.settings_store import SettingsStore
from pingmos.gui.timeline import TimelineWidget
from pingmos.gui.trace_graph import TraceGraph
from pingmos.live_trace import LiveTrace, TraceStatus

WINDOW_CHOICES = ("10", "50", "100", "200", "500", "all")
REFRESH_MS = 250
IDLE_REFRESH_S = 2.0  # a stopped trace is recomputed this often (reverse-DNS names still arrive)

TraceFactory = Callable[[str, str, float], LiveTrace]


def default_trace_factory(target: str, protocol: str, interval_s: float) -> LiveTrace:
    """The real thing: the best probe mode allowed, and reverse DNS in the background."""
    return LiveTrace(target, protocol=protocol, interval_s=interval_s, names=ReverseDNS())


def parse_window(text: str) -> int | None:
    """'all' -> None, a whole number >= 1 -> that number; ValueError with a message otherwise."""
    text = text.strip().lower()
    if text == "all":
        return None
    try:
        n = int(text)
    except ValueError:
        raise ValueError(f"samples to include must be a whole number or 'all', not {text!r}") from None
    if n < 1:
        raise ValueError("samples to include must be at least 1")
    return n


def format_elapsed(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def status_text(status: TraceStatus) -> str:
    state = "running" if status.running else "stopped"
    return (
        f"{state}  |  rounds {status.rounds}  |  probes sent {status.probes_sent}  |  "
        f"elapsed {format_elapsed(status.elapsed_s)}  |  {status.mode}"
    )


class ThresholdsDialog(QDialog):
    """Edit the MOS band and loss thresholds."""

    def __init__(self, thresholds: Thresholds, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Quality thresholds")
        form = QFormLayout(self)
        self.spins: dict[str, QDoubleSpinBox] = {}
        rows = (
            ("mos_good", "MOS good from", 1.0, 4.5, 2),
            ("mos_acceptable", "MOS acceptable from", 1.0, 4.5, 2),
            ("mos_poor", "MOS poor from (below: bad)", 1.0, 4.5, 2),
            ("loss_warn_pct", "loss warning above (%)", 0.0, 100.0, 1),
            ("loss_bad_pct", "loss bad above (%)", 0.0, 100.0, 1),
        )
        for key, label, lo, hi, decimals in rows:
            spin = QDoubleSpinBox()
            spin.setRange(lo, hi)
            spin.setDecimals(decimals)
            spin.setSingleStep(0.1)
            spin.setValue(getattr(thresholds, key))
            form.addRow(label, spin)
            self.spins[key] = spin
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b71c1c")
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.result_thresholds: Thresholds | None = None

    def _accept(self) -> None:
        t = Thresholds(**{k: s.value() for k, s in self.spins.items()})
        try:
            t.validate()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.result_thresholds = t
        self.accept()


class MainWindow(QMainWindow):
    def __init__(
        self,
        settings: SettingsStore | None = None,
        trace_factory: TraceFactory = default_trace_factory,
        refresh_ms: int = REFRESH_MS,
    ):
        super().__init__()
        self.settings = settings or SettingsStore()
        self.trace_factory = trace_factory
        self.trace: LiveTrace | None = None
        self.window_size: int | None = self.settings.window()
        self.focus: tuple[float, float] | None = None
        self.thresholds = self.settings.thresholds()
        self.last_update: Update | None = None
        self.marked_ttl: int | None = None
        self.formula_editor = None
        self._dirty = True
        self._last_submit = 0.0
        self._last_samples = -1
        self.refresher = Refresher()
        self.model_list_jobs = Background("models", self)  # reads the scoring folder off the GUI thread
        self.model_infos: dict = {}  # name -> ModelInfo, once the list has been read
        self.setWindowTitle("pingmos")

        self._build_toolbar()
        self._build_menus()
        self._build_central()
        self._build_status_bar()
        self._load_models()
        self.model_combo.currentIndexChanged.connect(self._model_changed)
        self.evidence = WindowEvidence(self)  # sessions, export, verdict line, alerts and their event log

        geometry = self.settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 860)
        for name, splitter in (("main_splitter", self.main_splitter), ("top_splitter", self.top_splitter)):
            state = self.settings.splitter_state(name)
            if state is not None:
                splitter.restoreState(state)

        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    # -- building ---------------------------------------------------------------------------------

    def _build_toolbar(self) -> None:
        bar = QToolBar("Trace")
        bar.setObjectName("trace_toolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.toolbar = bar

        bar.addWidget(QLabel(" Target "))
        self.target_combo = QComboBox()
        self.target_combo.setEditable(True)
        self.target_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.target_combo.setMinimumContentsLength(22)
        self.target_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.target_combo.addItems(self.settings.recent_targets())
        self.target_combo.lineEdit().setPlaceholderText("host name, IPv4 or IPv6 address")
        self.target_combo.lineEdit().returnPressed.connect(self.start)
        self.target_combo.setToolTip("host to trace; press Enter to start")
        bar.addWidget(self.target_combo)

        self.start_action = QAction("Start", self)
        self.start_action.setToolTip("start tracing the target (Enter in the target field); again to stop")
        self.start_action.triggered.connect(self.toggle_running)
        bar.addAction(self.start_action)
        bar.addSeparator()

        bar.addWidget(QLabel(" Interval "))
        self.interval_spin = QDoubleSpinBox()
        self.interval_spin.setRange(MIN_INTERVAL_S, MAX_INTERVAL_S)
        self.interval_spin.setDecimals(1)
        self.interval_spin.setSingleStep(0.5)
        self.interval_spin.setSuffix(" s")
        self.interval_spin.setValue(self.settings.interval_s())
        self.interval_spin.setToolTip("seconds between rounds; a change starts a new trace at the next Start")
        self.interval_spin.valueChanged.connect(self.settings.set_interval_s)
        bar.addWidget(self.interval_spin)

        bar.addWidget(QLabel(" Samples "))
        self.window_combo = QComboBox()
        self.window_combo.setEditable(True)
        self.window_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.window_combo.addItems(WINDOW_CHOICES)
        self.window_combo.setCurrentText("all" if self.window_size is None else str(self.window_size))
        self.window_combo.setMinimumContentsLength(5)
        self.window_combo.setToolTip("samples to include: the last N samples of each hop, or all of them")
        self.window_combo.currentTextChanged.connect(self._window_text_changed)
        bar.addWidget(self.window_combo)

        bar.addWidget(QLabel(" Protocol "))
        self.protocol_combo = QComboBox()
        self.protocol_combo.addItem("ICMP", "icmp")
        self.protocol_combo.addItem("UDP", "udp")
        self.protocol_combo.addItem("TCP", "tcp")
        self.protocol_combo.setCurrentIndex(max(0, self.protocol_combo.findData(self.settings.protocol())))
        self.protocol_combo.setToolTip("probe protocol; a change starts a new trace at the next Start")
        self.protocol_combo.currentIndexChanged.connect(lambda _: self._protocol_changed())
        bar.addWidget(self.protocol_combo)
        self.port_label = QLabel(" Port ")
        bar.addWidget(self.port_label)
        self.port_spin = QSpinBox()
        self.port_spin.setRange(0, 65535)
        self.port_spin.setSpecialValueText("-")  # 0: no port (ICMP), or the engine's default port
        self.port_spin.setToolTip(
            "destination port of the UDP or TCP probes; a change starts a new trace at the next Start"
        )
        self.port_spin.valueChanged.connect(
            lambda value: self.settings.set_port(self.protocol_combo.currentData(), value)
        )
        bar.addWidget(self.port_spin)
        self._protocol_changed()
        bar.addSeparator()

        bar.addWidget(QLabel(" Model "))
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("scoring model that turns each hop's window into R and MOS")
        bar.addWidget(self.model_combo)
        self.model_settings_box = QWidget()
        self.model_settings_layout = QHBoxLayout(self.model_settings_box)
        self.model_settings_layout.setContentsMargins(4, 0, 4, 0)
        bar.addWidget(self.model_settings_box)
        self.model_setting_widgets: dict[str, QWidget] = {}

        self.edit_formula_action = QAction("Edit formula…", self)
        self.edit_formula_action.setShortcut(QKeySequence("Ctrl+E"))
        self.edit_formula_action.setToolTip("open the current model's formula in an editor (Ctrl+E)")
        self.edit_formula_action.triggered.connect(self.open_formula_editor)
        bar.addAction(self.edit_formula_action)

    def _protocol_changed(self) -> None:
        protocol = self.protocol_combo.currentData()
        self.settings.set_protocol(protocol)
        on = protocol in ("udp", "tcp")
        self.port_spin.setEnabled(on)
        self.port_label.setEnabled(on)
        self.port_spin.blockSignals(True)
        if on:  # each protocol keeps its own port (TCP 80 or 443, UDP traceroute's 33434 or a service's)
            port = self.settings.port(protocol)
            self.port_spin.setValue(port or TraceSettings(address="", protocol=protocol).effective_port)
        else:
            self.port_spin.setValue(0)
        self.port_spin.blockSignals(False)

    def port(self) -> int | None:
        """The destination port the next UDP/TCP trace probes (None for ICMP)."""
        if self.protocol_combo.currentData() not in ("udp", "tcp"):
            return None
        return self.port_spin.value() or None  # 0 = the engine's default

    def _build_menus(self) -> None:
        # The File menu is where sessions (open/save, Ctrl+S) go; until they exist it only quits.
        self.file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self.file_menu.addAction(quit_action)

        edit = self.menuBar().addMenu("&Edit")
        self.copy_action = QAction("&Copy table as text", self)
        self.copy_action.setShortcut(QKeySequence("Ctrl+Shift+C"))
        self.copy_action.triggered.connect(lambda: self.table.copy_text())
        edit.addAction(self.copy_action)
        thresholds = QAction("Quality &thresholds…", self)
        thresholds.triggered.connect(self.edit_thresholds)
        edit.addAction(thresholds)

        trace = self.menuBar().addMenu("&Trace")
        trace.addAction(self.start_action)
        trace.addAction(self.edit_formula_action)

    def _build_central(self) -> None:
        self.table_model = HopTableModel(self.thresholds)
        self.table = HopTableView(self.table_model)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._mark_dirty())
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
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(4, 4, 4, 4)
        left_layout.addWidget(self.error_banner)
        left_layout.addWidget(self.range_label)
        left_layout.addWidget(self.table, 1)

        self.trace_graph = TraceGraph(self.thresholds)
        self.top_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.top_splitter.addWidget(left)
        self.top_splitter.addWidget(self.trace_graph)
        self.top_splitter.setStretchFactor(0, 3)
        self.top_splitter.setStretchFactor(1, 2)
        self.top_splitter.setSizes([780, 500])

        self.timeline = TimelineWidget()
        self.timeline.focus_changed.connect(self.set_focus)
        self.main_splitter = QSplitter(Qt.Orientation.Vertical)
        self.main_splitter.addWidget(self.top_splitter)
        self.main_splitter.addWidget(self.timeline)
        self.main_splitter.setStretchFactor(0, 3)
        self.main_splitter.setStretchFactor(1, 2)
        self.main_splitter.setSizes([480, 320])
        self.setCentralWidget(self.main_splitter)
        self._update_range_label()

    def _build_status_bar(self) -> None:
        self.status_label = QLabel("Enter a host and press Start.")
        self.status_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
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
            self._mark_dirty()
        self._build_model_settings()

    def use_model(self, name: str) -> None:
        """Score with model ``name`` (a formula the editor just saved may be new: the list is read again)."""
        if name != self.model_name or self.model_combo.findData(name) < 0:
            self._load_models(select=name)
            self.settings.set_model(self.model_name)
            self._mark_dirty()

    @property
    def model_name(self) -> str:
        return self.model_combo.currentData() or models.DEFAULT_MODEL

    def _model_changed(self, _index: int) -> None:
        self.settings.set_model(self.model_name)
        self._build_model_settings()
        self._mark_dirty()
        if self.formula_editor is not None and self.formula_editor.isVisible():
            self.formula_editor.set_model(self.model_name)  # (a hidden editor opens the right one when shown)

    def _build_model_settings(self) -> None:
        while self.model_settings_layout.count():
            item = self.model_settings_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.model_setting_widgets = {}
        info = self.model_infos.get(self.model_name)
        saved = self.settings.model_settings(self.model_name)
        for spec in info.settings if info else ():
            label = QLabel(spec.name)
            label.setToolTip(spec.help)
            self.model_settings_layout.addWidget(label)
            value = saved.get(spec.name, str(spec.default))
            if spec.choices:
                widget = QComboBox()
                widget.addItems(spec.choices)
                widget.setCurrentText(value if value in spec.choices else str(spec.default))
                widget.currentTextChanged.connect(lambda text, key=spec.name: self._model_setting_changed(key, text))
            else:
                widget = QLineEdit(value)
                widget.setMaximumWidth(70)
                widget.editingFinished.connect(
                    lambda key=spec.name, w=widget: self._model_setting_changed(key, w.text())
                )
            widget.setToolTip(spec.help)
            self.model_settings_layout.addWidget(widget)
            self.model_setting_widgets[spec.name] = widget

    def model_settings(self) -> tuple[tuple[str, object], ...]:
        values = []
        for key, widget in self.model_setting_widgets.items():
            values.append((key, widget.currentText() if isinstance(widget, QComboBox) else widget.text()))
        return tuple(values)

    def _model_setting_changed(self, key: str, value: str) -> None:
        self.settings.set_model_setting(self.model_name, key, value)
        self._mark_dirty()

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
        protocol = self.protocol_combo.currentData()
        interval_s = round(self.interval_spin.value(), 3)
        port = self.port()
        same = self.trace is not None and (
            self.trace.target,
            self.trace.protocol,
            self.trace.interval_s,
            self.trace.port,
        ) == (target, protocol, interval_s, port)
        same = same and not self.evidence.is_replay(self.trace)  # a session opened from a file is never resumed
        if not same:
            if self.trace is not None:
                self.trace.close()
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
        self._update_range_label()
        self.trace.start()
        self.start_action.setText("Stop")
        recent = self.settings.add_recent_target(target)
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        self.target_combo.addItems(recent)
        self.target_combo.setCurrentText(target)
        self.target_combo.blockSignals(False)
        self.setWindowTitle(f"pingmos - {target}")
        self._mark_dirty()

    def stop(self) -> None:
        """Stop probing; everything measured stays on screen."""
        if self.trace is not None:
            self.trace.stop()
            self.evidence.trace_stopped(self.trace)
        self.start_action.setText("Start")
        self._mark_dirty()

    def set_focus(self, focus: tuple[float, float] | None) -> None:
        """Statistics over [t0, t1] (wall-clock seconds) only, or the live window again with None."""
        self.focus = focus
        self._update_range_label()
        self._mark_dirty()

    def _window_text_changed(self, text: str) -> None:
        try:
            self.window_size = parse_window(text)
        except ValueError as exc:
            self.window_combo.setToolTip(str(exc))
            self.window_combo.setStyleSheet("QComboBox { color: #b71c1c; }")
            return
        self.window_combo.setStyleSheet("")
        self.window_combo.setToolTip("samples to include: the last N samples of each hop, or all of them")
        self.settings.set_window(self.window_size)
        self._update_range_label()
        self._mark_dirty()

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
        self._mark_dirty()

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
        """The selected hop's window (WindowStats-ready samples) for the formula editor's Check."""
        hop = self.selected_hop()
        if hop is None or self.trace is None:
            return None, None
        series = self.trace.series(hop.ttl, self.focus)
        rtts = [None if v != v else v for v in series.rtt_ms]
        if self.focus is None and self.window_size is not None:
            rtts = rtts[-self.window_size :]
        return hop, rtts

    # -- refreshing -------------------------------------------------------------------------------

    def _mark_dirty(self) -> None:
        self._dirty = True

    def _update_range_label(self) -> None:
        if self.focus is not None:
            t0, t1 = (time.strftime("%H:%M:%S", time.localtime(t)) for t in self.focus)
            self.range_label.setText(
                f"<b>Focus {t0} - {t1}</b>: statistics over the samples sent in the yellow range of the timeline. "
                "Uncheck <i>Focus range</i> to return to the live window."
            )
            self.range_label.setStyleSheet("QLabel { background: #fff4c2; padding: 3px; }")
        else:
            what = "every sample" if self.window_size is None else f"the last {self.window_size} samples"
            opened = self._opened_session()
            if opened is not None:
                path, span = opened
                if span is None:
                    text = f"<b>mtr report {escape(path.name)}</b>: mtr's own totals per hop, scored with the model."
                else:
                    t0, t1 = (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) for t in span)
                    when = f"{t0} to {t1[11:] if t0[:10] == t1[:10] else t1}"
                    text = f"<b>Session {escape(path.name)}</b> ({when}): statistics over {what} of each hop."
                self.range_label.setText(text)
                self.range_label.setToolTip(str(path))
            else:
                self.range_label.setText(f"Live: statistics over {what} of each hop.")
                self.range_label.setToolTip("")
            self.range_label.setStyleSheet("QLabel { padding: 3px; }")

    def _opened_session(self):
        """(file, time span or None) of the session read from a file that is shown, else None (a live trace)."""
        evidence = getattr(self, "evidence", None)  # (the label is first set before the evidence exists)
        if evidence is None:
            return None
        opened = evidence.sessions.opened
        if opened is not None and self.trace is None and evidence.summary is not None:
            return Path(opened.path), None  # an mtr --json report: totals, no times
        if opened is None or not evidence.is_replay(self.trace):
            return None
        return Path(opened.path), self.trace.time_span()

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
        )

    def tick(self) -> None:
        """Draw a finished update, if any, and ask for the next one when something may have changed."""
        result = self.refresher.poll()
        if isinstance(result, Update):
            self.apply_update(result)
        elif isinstance(result, BaseException):
            self._show_error(f"internal error while computing the statistics: {type(result).__name__}: {result}")
        if self.trace is None or self.refresher.busy:
            return
        now = time.monotonic()
        samples = self.trace.sample_count
        changed = samples != self._last_samples or self.trace.running
        if self._dirty or changed or now - self._last_submit >= IDLE_REFRESH_S:
            request = self.request()
            if request is not None and self.refresher.submit(request):
                self._dirty = False
                self._last_submit = now
                self._last_samples = samples

    def apply_update(self, update: Update) -> None:
        if update.request.trace is not self.trace:
            return  # an update of a trace already replaced
        self.last_update = update
        snapshot = update.snapshot
        # The one diagnosis (pingmos.diagnosis, via the verdict line): the table's mark, the graph's title and
        # marker and the verdict line all show it.
        diagnosis = self.evidence.diagnosis_for(snapshot)
        self.marked_ttl = diagnosis.deteriorates_at_ttl
        self.table_model.set_hops(snapshot.hops, self.marked_ttl)
        self.trace_graph.set_hops(snapshot.hops, self.marked_ttl, diagnosis.short)
        self.timeline.set_data(update.timelines)
        self.timeline.set_route_changes(snapshot.route_changes)
        if update.request.timeline_ttls != self._timeline_ttls() or update.request.labels != self._labels():
            self._mark_dirty()  # the first update of a trace had no hops to choose from yet
        status = update.status
        self.status_label.setText(status_text(status))
        if not status.running and self.start_action.text() == "Stop":
            self.start_action.setText("Start")  # the engine ended by itself (an error, or a count reached)
            self.evidence.trace_stopped(self.trace)
        errors = [e for e in (status.error, update.model_error) if e]
        script_errors = {h.score_error for h in snapshot.hops if h.score_error}
        errors += [f"the scoring formula failed: {e}" for e in sorted(script_errors)][:1]
        self._show_error("\n".join(errors) if errors else None)
        self.evidence.update_shown(update)

    def _show_error(self, message: str | None) -> None:
        if message:
            self.error_banner.setText(message)
            self.error_banner.show()
            self.error_label.setText("error: see the message above the table")
        else:
            self.error_banner.hide()
            self.error_label.setText("")

    # -- lifetime ---------------------------------------------------------------------------------

    def closeEvent(self, event) -> None:
        if event.spontaneous() and self.formula_editor is not None and not self.formula_editor.confirm_discard():
            event.ignore()
            return
        self.settings.set_geometry(self.saveGeometry())
        self.settings.set_splitter_state("main_splitter", self.main_splitter.saveState())
        self.settings.set_splitter_state("top_splitter", self.top_splitter.saveState())
        self.settings.sync()
        self.timer.stop()
        if self.trace is not None:
            self.trace.close()
        self.refresher.close()
        self.evidence.close()
        if self.formula_editor is not None:
            self.formula_editor.close()
        super().closeEvent(event)
