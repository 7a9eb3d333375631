"""Issue 6 in the window: hops answered from several addresses, route changes on the timeline and in the table,
the probing mode and what to do when there is none, IPv6 addresses, and the snapshot cache that keeps a day of
"all" samples from being computed again when nothing changed."""

import pytest
from PySide6.QtCore import Qt

from pingmos.engine import mode
from pingmos.engine.events import Sample
from pingmos.engine.network import NoPermission
from pingmos.gui.hop_table import COL_ADDRESS, ROUTE_CHANGED_COLOUR
from pingmos.gui.timeline import route_change_text
from pingmos.live_trace import LiveTrace
from pingmos.scoring import HopWindow
from tests.gui.conftest import WAIT_MS

T0 = 1_700_000_000.0
R1, R1B, R2, R2B, DST = "198.18.0.2", "198.18.0.3", "198.18.1.2", "198.18.1.3", "198.18.0.99"


def unprobed(target, protocol, interval_s):
    def no_network():
        raise NoPermission("tests feed this trace by hand")

    return LiveTrace(target, protocol=protocol, interval_s=interval_s, network_factory=no_network)


def path_rounds(trace, first, count, hop1, hop2, dst=DST):
    """Rounds of a 3-hop path: hop 1 answered by ``hop1(round)``, hop 2 by ``hop2(round)``, then the target."""
    for r in range(first, first + count):
        trace.apply(Sample(r, 1, 3 * r, T0 + r, 1.0 + (r % 3) * 0.1, hop1(r)))
        trace.apply(Sample(r, 2, 3 * r + 1, T0 + r, 5.0 + (r % 5) * 0.2, hop2(r)))
        trace.apply(Sample(r, 3, 3 * r + 2, T0 + r, 9.0 + (r % 4) * 0.3, dst, True))


def shown(qtbot, window, samples):
    window.mark_dirty()
    qtbot.waitUntil(
        lambda: window.last_update is not None and window.last_update.status.samples == samples, timeout=WAIT_MS
    )


def address_cell(window, row, role=Qt.ItemDataRole.DisplayRole):
    model = window.table.proxy
    return model.data(model.index(row, COL_ADDRESS), role)


def started(qtbot, make_window, target=DST):
    window = make_window(factory=unprobed)
    window.target_combo.setCurrentText(target)
    window.start()
    qtbot.waitUntil(lambda: window.start_action.text() == "Start", timeout=WAIT_MS)  # (no network: it stops)
    return window


def test_a_hop_answered_from_several_addresses_shows_plus_n_and_each_share(qtbot, make_window):
    window = started(qtbot, make_window)
    # Hop 1 answers from R1, later also from R1B every 4th round.
    path_rounds(window.trace, 0, 40, lambda r: R1, lambda r: R2)
    trace = window.trace
    for r in range(40, 80):  # a second flow seen at hop 1: R1B answers every 4th round from now on
        trace.apply(Sample(r, 1, 3 * r, T0 + r, 1.0, R1B if r % 4 == 0 else R1))
        trace.apply(Sample(r, 2, 3 * r + 1, T0 + r, 5.0, R2))
        trace.apply(Sample(r, 3, 3 * r + 2, T0 + r, 9.0, DST, True))
    shown(qtbot, window, 240)
    assert address_cell(window, 0) == f"{R1} +1"
    tip = address_cell(window, 0, Qt.ItemDataRole.ToolTipRole)
    assert f"{R1}: 70 of 80 replies (88 %)" in tip and f"{R1B}: 10 of 80 replies (12 %)" in tip
    assert address_cell(window, 1) == R2 and address_cell(window, 1, Qt.ItemDataRole.ToolTipRole) is None
    # One flow answered alternately by two routers is a route moving back and forth, and it says so.
    assert "route changed" in tip


def test_a_route_change_is_marked_on_the_timeline_and_flagged_in_the_table(qtbot, make_window):
    window = started(qtbot, make_window)
    trace = window.trace
    path_rounds(trace, 0, 30, lambda r: R1, lambda r: R2)
    path_rounds(trace, 30, 30, lambda r: R1, lambda r: R2B)  # hop 2's router changes at round 30
    window.window_combo.setCurrentText("all")
    shown(qtbot, window, 180)
    snapshot = window.last_update.snapshot
    assert [(c.ttl, c.round, c.old, c.new) for c in snapshot.route_changes] == [(2, 30, R2, R2B)]
    hop2 = snapshot.hops[1]
    assert len(hop2.route_changes) == 1 and hop2.responders == {R2: 30, R2B: 30}
    assert address_cell(window, 1) == f"{R2} +1"
    assert address_cell(window, 1, Qt.ItemDataRole.BackgroundRole).color().name() == ROUTE_CHANGED_COLOUR
    tip = address_cell(window, 1, Qt.ItemDataRole.ToolTipRole)
    assert f"{R2} \u2192 {R2B}" in tip and "mix" in tip and "50 %" in tip
    assert address_cell(window, 0, Qt.ItemDataRole.BackgroundRole) is None  # hop 1 did not change

    markers = window.timeline.route_markers
    assert len(markers) == 1 and window.timeline.to_t(markers[0].value()) == pytest.approx(T0 + 30)
    assert markers[0].toolTip().startswith(f"hop 2: {R2} \u2192 {R2B}")
    assert route_change_text(snapshot.route_changes[0]) == markers[0].toolTip()
    assert "route changed (1)" in window.timeline.caption.text()

    # A window after the change holds one route only: no flag in the table, the marker stays on the timeline.
    window.window_combo.setCurrentText("20")
    qtbot.waitUntil(lambda: window.last_update.request.window == 20, timeout=WAIT_MS)
    assert window.last_update.snapshot.hops[1].route_changes == ()
    assert address_cell(window, 1) == R2B and address_cell(window, 1, Qt.ItemDataRole.BackgroundRole) is None
    assert len(window.timeline.route_markers) == 1

    # A new trace starts without the old markers.
    window.target_combo.setCurrentText("198.18.0.98")
    window.start()
    assert window.timeline.route_markers == []


def test_an_answer_settling_out_of_order_recomputes_the_route_changes():
    trace = unprobed(DST, "icmp", 1.0)
    for r in (0, 1, 2, 4):
        trace.apply(Sample(r, 1, r, T0 + r, 1.0, R1))
    trace.apply(Sample(3, 1, 3, T0 + 3, 1.0, R1B))  # round 3 settles late, from another router
    snap = trace.snapshot(None, lambda ws: [None] * len(ws), "none")
    assert [(c.round, c.old, c.new) for c in snap.route_changes] == [(3, R1, R1B), (4, R1B, R1)]
    trace.apply(Sample(5, 1, 5, T0 + 5, None, None))  # a lost probe says nothing about the route
    assert len(trace.snapshot(None, lambda ws: [None] * len(ws), "none").route_changes) == 2


def test_unchanged_hops_keep_their_numbers_from_the_cache_and_changed_ones_are_computed_again():
    trace = unprobed(DST, "icmp", 1.0)
    path_rounds(trace, 0, 50, lambda r: R1, lambda r: R2)
    scored = []

    def scorer(windows):
        scored.append(len(windows))
        return [None] * len(windows)

    cache = {}
    first = trace.snapshot(None, scorer, "m", cache=cache)
    again = trace.snapshot(None, scorer, "m", cache=cache)
    assert scored == [3] and again.hops == first.hops  # nothing changed: nothing computed, the same numbers
    trace.apply(Sample(50, 2, 999, T0 + 50, None, None))  # only hop 2 gets a sample
    after = trace.snapshot(None, scorer, "m", cache=cache)
    assert scored == [3, 1] and after.hops[1].sent == 51 and after.hops[0] == first.hops[0]
    assert trace.snapshot(10, scorer, "m", cache=cache).hops[0].sent == 10 and scored[-1] == 3  # another window
    # What the cache gives equals a computation from scratch.
    fresh = trace.snapshot(None, lambda ws: [None] * len(ws), "m")
    assert trace.snapshot(None, scorer, "m", cache=cache).hops == fresh.hops
    rtts = [1.0 + (r % 3) * 0.1 for r in range(50)]
    assert fresh.hops[0].jitter_ms == HopWindow.from_rtts(rtts).jitter_ms


def test_ipv6_addresses_fit_their_column(qtbot, make_window):
    v6_router, v6_dst = "2001:db8:ffff:1234:5678:9abc:def0:1", "2001:db8:ffff:1234:5678:9abc:def0:99"
    window = started(qtbot, make_window, target=v6_dst)
    path_rounds(window.trace, 0, 20, lambda r: v6_router, lambda r: "2001:db8::2", dst=v6_dst)
    shown(qtbot, window, 60)
    assert address_cell(window, 0) == v6_router
    width = window.table.columnWidth(COL_ADDRESS)
    assert width >= window.table.fontMetrics().horizontalAdvance(v6_dst)
    assert "IPv6" in window.target_combo.lineEdit().placeholderText()


def test_the_status_bar_names_the_probe_mode_and_without_one_the_banner_says_what_to_do(
    qtbot, make_window, monkeypatch
):
    # No raw sockets, no ping sockets, no way to start the helper: as for an ordinary user without sudo.
    monkeypatch.setattr(mode, "raw_sockets_allowed", lambda family=None: False)
    monkeypatch.setattr(mode, "ping_sockets_allowed", lambda family=None: False)
    monkeypatch.setattr(mode, "helper_command", lambda: None)

    def real(target, protocol, interval_s):
        return LiveTrace(target, protocol=protocol, interval_s=interval_s)  # the real mode choice, nothing sent

    window = make_window(factory=real)
    window.protocol_combo.setCurrentIndex(window.protocol_combo.findData("tcp"))
    window.target_combo.setCurrentText("127.0.0.1")
    window.start()
    qtbot.waitUntil(lambda: "You can:" in window.error_banner.text(), timeout=WAIT_MS)
    text = window.error_banner.text()
    assert "cannot send TCP probes" in text and "You can:" in text
    assert "setcap cap_net_raw+ep" in text and "PINGMOS_PROBE" in text
    assert "the Protocol box in the toolbar" in text and "--protocol" not in text
    assert window.start_action.text() == "Start"

    # With a mode available the status bar says which one.
    monkeypatch.setattr(mode, "ping_sockets_allowed", lambda family=None: True)
    opened = []

    def fake_open(family):
        opened.append(family)
        raise NoPermission("stopped here by the test")

    monkeypatch.setattr("pingmos.engine.ping_socket_network.PingSocketNetwork", fake_open)
    window.protocol_combo.setCurrentIndex(window.protocol_combo.findData("icmp"))
    window.start()
    qtbot.waitUntil(lambda: bool(opened) and window.start_action.text() == "Start", timeout=WAIT_MS)
    shown(qtbot, window, 0)
    assert "ICMP echo every 1 s, via unprivileged ICMP sockets" in window.status_label.text()


def test_with_several_flows_each_flow_is_followed_on_its_own():
    # Two flows meet the two routers of a load balancer at hop 1: not a change. From round 20 flow 1 moves.
    trace = LiveTrace(DST, flows=2, network_factory=None)
    for r in range(40):
        who = R1 if r % 2 == 0 else (R1B if r < 20 else R2B)
        trace.apply(Sample(r, 1, r, T0 + r, 1.0, who))
    snap = trace.snapshot(None, lambda ws: [None] * len(ws), "none")
    assert [(c.round, c.flow, c.old, c.new) for c in snap.route_changes] == [(21, 1, R1B, R2B)]
    assert snap.hops[0].responders == {R1: 20, R1B: 10, R2B: 10}
