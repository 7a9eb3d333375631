"""The event log dock: every alert that fired or cleared (with the values that caused it), newest at the bottom,
and notes such as a rule command's failure. What a session's event log holds is what this shows; an opened
session shows its recorded events. Export goes through File > Export > Event log.

By keyboard: View > Event log in its own window (Ctrl+Shift+L) floats the log and docks it again, from the main window
or from the floated log itself, and so does the button at the right of the log's line (a Tab stop); the mouse's
ways (the title bar's buttons, a double click) reach no keyboard. Floated, the focus goes into the log; docked
again, it stays in it. Whether it floats is part of the window's state kept between runs (main_window)."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from pingmos.display_text import display_text
from pingmos.gui.elided import ElidedLabel
from pingmos.session import SessionEvent

FIRE_COLOUR = "#f8d0cc"
CLEAR_COLOUR = "#d7eed3"
NOTE_COLOUR = "#ececec"
COLUMNS = ("time", "event", "what happened")
ROWS_HEIGHT = 150  # the log's height once it has rows: its summary, the header and about four rows
# A window lower than this keeps the log to its summary line with the latest event (at 800 x 500 a log of two rows
# left the hop table two rows); the rows come back when the window is higher, or with the dock floated.
LOW_WINDOW_PX = 620
FLOAT_KEYS = "Ctrl+Shift+L"  # floats the log, or docks it again


def event_text(event: SessionEvent) -> str:
    """The sentence for one event: an alert's own message, else its data in words."""
    message = event.data.get("message")
    if isinstance(message, str) and message:
        return message
    return ", ".join(f"{k} {v}" for k, v in sorted(event.data.items())) or event.kind


def kind_text(kind: str) -> str:
    return {"alert-fire": "alert fired", "alert-clear": "alert cleared"}.get(kind, kind)


class EventLogDock(QDockWidget):
    """``add(event)`` for a session event (recorded); ``add_note(text)`` for a line that is only shown."""

    def __init__(self, parent=None):
        super().__init__("Event log", parent)
        self.setObjectName("event_log_dock")
        self._events: list[SessionEvent] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setTabKeyNavigation(False)  # Tab leaves the table, arrows move in it: no keyboard trap
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.summary = ElidedLabel("No alerts yet.")
        # A long latest event shrinks with the window instead of widening it, and ends in "…" (whole in the
        # tooltip): at 800 x 500 it was cut at the buttons mid-word ("...fired for 198.18.5.2: M").
        self.summary.setTextFormat(Qt.TextFormat.PlainText)  # (an event's text is never markup)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.low = False  # in a low window: the summary line only (set_low)
        self._low_window = False
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("save the event log as CSV or JSON")
        self.rules_button = QPushButton("Alert rules…")
        # In a low window the dock's title bar goes (its line is the hop table's): the log's name then heads the
        # summary, and a button floats the log (what the title bar's button did).
        self.name_label = QLabel("<b>Event log:</b>")
        # Floats the log or docks it again: the View menu's entry, its shortcut (which works from the floated log
        # too: it is the dock's action as well as the window's) and the button's.
        self.float_action = QAction("&Event log in its own window", self)
        self.float_action.setCheckable(True)
        self.float_action.setShortcut(QKeySequence(FLOAT_KEYS))
        self.float_action.setStatusTip("the event log in a window of its own, with its rows, or back in the window")
        self.float_action.toggled.connect(self.set_floating)
        self.addAction(self.float_action)
        self.topLevelChanged.connect(self._floating_changed)
        self.float_button = QToolButton()
        self.float_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.float_button.clicked.connect(lambda: self.set_floating(not self.isFloating()))
        self._float_button_for(False)
        self._empty_title = QWidget()
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.name_label)
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.rules_button)
        bar.addWidget(self.export_button)
        bar.addWidget(self.float_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self.setWidget(body)
        self.body = body
        self._compact(True)

    def set_low(self, low: bool) -> None:
        """In a low window (``LOW_WINDOW_PX``) a docked log is its summary line, with the latest event in it: the
        hop table and timeline keep their room. Floated, the log is a window of its own and keeps its rows."""
        self._low_window = low
        low = low and not self.isFloating()
        if low != self.low:
            self.low = low
            self._compact(self.table.rowCount() == 0)

    def set_floating(self, floating: bool) -> None:
        """Float the log (a window of its own, with its rows) or dock it again, and put the keyboard's focus in it:
        its table when it shows rows, else its float button. A hidden log is shown first."""
        if not self.isVisible():
            self.show()
        if floating != self.isFloating():
            self.setFloating(floating)
        if floating:
            self.raise_()
        self.activateWindow()  # (docked again: the main window, where the floated log's active window went)
        focus = self.table if self.table.isVisible() else self.float_button
        focus.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _floating_changed(self, floating: bool) -> None:
        self.float_action.blockSignals(True)  # (a mouse's float or dock: the entry follows, and does nothing)
        self.float_action.setChecked(floating)
        self.float_action.blockSignals(False)
        self._float_button_for(floating)
        self.set_low(self._low_window)
        self._compact(self.table.rowCount() == 0)

    def _float_button_for(self, floating: bool) -> None:
        icon = QStyle.StandardPixmap.SP_TitleBarMaxButton if floating else QStyle.StandardPixmap.SP_TitleBarNormalButton
        self.float_button.setIcon(self.style().standardIcon(icon))
        what = "put the event log back in the main window" if floating else "show the event log in a window of its own"
        self.float_button.setToolTip(f"{what} ({FLOAT_KEYS})")
        self.float_button.setAccessibleName("dock the event log" if floating else "float the event log")

    def _summary_text(self) -> str:
        fired = sum(e.kind == "alert-fire" for e in self._events)
        cleared = sum(e.kind == "alert-clear" for e in self._events)
        text = f"{fired} fired, {cleared} cleared" if self._events else "No alerts yet."
        last = self.table.rowCount() - 1
        if self.low and last >= 0:
            stamp, kind, what = (self.table.item(last, c).text() for c in range(3))
            text += f" · latest: {stamp[-8:]} {kind}: {what}"
        return text

    def _compact(self, empty: bool) -> None:
        """An empty log is one line (what it would show, and its buttons), not a blank table taking the room the
        hop table and timeline need; the table appears with the first row (in a low window: see set_low)."""
        empty = empty or self.low
        self.table.setVisible(not empty)
        self.name_label.setVisible(self.low)
        # (docked in a higher window, the title bar's own buttons float it, and the View menu's entry)
        self.float_button.setVisible(self.low or self.isFloating())
        if (self.titleBarWidget() is self._empty_title) != self.low:
            self.setTitleBarWidget(self._empty_title if self.low else None)
        self.summary.setText(self._summary_text())
        self.summary.setToolTip(
            "the rows show in a higher window, or with the log floated (the button at the right)" if self.low else ""
        )
        if empty:
            self.body.setMaximumHeight(self.body.layout().itemAt(0).sizeHint().height() + 6)
        else:
            self.body.setMaximumHeight(16777215)
            window = self.parentWidget()
            if hasattr(window, "resizeDocks") and not self.isFloating():
                # Room for a few rows, but never more than a fifth of the window (800 x 500: the table first).
                height = min(ROWS_HEIGHT, max(60, window.height() // 5))
                window.resizeDocks([self], [height], Qt.Orientation.Vertical)

    def session_events(self) -> list[SessionEvent]:
        """The events of the session shown, oldest first (notes are not among them)."""
        return list(self._events)

    def clear(self) -> None:
        self._events = []
        self.table.setRowCount(0)
        self.summary.setText("No alerts yet.")
        self._compact(True)

    def set_events(self, events) -> None:
        self.clear()
        for event in events:
            self.add(event)

    def add(self, event: SessionEvent) -> None:
        self._events.append(event)
        colour = FIRE_COLOUR if event.kind == "alert-fire" else CLEAR_COLOUR if event.kind == "alert-clear" else ""
        self._row(event.at, kind_text(event.kind), event_text(event), colour)
        self.summary.setText(self._summary_text())

    def add_note(self, text: str, at: float | None = None) -> None:
        self._row(time.time() if at is None else at, "note", text, NOTE_COLOUR)

    def _row(self, at: float, kind: str, text: str, colour: str) -> None:
        text = display_text(text)  # a session's events are the file's text: nothing in it may control the view
        row = self.table.rowCount()
        if row == 0:
            self._compact(False)
        self.table.insertRow(row)
        try:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))
        except (OverflowError, OSError, ValueError):  # a time no calendar holds (a crafted file): show, never raise
            stamp = "?"
        for col, value in enumerate((stamp, kind, text)):
            item = QTableWidgetItem(value)
            item.setToolTip(text)
            if colour:
                item.setBackground(QColor(colour))
            if col < 2:
                item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, col, item)
        self.table.scrollToBottom()
        self.summary.setText(self._summary_text())

    def rows(self) -> list[tuple[str, str, str]]:
        """What the table shows (tests, copy)."""
        out = []
        for r in range(self.table.rowCount()):
            out.append(tuple(self.table.item(r, c).text() for c in range(len(COLUMNS))))
        return out
