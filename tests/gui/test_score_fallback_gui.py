"""While the user's formula file is broken, the table shows the last working version's R and MOS, marked, beside
the error; the live trace keeps the ModelError whole so that score reaches the table."""

from PySide6.QtCore import Qt

from pingmos.gui.hop_table import COL_MOS, COL_R, cell_text
from pingmos.gui.models import result_for_hop
from pingmos.hop_report import scored_hop
from pingmos.scoring import HopWindow, ModelError, Score


def test_a_broken_formula_shows_the_last_working_score_marked_beside_the_error():
    stats = HopWindow.from_rtts([10.0, 12.0, None, 11.0])
    error = ModelError("/cfg/scoring/my_pingplotter.py", 41, "syntax error", fallback=Score(92.9, 4.4, {}))
    hop = scored_hop(1, "198.18.0.2", None, {"198.18.0.2": 3}, stats, result_for_hop(error))
    assert hop.r is None and hop.mos is None  # not this formula's score
    assert cell_text(hop, COL_R) == "92.9*"
    assert cell_text(hop, COL_MOS) == "4.40* ERR"


def test_without_a_working_version_the_hop_shows_only_the_error():
    stats = HopWindow.from_rtts([10.0, 12.0])
    hop = scored_hop(1, "198.18.0.2", None, {}, stats, result_for_hop(ModelError("f.py", 3, "boom")))
    assert cell_text(hop, COL_MOS) == "ERR"
    assert cell_text(hop, COL_R) == ""
    assert "f.py" in hop.score_error


def test_the_trace_graph_draws_the_fallback_marked_where_the_table_shows_it(qtbot):
    """Breaker finding 8: after a syntax error the table showed "3.09* ERR" and the timeline its curve, but the
    trace graph's MOS panel was empty."""
    import numpy as np

    from pingmos.gui.quality import Thresholds
    from pingmos.gui.trace_graph import FALLBACK_WORDS, TraceGraph

    stats = HopWindow.from_rtts([10.0, 12.0, None, 11.0])
    error = ModelError("/cfg/scoring/my_pingplotter.py", 41, "syntax error", fallback=Score(80.0, 3.09, {}))
    broken = scored_hop(1, "198.18.0.2", None, {"198.18.0.2": 3}, stats, result_for_hop(error))
    bare = scored_hop(2, "198.18.1.2", None, {"198.18.1.2": 3}, stats, result_for_hop(ModelError("f.py", 3, "x")))
    graph = TraceGraph(Thresholds())
    qtbot.addWidget(graph)
    graph.set_hops((broken, bare), None, error="my_pingplotter failed: /cfg/scoring/my_pingplotter.py:41")
    x, y = graph.fallback_points.getData()
    assert list(x) == [1.0] and list(y) == [3.09]  # hop 2 has no working version: nothing drawn for it
    assert list(graph.mos_points.getData()[0]) == []  # not drawn as this formula's score
    assert graph.fallback_line.opts["pen"].style() == Qt.PenStyle.DashLine
    assert graph._mos_title_error and FALLBACK_WORDS in graph.mos.titleLabel.toolTip() + graph._mos_title
    assert graph._mos_title.endswith(FALLBACK_WORDS)
    graph.set_hops((scored_hop(1, "198.18.0.2", None, {}, stats, Score(80.0, 3.2, {})),), None)
    assert len(graph.fallback_points.getData()[0]) == 0 and FALLBACK_WORDS not in graph._mos_title
    assert np.isnan(graph.fallback_line.getData()[1]).all()
