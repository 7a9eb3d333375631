"""Status texts that end in "…" when the window is too narrow for them, the whole text in their tooltip.

A status line laid out narrower than its text (its width must never set the window's minimum) was cut wherever the
window's edge fell, mid-word and without a mark: at 800 x 500 "ICMP echo every 1 s, via simulated r" and
"opened /tmp/…/live.pmsession: 1000 samples from 2026-11-30 20:0" (a time read as 20:00).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QStatusBar, QStyle, QStyleOption, QToolTip, QWidget

ELLIPSIS_MARGIN_PX = 4  # room kept free at the right of an elided text
_ROOM_EVENTS = (QEvent.Type.Show, QEvent.Type.Hide, QEvent.Type.Move, QEvent.Type.Resize)


class ElidedLabel(QLabel):
    """A one-line plain-text QLabel that draws its text elided at the right when it is wider than the label.
    Its tooltip then starts with the whole text (followed by the tooltip set on it, if any)."""

    def elided(self) -> bool:
        """Whether the text is drawn cut short (tests)."""
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def shown_text(self) -> str:
        """The text as drawn: whole, or cut short with "…" to the label's width."""
        if not self.elided():
            return self.text()
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if not self.elided():
            super().paintEvent(event)
            return
        rect = self.contentsRect()
        text = self.shown_text()
        painter = QPainter(self)
        option = QStyleOption()
        option.initFrom(self)
        align = self.alignment() | Qt.AlignmentFlag.AlignVCenter
        self.style().drawItemText(
            painter, rect, int(align), option.palette, self.isEnabled(), text, self.foregroundRole()
        )

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip and self.elided():
            own = self.toolTip()
            QToolTip.showText(event.globalPos(), self.text() + (f"\n\n{own}" if own else ""), self)
            return True
        return super().event(event)


class ElidingStatusBar(QStatusBar):
    """A QStatusBar whose temporary messages (``showMessage``) end in "…" when they do not fit beside the permanent
    widgets (elided again when the bar is resized), the whole message then in the bar's tooltip while it is shown.
    (QStatusBar draws a message itself, cut at the first permanent widget.) ``currentMessage`` gives the message
    whole."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._permanent: list[QWidget] = []
        self._full = ""  # the message as given
        self._until: float | None = None  # when it goes (monotonic s; None: when replaced)
        self.messageChanged.connect(self._message_changed)

    def addPermanentWidget(self, widget: QWidget, stretch: int = 0) -> None:  # noqa: N802 - Qt's name
        self._permanent.append(widget)
        super().addPermanentWidget(widget, stretch)
        # Its room changes when a permanent widget shows, hides or moves (an alert's label appears with the
        # alert's message: elided to the whole bar, the message was cut at the label again).
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() in _ROOM_EVENTS and self._full:
            QTimer.singleShot(0, self, self._reshow)  # once the bar's layout has placed the widget
        return False

    def showMessage(self, message: str, timeout: int = 0) -> None:  # noqa: N802 - Qt's name
        self._full = message
        self._until = time.monotonic() + timeout / 1000.0 if timeout > 0 else None
        self._show(timeout)

    def _show(self, timeout_ms: int) -> None:
        message = self._full
        shown = message
        if message:
            shown = self.fontMetrics().elidedText(message, Qt.TextElideMode.ElideRight, self.message_room())
        super().showMessage(shown, timeout_ms)
        self.setToolTip(message if shown != message else "")

    def currentMessage(self) -> str:  # noqa: N802 - Qt's name
        return self._full if super().currentMessage() else ""

    def message_room(self) -> int:
        """The width (px) a temporary message is drawn in: from the bar's left edge to its first visible
        permanent widget."""
        right = self.width()
        for widget in self._permanent:
            if widget.isVisible() and widget.width() > 0:
                right = min(right, widget.x())
        margin = self.style().pixelMetric(QStyle.PixelMetric.PM_LayoutLeftMargin)
        return max(40, right - ELLIPSIS_MARGIN_PX - 2 * margin)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._reshow()

    def _reshow(self) -> None:
        """The message shown again, elided to the room there is now, for the time it has left."""
        if not self._full or not super().currentMessage():
            return
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, self.message_room())
        if shown == super().currentMessage():
            return
        left_ms = 0 if self._until is None else max(1, int((self._until - time.monotonic()) * 1000))
        self._show(left_ms)

    def _message_changed(self, message: str) -> None:
        if not message:  # timed out or cleared: the whole message and its tooltip went with it
            self._full = ""
            self.setToolTip("")
