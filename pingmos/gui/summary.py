"""The summary window of several targets (PingPlotter Pro's summary screen): one row per target of a monitoring agent
(``pingmos monitor CONFIG --window``) with its worst hop, the destination's MOS and its interval, loss, latency,
alerts firing and the diagnosis; double-click a row to open that target's trace in a main window.

The agent runs its loop in a thread of its own (snapshots and scoring never run in the GUI thread); the window
reads the agent's views, plain data that are cheap to copy, once a second. A main window opened from a row shows
the agent's own running trace: closing it leaves the agent tracing.
"""

from __future__ import annotations

import math
import signal
import sys
import threading

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QApplication, QHeaderView, QLabel, QMainWindow, QTableView

from pingmos.diagnosis import PROBLEM, range_words
from pingmos.display_text import display_text
from pingmos.gui.quality import BAND_COLOURS, Thresholds, loss_band, mos_band
from pingmos.gui.screen_fit import resize_within_screen
from pingmos.monitor.metrics import TargetView, path_end
from pingmos.report.formats import FEW_SAMPLES_MARK, loss_text, lost_count

COLUMNS = ("Target", "Host", "Hops", "Worst hop", "MOS", "MOS 95 %", "Loss %", "Latency", "Alerts", "Diagnosis")
TOOLTIPS = (
    "the target's name in the agent's configuration",
    "what is traced (SIP OPTIONS go to the same host)",
    "hops on the path (the destination's TTL once it answered)",
    "where the diagnosis locates the problem (as the report's diagnosis column says it); with no problem located,\n"
    "the measured hop with the lowest MOS over the window (TTL, address, MOS), leaving out routers that answer no\n"
    "probe (no score) and those the diagnosis calls rate-limited (their loss does not carry on)",
    "estimated MOS at the destination over the window",
    "95 % interval of the destination's MOS (from the sampling uncertainty of its inputs)",
    "lost probes at the destination, percent of the window",
    "mean round trip to the destination over the window, ms",
    "the agent's alert rules firing now",
    "where quality deteriorates: the diagnosis of the report",
)
COL_MOS, COL_LOSS = 4, 6
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
_ROOT = QModelIndex()


def _fmt(value: float | None, digits: int) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def loss_cell(hop) -> str:
    """The destination's loss as the hop table and the terminal show it: a non-zero loss never reads 0.0."""
    return "" if hop.loss_pct is None else loss_text(hop.loss_pct, lost_count(hop), hop.sent)


def worst_hop(snap, diagnosis) -> tuple[str, float]:
    """(text, sort key) of a target's worst hop: where ``diagnosis`` (a pingmos.diagnosis.Diagnosis, or None)
    locates a problem, in its words (``Diagnosis.short``, the report's CSV diagnosis column: "problem starts at hop
    4", "problem between hop 2 and hop 5"); else the lowest MOS among the measured hops the diagnosis does not call
    rate-limited, said so ("lowest MOS: 3 198.18.0.4 (3.21)"). A silent router has no MOS (``HopReport.unmeasured``)
    and a rate-limited one loses only its own replies: neither is the path's worst. Sort key: a located problem
    first (below any MOS, by its first hop), then the MOS; 9.9 for none."""
    status = getattr(diagnosis, "status", None)
    span = getattr(diagnosis, "location_ttls", None)
    if status == PROBLEM and span is not None:
        return display_text(diagnosis.short), span[0] / 1000.0
    limited = set(getattr(diagnosis, "rate_limited_ttls", ()) or ())
    measured = [h for h in snap.hops if h.mos is not None and not h.unmeasured and h.ttl not in limited]
    if not measured:
        return "", 9.9
    worst = min(measured, key=lambda h: h.mos)
    return f"lowest MOS: {worst.ttl} {display_text(worst.address or '???')} ({worst.mos:.2f})", worst.mos


def _problem_words(view: TargetView) -> str:
    """A problem as the report's mark and /metrics give it (``diagnosis.range_words``, short): "problem starts at hop
    4", or for a range of hops "problem between hop 3 and hop 6" / "problem at or before hop 6" (never "hop None")."""
    if view.diagnosis_ttl is not None:
        return f"problem starts at hop {view.diagnosis_ttl}"
    if view.diagnosis_span is not None:
        return range_words(view.diagnosis_span, short=True)
    return "problem"


def summary_row(view: TargetView, host: str) -> tuple[list[str], list[object], float | None, float | None]:
    """(cell texts, sort keys, destination MOS, destination loss %) of one target. The destination is the last
    visible hop; its MOS is a call's, as /metrics serves it (``metrics.path_end``): the floor, 1, where the
    destination answered none of the window's rounds (nothing got through, or a router answers "unreachable":
    that router's own round trip is no call's quality)."""
    snap = view.snapshot
    name, host = display_text(view.name), display_text(host)  # a config's names, DNS answers: safe to show
    if snap is None or not snap.hops:
        texts = [name, host, "", "", "", "", "", "", "", "waiting for the first window"]
        return texts, [name, host, 0, 9.9, 9.9, "", -1, -1, "", ""], None, None
    last = snap.hops[-1]
    end = path_end(snap)
    if end is not None:
        mos = end[1]
    else:  # fewer rounds than /metrics scores: the hop's own figure, as the hop table shows it meanwhile
        mos = last.mos if last.received else (1.0 if last.sent else None)
    worst_text, worst_key = worst_hop(snap, view.diagnosis)
    ci = getattr(last, "mos_ci", None)
    ci_text = f"{ci[0]:.2f} - {ci[1]:.2f}" + (FEW_SAMPLES_MARK if last.mos_ci_few_samples else "") if ci else ""
    firing = sorted(rule for rule, on in view.alerts.items() if on)
    status = view.diagnosis_status or ""
    diagnosis = {"problem": _problem_words(view), "no_problem": "no problem", "undecided": "undecided"}.get(
        status, status
    )
    if view.up is False:  # None: not tried yet
        diagnosis = "not tracing (see the agent's log)" + (f"; {diagnosis}" if diagnosis else "")
    texts = [name, host, str(len(snap.hops)), worst_text, _fmt(mos, 2), ci_text, loss_cell(last),
             _fmt(last.avg_ms, 1), ", ".join(firing), diagnosis]  # fmt: skip
    keys = [name, host, len(snap.hops), worst_key, mos if mos is not None else 9.9,
            ci[0] if ci else 9.9, last.loss_pct if last.loss_pct is not None else -1,
            last.avg_ms if last.avg_ms is not None else -1, len(firing), diagnosis]  # fmt: skip
    return texts, keys, mos, last.loss_pct


class SummaryModel(QAbstractTableModel):
    def __init__(self, thresholds: Thresholds, parent=None):
        super().__init__(parent)
        self.thresholds = thresholds
        self.rows: list[tuple[list[str], list[object], float | None, float | None]] = []
        self.names: list[str] = []

    def set_views(self, views: list[TargetView], hosts: dict[str, str]) -> None:
        rows = [summary_row(v, hosts.get(v.name, "")) for v in views]
        if [v.name for v in views] != self.names:
            self.beginResetModel()
            self.rows, self.names = rows, [v.name for v in views]
            self.endResetModel()
            return
        self.rows = rows
        if rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(COLUMNS) - 1))

    def rowCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return TOOLTIPS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        texts, keys, mos, loss = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return texts[col]
        if role == SORT_ROLE:
            return keys[col]
        if role == Qt.ItemDataRole.BackgroundRole:
            band = None
            if col == COL_MOS:
                band = mos_band(mos, self.thresholds)
            elif col == COL_LOSS:
                band = loss_band(loss, self.thresholds)
            if band is not None:
                return QBrush(QColor(BAND_COLOURS[band]))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (2, 4, 5, 6, 7):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class SharedTrace:
    """The agent's running LiveTrace as a main window sees it: everything is passed through except what would
    stop the agent's trace (stop, close) or change its settings (port); observers the window adds are cut off
    when the window closes, so nothing calls into a closed window."""

    _OWN = ("_trace", "_closed")

    def __init__(self, trace) -> None:
        object.__setattr__(self, "_trace", trace)
        object.__setattr__(self, "_closed", False)

    def __getattr__(self, name):
        return getattr(self._trace, name)

    def __setattr__(self, name, value) -> None:
        if name in self._OWN:
            object.__setattr__(self, name, value)
        # Anything else (the window's port box) stays the agent's: the trace is configured by its file.

    def add_observer(self, observer) -> None:
        self._trace.add_observer(lambda sample: None if self._closed else observer(sample))

    def start(self) -> None:
        if not self._trace.running:
            self._trace.start()

    def stop(self) -> None:
        """The agent keeps tracing; a window only stops watching."""

    def close(self) -> None:
        object.__setattr__(self, "_closed", True)


class SummaryWindow(QMainWindow):
    """One row per target of ``agent`` (a ``pingmos.monitor.agent.Agent``, started by the caller). ``run_loop``:
    run the agent's loop in a thread of this window (False: the caller ticks the agent, as tests do); ``reread``:
    how that loop reads the configuration again on SIGHUP; ``settings``: the SettingsStore of the main windows
    opened from rows (None = the user's)."""

    def __init__(self, agent, run_loop: bool = True, refresh_ms: int = 1000, thresholds: Thresholds | None = None,
                 settings=None, reread=None):  # fmt: skip
        super().__init__()
        self.agent = agent
        self.settings = settings  # the main windows' SettingsStore (None = the user's)
        self.thresholds = thresholds or Thresholds()
        self.setWindowTitle(f"pingmos - {len(agent.runners)} targets" + (
            f" from {agent.config.vantage}" if agent.config.vantage else ""))  # fmt: skip
        self.model = SummaryModel(self.thresholds, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setTabKeyNavigation(False)  # Tab leaves the table, arrows move in it: no keyboard trap
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.doubleClicked.connect(self._open_row)
        self.setCentralWidget(self.table)
        self.status = QLabel()
        self.statusBar().addWidget(self.status)
        self.windows: dict[str, QMainWindow] = {}  # target name -> its open main window
        self._thread = None
        if run_loop:
            self._thread = threading.Thread(target=agent.run, args=(reread,), name="pingmos-agent", daemon=True)
            self._thread.start()
        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.update_rows)
        self.timer.start()
        resize_within_screen(self, 1100, 120 + 28 * max(3, len(agent.runners)))
        self.update_rows()

    def update_rows(self) -> None:
        views = self.agent.views()
        hosts = {name: r.cfg.host + (f" + SIP {r.cfg.sip.port}" if r.cfg.sip else "")
                 for name, r in list(self.agent.runners.items())}  # fmt: skip
        self.model.set_views(views, hosts)
        health = self.agent.health()
        firing = sum(any(v.alerts.values()) for v in views)
        rate = "probes/s not measured yet" if health.probes_per_s is None else f"{health.probes_per_s:.0f} probes/s"
        self.status.setText(f"{health.targets} targets, {rate}, {firing} with alerts "
                            "firing; double-click a row to open its trace")  # fmt: skip

    def target_at(self, row: int) -> str:
        return self.proxy.index(row, 0).data()

    def _open_row(self, index) -> None:
        self.open_target(self.proxy.index(index.row(), 0).data())

    def open_target(self, name: str):
        """Open (or raise) the main window showing target ``name``'s trace; returns it."""
        from pingmos.gui.main_window import MainWindow

        window = self.windows.get(name)
        if window is not None and window.isVisible():
            window.raise_()
            window.activateWindow()
            return window
        runner = self.agent.runners.get(name)
        if runner is None:
            return None
        cfg = runner.cfg
        window = MainWindow(self.settings, trace_factory=lambda *_: SharedTrace(runner.trace))
        window.target_combo.setCurrentText(cfg.host)
        index = window.protocol_combo.findData(cfg.protocol)
        if index >= 0:
            window.protocol_combo.setCurrentIndex(index)
        window.interval_spin.setValue(cfg.interval_s)
        window.start()
        window.setWindowTitle(f"pingmos - {display_text(name)} ({display_text(cfg.host)}), traced by the agent")
        window.show()
        self.windows[name] = window
        return window

    def closeEvent(self, event) -> None:
        self.timer.stop()
        for window in self.windows.values():
            window.close()
        self.agent.stop()
        if self._thread is not None:
            self._thread.join(5)
        super().closeEvent(event)


def run_summary(agent, reread) -> None:
    """``pingmos monitor --window``: show the summary window of ``agent``'s targets (started by the caller) until it
    closes; the agent's loop runs in a thread of the window and reloads with ``reread`` on SIGHUP."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("pingmos")
    app.setOrganizationName("pingmos")
    win = SummaryWindow(agent, reread=reread)
    win.show()
    # The signal is kept (agent.stop) for the exit status: 130 / 143 as without the window.
    signal.signal(signal.SIGINT, lambda signum, _: (agent.stop(signum), win.close()))
    signal.signal(signal.SIGTERM, lambda signum, _: (agent.stop(signum), win.close()))
    wake = QTimer()  # lets Python run signal handlers while Qt waits
    wake.timeout.connect(lambda: None)
    wake.start(200)
    app.exec()
