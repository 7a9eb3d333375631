"""The window shows no number for a hop that gave no samples (a silent router: no R, no MOS, no quality colour) and
paints no red for a router that only rate-limits its ICMP, while the verdict is undecided and after it is decided:
the table's colours follow the one diagnosis (Diagnosis.rate_limited_ttls), not a rule of their own."""

from __future__ import annotations

from PySide6.QtCore import Qt

from pingmos.engine.events import Sample
from pingmos.engine.fake_network import FakeHop
from pingmos.gui.hop_table import COL_LOSS, COL_MOS, COL_R, RATE_LIMITED_TIP, UNMEASURED_TIP, HopTableModel
from pingmos.gui.quality import BAD, BAND_COLOURS, BAND_PENS, RATE_LIMITED_COLOUR
from pingmos.scoring import load_model
from pingmos.state import TraceState
from tests.gui.conftest import DST, LOSSY_PATH, WAIT_MS, fake_factory, settle
from tests.gui.test_main_window import start_by_enter

# Hop 2 drops 40 % of the replies it should generate itself (ICMP rate limiting); nothing is lost on the path.
RATE_LIMITED_PATH = [FakeHop("198.18.0.2", 2.0), FakeHop("198.18.0.3", 5.0, loss_pct=40.0), FakeHop(DST, 8.0)]


def _cell(window, ttl: int, col: int, role=Qt.ItemDataRole.DisplayRole):
    model = window.table_model
    row = next(i for i, h in enumerate(model.hops) if h.ttl == ttl)
    return model.data(model.index(row, col), role)


def _background(window, ttl: int, col: int) -> str | None:
    brush = _cell(window, ttl, col, Qt.ItemDataRole.BackgroundRole)
    return None if brush is None else brush.color().name()


def test_a_silent_router_shows_no_score_in_the_table_or_the_graph(qtbot, make_window):
    window = make_window(fake_factory(LOSSY_PATH, rounds=40))
    window.window_combo.setCurrentText("all")
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    silent = window.table_model.hops[1]
    assert silent.ttl == 2 and silent.address is None and silent.sent >= 40 and silent.unmeasured
    assert silent.mos is None and silent.r is None
    assert _cell(window, 2, COL_MOS) == "" and _cell(window, 2, COL_R) == ""
    assert _background(window, 2, COL_MOS) is None and _background(window, 2, COL_LOSS) is None
    assert _cell(window, 2, COL_MOS, Qt.ItemDataRole.ToolTipRole) == UNMEASURED_TIP
    # The graph draws no MOS point at hop 2; the hops that answered have theirs.
    xs = [p.pos().x() for p in window.trace_graph.mos_points.points()]
    assert 2.0 not in xs and {1.0, 3.0} <= set(xs)
    # The hop where the loss starts is painted as the problem it is.
    assert _background(window, 3, COL_LOSS) == BAND_COLOURS[BAD]


def _point_colours(window) -> dict[float, str]:
    return {p.pos().x(): p.brush().color().name() for p in window.trace_graph.mos_points.points()}


def _rate_limited_window(qtbot, make_window, rounds: int):
    window = make_window(fake_factory(RATE_LIMITED_PATH, rounds=rounds))
    window.window_combo.setCurrentText("all")
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    return window


def test_a_rate_limiting_router_is_not_red_while_the_verdict_is_undecided(qtbot, make_window):
    window = _rate_limited_window(qtbot, make_window, 30)
    d = window.evidence.verdict_bar.diagnosis
    router = window.table_model.hops[1]
    assert d.status == "undecided" and router.loss_pct > 20.0, (d.status, router.loss_pct)
    assert d.rate_limited_ttls == (2,), d.verdict
    assert "rate limiting" in window.evidence.verdict_bar.label.text()
    qtbot.waitUntil(lambda: window.table_model.rate_limited == {2}, timeout=WAIT_MS)
    assert _background(window, 2, COL_LOSS) is None and _background(window, 2, COL_MOS) is None
    assert RATE_LIMITED_TIP in _cell(window, 2, COL_LOSS, Qt.ItemDataRole.ToolTipRole)
    assert RATE_LIMITED_TIP in _cell(window, 2, COL_MOS, Qt.ItemDataRole.ToolTipRole)
    # Its figures are still shown (measured), only not painted as the path's problem; the others keep colours.
    assert _cell(window, 2, COL_MOS) not in ("", None) and _background(window, 3, COL_MOS) is not None
    # The graph's MOS point of the router is the grey of its "rate-limited" mark, the others in their bands.
    colours = _point_colours(window)
    assert colours[2.0] == RATE_LIMITED_COLOUR and colours[3.0] == BAND_PENS["good"]


def test_a_rate_limiting_router_is_not_red_once_the_verdict_is_decided(qtbot, make_window):
    window = _rate_limited_window(qtbot, make_window, 420)
    d = window.evidence.verdict_bar.diagnosis
    assert d.status == "no-problem" and d.rate_limited_ttls == (2,), d.verdict
    qtbot.waitUntil(lambda: window.table_model.rate_limited == {2}, timeout=WAIT_MS)
    assert _background(window, 2, COL_LOSS) is None and _background(window, 2, COL_MOS) is None
    assert _background(window, 3, COL_LOSS) == BAND_COLOURS["good"]
    assert _point_colours(window)[2.0] == RATE_LIMITED_COLOUR


def test_the_band_colour_goes_only_where_the_diagnosis_says_rate_limiting(qtbot):
    """The table's own rule is the band; the diagnosis's rate-limited hops are what takes the colour away."""
    st = TraceState(DST, DST, "icmp", 1.0)
    for r in range(30):
        st.apply(Sample(r, 1, 2 * r, 1e9 + r, None if r % 2 else 5.0, None if r % 2 else "198.18.0.3"))
        st.apply(Sample(r, 2, 2 * r + 1, 1e9 + r, 8.0, DST, True))
    with load_model("g107-jb") as scorer:
        hops = st.snapshot(None, scorer, "g107-jb").hops
    model = HopTableModel()
    model.set_hops(hops, None)
    brush = model.data(model.index(0, COL_LOSS), Qt.ItemDataRole.BackgroundRole)
    assert brush is not None and brush.color().name() == BAND_COLOURS[BAD]
    model.set_hops(hops, None, None, (1,))
    assert model.data(model.index(0, COL_LOSS), Qt.ItemDataRole.BackgroundRole) is None
    assert model.data(model.index(0, COL_MOS), Qt.ItemDataRole.BackgroundRole) is None
    assert model.data(model.index(0, COL_MOS), Qt.ItemDataRole.DisplayRole) == f"{hops[0].mos:.2f}"
