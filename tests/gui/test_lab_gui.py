"""End to end: the GUI traces the network lab through the real engine (raw sockets in the lab's client network
namespace), one lossy link makes MOS fall from the hop behind it, and the table and the trace graph say so."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from pingmos.gui.hop_table import COL_ADDRESS, COL_LOSS, COL_MOS
from pingmos.live_trace import LiveTrace
from tests.gui.conftest import WAIT_MS
from tests.netlab import LinkSpec, RouterSpec
from tests.netlab.lab import Direction
from tests.netlab.relay import in_netns

pytestmark = pytest.mark.lab

ROUNDS = 40


def test_gui_marks_the_hop_behind_the_lossy_link(qtbot, make_window, lab_factory):
    clean = LinkSpec.symmetric(delay_ms=1.0)
    # Link 2 joins r2 and r3: it is down 40 % of the time in bursts, so 40 % of the probes towards r3 and beyond
    # are dropped, in the same rounds (replies pass).
    lossy = LinkSpec(fwd=Direction(delay_ms=1.0, loss_pct=40.0, burst_ms=300.0), rev=Direction(delay_ms=1.0))
    lab = lab_factory([RouterSpec()] * 3, [clean, clean, lossy, clean], seed=7)

    def factory(target: str, protocol: str, interval_s: float) -> LiveTrace:
        # The engine thread enters the lab's client namespace for its whole life; its raw sockets stay there.
        return LiveTrace(target, protocol, interval_s, thread_context=lambda: in_netns(lab.client_ns))

    window = make_window(factory)
    window.interval_spin.setValue(0.1)
    window.window_combo.setCurrentText("all")
    window.target_combo.setCurrentText(lab.target_addr)
    qtbot.keyClick(window.target_combo.lineEdit(), Qt.Key.Key_Return)

    def enough_rounds():
        u = window.last_update
        return u is not None and len(u.snapshot.hops) == 4 and min(h.sent for h in u.snapshot.hops) >= ROUNDS

    qtbot.waitUntil(enough_rounds, timeout=20_000)
    window.start_action.trigger()  # Stop: the data stays (once the replies to the probes in flight are in)
    assert window.trace.join(WAIT_MS / 1000)
    window.mark_dirty()
    qtbot.waitUntil(lambda: not window.last_update.status.running, timeout=WAIT_MS)

    status = window.last_update.status
    assert status.error is None, status.error
    assert "raw sockets" in window.status_label.text()
    hops = window.last_update.snapshot.hops
    assert [h.address for h in hops] == lab.hop_addrs
    assert window.last_update.snapshot.destination_reached
    model = window.table.proxy
    assert [model.data(model.index(r, COL_ADDRESS)) for r in range(4)] == lab.hop_addrs
    # Before the lossy link: no loss, good MOS. From r3 on: the loss, and MOS below the poor band.
    for row in (0, 1):
        assert float(model.data(model.index(row, COL_LOSS))) == 0.0
        assert float(model.data(model.index(row, COL_MOS)).split()[0]) >= 4.0
    for row in (2, 3):
        assert 15.0 <= float(model.data(model.index(row, COL_LOSS))) <= 70.0
        assert float(model.data(model.index(row, COL_MOS)).split()[0]) < 3.1
    assert window.marked_ttl == 3
    assert window.trace_graph.marked_ttl == 3
    assert "hop 3" in window.trace_graph.mark_text
    assert [h.ttl for h in window.timeline._data] == [4]  # the destination, by default
