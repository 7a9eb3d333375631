"""After Stop, the window's figures are the session's: the stopped window takes in every settled round (the last
one too), so its table equals ``pingmos report --session <its recording> --window N`` of the same model, hop by hop
(newcomer finding F15: loss k/33 beside a report's k/34). The MOS intervals are not compared yet (see live_trace:
the final recompute is written, MosIntervals(final=True), but not switched on)."""

from __future__ import annotations

import json

from pingmos.cli import main as cli_main
from pingmos.engine.fake_network import FakeHop, FakeNetwork
from pingmos.gui.hop_table import COL_LOSS, COL_MOS, COL_MOS_CI, COL_R, cell_text, mos_ci_text
from pingmos.live_trace import LiveTrace
from pingmos.report.formats import hop_dict
from tests.engine.test_trace_loop import RealTimeClock
from tests.gui.conftest import SRC, WAIT_MS, settle

DST = "198.18.0.9"
# Real-time answers (the engine waits for them as on a network), a router losing its own replies, a destination
# losing some, a silent router.
PATH = [
    FakeHop("198.18.0.2", 2.0, jitter_ms=1.0),
    FakeHop(None, 0.0),
    FakeHop("198.18.0.4", 30.0, jitter_ms=4.0, loss_pct=12.0),
    FakeHop(DST, 35.0, jitter_ms=4.0, loss_pct=20.0),
]


def factory(target: str, protocol: str, interval_s: float) -> LiveTrace:
    clock = RealTimeClock()
    return LiveTrace(target, protocol=protocol, interval_s=interval_s, max_ttl=4, source=SRC, tracer_clock=clock,
                     network_factory=lambda: FakeNetwork(PATH, clock, seed=7), mode_description="simulated network",
                     timeout_s=0.5)  # fmt: skip


def test_the_stopped_window_equals_the_report_of_its_recording(qtbot, make_window, capsys):
    window = make_window(factory)
    window.set_window(600)
    window.interval_spin.setValue(0.05)
    window.target_combo.setCurrentText(DST)
    window.start()
    trace = window.trace
    # Past a multiple of 10 samples and not on one: the filling window's interval is then an older window's.
    qtbot.waitUntil(lambda: trace.history.rounds() >= 44, timeout=WAIT_MS)
    window.stop()
    qtbot.waitUntil(lambda: window.start_action.text() == "Start", timeout=WAIT_MS)
    settle(qtbot, window)
    shown = window.last_update.snapshot
    sessions = window.evidence.sessions
    path = str(sessions.recording.path)
    sessions.finish_recording()
    qtbot.waitUntil(lambda: sessions.worker.pending == 0, timeout=WAIT_MS)

    capsys.readouterr()
    assert cli_main(["report", "--session", path, "--window", "600", "--model", "pingplotter", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    hops = {h["ttl"]: h for h in report["hops"]}
    assert shown.rounds == report["rounds"] and shown.rounds >= 44
    assert [h.ttl for h in shown.hops] == sorted(hops)
    for hop in shown.hops:
        theirs = hops[hop.ttl]
        assert (hop.sent, hop.received) == (theirs["sent"], theirs["received"]), hop.ttl
        # (The MOS interval aside for now: the stopped window's final recompute is not switched on yet.)
        mine = {k: v for k, v in hop_dict(hop).items() if k not in ("name", "mos_ci", "mos_ci_few_samples")}
        assert mine == {k: v for k, v in theirs.items() if k in mine}, hop.ttl
    # The destination lost some of its probes (the loss is not trivially equal), and the table shows those figures.
    end = shown.hops[-1]
    assert end.destination and 0 < end.received < end.sent
    table = window.table_model
    for row, hop in enumerate(shown.hops):
        theirs = hops[hop.ttl]
        for col in (COL_LOSS, COL_R, COL_MOS, COL_MOS_CI):  # the table shows the snapshot compared above
            assert table.item(row, col).text() == cell_text(hop, col, mos_ci_inline=col == COL_MOS and
                                                            "(" in table.item(row, col).text()), (row, col)  # fmt: skip
        if theirs["mos"] is None:
            assert table.item(row, COL_MOS).text() == "" and hop.unmeasured
            continue
        assert mos_ci_text(hop)  # an interval or "none yet" beside every MOS
