"""The window at 800 x 500 and by keyboard: the graph's marks cover no point and the marked hop says why, the hop
table shows 8 rows beside the verdict, the timeline's caption fits its line, and the trace graph's Tab stop shows its
marks whole."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QApplication

from pingmos.engine.fake_network import FakeHop
from tests.gui.conftest import DST, WAIT_MS, fake_factory, settle

# Ten hops, quality falling apart from hop 5 on (the link into it loses 30 % in bursts).
LONG_PATH = [
    FakeHop(f"198.18.0.{n + 2}", 2.0 + 3.0 * n, jitter_ms=1.0, link_loss_pct=30.0 if n == 4 else 0.0) for n in range(9)
] + [FakeHop(DST, 40.0, jitter_ms=3.0)]


def traced(qtbot, make_window, width, height, path=LONG_PATH):
    window = make_window(fake_factory(path, rounds=80))
    window.resize(width, height)
    window.show()
    qtbot.waitExposed(window)
    window.target_combo.setCurrentText(DST)
    window.start()
    settle(qtbot, window, timeout_ms=30000)
    return window


def data_points(graph) -> list[QPointF]:
    """Scene positions of what the latency plot draws: each hop's average and its min-max bar's ends, and each
    loss bar's top with its interval's."""
    points = []
    for x, y in zip(*graph.avg_line.getData(), strict=True):
        if y == y:
            points.append(graph.latency.vb.mapViewToScene(QPointF(x, y)))
    bars = graph.range_bars.opts
    for x, y, top in zip(bars["x"], bars["y"], bars["top"], strict=True):
        points.append(graph.latency.vb.mapViewToScene(QPointF(x, y + top)))
    loss = graph.loss_bars.opts
    for x, height in zip(loss["x"], loss["height"], strict=True):
        points.append(graph.loss_view.mapViewToScene(QPointF(x, height)))
    ci = graph.loss_ci.opts
    if ci["x"] is not None:
        for x, y, top in zip(ci["x"], ci["y"], ci["top"], strict=True):
            points.append(graph.loss_view.mapViewToScene(QPointF(x, y + top)))
    return points


def test_at_800_by_500_the_graph_s_marks_cover_no_point(qtbot, make_window):
    # They stood inside the latency plot (50 px high there), over the slowest hops' points and bars.
    window = traced(qtbot, make_window, 800, 500)
    graph = window.trace_graph
    d = window.evidence.verdict_bar.diagnosis
    assert d.deteriorates_at_ttl == 5 and window.marked_ttl == 5
    for rate_limited in ((), (3, 4), (9, 10)):
        window.evidence.marks.show(dataclasses.replace(d, rate_limited_ttls=rate_limited))
        qtbot.wait(20)
        labels = graph.mark_strip.scene_labels()
        texts = [text for text, _ in labels]
        assert any(text.startswith("▼") and "hop 5" in text for text in texts), texts
        plot = graph.latency.vb.sceneBoundingRect()
        whole = graph.ci.sceneBoundingRect()
        points = data_points(graph)
        assert len(points) >= 20
        for text, box in labels:
            assert box.bottom() <= plot.top() + 0.5, (text, box, plot)  # above the plot, not in it
            assert whole.left() <= box.left() and box.right() <= whole.right(), (text, box, whole)
            assert not [p for p in points if box.contains(p)], text
        boxes = [box for _, box in labels]
        assert not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :] if a.intersects(b)]
    # Every mark is in the strip's tooltip, whether or not it found room.
    assert "hop 9" in graph.mark_strip.toolTip() and "hop 5: problem starts here" in graph.mark_strip.toolTip()


def test_at_1280_the_marked_hop_s_title_stands_whole_beside_its_line(qtbot, make_window):
    window = traced(qtbot, make_window, 1280, 800)
    strip = window.trace_graph.mark_strip
    labels = strip.scene_labels()
    loss = strip.why()[0]
    assert loss.startswith("loss ") and loss.endswith(" %")  # (the table's figure: "loss 38.8 %")
    assert labels[0][0] in (f"▼ problem starts at hop 5: {loss}", f"▼ hop 5: {loss}")
    line_x = window.trace_graph.latency.vb.mapViewToScene(QPointF(window.trace_graph.mark_lines[0].value(), 0)).x()
    assert labels[0][1].left() <= line_x <= labels[0][1].left() + 20  # its ▼ above the dashed line
    # Marked at the last hop, the words stand left of the line, inside the graph.
    d = window.evidence.verdict_bar.diagnosis
    window.trace_graph.set_hops(window.last_update.snapshot.hops, 10, "problem starts at hop 10")
    qtbot.wait(20)
    text, box = strip.scene_labels()[0]
    assert text == "problem starts at hop 10 ▼" and box.right() <= window.trace_graph.ci.sceneBoundingRect().right()
    assert d is not None


def fully_visible_rows(table) -> int:
    room = table.viewport().height()
    return sum(
        1
        for row in range(table.model().rowCount())
        if table.rowViewportPosition(row) >= 0 and table.rowViewportPosition(row) + table.rowHeight(row) <= room
    )


def test_at_800_by_500_eight_hop_rows_show_with_the_verdict_and_the_timeline(qtbot, make_window):
    window = traced(qtbot, make_window, 800, 500)
    table = window.table
    assert table.model().rowCount() == 10
    qtbot.waitUntil(lambda: fully_visible_rows(table) >= 8, timeout=WAIT_MS)  # (it showed 4)
    bar = window.evidence.verdict_bar
    line = bar.label.fontMetrics().lineSpacing()
    assert bar.isVisible() and bar.scroll.height() >= 2 * line  # the verdict is whole (test_verdict_whole_gui)
    assert "Quality deteriorates at hop 5" in bar.label.text()
    timeline = window.timeline
    assert timeline.isVisible() and timeline.graphics.height() >= 48 and timeline.caption.isVisible()
    assert window.height() == 500 and window.minimumSizeHint().height() <= 500
    # A timeline the user drags higher stays so (fewer rows: their choice) until the window is resized.
    splitter = window.main_splitter
    total = sum(splitter.sizes())
    splitter.setSizes([total - 170, 170])
    splitter.splitterMoved.emit(total - 170, 1)
    qtbot.wait(100)
    assert splitter.sizes()[1] == 170 and fully_visible_rows(table) < 8
    window.resize(800, 501)
    qtbot.waitUntil(lambda: fully_visible_rows(table) >= 8, timeout=WAIT_MS)
    # A higher window gives the rows and the timeline their room again (the log's rows, the hover line).
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: timeline.hover_label.isVisible() and fully_visible_rows(table) == 10, timeout=WAIT_MS)
    assert window.evidence.event_log.titleBarWidget() is None


def test_at_800_by_500_the_timeline_s_plot_has_room_beside_eight_hop_rows(qtbot, make_window):
    # Its plot was 51 px high (40 px under Xvfb's fonts): pyqtgraph's 9 px margins, the timeline held to 30 % of
    # the room, and a line saying what the verdict's head says too ("Live: statistics over the last 100 samples").
    window = traced(qtbot, make_window, 800, 500)
    table, timeline = window.table, window.timeline
    qtbot.waitUntil(lambda: fully_visible_rows(table) >= 8, timeout=WAIT_MS)
    # (80 and 60 px while the verdict showed two of its lines; whole across the window, three or four lines, it
    # takes 20-30 px of their room.)
    qtbot.waitUntil(lambda: timeline.plot.vb.height() >= 50, timeout=WAIT_MS)
    assert fully_visible_rows(table) >= 8 and window.trace_graph.latency.vb.height() >= 45
    bar = window.evidence.verdict_bar
    assert bar.scroll.height() >= 2 * bar.label.fontMetrics().lineSpacing()
    assert not window.range_label.isVisible() and "over all 80 rounds" in bar.label.text()
    # A focus range is said above the table whatever the height (the yellow line), and gone with it.
    t0, t1 = timeline.view_range()
    timeline.set_focus(t0 + 0.4 * (t1 - t0), t0 + 0.6 * (t1 - t0))
    qtbot.waitUntil(lambda: window.range_label.isVisible() and "Focus" in window.range_label.text(), timeout=WAIT_MS)
    timeline.clear_focus()
    qtbot.waitUntil(lambda: not window.range_label.isVisible(), timeout=WAIT_MS)
    # A higher window says it again, and the timeline's plot is about as high as it was at 1280 x 800 (186 px;
    # 184 px with the verdict whole across the window).
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: window.range_label.isVisible() and timeline.plot.vb.height() >= 175, timeout=WAIT_MS)
    assert window.range_label.text().startswith("Live: statistics over the last")


def caption_width(label) -> float:
    document = QTextDocument()
    document.setDocumentMargin(0)
    document.setDefaultFont(label.font())
    document.setHtml(label.text())
    return document.idealWidth()


def test_the_timeline_s_caption_fits_its_line_at_800_px(qtbot, make_window):
    window = traced(qtbot, make_window, 800, 500)
    timeline = window.timeline
    caption = timeline.caption
    # A destination with a long name, as a lab's or a real one's reverse DNS gives.
    named = [dataclasses.replace(t, label=f"hop {t.ttl} (target.a-long-name.lab.test)") for t in timeline._data]
    timeline.set_data(named)
    qtbot.waitUntil(lambda: caption.contentsRect().width() > 100, timeout=WAIT_MS)
    room = caption.contentsRect().width()
    assert 0 < caption_width(caption) <= room, (caption.text(), caption_width(caption), room)  # (it ran past)
    assert "hop 10" in caption.text() and "lost" in caption.text()
    whole = caption.toolTip()
    assert "target.a-long-name.lab.test" in whole and "latency (solid line, left axis)" in whole
    # Wide enough, the caption says it all, and needs no tooltip.
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: "latency (solid line, left axis)" in caption.text(), timeout=WAIT_MS)
    assert caption_width(caption) <= caption.contentsRect().width() and caption.toolTip() == ""


def test_at_800_by_500_the_values_under_the_pointer_take_the_caption_s_line(qtbot, make_window):
    window = traced(qtbot, make_window, 800, 500)
    timeline = window.timeline
    assert not timeline.hover_label.isVisible()
    t0, t1 = timeline.view_range()
    text = timeline.show_values_at((t0 + t1) / 2)
    assert text.split()[0] in timeline.caption.text() and "hop 10:" in timeline.caption.text()
    timeline._mouse_moved(QPointF(-10.0, -10.0))  # the pointer leaves the plot: the caption again
    assert "lost" in timeline.caption.text() and "hop 10:" not in timeline.caption.text()


def test_tab_goes_from_the_hop_table_to_the_trace_graph_which_shows_its_marks_whole(qtbot, make_window):
    # At 800 px the mark is shortened; its whole text (a tooltip) was a pointer's only. The graph is a Tab stop
    # (and Ctrl+2): with the focus it shows a frame and its marks whole in a tooltip; then Tab goes on.
    from PySide6.QtWidgets import QToolTip

    window = traced(qtbot, make_window, 800, 500)
    graph = window.trace_graph
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
    window.table.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.table, timeout=WAIT_MS)
    qtbot.keyPress(window.table, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is graph
    qtbot.keyRelease(graph, Qt.Key.Key_Tab)  # (a key's release goes where the focus is now)
    whole = graph.mark_strip.toolTip()
    assert whole.startswith("hop 5: problem starts here: loss ") and "95 % CI" in whole
    qtbot.waitUntil(lambda: QToolTip.isVisible() and QToolTip.text() == whole, timeout=WAIT_MS)
    assert graph.accessibleName() == "trace graph" and graph.accessibleDescription() == whole
    qtbot.keyClick(graph, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is window.timeline.focus_button and not QToolTip.isVisible()
    qtbot.keyClick(window.timeline.focus_button, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is graph
    qtbot.keyClick(graph, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is window.table
    # Ctrl+2 goes there from anywhere (View > Go to trace graph), and Space shows the marks again.
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    go = next(a for a in view.actions() if "trace &graph" in a.text())
    assert go.shortcut().toString() == "Ctrl+2"
    qtbot.keyPress(window.table, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is graph
    qtbot.keyRelease(graph, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: QToolTip.isVisible() and QToolTip.text() == whole, timeout=WAIT_MS)
    QToolTip.hideText()
    qtbot.waitUntil(lambda: not QToolTip.isVisible(), timeout=WAIT_MS)
    qtbot.keyClick(graph, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: QToolTip.isVisible() and QToolTip.text() == whole, timeout=WAIT_MS)


def test_at_800_by_500_the_marked_hop_says_why_not_only_its_number(qtbot, make_window):
    # It read "▼ hop 5" alone; at 1280 the title says the hop and why. Narrow, "hop N" and the why stay, the why
    # shortened at a problem's end ("…") or to the problems' names: never a number cut ("loss 3…").
    window = traced(qtbot, make_window, 800, 500)
    strip = window.trace_graph.mark_strip
    problems = strip.why()
    assert problems and problems[0].startswith("loss ")
    text = strip.scene_labels()[0][0]
    assert text.startswith("▼ hop 5: loss") or text.startswith("hop 5: loss") or text == "▼", text
    assert text != "▼"
    plot = window.trace_graph.latency.vb.sceneBoundingRect()
    assert strip.scene_labels()[0][1].bottom() <= plot.top() + 0.5  # (still above the plot)
    # Two problems in a narrow row: whole problems then "…", or their names.
    d = window.evidence.verdict_bar.diagnosis
    two = dict(d.problems)
    two[5] = (*d.problems[5], "MOS 2.31 (95 % CI 2.10-2.52)")
    window.evidence.marks.show(dataclasses.replace(d, problems=two))
    qtbot.wait(20)
    text = strip.scene_labels()[0][0]
    assert text in (f"▼ hop 5: {problems[0]}, MOS 2.31", f"▼ hop 5: {problems[0]}, \u2026", "▼ hop 5: loss, MOS"), text
    assert "MOS 2.31 (95 % CI 2.10-2.52)" in strip.toolTip() and problems[0] in strip.toolTip()
    # Narrower still: the names, then "hop 5" alone, each beside the line.
    window.trace_graph.setFixedWidth(230)
    qtbot.waitUntil(lambda: strip.scene_labels()[0][0] != text, timeout=WAIT_MS)
    narrow = strip.scene_labels()[0][0]
    assert narrow in ("▼ hop 5: loss, MOS", "▼ hop 5: loss, \u2026", "▼ hop 5", "hop 5 ▼", "▼"), narrow


def mnemonics(window) -> dict[str, list[str]]:
    """Alt+letter -> what it opens: the menu bar's menus and the visible labels that lead to a field."""
    import re

    from PySide6.QtWidgets import QLabel

    found: dict[str, list[str]] = {}
    texts = [f"menu {a.text()}" for a in window.menuBar().actions()]
    texts += [f"label {label.text()}" for label in window.findChildren(QLabel) if label.buddy() and label.isVisible()]
    for text in texts:
        letter = re.search(r"&(\w)", text)
        if letter:
            found.setdefault(letter.group(1).lower(), []).append(text)
    return found


def test_no_two_alt_letters_of_the_window_share_a_letter(qtbot, make_window):
    # Alt+T was the Trace menu's and the target field's, Alt+A the Alerts menu's and the samples field's: Qt then
    # gave the key to one or the other by turns.
    window = make_window()
    window.resize(800, 500)
    window.show()
    qtbot.waitExposed(window)
    found = mnemonics(window)
    assert {k: v for k, v in found.items() if len(v) > 1} == {}
    assert len(found) >= 10  # the five menus, the toolbar's fields and the model


def test_every_tab_stop_of_the_window_has_a_name(qtbot, make_window):
    # A screen reader said nothing but "combo box" for the samples, protocol and focus range preset fields.
    window = traced(qtbot, make_window, 800, 500)
    window.target_combo.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.target_combo, timeout=WAIT_MS)
    stops, widget = [], window.target_combo
    for _ in range(60):
        stops.append(widget)
        widget = widget.nextInFocusChain()
        # (as Qt's Tab does: a widget with a focus proxy, such as a graph's viewport, is no stop of its own)
        while not (
            widget.focusPolicy() & Qt.FocusPolicy.TabFocus
            and widget.isVisible()
            and widget.isEnabled()
            and widget.focusProxy() is None
        ):
            widget = widget.nextInFocusChain()
        if widget is window.target_combo:
            break
    assert window.table in stops and window.evidence.verdict_bar.scroll in stops and window.trace_graph in stops
    unnamed = [
        type(w).__name__ for w in stops if not w.accessibleName() and not (hasattr(w, "text") and w.text().strip())
    ]
    assert unnamed == []


def test_the_verdict_shows_when_it_has_the_keyboard_focus(qtbot, make_window):
    # A Tab stop (arrows scroll a long verdict) that showed nothing when the focus was there.
    window = traced(qtbot, make_window, 800, 500)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
    scroll = window.evidence.verdict_bar.scroll

    def edge() -> set[str]:
        image = scroll.grab().toImage()
        return {image.pixelColor(0, y).name() for y in range(2, image.height() - 2)}

    window.evidence.verdict_bar.copy_button.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.evidence.verdict_bar.copy_button, timeout=WAIT_MS)
    unfocused = edge()
    scroll.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: scroll.hasFocus(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: edge() != unfocused, timeout=WAIT_MS)
    assert scroll.palette().highlight().color().name() in edge()


def test_escape_in_the_formula_editor_asks_before_unsaved_changes_go(qtbot, make_window, monkeypatch):
    # Escape (the dialog's reject) hid the editor with its changes and asked nothing; Close and the title bar ask.
    from PySide6.QtWidgets import QMessageBox

    asked: list[str] = []
    answer = [QMessageBox.StandardButton.Cancel]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: (asked.append(a[2]), answer[0])[1])
    window = make_window()
    window.show()
    window.open_formula_editor()
    editor = window.formula_editor
    qtbot.waitUntil(lambda: editor.isVisible() and editor.editor.toPlainText() != "", timeout=WAIT_MS)
    saved = editor.editor.toPlainText()
    editor.editor.setFocus()
    qtbot.keyClick(editor.editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(editor.editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor.editor, "# a change")
    assert editor.is_modified()
    qtbot.keyClick(editor.editor, Qt.Key.Key_Escape)
    assert len(asked) == 1 and "not saved" in asked[0]
    assert editor.isVisible() and "# a change" in editor.editor.toPlainText()  # Cancel: nothing lost
    answer[0] = QMessageBox.StandardButton.Discard
    qtbot.keyClick(editor.editor, Qt.Key.Key_Escape)
    assert len(asked) == 2 and not editor.isVisible() and editor.editor.toPlainText() == saved
    # Unchanged, Escape closes at once.
    window.open_formula_editor()
    qtbot.waitUntil(editor.isVisible, timeout=WAIT_MS)
    qtbot.keyClick(editor.editor, Qt.Key.Key_Escape)
    assert len(asked) == 2 and not editor.isVisible()


def test_at_800_by_500_a_session_opened_from_its_file_shows_eight_hop_rows(qtbot, make_window, settings_store):
    # The default model's settings take two lines of the scoring row, and the session's range line two more.
    settings_store.set_model("g107-jb")
    window = traced(qtbot, make_window, 800, 500)
    recording = window.evidence.sessions.recording
    qtbot.waitUntil(lambda: recording.recorder is not None, timeout=WAIT_MS)
    recording.flush()
    window.evidence.sessions.open_path(str(recording.path))
    qtbot.waitUntil(lambda: window.evidence.is_replay(window.trace), timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: window.last_update is not None and window.last_update.request.trace is window.trace and window.quiet,
        timeout=WAIT_MS,
    )
    assert window.range_label.text().startswith("<b>Session ") and window.model_name == "g107-jb"
    qtbot.waitUntil(lambda: fully_visible_rows(window.table) >= 8, timeout=WAIT_MS)
    bar = window.evidence.verdict_bar
    assert bar.scroll.height() >= 2 * bar.label.fontMetrics().lineSpacing() and window.timeline.graphics.height() >= 48


# Hop 3 and the destination each lose 30 % on their own, in different rounds: per-packet drops into hop 3, or hop 3
# rate limiting with the loss beyond it; the TTL data cannot tell, so the problem is located to a range of hops.
RANGE_PATH = [FakeHop("198.18.0.2", 2.0), FakeHop("198.18.0.3", 5.0), FakeHop("198.18.0.4", 8.0, loss_pct=30.0),
              FakeHop(DST, 11.0, loss_pct=30.0)]  # fmt: skip


def test_a_range_is_marked_on_each_of_its_hops_at_800_by_500_and_by_keyboard(qtbot, make_window):
    # A range had no mark at all: no line in the graph, no row of the table (the verdict line alone said it).
    from PySide6.QtWidgets import QToolTip

    from pingmos.diagnosis import range_words
    from pingmos.gui.hop_table import COL_HOP, COL_MOS
    from pingmos.gui.trace_graph import MARK_OFFSET

    window = traced(qtbot, make_window, 800, 500, RANGE_PATH)
    graph, model = window.trace_graph, window.table_model
    bar = window.evidence.verdict_bar
    qtbot.waitUntil(lambda: bar.diagnosis is not None and bar.diagnosis.open_range is not None, timeout=WAIT_MS)
    span = bar.diagnosis.open_range
    assert span[1] == 4 and span[0] <= 3, bar.diagnosis.verdict
    # The state asserted, waited for: the graph's bracket and the table's rows (drawn in passes after the verdict).
    qtbot.waitUntil(lambda: graph.marked_span == span and model.marked_span == span, timeout=WAIT_MS)
    short, whole = range_words(span, short=True), range_words(span)
    assert short == bar.diagnosis.short and whole in bar.label.text()
    # The graph: one shaded bracket over both plots, from the first hop's line to past the last hop; no hop line.
    for region in graph.span_regions:
        assert region.isVisible()
        lo, hi = region.getRegion()
        assert abs(lo - (span[0] - MARK_OFFSET)) < 1e-9 and abs(hi - (span[1] + MARK_OFFSET)) < 1e-9
    assert not graph.mark_lines[0].isVisible() and graph.marked_ttl is None
    # Its title above the plot, beside the bracket, in the verdict's words (or "hops 3-4" where narrow), over no point.
    labels = graph.mark_strip.scene_labels()
    first = labels[0][0]
    assert short in first or f"hops {span[0]}-{span[1]}" in first, [t for t, _ in labels]
    plot = graph.latency.vb.sceneBoundingRect()
    points = data_points(graph)
    for text, box in labels:
        assert box.bottom() <= plot.top() + 0.5 and not [p for p in points if box.contains(p)], text
    # The table: each row of the range marked as the single hop's is (bold Hop and MOS), its Hop cell's tooltip in
    # the verdict's words; the other rows not.
    for row, hop in enumerate(model.hops):
        inside = span[0] <= hop.ttl <= span[1]
        font = model.data(model.index(row, COL_HOP), Qt.ItemDataRole.FontRole)
        mos_font = model.data(model.index(row, COL_MOS), Qt.ItemDataRole.FontRole)
        assert (font is not None and font.bold()) == inside and (mos_font is not None and mos_font.bold()) == inside
        tip = model.data(model.index(row, COL_HOP), Qt.ItemDataRole.ToolTipRole)
        assert (tip is not None and short in tip and whole in tip) == inside, (hop.ttl, tip)
    # By keyboard as the single hop's mark: Ctrl+2, and the graph's tooltip and accessible text say it whole.
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
    window.table.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.table, timeout=WAIT_MS)
    tip = graph.mark_strip.toolTip()
    assert tip.startswith(f"hops {span[0]}-{span[1]}: {short}: {whole}"), tip
    qtbot.keyPress(window.table, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is graph
    qtbot.keyRelease(graph, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: QToolTip.isVisible() and QToolTip.text() == tip, timeout=WAIT_MS)
    assert graph.accessibleDescription() == tip
