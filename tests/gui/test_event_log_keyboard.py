"""The event log floats and docks again by keyboard (it did only by mouse: the title bar's buttons, a double click),
and a floated log is floated again at the next start."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from pingmos.session import SessionEvent
from tests.gui.conftest import WAIT_MS


@pytest.fixture
def shown(qtbot, make_window):
    window = make_window()
    window.resize(1280, 800)
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
    return window


def fired(n: int) -> SessionEvent:
    return SessionEvent(time.time(), "alert-fire", {"message": f"rule {n} fired for 198.18.0.99: loss 20 %"})


def in_log(log) -> bool:
    focus = QApplication.focusWidget()
    return focus is not None and (focus is log or log.isAncestorOf(focus))


def press(qtbot, keys: str) -> None:
    """``keys`` ("Ctrl+Shift+L") pressed where the keyboard's focus is, as a user's key reaches it."""
    *mods, key = keys.split("+")
    modifiers = Qt.KeyboardModifier.NoModifier
    for mod in mods:
        modifiers |= {"Ctrl": Qt.KeyboardModifier.ControlModifier, "Shift": Qt.KeyboardModifier.ShiftModifier}[mod]
    qtbot.keyClick(QApplication.focusWidget(), getattr(Qt.Key, f"Key_{key}"), modifiers)


def test_the_event_log_floats_and_docks_again_by_keyboard(qtbot, shown):
    window = shown
    log = window.evidence.event_log
    log.add(fired(1))
    log.add(fired(2))
    view = window.view_menu
    entry = next(a for a in view.actions() if a.text() == "&Event log in its own window")
    assert entry.shortcut().toString() == "Ctrl+Shift+L" and entry.isCheckable() and not entry.isChecked()
    window.target_combo.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.target_combo, timeout=WAIT_MS)

    # From the main window (its target field, where the focus starts): the log floats, with its rows, and the
    # keyboard's focus goes into it.
    press(qtbot, "Ctrl+Shift+L")
    qtbot.waitUntil(lambda: log.isFloating() and in_log(log), timeout=WAIT_MS)
    assert entry.isChecked() and log.table.isVisible() and log.rows()[-1][2].startswith("rule 2 fired")
    # Its own button, a Tab stop, says what it does now.
    assert log.float_button.isVisible() and log.float_button.focusPolicy() & Qt.FocusPolicy.TabFocus
    assert log.float_button.accessibleName() == "dock the event log" and "Ctrl+Shift+L" in log.float_button.toolTip()

    # From the floated log (a window of its own, where the window's shortcuts used to reach nothing): docked.
    press(qtbot, "Ctrl+Shift+L")
    qtbot.waitUntil(lambda: not log.isFloating() and in_log(log), timeout=WAIT_MS)
    assert not entry.isChecked() and log.isVisible() and QApplication.activeWindow() is window

    # The button, by keyboard (Space), floats it and docks it again.
    window.resize(800, 500)  # a low window: the docked log is its line, the button at its right
    qtbot.waitUntil(lambda: log.low and log.float_button.isVisible(), timeout=WAIT_MS)
    assert log.float_button.accessibleName() == "float the event log"
    log.float_button.setFocus()
    qtbot.keyClick(log.float_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: log.isFloating() and log.table.isVisible(), timeout=WAIT_MS)
    assert entry.isChecked()
    log.float_button.setFocus()
    qtbot.keyClick(log.float_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not log.isFloating() and log.low, timeout=WAIT_MS)
    assert not entry.isChecked()

    # A mouse's float (the title bar's button) is followed by the entry, which then docks it again.
    log.setFloating(True)
    assert entry.isChecked()
    entry.trigger()
    assert not log.isFloating()


def test_a_floated_event_log_is_floated_again_at_the_next_start(qtbot, make_window, settings_store):
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    log = window.evidence.event_log
    log.float_action.trigger()
    qtbot.waitUntil(log.isFloating, timeout=WAIT_MS)
    window.close()

    again = make_window(store=settings_store)
    again.show()
    qtbot.waitExposed(again)
    log = again.evidence.event_log
    qtbot.waitUntil(lambda: log.isFloating() and log.isVisible(), timeout=WAIT_MS)
    assert log.float_action.isChecked()
    log.float_action.trigger()  # docked again, and so at the next start
    assert not log.isFloating()
    again.close()

    third = make_window(store=settings_store)
    third.show()
    qtbot.waitExposed(third)
    log = third.evidence.event_log
    assert not log.isFloating() and not log.float_action.isChecked() and log.isVisible()
