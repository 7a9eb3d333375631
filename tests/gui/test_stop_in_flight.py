"""The window's Stop waits for the replies to the probes in flight, as the agent's stop does (``LiveTrace.wind_down``):
in the engine thread, never the GUI's; a second Stop ends at once."""

from __future__ import annotations

import time

from pingmos.engine.fake_network import FakeHop, FakeNetwork
from pingmos.gui.main_window import STOPPING, status_text
from pingmos.live_trace import LiveTrace
from tests.engine.test_trace_loop import RealTimeClock
from tests.gui.conftest import SRC, WAIT_MS

DST = "198.18.0.9"
# The destination answers 0.8 s after a probe leaves: at 0.2 s a round, four rounds' probes to it are in flight.
SLOW = [FakeHop("198.18.0.2", 2.0), FakeHop(DST, 800.0)]


def slow_factory(nets: list[FakeNetwork]):
    def make(target: str, protocol: str, interval_s: float) -> LiveTrace:
        clock = RealTimeClock()  # the fake path answers in real time: the engine thread really waits

        def network():
            nets.append(FakeNetwork(SLOW, clock))
            return nets[-1]

        return LiveTrace(target, protocol=protocol, interval_s=interval_s, max_ttl=2, network_factory=network,
                         mode_description="simulated network", tracer_clock=clock, source=SRC)  # fmt: skip

    return make


def sent_to(net: FakeNetwork, ttl: int) -> int:
    return sum(1 for t, _ in net.sent if t == ttl)


def start(qtbot, window, nets):
    window.interval_spin.setValue(0.2)
    window.target_combo.setCurrentText(DST)
    window.start()
    # Answers from the destination have come and more are on their way (sent in the last 0.8 s).
    qtbot.waitUntil(lambda: nets and window.trace.sample_count >= 4 and sent_to(nets[0], 2) >= 6, timeout=WAIT_MS)


def test_stop_counts_the_replies_to_the_probes_in_flight_without_the_gui_waiting(qtbot, make_window):
    """Before: Stop ended the engine at once; the destination's answers on their way were never read (6 probes
    sent to it, 2 counted) while the status line said all 13 were sent."""
    nets: list[FakeNetwork] = []
    window = make_window(slow_factory(nets))
    start(qtbot, window, nets)
    trace, net = window.trace, nets[0]
    pressed = time.monotonic()
    window.stop()
    returned_s = time.monotonic() - pressed
    assert trace.running and window.start_action.text() == STOPPING  # the engine thread waits, not this one
    assert status_text(trace.status()).startswith("stopping: waiting for the replies to the probes in flight  |")
    window.start()  # (Enter in the target box) while it stops: said, nothing else changes
    assert window.start_action.text() == STOPPING and "still stopping" in window.statusBar().currentMessage()
    assert returned_s < 0.5, returned_s  # (no wait on the network: microseconds; a loaded machine aside)
    qtbot.waitUntil(lambda: window.start_action.text() == "Start", timeout=WAIT_MS)
    assert not trace.running and status_text(trace.status()).startswith("stopped  |")
    probes = sent_to(net, 1), sent_to(net, 2)
    hops = {h.ttl: h for h in trace.snapshot(None, lambda ws: [None] * len(ws), "none").hops}
    # Every probe sent is counted, and every one was answered within its timeout (3 s): none lost, none left out.
    assert (hops[1].sent, hops[2].sent) == probes and (hops[1].received, hops[2].received) == probes, probes
    assert trace.status().probes_sent == sum(probes) == trace.sample_count


def test_a_second_stop_ends_at_once_and_leaves_the_probes_in_flight_out(qtbot, make_window):
    nets: list[FakeNetwork] = []
    window = make_window(slow_factory(nets))
    start(qtbot, window, nets)
    trace, net = window.trace, nets[0]
    window.stop()
    assert window.start_action.text() == STOPPING
    window.start_action.trigger()  # Stop again: now
    assert window.start_action.text() == "Start"
    assert trace.join(WAIT_MS / 1000.0)
    hops = {h.ttl: h for h in trace.snapshot(None, lambda ws: [None] * len(ws), "none").hops}
    # The destination's answers still on their way are left out, never counted lost.
    assert hops[2].sent < sent_to(net, 2) and hops[2].received == hops[2].sent
