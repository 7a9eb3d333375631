"""What to trace and how to score it: the toolbar (target, Start, interval, samples, protocol, port) and the scoring
row under it (model, its settings in words and units, Edit formula). Widgets only; the main window connects
them to its commands."""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QAction, QKeySequence, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QToolBar,
    QToolButton,
    QWidget,
)

from pingmos.engine import MAX_INTERVAL_S, MIN_INTERVAL_S
from pingmos.gui.model_settings import ModelSettingsBox
from pingmos.gui.settings_store import SettingsStore
from pingmos.run import default_port

INTERVAL_TIP = "seconds between rounds; a change starts a new trace at the next Start"
WINDOW_CHOICES = ("10", "50", "100", "200", "500", "600", "all")  # 600: run.LIVE_WINDOW, the default
WINDOW_TIP = "samples to include: the last N samples of each hop, or all of them"
WINDOW_MAX = 9_999_999  # (seven digits: more samples than a hop keeps in memory for weeks at 1 round/s)
START_KEYS = (QKeySequence("F5"), QKeySequence("Ctrl+Return"))


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


def window_text(window: int | None) -> str:
    """The Samples box's text for ``window`` (parse_window's inverse)."""
    return "all" if window is None else str(window)


class WindowValidator(QRegularExpressionValidator):
    """The Samples box takes 'all' or a whole number 1..WINDOW_MAX, nothing else: "0", "-5", "abc", "1e309" or
    "2.5" cannot be typed (a key that would make it so is refused). Left with a part ("", "al"), the box goes
    back to the window in force (``in_force``), so that it always shows the window the table is computed with."""

    def __init__(self, in_force, parent=None):
        super().__init__(QRegularExpression(f"(?i)all|[1-9][0-9]{{0,{len(str(WINDOW_MAX)) - 1}}}"), parent)
        self.in_force = in_force

    def fixup(self, _text: str) -> str:
        return window_text(self.in_force())


def _label(text: str, buddy: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(buddy)  # Alt+<underlined letter> goes to the field
    return label


class TraceToolbar(QToolBar):
    """Target, Start/Stop, interval, samples, protocol and port. Start is in the tab order after the target."""

    def __init__(self, settings: SettingsStore, window_size: int | None, parent=None):
        super().__init__("Trace", parent)
        self.settings = settings
        self.setObjectName("trace_toolbar")
        self.setMovable(False)

        self.target_combo = QComboBox()
        self.target_combo.setEditable(True)
        self.target_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.target_combo.setMinimumContentsLength(18)
        self.target_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.target_combo.addItems(settings.recent_targets())
        self.target_combo.lineEdit().setPlaceholderText("host name, IPv4 or IPv6 address")
        self.target_combo.setToolTip("host to trace; Enter starts (Ctrl+L comes back here)")
        self.target_combo.setAccessibleName("target")
        # (Alt+R: Alt+T opens the Trace menu, and a letter shared with it went to either, by turns.)
        self.addWidget(_label(" Ta&rget ", self.target_combo))
        self.addWidget(self.target_combo)

        self.start_action = QAction("Start", self)
        self.start_action.setShortcuts(list(START_KEYS))
        self.start_action.setToolTip("start tracing the target; again to stop (F5 or Ctrl+Enter)")
        self.addAction(self.start_action)
        self.start_button: QToolButton = self.widgetForAction(self.start_action)
        self.start_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # tool buttons take no focus by default
        self.addSeparator()

        self.interval_spin = QDoubleSpinBox()
        self.interval_spin.setRange(MIN_INTERVAL_S, MAX_INTERVAL_S)
        self.interval_spin.setDecimals(1)
        self.interval_spin.setSingleStep(0.5)
        self.interval_spin.setSuffix(" s")
        self.interval_spin.setValue(settings.interval_s())
        self.interval_spin.setToolTip(INTERVAL_TIP)
        self.interval_spin.valueChanged.connect(self._interval_edited)
        self.addWidget(_label(" &Interval ", self.interval_spin))
        self.addWidget(self.interval_spin)

        self.window_combo = QComboBox()
        self.window_combo.setEditable(True)
        self.window_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.window_combo.addItems(WINDOW_CHOICES)
        self.window_combo.setCurrentText(window_text(window_size))
        self.window_in_force = window_size  # the main window keeps it up to date
        self.window_combo.setValidator(WindowValidator(lambda: self.window_in_force, self.window_combo))
        self.window_combo.setMinimumContentsLength(5)
        self.window_combo.setToolTip(WINDOW_TIP)
        self.window_combo.setAccessibleName("samples per hop")
        self.addWidget(_label(" &Samples ", self.window_combo))  # (Alt+A is the Alerts menu's)
        self.addWidget(self.window_combo)

        self.protocol_combo = QComboBox()
        self.protocol_combo.addItem("ICMP", "icmp")
        self.protocol_combo.addItem("UDP", "udp")
        self.protocol_combo.addItem("TCP", "tcp")
        self.protocol_combo.setCurrentIndex(max(0, self.protocol_combo.findData(settings.protocol())))
        self.protocol_combo.setToolTip("probe protocol; a change starts a new trace at the next Start")
        self.protocol_combo.setAccessibleName("protocol")
        self.addWidget(_label(" &Protocol ", self.protocol_combo))
        self.addWidget(self.protocol_combo)
        self.port_spin = QSpinBox()
        self.port_spin.setRange(0, 65535)
        self.port_spin.setSpecialValueText("-")  # 0: no port (ICMP), or the engine's default port
        self.port_spin.setToolTip(
            "destination port of the UDP or TCP probes; a change starts a new trace at the next Start"
        )
        self.port_spin.valueChanged.connect(lambda value: settings.set_port(self.protocol_combo.currentData(), value))
        self.port_label = _label(" P&ort ", self.port_spin)
        self.addWidget(self.port_label)
        self.addWidget(self.port_spin)
        self.protocol_combo.currentIndexChanged.connect(lambda _: self.protocol_changed())
        self.protocol_changed()

    def _interval_edited(self, value: float) -> None:
        if value < MIN_INTERVAL_S:
            return  # the blank of a record whose interval is not known (show_record_interval): not a choice
        if self.interval_spin.minimum() < MIN_INTERVAL_S:
            self._live_interval_field()
        self.settings.set_interval_s(value)

    def _live_interval_field(self) -> None:
        spin = self.interval_spin
        spin.setMinimum(MIN_INTERVAL_S)
        spin.setSpecialValueText("")
        spin.setToolTip(INTERVAL_TIP)

    def show_record_interval(self, interval_s: float | None) -> None:
        """Show an opened record's interval (s) in the field, never the next live trace's: a pingmos session's own;
        None (a file that does not record it: mtr, Trippy, RIPE Atlas) or one the field cannot show exactly leaves
        it blank. Not remembered as the user's choice; Start then probes at what the field shows (blank: the
        interval remembered, ``take_interval_s``)."""
        spin = self.interval_spin
        spin.blockSignals(True)
        try:
            decimals = next((d for d in (1, 2, 3) if interval_s is not None and round(interval_s, d) == interval_s), 0)
            if decimals and MIN_INTERVAL_S <= interval_s <= MAX_INTERVAL_S:
                self._live_interval_field()
                spin.setDecimals(decimals)
                spin.setValue(interval_s)
                spin.setToolTip(f"the opened record's interval; {INTERVAL_TIP}")
            else:
                spin.setMinimum(0.0)
                spin.setSpecialValueText(" ")  # shown at the minimum: blank
                spin.setValue(0.0)
                spin.setToolTip(f"the opened record does not say its interval; {INTERVAL_TIP}")
        finally:
            spin.blockSignals(False)

    def take_interval_s(self) -> float:
        """The interval (s) the next trace probes at: the field's; while it is blank (a record's unknown interval),
        the remembered one, which the field then shows."""
        value = round(self.interval_spin.value(), 3)
        if value >= MIN_INTERVAL_S:
            return value
        value = self.settings.interval_s()
        spin = self.interval_spin
        spin.blockSignals(True)
        try:
            self._live_interval_field()
            spin.setDecimals(max(1, next((d for d in (1, 2, 3) if round(value, d) == value), 3)))
            spin.setValue(value)
        finally:
            spin.blockSignals(False)
        return round(spin.value(), 3)

    def protocol_changed(self) -> None:
        protocol = self.protocol_combo.currentData()
        self.settings.set_protocol(protocol)
        on = protocol in ("udp", "tcp")
        self.port_spin.setEnabled(on)
        self.port_label.setEnabled(on)
        self.port_spin.blockSignals(True)
        if on:  # each protocol keeps its own port (TCP 80 or 443, UDP traceroute's 33434 or a service's)
            port = self.settings.port(protocol)
            self.port_spin.setValue(port or default_port(protocol))
        else:
            self.port_spin.setValue(0)
        self.port_spin.blockSignals(False)

    def port(self) -> int | None:
        """The destination port the next UDP/TCP trace probes (None for ICMP)."""
        if self.protocol_combo.currentData() not in ("udp", "tcp"):
            return None
        return self.port_spin.value() or None  # 0 = the engine's default

    def fields(self) -> list[QWidget]:
        """The toolbar's fields in tab order."""
        return [
            self.target_combo,
            self.start_button,
            self.interval_spin,
            self.window_combo,
            self.protocol_combo,
            self.port_spin,
        ]


class ScoringRow(QWidget):
    """The model (its whole name shown), its settings in words and units (wrapping to a second line when the
    window is narrow), and Edit formula."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model_combo = QComboBox()
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # never "g107-playo"
        self.model_combo.setToolTip("scoring model that turns each hop's window into R and MOS (Ctrl+M)")
        self.model_combo.setAccessibleName("scoring model")
        self.settings_box = ModelSettingsBox()
        self.edit_formula_action = QAction("Edit &formula…", self)
        self.edit_formula_action.setShortcut(QKeySequence("Ctrl+E"))
        self.edit_formula_action.setToolTip("open the current model's formula in an editor (Ctrl+E)")
        self.edit_formula_button = QToolButton()
        self.edit_formula_button.setDefaultAction(self.edit_formula_action)
        self.edit_formula_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        row.addWidget(_label("&Model", self.model_combo), 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.model_combo, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.settings_box, 1)
        row.addWidget(self.edit_formula_button, 0, Qt.AlignmentFlag.AlignTop)

    def fields(self) -> list[QWidget]:
        return [self.model_combo, *self.settings_box.fields(), self.edit_formula_button]
