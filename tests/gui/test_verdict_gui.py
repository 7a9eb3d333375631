"""The window shows one diagnosis: the verdict line, the graph's title and marker, the table's mark; "not enough
samples yet: about N more rounds" while the intervals cannot tell; the loss interval in the loss cell's tooltip."""

from __future__ import annotations

from PySide6.QtCore import Qt

from pingmos.engine.fake_network import FakeHop
from pingmos.gui.hop_table import COL_LOSS
from tests.gui.conftest import DST, LOSSY_PATH, WAIT_MS, fake_factory, settle
from tests.gui.test_main_window import start_by_enter

CLEAN_PATH = [FakeHop("198.18.0.2", 2.0, jitter_ms=1.0), FakeHop("198.18.0.3", 5.0), FakeHop(DST, 8.0)]


def test_few_clean_rounds_say_how_many_more_everywhere(qtbot, make_window):
    window = make_window(fake_factory(CLEAN_PATH, rounds=20))
    default_window = window.window_size
    window.window_combo.setCurrentText("all")
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    d = window.evidence.verdict_bar.diagnosis
    dest = window.last_update.snapshot.hops[-1]
    assert d.status == "undecided" and dest.sent >= 20 and d.rounds_needed == 381 - dest.sent
    assert f"about {d.rounds_needed} more rounds" in window.evidence.verdict_bar.label.text()
    assert window.trace_graph.mark_text == f"not enough samples yet: about {d.rounds_needed} more rounds"
    assert window.marked_ttl is None and not window.trace_graph.mark_lines[0].isVisible()
    tip = window.table_model.data(window.table_model.index(0, COL_LOSS), Qt.ItemDataRole.ToolTipRole)
    first = window.last_update.snapshot.hops[0]
    lo, hi = first.loss_ci_pct
    assert tip.startswith(f"0 of {first.sent} lost; 95 % interval {lo:.1f}-{hi:.1f} %") and hi > 1.0
    # The default window can settle it (381 samples rule out 1 % loss with none lost).
    assert default_window is None or default_window >= 381
    # A window still filling says how many more rounds fill it, never "widen" (its figures may yet move).
    window.window_combo.setCurrentText("100")
    label = window.evidence.verdict_bar.label
    qtbot.waitUntil(lambda: "fill the window of 100 samples" in label.text(), timeout=WAIT_MS)
    assert "widen" not in label.text() and f"about {100 - dest.sent} more rounds" in label.text()


def test_the_default_window_calls_a_clean_path_clean(qtbot, make_window):
    """At Samples=100 a clean path stayed "undecided ... widen it" forever (0 of 100 lost: 0.0-3.7 %, over 1 %);
    the default window holds enough rounds to rule the 1 % loss threshold out."""
    window = make_window(fake_factory(CLEAN_PATH, rounds=640))
    assert window.window_combo.currentText() == str(window.window_size)
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    d = window.evidence.verdict_bar.diagnosis
    assert window.last_update.snapshot.window == window.window_size
    assert d.status == "no-problem", d.verdict
    assert "No path problem" in window.evidence.verdict_bar.label.text()
    # A full window too short for it says to how many samples to widen it.
    window.window_combo.setCurrentText("100")
    label = window.evidence.verdict_bar.label
    qtbot.waitUntil(lambda: "widen it to at least 381 samples" in label.text(), timeout=WAIT_MS)


def test_the_verdict_the_graph_and_the_table_name_one_hop(qtbot, make_window):
    window = make_window(fake_factory(LOSSY_PATH, rounds=60))
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    d = window.evidence.verdict_bar.diagnosis
    assert d.status == "problem" and d.deteriorates_at_ttl == 3
    assert window.marked_ttl == window.trace_graph.marked_ttl == window.table_model.marked_ttl == 3
    assert window.trace_graph.mark_text == "problem starts at hop 3"
    # In the strip above the plot, with why: the verdict's own figures for hop 3, without their intervals.
    why = ", ".join(p.split(" (")[0] for p in d.problems[3])
    assert why.startswith("loss ") and window.evidence.marks.texts()[0] in (
        f"▼ problem starts at hop 3: {why}",
        f"▼ hop 3: {why}",
    )
    assert "Quality deteriorates at hop 3" in window.evidence.verdict_bar.label.text()


def test_a_certain_problem_whose_start_is_open_shows_the_range_everywhere(qtbot, make_window):
    # Hop 3 and the destination each lose 30 % on their own, in different rounds: per-packet drops into hop 3 or
    # hop 3 rate limiting with the loss beyond it; the TTL data cannot tell, so no one hop is marked.
    path = [FakeHop("198.18.0.2", 2.0), FakeHop("198.18.0.3", 5.0), FakeHop("198.18.0.4", 8.0, loss_pct=30.0),
            FakeHop(DST, 11.0, loss_pct=30.0)]  # fmt: skip
    window = make_window(fake_factory(path, rounds=60))
    window.window_combo.setCurrentText("all")
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    qtbot.waitUntil(lambda: window.trace_graph.mark_text == "problem between hop 2 and hop 4", timeout=WAIT_MS)
    d = window.evidence.verdict_bar.diagnosis
    assert d.status == "problem" and d.deteriorates_at_ttl is None and d.location_ttls == (3, 4), d.verdict
    assert window.marked_ttl is None and window.table_model.marked_ttl is None
    assert "it starts at hop 3 or after it, at or before hop 4" in window.evidence.verdict_bar.label.text()


def test_a_destination_that_stops_answering_is_said_so_and_its_cur_is_a_dash(qtbot, make_window):
    """Lab L3: the target went silent; the window showed a slowly rising loss average and "Cur 20.4 ms", a reply
    48 s old. Now the verdict says since when it has not answered, and Cur says "-"."""
    import time as _time

    from pingmos.engine.fake_network import FakeClock, FakeNetwork
    from pingmos.gui.hop_table import COL_CUR
    from pingmos.live_trace import LiveTrace
    from tests.gui.conftest import SRC

    silent_end = [*CLEAN_PATH[:-1], FakeHop(DST, 8.0, loss_pct=100.0)]

    class Stops(FakeNetwork):
        def send(self, packet, dst):
            if self.clock.now >= 1000.0 + 100.0:  # round 100 on: the destination answers nothing
                self.hops = silent_end
            return super().send(packet, dst)

    def factory(target, protocol, interval_s):
        clock = FakeClock()
        return LiveTrace(
            target,
            protocol=protocol,
            interval_s=interval_s,
            network_factory=lambda: Stops(CLEAN_PATH, clock),
            mode_description="simulated network",
            tracer_clock=clock,
            source=SRC,
            rounds=130,
        )

    window = make_window(factory)
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    d = window.evidence.verdict_bar.diagnosis
    dest = window.last_update.snapshot.hops[-1]
    assert d.status == "problem" and d.deteriorates_at_ttl == dest.ttl, d.verdict
    since = _time.strftime("%H:%M:%S", _time.localtime(dest.last_answer_at))
    assert f"has not answered since {since} (30 rounds" in window.evidence.verdict_bar.label.text()
    row = len(window.last_update.snapshot.hops) - 1
    assert window.table_model.data(window.table_model.index(row, COL_CUR)) == "-"
    assert window.table_model.data(window.table_model.index(0, COL_CUR)) not in ("-", "")
