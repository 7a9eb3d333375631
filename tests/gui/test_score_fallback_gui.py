"""While the user's formula file is broken, the table shows the last working version's R and MOS, marked, beside
the error; the live trace keeps the ModelError whole so that score reaches the table."""

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
