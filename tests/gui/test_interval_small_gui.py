"""The window's hop table and trace graph show a small window's MOS interval as the report does, marked."""

import numpy as np
import pytest

pytest.importorskip("PySide6")

from pingmos.engine.events import Sample  # noqa: E402
from pingmos.gui.hop_table import COL_MOS_CI, cell_text, cell_tooltip  # noqa: E402
from pingmos.gui.trace_graph import TraceGraph  # noqa: E402
from pingmos.report.formats import FEW_SAMPLES_MARK, to_table  # noqa: E402
from pingmos.scoring import load_model  # noqa: E402
from pingmos.state import TraceState  # noqa: E402


def snapshot(hop_rtts):
    st = TraceState("t", "198.18.0.9", "icmp", 1.0)
    for ttl, rtts in enumerate(hop_rtts, start=1):
        address = "198.18.0.9" if ttl == len(hop_rtts) else f"198.18.0.{ttl + 1}"
        for r, rtt in enumerate(rtts):
            reached = rtt is not None and address == "198.18.0.9"
            st.apply(Sample(r, ttl, 100 * r + ttl, 1700000000.0 + r, rtt, None if rtt is None else address, reached))
    return st.snapshot(None, load_model("g107-jb"), "g107-jb")


def test_the_table_and_graph_show_the_interval_dashed_and_marked_where_samples_are_few(qtbot):
    rng = np.random.default_rng(4)
    many = [float(v) for v in 10.0 + rng.exponential(2.0, 12)]
    snap = snapshot([[30.2, 34.0, None], many])  # a router answering 3 rounds, the destination 12
    hop_few, hop_many = snap.hops
    assert not hop_many.mos_ci_few_samples and hop_few.mos_ci_few_samples
    text = cell_text(hop_few, COL_MOS_CI)
    assert text == f"{hop_few.mos_ci[0]:.2f}-{hop_few.mos_ci[1]:.2f}{FEW_SAMPLES_MARK}"
    assert f"({text[:-1]}){FEW_SAMPLES_MARK}" in to_table(snap)  # "4.40 (1.71-4.40)?" there
    assert "not enough samples" in cell_tooltip(hop_few, COL_MOS_CI, None)
    assert cell_text(hop_many, COL_MOS_CI) == f"{hop_many.mos_ci[0]:.2f}-{hop_many.mos_ci[1]:.2f}"
    assert cell_tooltip(hop_many, COL_MOS_CI, None) is None

    graph = TraceGraph()
    qtbot.addWidget(graph)
    graph.set_hops(snap.hops, None)
    for item, hop in ((graph.mos_ci, hop_many), (graph.mos_ci_few, hop_few)):
        opts = item.opts
        assert list(opts["x"]) == [hop.ttl]
        assert opts["y"][0] - opts["bottom"][0] == pytest.approx(hop.mos_ci[0])
        assert opts["y"][0] + opts["top"][0] == pytest.approx(hop.mos_ci[1])
    assert "not enough samples" in graph.mos.toolTip()
    graph.set_hops(snapshot([many]).hops, None)  # no small window left: no dashed whisker, no note
    assert len(graph.mos_ci_few.opts["x"]) == 0 and graph.mos.toolTip() == ""
