"""The verdict, the window's main answer, is shown whole: every line of it inside the window at 800 x 500 and at
1280 x 800, with the default model's two-line settings row, a problem located between two named hops (the lab's
verdict: 330 characters), and by keyboard (its box is a Tab stop)."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import WAIT_MS
from tests.gui.test_small_window_gui import fully_visible_rows, traced

# As the lab's verdict reads with names (scripts/screenshot's path), the longest common case.
NAMED = (
    "Quality deteriorates at hop 4 (198.18.3.2, r4.lab.test) (loss 14.0 % (95 % CI 8.5-22.1)) and it carries on to "
    "the destination, hop 6 (198.18.5.2, target.lab.test) (loss 13.0 % (95 % CI 7.8-21.0)), so the problem lies "
    "between hop 3 (198.18.2.2, r3.lab.test) and hop 4 (198.18.3.2, r4.lab.test)."
)


def shown_whole(window) -> tuple[bool, str]:
    """Whether every line of the verdict is inside its box, the box inside the window, nothing scrolled away."""
    bar = window.evidence.verdict_bar
    view = bar.scroll.viewport()
    needed = bar.label.heightForWidth(view.width())
    box = QRect(view.mapTo(window, view.rect().topLeft()), view.size())
    why = f"text {needed} px high in a box {view.height()} px high at {box}; window {window.rect()}"
    whole = (
        bar.isVisible()
        and needed <= view.height()
        and bar.scroll.verticalScrollBar().maximum() == 0
        and window.rect().contains(box)
    )
    return whole, why


@pytest.mark.parametrize("size", [(800, 500), (1280, 800)])
def test_the_verdict_is_whole_in_the_window(qtbot, make_window, settings_store, size):
    # At 800 x 500 it stood in the table's pane, 263 px wide, two lines of its eight shown (the rest scrolled).
    settings_store.set_model("g107-jb")  # (the default model: its settings take two lines at 800 px)
    window = traced(qtbot, make_window, *size)
    bar = window.evidence.verdict_bar
    d = bar.diagnosis
    assert d is not None and d.deteriorates_at_ttl == 5
    qtbot.waitUntil(lambda: shown_whole(window)[0], timeout=WAIT_MS)
    assert d.verdict in bar.label.text() and "…" not in bar.label.text()  # the text is the whole verdict
    # The lab's verdict, with names: whole too, and the hop table keeps its 8 rows at 800 x 500.
    bar.show_snapshot(dataclasses.replace(window.last_update.snapshot, diagnosis=dataclasses.replace(d, verdict=NAMED)),
                      window.thresholds)  # fmt: skip
    assert NAMED in bar.label.text()
    qtbot.waitUntil(lambda: shown_whole(window)[0], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: fully_visible_rows(window.table) >= 8, timeout=WAIT_MS)
    assert shown_whole(window)[0], shown_whole(window)[1]
    lines = bar.label.heightForWidth(bar.scroll.viewport().width()) // bar.label.fontMetrics().lineSpacing()
    assert lines <= (4 if size[0] == 800 else 3), lines  # across the window's width, not the table's (8 at 800)
    assert window.timeline.graphics.height() >= 48 and window.trace_graph.latency.vb.height() >= 40


def test_a_verdict_higher_than_its_share_scrolls_by_keyboard_and_copy_gives_it_whole(qtbot, make_window):
    window = traced(qtbot, make_window, 800, 500)
    bar = window.evidence.verdict_bar
    d = bar.diagnosis
    long = " ".join([NAMED] * 6)
    bar.show_snapshot(dataclasses.replace(window.last_update.snapshot, diagnosis=dataclasses.replace(d, verdict=long)),
                      window.thresholds)  # fmt: skip
    qtbot.wait(50)
    assert bar.height() <= 0.3 * window.height() + 8  # the table keeps its room
    scrollbar = bar.scroll.verticalScrollBar()
    assert scrollbar.maximum() > 0
    bar.scroll.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(bar.scroll.hasFocus, timeout=WAIT_MS)
    for _ in range(10):
        qtbot.keyClick(bar.scroll, Qt.Key.Key_PageDown)
    assert scrollbar.value() == scrollbar.maximum()
    bar.copy_button.click()
    assert QApplication.clipboard().text() == long


def test_copy_verdict_is_in_the_edit_menu_with_a_key(qtbot, make_window):
    # The verdict's Copy was a Tab stop only: no menu entry, no key (every other command has both).
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    action = window.actions.copy_verdict_action
    edit = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    assert action in edit.actions() and action.shortcut().toString() == "Ctrl+Shift+D"
    QApplication.clipboard().setText("before")
    action.trigger()  # no verdict yet: said, nothing copied
    assert "no verdict yet" in window.statusBar().currentMessage() and QApplication.clipboard().text() == "before"
    window.close()
    window = traced(qtbot, make_window, 800, 500)
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.clipboard().text() == window.evidence.verdict_bar.diagnosis.verdict
