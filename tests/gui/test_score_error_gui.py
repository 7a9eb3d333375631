"""A failing MOS model in the window: where the MOS is drawn, one line says which model failed and why (the
scoring layer's error); the table's MOS cells show ERR, never a number; the timeline's caption says there is no
MOS. And each plot draws one grid, the left axis's, not the right-hand axis's over it."""

import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter

from pingmos.gui.hop_table import COL_MOS, COL_R
from pingmos.gui.timeline import TimelineWidget
from pingmos.gui.trace_graph import TraceGraph
from pingmos.scoring import user_scoring_dir
from tests.gui.conftest import WAIT_MS, settle
from tests.gui.test_sessions_gui import DATA, config_dir, start, table_rows  # noqa: F401

FORMULAS = {
    # Raises for every hop.
    "raising": ("    return 1 / 0\n", "raising.py:5: ZeroDivisionError: division by zero"),
    # Returns something that is not a number.
    "notanumber": ("    return 'x', None, {}\n", "notanumber.py:4: R and MOS must be numbers, not 'x' and None"),
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_a_failing_formula_says_in_the_mos_plot_which_model_failed_and_why(qtbot, make_window, settings_store, name):
    body, reason = FORMULAS[name]
    folder = user_scoring_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(f'"""A formula that fails."""\n\n\ndef score_hop(hop):\n{body}')
    settings_store.set_model(name)
    window = make_window()
    assert window.model_name == name
    window.resize(1280, 800)
    window.show()
    start(window)
    settle(qtbot, window)

    graph = window.trace_graph
    assert graph._mos_title == f"{name} failed: {reason}"  # the file by its name; wide enough to be whole
    assert graph.mos.titleLabel.toolTip() == graph._mos_title  # (whole when a narrow graph elides the title)
    assert str(folder / f"{name}.py") in window.error_banner.text()  # the banner gives the whole path
    assert reason.split(": ", 1)[1] in graph.mos.titleLabel.text
    assert len(graph.mos_points.data) == 0  # no MOS point where the model failed
    answering = [row for row in table_rows(window) if row[2] != "???"]
    assert answering and all(row[COL_MOS] == "ERR" and row[COL_R] == "" for row in answering)
    caption = window.timeline.caption.text()
    assert f"no MOS: {name} failed" in caption and "MOS (dashed" not in caption
    assert reason.split(": ", 1)[1] in window.error_banner.text() and window.error_banner.isVisible()


def test_an_mtr_report_scored_by_a_failing_formula_says_why(qtbot, make_window, settings_store):
    """An opened mtr --json report is scored in the sessions worker and shown without an update: its table said
    ERR and nothing said why (no banner, "MOS by raising" over an empty plot)."""
    body, reason = FORMULAS["raising"]
    folder = user_scoring_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "raising.py").write_text(f'"""A formula that fails."""\n\n\ndef score_hop(hop):\n{body}')
    settings_store.set_model("raising")
    window = make_window()
    window.resize(1280, 800)
    window.show()
    window.evidence.sessions.open_path(str(DATA / "lab3.mtr.json"))
    graph = window.trace_graph
    qtbot.waitUntil(lambda: window.evidence.summary is not None and graph._mos_title_error is not None, timeout=WAIT_MS)
    assert graph._mos_title == f"raising failed: {reason}"
    assert window.error_banner.isVisible() and reason.split(": ", 1)[1] in window.error_banner.text()
    assert [row[COL_MOS] for row in table_rows(window)] == ["ERR"] * 3
    # Scored again with a working model: the line and the banner go.
    window.model_combo.setCurrentIndex(window.model_combo.findData("pingplotter"))
    qtbot.waitUntil(lambda: graph._mos_title.startswith("MOS by pingplotter"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window.error_banner.isVisible(), timeout=WAIT_MS)
    assert all(row[COL_MOS] not in ("ERR", "") for row in table_rows(window))


def test_a_working_model_names_itself_above_the_mos_plot(qtbot, make_window):
    window = make_window()
    start(window)
    settle(qtbot, window)
    graph = window.trace_graph
    assert graph._mos_title.startswith("MOS by pingplotter") and graph.mos.titleLabel.toolTip() == ""
    assert len(graph.mos_points.data) > 0
    assert "MOS (dashed, right" in window.timeline.caption.text()  # (the whole form: in its tooltip)


def _grids(plot):
    return {name: plot.getAxis(name).grid for name in ("left", "bottom", "right")}


def test_each_plot_draws_the_left_axis_grid_only(qtbot):
    graph, timeline = TraceGraph(), TimelineWidget()
    qtbot.addWidget(graph)
    qtbot.addWidget(timeline)
    for plot in (graph.latency, timeline.plot):
        grids = _grids(plot)
        # Opacity 0 (none drawn), not False: see the next test.
        assert grids["left"] and grids["bottom"] and grids["right"] == 0 and grids["right"] is not False
        # Turned off and on again from the plot's menu: still the left axis's only.
        plot.ctrl.yGridCheck.setChecked(False)
        assert _grids(plot)["left"] is False
        plot.ctrl.yGridCheck.setChecked(True)
        plot.ctrl.gridAlphaSlider.setValue(100)
        grids = _grids(plot)
        assert grids["left"] == 100 and grids["right"] == 0 and grids["right"] is not False


def _label_rects(axis):
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        return [QRectF(rect) for rect, _flags, _text in axis.generateDrawSpecs(painter)[2]]
    finally:
        painter.end()


@pytest.mark.parametrize("height", [180, 230])
def test_the_right_hand_axes_labels_stay_apart_and_inside_a_low_graph(qtbot, height):
    """The trace graph's pane at 800 x 500 is about 310 x 180-230 px: its loss axis 50-80 px high. Without any
    grid, pyqtgraph put six labels there (0-100 %), 0 and 100 reaching past the plot's edges, and at 50 px on top of
    each other."""
    graph = TraceGraph()
    qtbot.addWidget(graph)
    graph.resize(310, height)
    graph.show()
    qtbot.waitExposed(graph)
    axis = graph.latency.getAxis("right")
    qtbot.waitUntil(lambda: axis.geometry().height() < 100 and len(_label_rects(axis)) >= 1)
    rects = sorted(_label_rects(axis), key=lambda r: r.top())
    where = [(r.top(), r.bottom()) for r in rects]
    assert all(a.bottom() <= b.top() for a, b in zip(rects, rects[1:], strict=False)), where
    assert rects[0].top() >= 0 and rects[-1].bottom() <= axis.geometry().height(), where


def test_the_timeline_caption_says_which_mos_it_draws_when_the_formula_fails():
    from types import SimpleNamespace as NS

    from pingmos.gui.main_window import timeline_mos_note
    from pingmos.scoring import Score

    def update(hops, model_error=None):
        snapshot = NS(hops=tuple(NS(ttl=t, score_error=e, score_fallback=f) for t, e, f in hops))
        return NS(timelines=[NS(ttl=5)], snapshot=snapshot, model_error=model_error, request=NS(model_name="mine"))

    assert timeline_mos_note(update([(5, None, None)])) is None
    assert timeline_mos_note(update([(5, "mine.py:3: boom", None)])) == "no MOS: mine failed"
    fallback = Score(92.9, 4.4, {})
    assert timeline_mos_note(update([(5, "mine.py:3: boom", fallback)])).endswith("last working version *")
    assert timeline_mos_note(update([(4, "mine.py:3: boom", None), (5, None, None)])) is None  # hop 4 not drawn
    assert timeline_mos_note(update([(5, None, None)], model_error="unknown model 'mine'")) == "no MOS: mine failed"
