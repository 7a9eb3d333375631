"""The formula editor: Ctrl+E opens the user's copy, Check scores the selected hop, Save re-scores every hop,
Revert puts the shipped formula back. The user's scoring folder is a temporary directory."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from pingmos.gui import models
from pingmos.gui.hop_table import COL_MOS
from pingmos.scoring import CONFIG_DIR_ENV
from tests.gui.conftest import DST, WAIT_MS, settle


@pytest.fixture(autouse=True)
def revert_without_asking(monkeypatch):
    """Revert asks before it throws the user's formula away; tests that do not test the question say yes."""
    from pingmos.gui.formula_editor import FormulaEditor

    monkeypatch.setattr(FormulaEditor, "confirm_revert", lambda self: True)


@pytest.fixture
def window(qtbot, make_window, tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))
    w = make_window()
    w.target_combo.setCurrentText(DST)
    qtbot.keyClick(w.target_combo.lineEdit(), Qt.Key.Key_Return)
    settle(qtbot, w)
    return w


def mos_of(window, ttl):
    hop = next(h for h in window.last_update.snapshot.hops if h.ttl == ttl)
    return hop.mos


def test_ctrl_e_opens_the_users_copy_with_line_numbers_and_highlighting(window, tmp_path, qtbot):
    assert window.edit_formula_action.shortcut() == QKeySequence("Ctrl+E")
    window.edit_formula_action.trigger()
    editor = window.formula_editor
    editor.wait_for_disk(qtbot)
    assert editor is not None and editor.isVisible()
    assert editor.model_name == "my_pingplotter"
    assert editor.path == tmp_path / "config" / "scoring" / "my_pingplotter.py"
    assert "def score_hop" in editor.editor.toPlainText()
    assert "pingmos internal" not in editor.editor.toPlainText()
    assert editor.editor.line_number_width() > 0 and editor.editor.viewportMargins().left() > 0
    block = editor.editor.document().findBlockByNumber(0)
    assert block.layout().formats()  # the docstring line is coloured
    assert window.model_name == "pingplotter"  # opening does not change the scoring yet


def test_check_scores_the_selected_hop_and_shows_an_error_with_its_line(window, qtbot):
    window.open_formula_editor()
    editor = window.formula_editor
    editor.wait_for_disk(qtbot)
    window.table.selectRow(0)
    editor.check()
    editor.wait_for_check()
    text = editor.result.toPlainText()
    assert "OK" in text and "hop 1" in text
    assert f"MOS {mos_of(window, 1):.2f}" in text  # the same number the table shows for that hop
    assert "effective_latency_ms" in text

    source = editor.editor.toPlainText()
    broken = source.replace("    mos = r_to_mos(r)", "    mos = r_to_mos(r) / 0")
    assert broken != source
    editor.editor.setPlainText(broken)
    editor.check()
    editor.wait_for_check()
    line = broken.splitlines().index("    mos = r_to_mos(r) / 0") + 1
    assert "ZeroDivisionError" in editor.result.toPlainText()
    assert f"line {line}" in editor.result.toPlainText()
    assert editor.editor.error_line == line
    assert "*" in editor.windowTitle()  # not saved: the table still scores with the shipped formula
    assert window.model_name == "pingplotter"

    editor.editor.setPlainText(source.replace("def score_hop(hop):", "def score_hop(hop)"))
    editor.check()
    editor.wait_for_check()
    assert "syntax error" in editor.result.toPlainText()


def test_check_on_a_silent_router_gives_no_score_as_the_table(window, qtbot):
    """A router that answered none of its probes has no R or MOS in the table; Check said R 0.0 / MOS 1.00."""
    window.open_formula_editor()
    editor = window.formula_editor
    editor.wait_for_disk(qtbot)
    row = next(i for i, h in enumerate(window.last_update.snapshot.hops) if h.unmeasured)
    window.table.selectRow(row)
    editor.check()
    editor.wait_for_check()
    text = editor.result.toPlainText()
    assert f"hop {row + 1} (???), 0 of" in text and "no score for a hop that answered none of its probes" in text
    assert "OK" in text and "MOS 1.00" not in text and "R 0.0" not in text


def test_save_applies_at_once_and_revert_restores_the_shipped_formula(window, qtbot):
    before = mos_of(window, 5)
    window.open_formula_editor()
    editor = window.formula_editor
    editor.wait_for_disk(qtbot)
    source = editor.editor.toPlainText()
    assert "LOSS_PENALTY_PER_PCT = 2.5" in source
    editor.editor.setPlainText(source.replace("LOSS_PENALTY_PER_PCT = 2.5", "LOSS_PENALTY_PER_PCT = 0.0"))
    editor.save_button.click()
    editor.wait_for_disk(qtbot)  # the file is written in a worker thread, then the model switches
    assert window.model_name == "my_pingplotter"
    assert editor.path.read_text().count("LOSS_PENALTY_PER_PCT = 0.0") == 1
    qtbot.waitUntil(lambda: window.last_update.snapshot.model == "my_pingplotter", timeout=10000)
    qtbot.waitUntil(lambda: mos_of(window, 5) > 4.0, timeout=10000)  # loss no longer costs anything
    assert before < 3.1
    table_mos = window.table.proxy.data(window.table.proxy.index(4, COL_MOS))
    assert float(table_mos.split()[0]) > 4.0  # (its interval may follow)

    editor.revert_button.click()
    editor.wait_for_disk(qtbot)
    assert editor.editor.toPlainText() == models.builtin_text("pingplotter")
    assert not editor.is_modified()
    window.mark_dirty()
    qtbot.waitUntil(lambda: mos_of(window, 5) == pytest.approx(before), timeout=10000)


def test_a_broken_saved_formula_says_so_and_the_table_keeps_the_last_working_version(window, qtbot):
    window.open_formula_editor()
    editor = window.formula_editor
    editor.wait_for_disk(qtbot)
    source = editor.editor.toPlainText()
    working = source.replace("LOSS_PENALTY_PER_PCT = 2.5", "LOSS_PENALTY_PER_PCT = 2.0")
    editor.editor.setPlainText(working)
    editor.save()
    editor.wait_for_disk(qtbot)
    assert "Saved. Every hop" in editor.result.toPlainText()
    assert window.model_name == "my_pingplotter"
    qtbot.waitUntil(lambda: window.last_update.snapshot.model == "my_pingplotter", timeout=10000)
    good = mos_of(window, 5)

    broken = working.replace("    mos = r_to_mos(r)", "    mos = r_to_mos(r) / 0")
    editor.editor.setPlainText(broken)
    editor.save()
    editor.wait_for_disk(qtbot)
    text = editor.result.toPlainText()
    line = broken.splitlines().index("    mos = r_to_mos(r) / 0") + 1
    assert "Saved, but the formula does not work" in text and "Every hop is now scored" not in text
    assert f"line {line}" in text and "ZeroDivisionError" in text
    assert editor.editor.error_line == line  # the error is shown where it is, in the editor
    assert editor.path.read_text() == broken  # the user's file is kept as typed
    # The table shows the last working version, marked *, not "ERR" in every cell.
    qtbot.waitUntil(
        lambda: window.table.proxy.data(window.table.proxy.index(4, COL_MOS)).endswith("* ERR"), timeout=10000
    )
    cell = window.table.proxy.data(window.table.proxy.index(4, COL_MOS))
    assert cell.startswith(f"{good:.2f}*")
    assert window.table.proxy.rowCount() == 5 and window.table.proxy.data(window.table.proxy.index(0, 4))
    assert "ZeroDivisionError" in window.error_banner.text()

    # Fixing the line clears its mark at once; saving the fix scores with it again.
    cursor = editor.editor.textCursor()
    block = editor.editor.document().findBlockByNumber(line - 1)
    cursor.setPosition(block.position() + block.length() - 1)
    cursor.deletePreviousChar()
    cursor.deletePreviousChar()
    cursor.deletePreviousChar()
    cursor.deletePreviousChar()
    assert editor.editor.toPlainText() == working
    assert editor.editor.error_line is None
    colours = [sel.format.background().color().name() for sel in editor.editor.extraSelections()]
    assert "#fde0dc" not in colours  # the red line is gone
    editor.save()
    editor.wait_for_disk(qtbot)
    assert "Saved. Every hop" in editor.result.toPlainText()
    qtbot.waitUntil(lambda: "*" not in window.table.proxy.data(window.table.proxy.index(4, COL_MOS)), timeout=10000)


def test_a_broken_first_save_of_a_copy_keeps_the_model_in_use(window, qtbot):
    before = mos_of(window, 5)
    window.open_formula_editor()
    editor = window.formula_editor
    editor.wait_for_disk(qtbot)
    source = editor.editor.toPlainText()
    editor.editor.setPlainText(source.replace("def score_hop(hop):", "def score_hop(hop)"))
    editor.save()
    editor.wait_for_disk(qtbot)
    assert "Saved, but the formula does not work" in editor.result.toPlainText()
    assert "syntax error" in editor.result.toPlainText()
    assert window.model_name == "pingplotter"  # not switched to a formula that cannot score
    assert mos_of(window, 5) == before


def test_revert_asks_before_discarding_the_users_formula(window, qtbot, monkeypatch):
    window.open_formula_editor()
    editor = window.formula_editor
    editor.wait_for_disk(qtbot)
    mine = editor.editor.toPlainText().replace("LOSS_PENALTY_PER_PCT = 2.5", "LOSS_PENALTY_PER_PCT = 1.5")
    editor.editor.setPlainText(mine)
    asked = []
    monkeypatch.setattr(editor, "confirm_revert", lambda: asked.append(1) or False)
    editor.revert_button.click()
    editor.wait_for_disk(qtbot)
    assert asked == [1] and editor.editor.toPlainText() == mine  # Cancel: nothing lost
    assert "Not reverted" in editor.result.toPlainText()
    monkeypatch.setattr(editor, "confirm_revert", lambda: asked.append(2) or True)
    editor.revert_button.click()
    editor.wait_for_disk(qtbot)
    assert asked == [1, 2] and editor.editor.toPlainText() == models.builtin_text("pingplotter")


def test_a_built_in_with_a_dash_opens_its_one_copy_and_reverts_to_it(window, tmp_path, qtbot):
    window.use_model("g107-playout")
    window.open_formula_editor()
    editor = window.formula_editor
    editor.wait_for_disk(qtbot)
    folder = tmp_path / "config" / "scoring"
    assert editor.model_name == "my_g107_playout" and editor.path == folder / "my_g107_playout.py"
    assert editor.revert_button.isEnabled()
    # Saving switches the table to the copy; opening the editor again opens that copy, not a new one.
    editor.save()
    editor.wait_for_disk(qtbot)
    assert window.model_name == "my_g107_playout"
    editor.close()
    window.use_model("g107-playout")
    window.open_formula_editor()
    editor.wait_for_disk(qtbot)
    assert editor.path == folder / "my_g107_playout.py" and sorted(p.name for p in folder.glob("*.py")) == [
        "my_g107_playout.py"
    ]
    editor.editor.setPlainText("broken")
    editor.revert_button.click()
    editor.wait_for_disk(qtbot)
    assert editor.editor.toPlainText() == models.builtin_text("g107-playout") and not editor.is_modified()


def test_save_writes_off_the_gui_thread(window, qtbot, monkeypatch):
    import threading

    window.open_formula_editor()
    editor = window.formula_editor
    editor.wait_for_disk(qtbot)
    writers = []
    release, finished = threading.Event(), threading.Event()

    def slow_save(path, text):  # a disk that answers only when the test says so: the window must not wait for it
        writers.append(threading.current_thread() is threading.main_thread())
        release.wait(10)
        finished.set()

    monkeypatch.setattr(models, "save_formula", slow_save)
    # No clock: save() returning while the write is still held proves it did not wait (a save on the GUI thread
    # would return only after the write finished), however slow a loaded machine is.
    editor.save()
    assert not finished.is_set()
    assert not editor.save_button.isEnabled()  # one save at a time, visibly under way
    release.set()
    editor.wait_for_disk(qtbot)
    assert writers == [False] and editor.save_button.isEnabled()


def test_the_model_list_is_read_off_the_gui_thread(settings_store, qtbot, monkeypatch):
    import threading
    import time

    from pingmos.gui.main_window import MainWindow
    from tests.gui.conftest import fake_factory

    real = models.available_models
    readers = []
    release = threading.Event()

    def slow_list():  # a slow scoring folder: the window must come up without waiting for it
        readers.append(threading.current_thread() is threading.main_thread())
        release.wait(10)
        return real()

    monkeypatch.setattr(models, "available_models", slow_list)
    started = time.monotonic()
    window = MainWindow(settings_store, trace_factory=fake_factory(), refresh_ms=20)
    qtbot.addWidget(window)
    assert time.monotonic() - started < 8  # it did not wait for the list (which waits 10 s for us)
    assert window.model_name == "pingplotter"  # usable at once with the saved (here: the default) model
    release.set()
    qtbot.waitUntil(lambda: window.model_list_jobs.pending == 0, timeout=WAIT_MS)
    assert readers == [False] and window.model_combo.count() >= 4


def test_shift_tab_from_the_buttons_reaches_the_editor_and_check_has_a_key(window, qtbot):
    """The breaker's keyboard run: Shift+Tab from Check went Close > Revert > Save and never reached the editor;
    Check had no key."""
    window.open_formula_editor()
    editor = window.formula_editor
    editor.wait_for_disk(qtbot)
    editor.activateWindow()
    qtbot.waitUntil(lambda: editor.isActiveWindow(), timeout=WAIT_MS)
    editor.check_button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: editor.check_button.hasFocus(), timeout=WAIT_MS)
    seen = []
    for _ in range(3):
        qtbot.keyClick(editor.focusWidget(), Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
        seen.append(editor.focusWidget())
        if editor.editor.hasFocus():
            break
    assert editor.editor.hasFocus(), [type(w).__name__ for w in seen]
    # Check's key works from the editor (where the focus is while editing).
    assert QKeySequence("Ctrl+Return") in [s.key() for s in editor.check_shortcuts]
    assert "Ctrl+Enter" in editor.check_button.toolTip()
    window.table.selectRow(0)
    qtbot.keyClick(editor.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    editor.wait_for_check()
    assert editor.result.toPlainText().startswith("OK - hop ")


def test_saving_a_copy_keeps_the_model_settings_in_effect(window, qtbot):
    """Saving the user's copy switches the table to it (``my_g107_jb``): it scored with the copy's own saved
    settings, none yet, so the defaults (an adaptive buffer, G.711, 50 % one way) replaced the user's fixed buffer,
    G.729A and 30 %, and the MOS changed with nothing in the formula changed."""
    window.use_model("g107-jb")
    qtbot.waitUntil(lambda: "buffer" in window.model_setting_widgets, timeout=WAIT_MS)
    widgets = window.model_setting_widgets
    widgets["buffer"].setCurrentText("fixed")
    widgets["codec"].setCurrentText("g729a")
    widgets["one_way_pct"].setText("30")
    widgets["one_way_pct"].editingFinished.emit()
    in_effect = dict(window.model_settings())
    assert (in_effect["buffer"], in_effect["codec"], in_effect["one_way_pct"]) == ("fixed", "g729a", "30")
    window.mark_dirty()
    qtbot.waitUntil(
        lambda: window.last_update.request.model_settings == window.model_settings() and window.quiet, timeout=WAIT_MS
    )
    before = mos_of(window, 5)
    window.open_formula_editor()
    editor = window.formula_editor
    editor.wait_for_disk(qtbot)
    assert editor.model_name == "my_g107_jb"
    editor.save()  # the formula as it was copied: the same scores are expected
    editor.wait_for_disk(qtbot)
    assert window.model_name == "my_g107_jb"
    qtbot.waitUntil(lambda: window.model_list_jobs.pending == 0, timeout=WAIT_MS)  # (the list is read again)
    qtbot.waitUntil(lambda: window.last_update.snapshot.model == "my_g107_jb" and window.quiet, timeout=WAIT_MS)
    assert dict(window.model_settings()) == in_effect
    assert dict(window.last_update.request.model_settings) == in_effect
    assert mos_of(window, 5) == pytest.approx(before)
    # Kept for the copy: the window opened again shows them.
    assert window.settings.model_settings("my_g107_jb") == {k: str(v) for k, v in in_effect.items()}
