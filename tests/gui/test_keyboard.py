"""The window without a mouse: Tab never gets stuck in the hop table, Start is in the tab order, shortcuts start
and stop, pause the display and jump to the target; every menu command shows its shortcut; the hop menu opens
from the keyboard."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QLineEdit

from tests.gui.conftest import DST, WAIT_MS, fake_factory, settle


@pytest.fixture
def shown(qtbot, make_window):
    window = make_window(fake_factory(rounds=None, speedup=20.0))
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
    return window


def focused():
    return QApplication.focusWidget()


def test_tab_leaves_the_hop_table(qtbot, shown):
    window = shown
    window.target_combo.setCurrentText(DST)
    window.start()
    qtbot.waitUntil(lambda: window.table_model.rowCount() >= 3, timeout=WAIT_MS)
    window.stop()
    for key, modifier in (
        (Qt.Key.Key_Tab, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier),
    ):
        window.table.setFocus()
        window.table.setCurrentIndex(window.table.proxy.index(1, 2))
        qtbot.waitUntil(lambda: focused() is window.table, timeout=WAIT_MS)
        qtbot.keyClick(focused(), key, modifier)
        assert focused() is not window.table  # one key press and the focus is out
    assert not window.table.tabKeyNavigation()


def test_no_table_of_the_window_or_its_dialogs_keeps_tab(qtbot, shown):
    # The class of the hop table's trap: every item view (the event log, the alert rules) lets Tab go on.
    from PySide6.QtWidgets import QAbstractItemView

    from pingmos.gui.alerts_dialog import AlertsDialog

    dialog = AlertsDialog(shown.evidence.alerts.rules, parent=shown)
    qtbot.addWidget(dialog)
    views = shown.findChildren(QAbstractItemView) + dialog.findChildren(QAbstractItemView)
    assert dialog.table in views and shown.evidence.event_log.table in views
    assert [v for v in views if v.tabKeyNavigation()] == []
    dialog.wait_for_model(qtbot)


def test_start_is_in_the_tab_order_after_the_target(qtbot, shown):
    window = shown
    window.target_combo.setFocus()
    qtbot.waitUntil(lambda: focused() is window.target_combo, timeout=WAIT_MS)
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused() is window.toolbar.start_button
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused() is window.interval_spin or focused().parent() is window.interval_spin
    # Walking on with Tab reaches the model, the table, the graph and the timeline's buttons, and comes back.
    seen = set()
    for _ in range(60):
        qtbot.keyClick(focused(), Qt.Key.Key_Tab)
        seen.add(focused())
    for widget in (window.model_combo, window.table, window.timeline.focus_button, window.timeline.live_button):
        assert widget in seen or any(w is not None and w.parent() is widget for w in seen), widget


def test_shortcuts_start_stop_pause_and_jump_to_the_target(qtbot, shown):
    window = shown
    window.target_combo.setCurrentText(DST)
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.trace is not None and window.trace.running, timeout=WAIT_MS)
    assert window.start_action.text() == "Stop"
    qtbot.waitUntil(lambda: window.last_update is not None and window.last_update.status.rounds >= 2, timeout=WAIT_MS)

    qtbot.keyClick(focused(), Qt.Key.Key_F6)  # pause: the display stays as it is while the trace goes on
    assert window.paused and window.actions.pause_action.isChecked()
    # An update being shown in parts when F6 came is shown to its end (a table is never left half of one): frozen
    # is what shows once it has.
    qtbot.waitUntil(lambda: not window._steps, timeout=WAIT_MS)
    frozen = window.last_update
    rounds = window.trace.status().rounds
    qtbot.waitUntil(lambda: window.trace.status().rounds >= rounds + 3, timeout=WAIT_MS)
    assert window.last_update is frozen
    qtbot.keyClick(focused(), Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: window.last_update is not frozen, timeout=WAIT_MS)

    qtbot.keyClick(focused(), Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert focused() is window.target_combo and window.target_combo.lineEdit().selectedText() == DST
    qtbot.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Enter: Stop
    # The trace winds down in its own thread; the window says so at its next tick: wait for the button itself.
    qtbot.waitUntil(lambda: window.start_action.text() == "Start", timeout=WAIT_MS)
    assert not window.trace.running


def ctrl_e_is_end_of_line() -> bool:
    from PySide6.QtGui import QKeySequence

    ends = QKeySequence.keyBindings(QKeySequence.StandardKey.MoveToEndOfLine)
    return any(k.matches(QKeySequence("Ctrl+E")) == QKeySequence.SequenceMatch.ExactMatch for k in ends)


def test_ctrl_e_opens_the_formula_editor_from_the_window_s_text_fields(qtbot, shown):
    """A line edit claims Ctrl+E on X11 (end of line): from the target field, where the focus starts, and from a
    model setting's field, Ctrl+E (Edit formula) did nothing. (Qt's offscreen platform has no such binding: the
    test after this one runs this one under Xvfb.)"""
    if not ctrl_e_is_end_of_line():
        pytest.skip(f"the {QApplication.platformName()} platform's text fields do not claim Ctrl+E (X11's do)")
    window = shown
    window.model_combo.setCurrentIndex(window.model_combo.findData("g107-jb"))  # a model with typed settings
    assert window.model_name == "g107-jb"
    fields = [window.target_combo, window.interval_spin]
    fields += [w for w in window.scoring_row.settings_box.fields() if isinstance(w, QLineEdit)][:1]
    assert len(fields) == 3, fields
    for field in fields:
        if window.formula_editor is not None:
            window.formula_editor.hide()
        field.setFocus()
        qtbot.waitUntil(lambda f=field: focused() is f or focused().parent() is f, timeout=WAIT_MS)
        qtbot.keyClick(focused(), Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
        assert window.formula_editor is not None and window.formula_editor.isVisible(), field
    # Typing in the field still types.
    window.formula_editor.hide()
    window.target_combo.setFocus()
    qtbot.waitUntil(lambda: focused() is window.target_combo, timeout=WAIT_MS)
    window.target_combo.setCurrentText("")
    qtbot.keyClicks(focused(), "e127.0.0.1")
    assert window.target_combo.currentText() == "e127.0.0.1"


@pytest.mark.skipif(not shutil.which("xvfb-run"), reason="needs xvfb-run (Debian package xvfb)")
def test_ctrl_e_from_a_text_field_under_x11(tmp_path):
    """The test above on the X11 platform (xcb, under Xvfb), where a text field claims Ctrl+E."""
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", PINGMOS_CONFIG_DIR=str(tmp_path / "config"))
    env.pop("DISPLAY", None)
    test = f"{Path(__file__).resolve()}::test_ctrl_e_opens_the_formula_editor_from_the_window_s_text_fields"
    argv = ["xvfb-run", "-a", sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", test]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[2])
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]


def test_every_menu_command_shows_a_shortcut_where_one_is_needed(shown):
    window = shown
    menus = {m.title().replace("&", ""): m for m in (a.menu() for a in window.menuBar().actions()) if m}
    assert {"File", "Edit", "View", "Trace", "Alerts"} <= set(menus)
    for name in ("View", "Trace"):
        for action in menus[name].actions():
            if action.isSeparator() or action.menu() is not None:
                continue
            assert not action.shortcut().isEmpty(), action.text()
    keys = {a.text().replace("&", ""): a.shortcut().toString() for m in menus.values() for a in m.actions()}
    assert keys["Go to target"] == "Ctrl+L" and keys["Start"] == "F5" and keys["Pause display"] == "F6"
    assert keys["Edit formula…"] == "Ctrl+E" and keys["Copy table with its context"] == "Ctrl+Shift+C"
    # Quit had none where the platform's Quit key is empty; the alert rules and the event log had none.
    assert keys["Quit"] and keys["Alert rules…"] == "Ctrl+Shift+A" and keys["Event log"] == "Ctrl+Shift+E"


def mnemonic(text: str) -> str | None:
    i = text.replace("&&", "").find("&")
    return text.replace("&&", "")[i + 1].lower() if i >= 0 else None


def test_menu_letters_and_shortcuts_are_never_shared(shown):
    # Alt+F, R went to "Open recent" or "Record every trace" by turns: one letter, one command, in every menu;
    # and no key combination is bound twice in the window (Qt then runs neither).
    from PySide6.QtGui import QAction

    def menus(menu):
        yield menu
        for action in menu.actions():
            if action.menu() is not None:
                yield from menus(action.menu())

    bar = shown.menuBar()
    tops = [a.text() for a in bar.actions()]
    assert len({mnemonic(t) for t in tops}) == len(tops), tops
    for top in bar.actions():
        for menu in menus(top.menu()):
            letters = [mnemonic(a.text()) for a in menu.actions() if not a.isSeparator()]
            given = [x for x in letters if x is not None]
            assert len(given) == len(set(given)), (menu.title(), [a.text() for a in menu.actions()])
    bound = {}
    for action in shown.findChildren(QAction):
        for key in action.shortcuts():
            bound.setdefault(key.toString(), set()).add(action.text())
    assert {k: v for k, v in bound.items() if len(v) > 1} == {}


def test_the_hop_menu_opens_from_the_keyboard(qtbot, shown):
    window = shown
    window.target_combo.setCurrentText(DST)
    window.start()
    qtbot.waitUntil(lambda: window.table_model.rowCount() >= 3, timeout=WAIT_MS)
    window.stop()
    settle(qtbot, window)
    window.table.setFocus()
    window.table.setCurrentIndex(window.table.proxy.index(0, 0))
    qtbot.waitUntil(lambda: focused() is window.table, timeout=WAIT_MS)
    qtbot.keyClick(window.table, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.hop_menu.menu is not None and window.hop_menu.menu.isVisible(), timeout=WAIT_MS)
    texts = [a.text() for a in window.hop_menu.menu.actions()]
    assert "Copy address 198.18.0.2" in texts
    window.hop_menu.menu.close()
    # The Menu key: the platform sends the table a context menu event from the keyboard.
    window.hop_menu.menu = None
    window.table.setCurrentIndex(window.table.proxy.index(1, 0))  # hop 2, the router that never answers
    event = QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, QPoint(0, 0), window.table.mapToGlobal(QPoint(0, 0)))
    QApplication.sendEvent(window.table, event)
    qtbot.waitUntil(lambda: window.hop_menu.menu is not None and window.hop_menu.menu.isVisible(), timeout=WAIT_MS)
    actions = {a.text(): a for a in window.hop_menu.menu.actions()}
    assert "Copy address ???" in actions and not actions["Copy address ???"].isEnabled()
    window.hop_menu.menu.close()
