"""Every window and dialog opens within its screen (Qt's offscreen screen is 800 x 800 here): the main window, the
alert rules, the formula editor and the monitor's summary opened at 1280, 1100, 860 and 1100 px wide, wider than
such a screen, with their OK and Save buttons off it."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication

from pingmos.alerts import DEFAULT_RULES
from pingmos.gui.alerts_dialog import AlertsDialog
from pingmos.gui.formula_editor import FormulaEditor
from pingmos.gui.screen_fit import SCREEN_SHARE, resize_within_screen
from pingmos.gui.summary import SummaryWindow
from tests.monitor.test_agent import CONFIG, make_agent


def _fits(widget) -> bool:
    area = QGuiApplication.primaryScreen().availableGeometry()
    size = widget.size()
    return size.width() <= area.width() and size.height() <= area.height()


def test_the_windows_open_within_the_screen(qtbot, make_window, settings_store, tmp_path):
    area = QGuiApplication.primaryScreen().availableGeometry()
    assert area.width() < 1100  # the test means something only on a screen smaller than the windows' wishes
    window = make_window()  # no saved geometry: the default size
    assert _fits(window), (window.size(), area)
    dialog = AlertsDialog(DEFAULT_RULES, parent=window)
    qtbot.addWidget(dialog)
    assert _fits(dialog), (dialog.size(), area)
    editor = FormulaEditor(window)
    qtbot.addWidget(editor)
    assert _fits(editor), (editor.size(), area)
    agent, _ = make_agent(CONFIG, tmp_path)
    summary = SummaryWindow(agent, run_loop=False, refresh_ms=50, settings=settings_store)
    qtbot.addWidget(summary)
    assert _fits(summary), (summary.size(), area)
    agent.close()


def test_a_window_keeps_its_size_where_the_screen_has_room_and_never_goes_below_its_minimum(qtbot):
    from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

    area = QGuiApplication.primaryScreen().availableGeometry()
    small = QWidget()
    qtbot.addWidget(small)
    resize_within_screen(small, 300, 200)
    assert (small.width(), small.height()) == (300, 200)
    resize_within_screen(small, 5000, 5000)
    assert (small.width(), small.height()) == (int(area.width() * SCREEN_SHARE), int(area.height() * SCREEN_SHARE))
    tall = QWidget()
    qtbot.addWidget(tall)
    layout = QVBoxLayout(tall)
    for i in range(60):  # a layout that needs more height than the screen has
        layout.addWidget(QPushButton(f"button {i}"))
    resize_within_screen(tall, 100, 100)
    assert tall.height() >= tall.minimumSizeHint().height()
