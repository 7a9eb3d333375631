"""The event log floats and docks again by keyboard (it did only by mouse: the title bar's buttons, a double click),
and a floated log is floated again at the next start."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
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


def window_shortcuts(window) -> list:
    """Every enabled command of the window with a key, but Quit (it would close the window under the test)."""
    from PySide6.QtGui import QAction

    return [
        a
        for a in window.findChildren(QAction)
        if a.shortcuts() and a.isEnabled() and a.text().replace("&", "") != "Quit"
    ]


@pytest.mark.parametrize("floating", [True, False])
def test_the_windows_shortcuts_work_once_from_the_event_log_floated_or_docked(qtbot, shown, monkeypatch, floating):
    """From the floated log (a window of its own, with the focus in its rows), every shortcut of the window runs
    its command, once; those that go to a field of the window (Ctrl+1, Ctrl+2, Ctrl+L...) did nothing: the focus
    cannot go into an inactive window. Docked, the same keys run their commands once too (never twice)."""
    from PySide6.QtWidgets import QDialog, QFileDialog

    # The commands that open a dialog: answered at once (cancelled), so that the next key can be pressed.
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: ("", "")))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", "")))
    monkeypatch.setattr(QDialog, "exec", lambda self: 0)
    window = shown
    log = window.evidence.event_log
    log.add(fired(1))
    goes_to = {
        "Ctrl+L": window.target_combo,
        "Ctrl+M": window.model_combo,
        "Ctrl+1": window.table,
        "Ctrl+2": window.trace_graph,
        "Ctrl+3": window.timeline.focus_button,
    }
    actions = window_shortcuts(window)
    keys = {k.toString(): a for a in actions for k in a.shortcuts()}
    assert set(goes_to) | {"F5", "Ctrl+Return", "F6", "Ctrl+E", "Ctrl+Shift+C", "Ctrl+5", "Ctrl+Shift+L"} <= set(keys)
    runs: list = []
    for action in actions:
        action.triggered.connect(lambda *_, a=action: runs.append(a))

    for key, action in keys.items():
        if window.formula_editor is not None:
            window.formula_editor.hide()  # (Ctrl+E's window, which took the keyboard)
        if window.trace is not None and window.trace.running:
            window.stop()
        log.set_floating(floating)
        log.table.setFocus()
        qtbot.waitUntil(
            lambda: log.isFloating() == floating and QApplication.focusWidget() is log.table, timeout=WAIT_MS
        )
        if floating:
            assert QApplication.activeWindow() is log
        runs.clear()
        combination = action.shortcuts()[[k.toString() for k in action.shortcuts()].index(key)][0]
        qtbot.keyClick(log.table, combination.key(), combination.keyboardModifiers())
        # A key that hid the log (Ctrl+Shift+E) took the releases of its modifier keys with it: Qt took Ctrl and
        # Shift for held ever after, and the next test's hop table toggled its rows instead of selecting them.
        qtbot.keyRelease(window, Qt.Key.Key_Control)
        assert QGuiApplication.keyboardModifiers() == Qt.KeyboardModifier.NoModifier, key
        assert runs == [action], (key, [a.text() for a in runs])
        if key in goes_to:
            target = goes_to[key]

            def there(target=target) -> bool:
                focus = QApplication.focusWidget()
                return focus is not None and (focus is target or target.isAncestorOf(focus))

            qtbot.waitUntil(lambda: there() and QApplication.activeWindow() is window, timeout=WAIT_MS)
    if window.formula_editor is not None:
        window.formula_editor.hide()
