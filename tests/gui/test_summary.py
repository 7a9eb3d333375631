"""The summary window of a monitoring agent's targets: one row per target from the agent's views, coloured MOS and
loss, and a double-click opening the target's running trace in a main window that leaves the agent tracing."""

from __future__ import annotations

from PySide6.QtCore import Qt

from pingmos.engine.fake_network import WALL_EPOCH
from pingmos.gui.quality import BAD, BAND_COLOURS
from pingmos.gui.summary import COLUMNS, SharedTrace, SummaryWindow, worst_hop
from tests.monitor.test_agent import CONFIG, make_agent, wait_for


def cell(window, row, column):
    return window.proxy.index(row, COLUMNS.index(column)).data()


def test_one_row_per_target_and_double_click_opens_its_trace(qtbot, settings_store, tmp_path):
    agent, clocks = make_agent(CONFIG, tmp_path)
    agent.start()
    window = None
    try:
        window = SummaryWindow(agent, run_loop=False, refresh_ms=50, settings=settings_store)
        qtbot.addWidget(window)
        assert not window.table.tabKeyNavigation()  # Tab leaves the table (arrows move in it): no keyboard trap
        wait_for(agent, "provider", 3 * 45)
        wait_for(agent, "silent", 3 * 10)
        agent.refresh(WALL_EPOCH + clocks["provider"].now)
        agent.runners["provider"].tick(WALL_EPOCH + clocks["provider"].now)
        window.update_rows()
        assert [window.target_at(r) for r in range(window.proxy.rowCount())] == ["provider", "silent"]
        dest = agent.runners["provider"].snapshot.hops[-1]
        assert cell(window, 0, "Hops") == "3" and cell(window, 0, "MOS") == f"{dest.mos:.2f}"
        assert cell(window, 0, "Loss %") == f"{dest.loss_pct:.1f}"
        assert cell(window, 0, "Alerts") == "loss above 1.0"  # the destination loses ~30 %
        runner = agent.runners["provider"]
        assert cell(window, 0, "Worst hop") == worst_hop(runner.snapshot, runner.last_diagnosis)[0] != ""
        assert cell(window, 1, "MOS") == "1.00" and cell(window, 1, "Loss %") == "100.0"  # nothing gets through
        mos_index = window.proxy.index(1, COLUMNS.index("MOS"))
        brush = mos_index.data(Qt.ItemDataRole.BackgroundRole)
        assert brush.color().name() == BAND_COLOURS[BAD]  # MOS 1: the bad band's colour

        main = window.open_target("provider")
        qtbot.addWidget(main)
        assert isinstance(main.trace, SharedTrace) and main.trace._trace is agent.runners["provider"].trace
        assert main.target_combo.currentText() == "198.18.0.99"
        assert window.open_target("provider") is main  # raised, not opened twice
        main.close()
        assert agent.runners["provider"].trace.running  # the agent keeps tracing
    finally:
        if window is not None:
            window.close()
        agent.close()


def _silent_router_snapshot(model, lossy_hop_1: bool = False):
    """Hop 1 answers (losing a third of its own replies with ``lossy_hop_1``), hop 2 never does, hop 3 (the
    destination) answers every probe a little later."""
    from pingmos.engine.events import Sample
    from pingmos.state import TraceState

    st = TraceState("target.lab.test", "198.18.0.9", "icmp", 1.0)
    for r in range(60):
        lost = lossy_hop_1 and r % 3 == 0
        st.apply(Sample(r, 1, 3 * r, 1.7e9 + r, None if lost else 1.0 + 0.1 * (r % 3), None if lost else "198.18.0.2"))
        st.apply(Sample(r, 2, 3 * r + 1, 1.7e9 + r, None, None))
        st.apply(Sample(r, 3, 3 * r + 2, 1.7e9 + r, 40.0 + 3.0 * (r % 4), "198.18.0.9", True))
    return st.snapshot(None, model, "g107-jb")


def test_worst_hop_is_the_diagnosis_location_or_the_lowest_measured_mos_never_a_silent_or_rate_limited_router():
    """F24: the silent router (no MOS now) and a router losing only its own replies were named worst."""
    import dataclasses

    from pingmos.diagnosis import NO_PROBLEM, PROBLEM, Diagnosis, diagnose
    from pingmos.scoring import load_model

    with load_model("g107-jb") as model:
        snap = _silent_router_snapshot(model)
        lossy = _silent_router_snapshot(model, lossy_hop_1=True)
    assert snap.hops[1].unmeasured and snap.hops[1].mos is None
    # No problem: the lowest MOS among measured hops, said so; hop 2 (???) is never it.
    text, key = worst_hop(snap, diagnose(snap))
    assert text == f"lowest MOS: 3 198.18.0.9 ({snap.hops[2].mos:.2f})" and key == snap.hops[2].mos
    # Hop 1 loses a third of its own replies: the diagnosis calls it rate-limited; the destination is still worst.
    d = diagnose(lossy)
    assert d.status != PROBLEM and 1 in d.rate_limited_ttls, d
    assert lossy.hops[0].mos < lossy.hops[2].mos
    assert worst_hop(lossy, d)[0] == f"lowest MOS: 3 198.18.0.9 ({lossy.hops[2].mos:.2f})"
    assert worst_hop(lossy, None)[0].startswith("lowest MOS: 1 198.18.0.2")  # (without the diagnosis: hop 1)
    # A located problem: the diagnosis's words (the report's CSV diagnosis column), one hop or a range.
    at = Diagnosis(3, (), "verdict", status=PROBLEM)
    assert worst_hop(snap, at) == ("problem starts at hop 3", 0.003)
    ranged = Diagnosis(None, (), "verdict", status=PROBLEM, location_ttls=(2, 3))
    assert worst_hop(snap, ranged)[0] == "problem between hop 1 and hop 3" == ranged.short
    # Nothing measured but the silent router: no worst hop.
    only_silent = dataclasses.replace(snap, hops=snap.hops[1:2])
    assert worst_hop(only_silent, Diagnosis(None, (), "v", status=NO_PROBLEM)) == ("", 9.9)
