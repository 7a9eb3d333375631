"""What to trace and how to score it: the toolbar (target, Start, interval, samples, protocol, port) and the scoring
row under it (model, its settings in words and units, Edit formula). Widgets only; the main window connects
them to its commands.

An opened record shows its own probing settings in the toolbar (``show_record_settings``: interval, protocol, port,
and the rest in words beside them), never the next live trace's; they are not taken for the user's choices. Start
then traces live with the user's settings again, shown at once (``show_live_settings``); a field changed while the
record is shown makes what the toolbar shows the user's choice (``_take_shown``)."""

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
from pingmos.session import SessionInfo

INTERVAL_TIP = "seconds between rounds; a change starts a new trace at the next Start"
PROTOCOL_TIP = "probe protocol; a change starts a new trace at the next Start"
PORT_TIP = "destination port of the UDP or TCP probes; a change starts a new trace at the next Start"
RECORD_NOTE = "Start traces live with your own settings again"
# Files that record the protocol their probes used (mtr's and Trippy's reports do not: their "icmp" is a guess).
PROTOCOL_SOURCES = ("pingmos", "pingmos report", "samples export", "RIPE Atlas")
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
        self.protocol_combo.setToolTip(PROTOCOL_TIP)
        self.protocol_combo.setAccessibleName("protocol")
        self.addWidget(_label(" &Protocol ", self.protocol_combo))
        self.addWidget(self.protocol_combo)
        self.port_spin = QSpinBox()
        self.port_spin.setRange(0, 65535)
        self.port_spin.setSpecialValueText("-")  # 0: no port (ICMP), or the engine's default port
        self.port_spin.setToolTip(PORT_TIP)
        self.port_spin.valueChanged.connect(self._port_edited)
        self.port_label = _label(" P&ort ", self.port_spin)
        self.addWidget(self.port_label)
        self.addWidget(self.port_spin)
        # An opened record's other probing settings (max TTL, flows, timeout, rounds), in words; hidden live.
        self.record_label = QLabel()
        self.record_label.setAccessibleName("the opened record's other probing settings")
        self.record_label_action = self.addWidget(self.record_label)
        self.record_label_action.setVisible(False)
        self.record_shown = False  # the fields show an opened record's settings, not the user's
        self.protocol_combo.currentIndexChanged.connect(lambda _: self.protocol_changed())
        self.protocol_changed()

    def _interval_edited(self, value: float) -> None:
        if value < MIN_INTERVAL_S:
            return  # the blank of a record whose interval is not known (show_record_interval): not a choice
        if self.interval_spin.minimum() < MIN_INTERVAL_S:
            self._live_interval_field()
        self.settings.set_interval_s(value)
        self._take_shown()

    def _port_edited(self, value: int) -> None:
        self.settings.set_port(self.protocol_combo.currentData(), value)
        self._take_shown()

    def show_record_settings(self, info: SessionInfo) -> None:
        """Show the probing settings an opened record was made with: its interval (``show_record_interval``), its
        protocol and port in their fields (blank where the file does not record them: a guess is not shown), and
        the others it records (max TTL, flows, probe timeout, rounds asked for) in words beside them. None of them
        is taken for the user's choice; Start traces live with those again (``show_live_settings``)."""
        pingmos = info.source == "pingmos"
        self.show_record_interval(info.interval_s if pingmos else None)
        protocol = info.protocol if info.source in PROTOCOL_SOURCES else None
        port = info.extra.get("port") if pingmos else None
        port = port if isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535 else None
        combo, spin = self.protocol_combo, self.port_spin
        combo.blockSignals(True)
        spin.blockSignals(True)
        try:
            combo.setCurrentIndex(combo.findData(protocol))  # -1: blank
            on = protocol in ("udp", "tcp")
            spin.setValue((port or default_port(protocol)) if on and pingmos else 0)  # 0 shows "-"
            spin.setEnabled(on)
            self.port_label.setEnabled(on)
        finally:
            combo.blockSignals(False)
            spin.blockSignals(False)
        words = record_words(info) if pingmos else []
        recorded = f" (recorded with {', '.join(words)})" if words else ""  # (the label goes under » when narrow)
        combo.setToolTip(
            f"the opened record's protocol{recorded}; {RECORD_NOTE}" if combo.currentIndex() >= 0
            else f"the opened record does not say its protocol; {RECORD_NOTE}"
        )  # fmt: skip
        if on:
            spin.setToolTip(
                f"the opened record's destination port; {RECORD_NOTE}" if port or pingmos
                else f"the opened record does not say its destination port; {RECORD_NOTE}"
            )  # fmt: skip
        self.record_label.setText(f" recorded with {', '.join(words)} " if words else "")
        self.record_label.setToolTip(f"the opened record's other probing settings; {RECORD_NOTE}")
        self.record_label_action.setVisible(bool(words))
        self.record_shown = True

    def show_live_settings(self) -> None:
        """Back to live tracing: the fields show the user's own settings again (those remembered), as they were
        before a record was opened. Nothing is done when they already do."""
        if not self.record_shown:
            return
        self.record_shown = False
        self._live_fields()
        self.protocol_combo.blockSignals(True)
        self.protocol_combo.setCurrentIndex(max(0, self.protocol_combo.findData(self.settings.protocol())))
        self.protocol_combo.blockSignals(False)
        self.protocol_changed()  # its port, remembered per protocol
        self._show_interval(self.settings.interval_s())

    def _take_shown(self) -> None:
        """A field was changed while a record's settings were shown: what the toolbar shows is the user's choice
        from now on, every field of it (a UDP record's port edited, Start traces UDP to that port)."""
        if not self.record_shown:
            return
        self.record_shown = False
        self._live_fields()
        if self.protocol_combo.currentIndex() < 0:  # a record's unknown protocol: the remembered one
            self.protocol_combo.blockSignals(True)
            self.protocol_combo.setCurrentIndex(max(0, self.protocol_combo.findData(self.settings.protocol())))
            self.protocol_combo.blockSignals(False)
            self.protocol_changed()
            return
        protocol = self.protocol_combo.currentData()
        self.settings.set_protocol(protocol)
        port = self.port_spin.value()
        if protocol in ("udp", "tcp") and port and port != (self.settings.port(protocol) or default_port(protocol)):
            self.settings.set_port(protocol, port)
        if self.interval_spin.value() >= MIN_INTERVAL_S:
            self.settings.set_interval_s(round(self.interval_spin.value(), 3))

    def _live_fields(self) -> None:
        """The fields' live tooltips, the record's words hidden."""
        self.protocol_combo.setToolTip(PROTOCOL_TIP)
        self.port_spin.setToolTip(PORT_TIP)
        self.record_label_action.setVisible(False)

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
        self._show_interval(self.settings.interval_s())
        return round(self.interval_spin.value(), 3)

    def _show_interval(self, value: float) -> None:
        """``value`` (s) in the interval field, as the user's (not an edit: nothing is remembered)."""
        spin = self.interval_spin
        spin.blockSignals(True)
        try:
            self._live_interval_field()
            spin.setDecimals(max(1, next((d for d in (1, 2, 3) if round(value, d) == value), 3)))
            spin.setValue(value)
        finally:
            spin.blockSignals(False)

    def protocol_changed(self) -> None:
        protocol = self.protocol_combo.currentData()
        if protocol is None:
            return  # (blank: a record's unknown protocol, never a choice)
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
        self._take_shown()  # (the protocol picked with a record shown: the rest shown is taken with it)

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


def record_words(info: SessionInfo) -> list[str]:
    """A pingmos record's probing settings the toolbar has no field for, in words ("max TTL 30", "4 flows",
    "timeout 2 s", "100 rounds"), those it records only (a file is data: anything else is left out)."""

    def number(value, lo, hi):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and lo <= value <= hi
        return value if ok else None

    extra = info.extra if isinstance(info.extra, dict) else {}
    words = []
    if (max_ttl := number(info.max_ttl, 1, 255)) is not None:
        words.append(f"max TTL {int(max_ttl)}")
    if (flows := number(extra.get("flows"), 1, 64)) is not None:
        words.append(f"{int(flows)} flow{'s' if flows != 1 else ''}")
    if (timeout_s := number(extra.get("timeout_s"), 0.001, 3600)) is not None:
        words.append(f"timeout {timeout_s:g} s")
    if (rounds := number(extra.get("rounds"), 1, 10**9)) is not None:
        words.append(f"{int(rounds)} round{'s' if rounds != 1 else ''}")
    return words


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
