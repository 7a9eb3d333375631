"""The hop table's right-click menu: copy address and row, trace the hop, ping it (direct echo through the
engine's machinery, on the simulated network), show it alone on the timeline."""

from PySide6.QtGui import QGuiApplication

from pingmos.engine.fake_network import FakeClock, FakeNetwork
from pingmos.gui.hop_menu import PING_COUNT, ping_summary
from tests.gui.conftest import DST, LOSSY_PATH, WAIT_MS, settle


def actions(menu):
    return {a.text(): a for a in menu.actions() if a.text()}


def test_copy_trace_ping_and_show_on_the_timeline(qtbot, make_window):
    window = make_window()
    window.target_combo.setCurrentText(DST)
    window.start()
    settle(qtbot, window, timeout_ms=20000)
    hops = window.table_model.hops
    hop3 = next(h for h in hops if h.ttl == 3)
    menu = actions(window.hop_menu.build(hop3))
    assert {"Copy address 198.18.0.4", "Copy row", "Trace 198.18.0.4", "Show hop 3 alone on the timeline"} <= set(menu)

    menu["Copy address 198.18.0.4"].trigger()
    assert QGuiApplication.clipboard().text() == "198.18.0.4"
    menu["Copy row"].trigger()
    lines = QGuiApplication.clipboard().text().splitlines()
    assert len(lines) == 2 and lines[1].split()[0] == "3" and "198.18.0.4" in lines[1]

    menu["Show hop 3 alone on the timeline"].trigger()
    qtbot.waitUntil(lambda: [h.ttl for h in window.timeline._data] == [3], timeout=WAIT_MS)

    # Ping: echo requests straight to the router, on the simulated network (40 % loss there).
    window.evidence.witness_network = lambda address: lambda: FakeNetwork(LOSSY_PATH, FakeClock(), seed=5)
    menu[f"Ping 198.18.0.4 ({PING_COUNT} echo requests)"].trigger()
    qtbot.waitUntil(lambda: window.hop_menu.last_ping != "", timeout=10000)
    assert window.hop_menu.last_ping.startswith(f"ping 198.18.0.4: {PING_COUNT} sent,")
    notes = [text for _, kind, text in window.evidence.event_log.rows() if kind == "note"]
    assert notes[-1] == window.hop_menu.last_ping

    # Trace this hop: the hop's address becomes the target of a new trace.
    old = window.trace
    menu["Trace 198.18.0.4"].trigger()
    assert window.trace is not old and window.trace.target == "198.18.0.4"
    assert window.target_combo.currentText() == "198.18.0.4"
    window.stop()

    silent = next(h for h in hops if h.address is None)
    menu = actions(window.hop_menu.build(silent))
    assert not menu["Copy address ???"].isEnabled() and not menu["Trace ???"].isEnabled()


def test_ping_summary_counts_loss_and_round_trips():
    assert ping_summary("a", [10.0, None, 20.0, 30.0]) == (
        "ping a: 4 sent, 3 received (25 % loss), RTT min/avg/max 10.0/20.0/30.0 ms"
    )
    assert ping_summary("a", [None, None]) == "ping a: 2 sent, 0 received (100 % loss)"
