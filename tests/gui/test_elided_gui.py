"""Status texts too long for an 800 x 500 window end in "…" with the whole text in their tooltip, instead of being
cut mid-word at the window's edge ("…via simulated r", "…samples from 2026-11-30 20:0")."""

from PySide6.QtCore import QEvent, QPoint
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QStatusBar, QToolTip

from tests.gui.conftest import WAIT_MS

LONG_MESSAGE = (
    "opened /tmp/pingmos-sessions/a-rather-long-folder-name/live_independent_losses.pmsession: 1000 samples from "
    "2026-11-30 20:07"
)


def small_window(qtbot, make_window):
    window = make_window()
    window.resize(800, 500)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.width() <= 820, timeout=WAIT_MS)
    return window


def test_a_long_status_line_ends_in_an_ellipsis_and_its_tooltip_has_it_whole(qtbot, make_window):
    window = small_window(qtbot, make_window)
    label = window.status_label
    text = "running  |  rounds 40  |  probes sent 227  |  elapsed 0:00:00  |  " + "x" * 60 + " via simulated network"
    label.setText(text)
    qtbot.waitUntil(lambda: 0 < label.contentsRect().width() < label.fontMetrics().horizontalAdvance(text))
    shown = label.shown_text()
    assert shown.endswith("\u2026") and text.startswith(shown[:-1].rstrip())
    assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width()
    QApplication.sendEvent(label, QHelpEvent(QEvent.Type.ToolTip, QPoint(5, 5), label.mapToGlobal(QPoint(5, 5))))
    qtbot.waitUntil(lambda: QToolTip.isVisible(), timeout=WAIT_MS)
    assert QToolTip.text().startswith(text)
    QToolTip.hideText()


def test_a_short_status_line_is_drawn_as_it_is(qtbot, make_window):
    window = small_window(qtbot, make_window)
    window.status_label.setText("stopped")
    assert window.status_label.shown_text() == "stopped"


def test_a_long_status_message_ends_in_an_ellipsis_and_its_tooltip_has_it_whole(qtbot, make_window):
    window = small_window(qtbot, make_window)
    bar = window.statusBar()
    bar.showMessage(LONG_MESSAGE, 15000)
    shown = QStatusBar.currentMessage(bar)  # what the bar draws
    assert shown.endswith("\u2026") and LONG_MESSAGE.startswith(shown[:-1].rstrip())
    assert bar.fontMetrics().horizontalAdvance(shown) <= bar.message_room() < bar.width()
    assert bar.toolTip() == LONG_MESSAGE and bar.currentMessage() == LONG_MESSAGE
    window.resize(1280, 500)  # elided again to the new width
    qtbot.waitUntil(lambda: len(QStatusBar.currentMessage(bar)) > len(shown), timeout=WAIT_MS)
    bar.clearMessage()
    assert bar.toolTip() == ""
    bar.showMessage("copied to the clipboard", 5000)
    assert bar.currentMessage() == "copied to the clipboard" and bar.toolTip() == ""


def test_the_event_log_s_summary_line_ends_in_an_ellipsis_at_800_by_500(qtbot, make_window):
    import time

    from pingmos.session import SessionEvent

    window = small_window(qtbot, make_window)
    log = window.evidence.event_log
    message = "MOS below 3.6 at the destination fired for 198.18.5.2: MOS 2.70 at hop 6 over the last 10 s"
    log.add(SessionEvent(time.time(), "alert-fire", {"rule": "r", "message": message}))
    summary = log.summary
    qtbot.waitUntil(lambda: log.low and "latest:" in summary.text(), timeout=WAIT_MS)
    metrics = summary.fontMetrics()
    qtbot.waitUntil(lambda: 0 < summary.contentsRect().width() < metrics.horizontalAdvance(summary.text()))
    shown = summary.shown_text()
    assert shown.endswith("\u2026") and summary.text().startswith(shown[:-1].rstrip())
    assert summary.fontMetrics().horizontalAdvance(shown) <= summary.contentsRect().width()


def test_a_message_is_elided_again_when_a_permanent_label_appears_beside_it(qtbot, make_window):
    """An alert's message and its red label in the status bar come together: elided to the whole bar before the
    label showed, the message was then cut at the label without its "…" (seen at 1280 x 800)."""
    window = make_window()
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    bar = window.statusBar()
    label = window.evidence.firing_label
    label.hide()
    message = "MOS below 3.6 at the destination fired for 198.18.5.2: MOS 3.16 at hop 6 (198.18.5.2) " * 2
    bar.showMessage(message, 30000)
    label.setText("\u26a0 alert: loss above 5 % at the destination, MOS below 3.6 at the destination")
    label.show()
    qtbot.waitUntil(lambda: label.isVisible() and label.x() > 0, timeout=WAIT_MS)

    def fits() -> bool:
        shown = QStatusBar.currentMessage(bar)
        return shown.endswith("\u2026") and bar.fontMetrics().horizontalAdvance(shown) <= label.x()

    qtbot.waitUntil(fits, timeout=WAIT_MS)
    assert bar.currentMessage() == message
