"""An opened record shows its own probing settings in the toolbar (protocol, port, interval, and max TTL, flows,
timeout and rounds in words beside them), never the next live trace's (a UDP session showed "ICMP" and the live
port), and none of them is taken for the user's choice: Start traces live with the user's settings again and shows
them. A field changed while the record is shown makes what the toolbar shows the user's choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from pingmos.engine import Sample
from pingmos.session import SessionRecorder
from pingmos.session.evidence import session_info
from tests.gui.conftest import DST, WAIT_MS, settle

DATA = Path(__file__).resolve().parent.parent / "session" / "data"
T0 = 1_700_000_000.0


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PINGMOS_CONFIG_DIR", str(tmp_path / "config"))


def recorded(path: Path, protocol: str, port: int | None, interval_s: float, **settings) -> str:
    """A session as the window, report or monitor records one, probed with these settings: 20 rounds over 3 hops
    to DST (the destination answers as it does to ``protocol``)."""
    info = session_info(DST, address=DST, protocol=protocol, interval_s=interval_s, port=port, started_at=T0,
                        **{"max_ttl": 30, **settings})  # fmt: skip
    last = {"udp": ("dest_unreachable", 3), "tcp": ("tcp_syn_ack", None)}.get(protocol, ("echo_reply", None))
    rec = SessionRecorder(path, info, flush_interval_s=0)
    for rnd in range(20):
        for ttl, address in enumerate(("198.18.0.2", "198.18.0.3", DST), start=1):
            kind, code = last if address == DST else ("time_exceeded", None)
            sent = T0 + rnd * interval_s + ttl * 0.001
            rec.record(Sample(rnd, ttl, rnd * 3 + ttl, sent, 5.0 * ttl, address, address == DST, kind, code))
    rec.close()
    assert rec.error is None
    return str(path)


def opened(qtbot, window, path: str) -> None:
    sessions = window.evidence.sessions
    sessions.open_path(path, confirmed=True)
    qtbot.waitUntil(lambda: sessions.opened is not None and sessions.opened.path == path, timeout=WAIT_MS)


def shown(window) -> tuple:
    """What the toolbar shows: protocol, port, interval, the record's words (None when hidden)."""
    bar = window.toolbar
    words = bar.record_label.text().strip() if bar.record_label_action.isVisible() else None
    port = bar.port_spin.text() if bar.port_spin.isEnabled() else None
    return bar.protocol_combo.currentText(), port, bar.interval_spin.text().strip(), words


def remembered(store) -> tuple:
    return store.protocol(), store.port("udp"), store.port("tcp"), store.interval_s()


def test_an_opened_udp_or_tcp_record_shows_its_own_settings_and_start_restores_the_live_ones(
    qtbot, make_window, settings_store, tmp_path
):
    window = make_window()
    bar = window.toolbar
    # The user's live settings: ICMP at 2 s, TCP to 443 when TCP is picked, UDP's default port.
    bar.protocol_combo.setCurrentIndex(bar.protocol_combo.findData("tcp"))
    bar.port_spin.setValue(443)
    bar.protocol_combo.setCurrentIndex(bar.protocol_combo.findData("icmp"))
    window.interval_spin.setValue(2.0)
    live = shown(window)
    assert live == ("ICMP", None, "2.0 s", None)
    before = remembered(settings_store)
    assert before == ("icmp", None, 443, 2.0)

    udp = recorded(tmp_path / "udp.pingmos", "udp", 5060, 0.5, max_ttl=12, flows=4, timeout_s=2.5, rounds=100)
    opened(qtbot, window, udp)
    assert shown(window) == ("UDP", "5060", "0.5 s", "recorded with max TTL 12, 4 flows, timeout 2.5 s, 100 rounds")
    assert "the opened record's protocol" in bar.protocol_combo.toolTip()
    assert remembered(settings_store) == before  # none of it taken for the user's choice

    # A TCP record of the report's defaults: its port was the engine's default (None recorded), one flow.
    tcp = recorded(tmp_path / "tcp.pingmos", "tcp", None, 0.25)
    opened(qtbot, window, tcp)
    assert shown(window) == ("TCP", "80", "0.25 s", "recorded with max TTL 30, 1 flow")
    assert remembered(settings_store) == before

    # Back to live tracing: the user's settings again, shown, and the trace probes with them.
    window.target_combo.setCurrentText(DST)
    window.start()
    assert (window.trace.protocol, window.trace.port, window.trace.interval_s) == ("icmp", None, 2.0)
    assert (
        shown(window) == live
        and bar.protocol_combo.toolTip() == "probe protocol; a change starts a new trace at the next Start"
    )
    assert remembered(settings_store) == before
    settle(qtbot, window)

    # From a UDP record straight to live UDP (the user's own protocol): the user's port, not the record's.
    bar.protocol_combo.setCurrentIndex(bar.protocol_combo.findData("udp"))
    bar.port_spin.setValue(33500)
    opened(qtbot, window, udp)
    assert shown(window)[:2] == ("UDP", "5060")
    window.start()
    assert (window.trace.protocol, window.trace.port, window.trace.interval_s) == ("udp", 33500, 2.0)
    assert shown(window) == ("UDP", "33500", "2.0 s", None)
    settle(qtbot, window)


def test_a_field_changed_while_a_record_is_shown_makes_the_toolbar_the_users_choice(
    qtbot, make_window, settings_store, tmp_path
):
    window = make_window()
    bar = window.toolbar
    assert remembered(settings_store)[0] == "icmp"
    opened(qtbot, window, recorded(tmp_path / "udp.pingmos", "udp", 5060, 0.5, flows=2))
    bar.port_spin.setValue(5061)  # the user edits the record's port: a UDP trace to 5061 at 0.5 s is wanted
    assert remembered(settings_store) == ("udp", 5061, None, 0.5)
    assert not bar.record_label_action.isVisible()  # the toolbar is the user's now
    window.target_combo.setCurrentText(DST)
    window.start()
    assert (window.trace.protocol, window.trace.port, window.trace.interval_s) == ("udp", 5061, 0.5)
    settle(qtbot, window)

    # The protocol picked over a TCP record's: the picked protocol's own remembered port comes with it.
    opened(qtbot, window, recorded(tmp_path / "tcp.pingmos", "tcp", 8443, 0.25))
    assert shown(window)[:2] == ("TCP", "8443")
    bar.protocol_combo.setCurrentIndex(bar.protocol_combo.findData("udp"))
    assert shown(window) == ("UDP", "5061", "0.25 s", None)
    assert remembered(settings_store) == ("udp", 5061, None, 0.25)  # TCP's port not taken from the record


def test_a_report_that_does_not_say_its_protocol_shows_it_blank(qtbot, make_window, settings_store):
    window = make_window()
    window.evidence.sessions.open_path(str(DATA / "lab3.mtr.json"))
    qtbot.waitUntil(lambda: window.evidence.summary is not None, timeout=WAIT_MS)
    assert shown(window) == ("", None, "", None)  # mtr's report: its "icmp" and "1 s" are guesses
    assert "does not say its protocol" in window.toolbar.protocol_combo.toolTip()
    assert remembered(settings_store) == ("icmp", None, None, 1.0)
    window.target_combo.setCurrentText(DST)
    window.start()
    assert (window.trace.protocol, window.trace.interval_s) == ("icmp", 1.0)
    assert shown(window) == ("ICMP", None, "1.0 s", None)
    settle(qtbot, window)
