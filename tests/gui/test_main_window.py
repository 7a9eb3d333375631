"""The main window driven like a user would, on the engine's simulated path (virtual time, no root)."""

import re

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QGuiApplication, QKeySequence

from pingmos.engine.network import NoPermission
from pingmos.gui.hop_table import COL_COUNT, COL_LOSS, COL_MOS, COLUMNS, UNANSWERED, VISUAL_ORDER
from pingmos.gui.main_window import MainWindow, ThresholdsDialog, parse_window
from pingmos.gui.quality import BAND_COLOURS, Thresholds
from pingmos.gui.settings_store import SettingsStore
from pingmos.live_trace import LiveTrace
from pingmos.run import LIVE_WINDOW
from tests.gui.conftest import DST, JITTERY_PATH, LOSSY_PATH, WAIT_MS, fake_factory, settle


def start_by_enter(qtbot, window, target=DST):
    window.target_combo.setCurrentText(target)
    qtbot.keyClick(window.target_combo.lineEdit(), Qt.Key.Key_Return)


def test_enter_typed_into_the_target_field_starts_once(qtbot, make_window):
    """Where a keyboard's Return goes: to the widget with the focus, the combo box (its line edit's focus proxy),
    which passes it on to the line edit by a direct call. Before, only a key sent to the line edit itself (as the
    tests did) started; typed, Enter did nothing."""
    window = make_window()
    window.show()
    window.target_combo.setFocus()
    qtbot.waitUntil(lambda: window.target_combo.hasFocus(), timeout=WAIT_MS)
    qtbot.keyClicks(window.target_combo, DST)
    qtbot.keyClick(window.target_combo, Qt.Key.Key_Return)
    assert window.trace is not None and window.trace.target == DST
    assert len(window.trace_factory.made) == 1  # one trace, started once


def cell(window, row, col, role=Qt.ItemDataRole.DisplayRole):
    model = window.table.proxy
    return model.data(model.index(row, col), role)


def test_enter_in_the_target_starts_and_the_table_fills(qtbot, make_window):
    window = make_window()
    start_by_enter(qtbot, window)
    assert window.trace is not None and window.trace.target == DST
    settle(qtbot, window)
    assert window.table.proxy.rowCount() == 5
    assert [cell(window, r, 0) for r in range(5)] == ["1", "2", "3", "4", "5"]
    assert cell(window, 1, 2) == UNANSWERED  # the silent router stays as a row
    assert cell(window, 0, 2) == LOSSY_PATH[0].address
    assert cell(window, 0, COL_COUNT) == "60"
    # (the first figure: a narrow table puts the interval in the MOS cell, "4.40 (4.17-4.40)")
    assert float(cell(window, 0, COL_MOS).split()[0]) > 4.0
    assert float(cell(window, 4, COL_MOS).split()[0]) < 3.1
    assert "rounds 60" in window.status_label.text() and "ICMP echo" in window.status_label.text()
    assert window.start_action.text() == "Start"  # the 60-round fake trace ended by itself
    assert not window.error_banner.isVisible()


def test_mos_and_loss_cells_are_coloured_by_band_and_the_bad_hop_is_marked(qtbot, make_window):
    window = make_window()
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    good = cell(window, 0, COL_MOS, Qt.ItemDataRole.BackgroundRole).color()
    bad = cell(window, 4, COL_MOS, Qt.ItemDataRole.BackgroundRole).color()
    assert good == QColor(BAND_COLOURS["good"]) and bad == QColor(BAND_COLOURS["bad"])
    assert cell(window, 3, COL_LOSS, Qt.ItemDataRole.BackgroundRole).color() == QColor(BAND_COLOURS["bad"])
    assert cell(window, 1, COL_LOSS, Qt.ItemDataRole.BackgroundRole) is None  # ??? rows are not "loss"
    assert window.marked_ttl == 3
    assert window.trace_graph.marked_ttl == 3 and window.trace_graph.mark_lines[0].isVisible()
    assert "hop 3" in window.trace_graph.mark_text
    # Thresholds are settings, and the diagnosis judges with them: with "poor" from 1.0 hop 5's MOS turns "poor";
    # with the loss warning at 90 % and "acceptable" from 1.1, 40 % loss is no longer a problem to name.
    window.set_thresholds(Thresholds(mos_good=4.0, mos_acceptable=3.6, mos_poor=1.0))
    settle(qtbot, window)
    assert cell(window, 4, COL_MOS, Qt.ItemDataRole.BackgroundRole).color() == QColor(BAND_COLOURS["poor"])
    window.set_thresholds(Thresholds(mos_good=4.0, mos_acceptable=1.1, mos_poor=1.0, loss_warn_pct=90.0,
                                     loss_bad_pct=95.0))  # fmt: skip
    settle(qtbot, window)
    assert window.marked_ttl is None and not window.trace_graph.mark_lines[0].isVisible()
    assert window.evidence.verdict_bar.diagnosis.deteriorates_at_ttl is None


def test_samples_to_include_rescores_at_once(qtbot, make_window):
    window = make_window()
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    for text, count in (("10", "10"), ("all", "60"), ("25", "25")):
        window.window_combo.setCurrentText(text)
        qtbot.waitUntil(lambda c=count: cell(window, 0, COL_COUNT) == c, timeout=WAIT_MS)
    window.window_combo.setCurrentText("zero")  # not a number (the validator keeps users from it): 25 stays
    assert window.window_size == 25
    assert parse_window(" ALL ") is None
    with pytest.raises(ValueError):
        parse_window("0")


def test_sorting_and_copy_as_text(qtbot, make_window):
    window = make_window()
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    window.table.sortByColumn(COL_MOS, Qt.SortOrder.AscendingOrder)
    mos = [cell(window, r, COL_MOS) for r in range(5)]
    numbers = [float(m.split()[0]) for m in mos if m]
    # The ??? row (a router that never answered) has no responder samples, so no MOS: it sorts after every number.
    assert numbers == sorted(numbers) and len(numbers) == 4 and mos[-1] == ""
    window.table.clearSelection()
    text = window.table.copy_text()
    lines = text.splitlines()
    header = re.split(r"\s{2,}", lines[0].strip())  # cells are two spaces or more apart
    assert header == [c for c in (COLUMNS[i] for i in VISUAL_ORDER) if c != "Latency"]
    assert "Loss 95 %" in header and "MOS 95 %" in header  # the intervals travel with the copy
    # In the order on screen: MOS ascending, the good hop last of those with a MOS, then the ??? row.
    assert len(lines) == 6 and "4.40" in lines[-2] and UNANSWERED in lines[-1]
    assert any(UNANSWERED in line for line in lines)
    assert QGuiApplication.clipboard().text() == text
    window.table.selectRow(0)
    assert len(window.table.copy_text().splitlines()) == 2
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(window.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)  # Ctrl+C in the table
    assert len(QGuiApplication.clipboard().text().splitlines()) == 2
    window.table.clearSelection()
    window.copy_action.trigger()  # Edit > Copy table with its context
    copied = QGuiApplication.clipboard().text().splitlines()
    context = [line for line in copied if line.startswith("# ")]
    assert len(copied) - len(context) == 7  # the header, 5 hops and the diagnosis line
    d = window.evidence.verdict_bar.diagnosis
    assert copied[-1] == f"diagnosis ({d.status}): {d.verdict}"  # as `pingmos report` ends its table
    assert context[0] == f"# pingmos: {DST} ({DST})" and "model: pingplotter" in "\n".join(context)
    assert f"statistics over: the last {LIVE_WINDOW} samples of each hop" in "\n".join(context)
    assert any(line.startswith("# trace from ") for line in context)


def test_timeline_shows_the_destination_then_the_selected_hops(qtbot, make_window):
    window = make_window()
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    qtbot.waitUntil(lambda: [h.ttl for h in window.timeline._data] == [5], timeout=WAIT_MS)
    hop5 = window.timeline._data[0]
    assert len(hop5.t) == 60 and np.isnan(hop5.rtt_ms).sum() > 0  # lost samples are in the series
    latency, lost, mos, _ = window.timeline._curves[5]
    assert len(lost.data) == np.isnan(hop5.rtt_ms).sum()  # each lost sample marked
    assert np.nanmax(mos.yData) <= 4.5 and np.nanmin(mos.yData) >= 1.0
    window.table.selectRow(0)
    window.table.selectionModel().select(
        window.table.proxy.index(2, 0),
        window.table.selectionModel().SelectionFlag.Select | window.table.selectionModel().SelectionFlag.Rows,
    )
    qtbot.waitUntil(lambda: [h.ttl for h in window.timeline._data] == [1, 3], timeout=WAIT_MS)
    assert "hop 1" in window.timeline.caption.text() and "hop 3" in window.timeline.caption.text()


def test_focus_range_limits_the_table_and_clearing_returns_to_live(qtbot, make_window):
    window = make_window()
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    t = window.trace.series(1).sent_at
    window.timeline.set_focus(t[10] - 0.01, t[19] + 0.01)
    qtbot.waitUntil(lambda: cell(window, 0, COL_COUNT) == "10", timeout=WAIT_MS)
    assert "Focus" in window.range_label.text()
    window.timeline.focus_button.setChecked(False)
    qtbot.waitUntil(lambda: cell(window, 0, COL_COUNT) == "60", timeout=WAIT_MS)
    assert window.focus is None and "Live" in window.range_label.text()
    # The button puts a range over part of the current view.
    window.timeline.focus_button.setChecked(True)
    assert window.focus is not None
    qtbot.waitUntil(lambda: 0 < int(cell(window, 0, COL_COUNT)) < 60, timeout=WAIT_MS)


def test_stop_keeps_the_data_and_a_new_target_starts_a_new_trace(qtbot, make_window):
    window = make_window(fake_factory(rounds=None, speedup=50))
    start_by_enter(qtbot, window)
    assert window.start_action.text() == "Stop"
    qtbot.waitUntil(lambda: window.table.proxy.rowCount() == 5, timeout=WAIT_MS)
    window.start_action.trigger()  # Stop: the trace winds down (its probes in flight), in its own thread
    qtbot.waitUntil(lambda: window.start_action.text() == "Start", timeout=WAIT_MS)
    first = window.trace
    assert first.join(5)
    settle(qtbot, window)
    assert window.table.proxy.rowCount() == 5  # still on screen
    window.target_combo.setCurrentText("198.18.0.98")
    window.start_action.trigger()
    assert window.trace is not first and window.trace.target == "198.18.0.98"
    window.stop()
    window.trace.join(5)


def test_protocol_and_interval_reach_the_engine(qtbot, make_window):
    factory = fake_factory(rounds=5)
    window = make_window(factory)
    window.protocol_combo.setCurrentIndex(window.protocol_combo.findData("udp"))
    window.interval_spin.setValue(0.5)
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    trace = factory.made[-1]
    assert (trace.protocol, trace.interval_s) == ("udp", 0.5)
    assert "UDP to port 33434 every 0.5 s, via simulated network" in window.status_label.text()
    assert float(cell(window, 0, COL_MOS).split()[0]) > 4.0  # UDP probes were answered and scored


def test_tcp_probes_go_to_the_port_chosen_in_the_toolbar(qtbot, make_window, settings_store):
    networks = []
    factory = fake_factory(rounds=5)

    def make(target, protocol, interval_s):
        trace = factory(target, protocol, interval_s)
        opener = trace._network_factory
        trace._network_factory = lambda: networks.append(opener()) or networks[-1]
        return trace

    window = make_window(make)
    assert not window.port_spin.isEnabled() and window.port_spin.text() == "-"  # ICMP has no port
    assert window.port() is None
    window.protocol_combo.setCurrentIndex(window.protocol_combo.findData("tcp"))
    assert window.port_spin.isEnabled() and window.port_spin.value() == 80  # the engine's TCP default
    window.port_spin.setValue(8443)
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    assert window.trace.port == 8443
    assert "TCP SYN to port 8443 every 1 s" in window.status_label.text()
    dports = {int.from_bytes(packet[22:24], "big") for _ttl, packet in networks[-1].sent}
    assert dports == {8443}  # every probe's TCP destination port (IPv4 header: 20 bytes)
    assert float(cell(window, 0, COL_MOS).split()[0]) > 4.0
    # Another port is another trace; each protocol remembers its own port.
    window.port_spin.setValue(443)
    first = window.trace
    window.start()
    assert window.trace is not first and window.trace.port == 443
    window.stop()
    window.trace.join(5)
    window.protocol_combo.setCurrentIndex(window.protocol_combo.findData("udp"))
    assert window.port_spin.value() == 33434
    window.protocol_combo.setCurrentIndex(window.protocol_combo.findData("tcp"))
    assert window.port_spin.value() == 443 and settings_store.port("tcp") == 443


def test_model_combo_lists_the_models_and_scores_with_the_chosen_one(qtbot, make_window):
    window = make_window()
    names = [window.model_combo.itemData(i) for i in range(window.model_combo.count())]
    assert "pingplotter" in names
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    assert window.last_update.snapshot.model == window.model_name


def test_an_error_is_shown_in_words_and_the_window_is_not_blank(qtbot, make_window):
    def denied_factory(target, protocol, interval_s):
        def denied():
            raise NoPermission("pingmos needs permission to open raw sockets to send its probes.")

        return LiveTrace(target, protocol, interval_s, network_factory=denied)

    window = make_window(denied_factory)
    start_by_enter(qtbot, window)
    qtbot.waitUntil(lambda: not window.error_banner.isHidden(), timeout=WAIT_MS)
    assert "permission to open raw sockets" in window.error_banner.text()
    assert window.start_action.text() == "Start"
    assert not window.table.isHidden() and not window.timeline.isHidden()
    # No verdict about a path nobody measured (newcomer F17: "Not enough samples yet: no hop answered ...").
    qtbot.waitUntil(lambda: "nothing was measured" in window.evidence.verdict_bar.label.text(), timeout=WAIT_MS)
    assert "Not enough samples" not in window.evidence.verdict_bar.label.text()
    start_by_enter(qtbot, window, "")
    assert "Enter a host name" in window.error_banner.text()


def test_settings_persist_between_runs(qtbot, tmp_path):
    path = str(tmp_path / "persist.ini")
    store = SettingsStore(QSettings(path, QSettings.Format.IniFormat))
    window = MainWindow(store, trace_factory=fake_factory(rounds=3), refresh_ms=20)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.resize(711, 533)
    window.interval_spin.setValue(2.5)
    window.window_combo.setCurrentText("200")
    window.protocol_combo.setCurrentIndex(window.protocol_combo.findData("udp"))
    window.set_thresholds(Thresholds(mos_good=4.1, mos_acceptable=3.7, mos_poor=3.2, loss_bad_pct=7.0))
    start_by_enter(qtbot, window, "198.18.0.97")
    window.trace.join(5)
    start_by_enter(qtbot, window, DST)
    window.trace.join(5)
    window.close()

    again = MainWindow(SettingsStore(QSettings(path, QSettings.Format.IniFormat)), trace_factory=fake_factory())
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    assert (again.size().width(), again.size().height()) == (711, 533)
    assert again.interval_spin.value() == 2.5
    assert again.window_combo.currentText() == "200" and again.window_size == 200
    assert again.protocol_combo.currentData() == "udp"
    assert again.thresholds == Thresholds(mos_good=4.1, mos_acceptable=3.7, mos_poor=3.2, loss_bad_pct=7.0)
    assert [again.target_combo.itemText(i) for i in range(again.target_combo.count())] == [DST, "198.18.0.97"]
    assert again.model_name == "g107-jb"  # the default model (a first run), kept
    again.close()


def test_one_update_in_flight_at_most_so_fast_traces_do_not_pile_up(qtbot, make_window):
    window = make_window(fake_factory(rounds=None, speedup=20))
    start_by_enter(qtbot, window)
    submitted = []
    original = window.refresher.submit

    def counting(request):
        ok = original(request)
        submitted.append(ok)
        return ok

    window.refresher.submit = counting
    qtbot.wait(300)
    assert all(submitted)  # never asked while one was still being computed
    window.stop()
    window.trace.join(5)


def test_model_settings_and_another_model_rescore_every_hop(qtbot, make_window):
    window = make_window(fake_factory(rounds=60, path=JITTERY_PATH))
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    jitter = window.model_setting_widgets["jitter"]
    before = window.last_update.snapshot.hops[-1]
    jitter.setCurrentText("stdev")
    assert ("jitter", "stdev") in window.model_settings()
    qtbot.waitUntil(lambda: window.last_update.snapshot.hops[-1].mos != before.mos, timeout=WAIT_MS)
    assert window.settings.model_settings("pingplotter")["jitter"] == "stdev"
    other = next(n for n in (window.model_combo.itemData(i) for i in range(window.model_combo.count()))
                 if n != "pingplotter")  # fmt: skip
    window.model_combo.setCurrentIndex(window.model_combo.findData(other))
    qtbot.waitUntil(lambda: window.last_update.snapshot.model == other, timeout=WAIT_MS)
    assert window.settings.model() == other
    assert all(h.mos is not None for h in window.last_update.snapshot.hops if h.address)


def test_thresholds_dialog_checks_its_values(qtbot):
    dialog = ThresholdsDialog(Thresholds())
    qtbot.addWidget(dialog)
    dialog.spins["mos_poor"].setValue(3.9)  # above "acceptable": refused with a message
    dialog._accept()
    assert dialog.result_thresholds is None and "must rise" in dialog.error.text()
    dialog.spins["mos_poor"].setValue(3.0)
    dialog._accept()
    assert dialog.result_thresholds == Thresholds(mos_poor=3.0)


def test_timeline_pan_zoom_and_follow_live(qtbot, make_window):
    window = make_window()
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    qtbot.waitUntil(lambda: bool(window.timeline._data), timeout=WAIT_MS)
    t = window.timeline._data[0].t
    window.timeline.set_view(t[10], t[20])
    window.mark_dirty()
    qtbot.wait(100)
    assert window.timeline.view_range() == pytest.approx((t[10], t[20]))  # an update does not undo the user's zoom
    window.timeline.live_button.click()
    x0, x1 = window.timeline.view_range()
    assert x0 <= t[0] and x1 >= t[-1]


def test_reverse_dns_names_fill_the_name_column(qtbot, make_window):
    class Names:
        def name(self, addr):
            return {"198.18.0.2": "r1.lab.test", DST: "target.lab.test"}.get(addr)

        def close(self):
            pass

    factory = fake_factory()

    def with_names(target, protocol, interval_s):
        trace = factory(target, protocol, interval_s)
        trace._names = Names()
        return trace

    window = make_window(with_names)
    start_by_enter(qtbot, window)
    settle(qtbot, window)
    assert cell(window, 0, 3) == "r1.lab.test" and cell(window, 4, 3) == "target.lab.test"
    assert cell(window, 2, 3) == ""
    qtbot.waitUntil(lambda: "hop 5 (target.lab.test)" in window.timeline.caption.text(), timeout=WAIT_MS)


def test_a_first_run_uses_the_default_model(tmp_path):
    from PySide6.QtCore import QSettings

    from pingmos.gui.settings_store import SettingsStore
    from pingmos.scoring import DEFAULT_MODEL

    fresh = SettingsStore(QSettings(str(tmp_path / "fresh.ini"), QSettings.Format.IniFormat))
    assert fresh.model() == DEFAULT_MODEL == "g107-jb"


def test_ask_the_routers_is_in_the_trace_menu_with_a_key(qtbot, make_window):
    """README: every command is in a menu. "Ask the routers" was only a button on the verdict line."""
    window = make_window(fake_factory(LOSSY_PATH, rounds=60))
    action = window.actions.ask_routers_action
    assert action in window.actions.trace_menu.actions() and action.shortcut() == QKeySequence("Ctrl+Shift+R")
    # Nothing traced yet: the key says why nothing happens instead of doing nothing.
    action.trigger()
    assert "no router to ask" in window.statusBar().currentMessage()
    window.target_combo.setCurrentText(DST)
    window.start()
    settle(qtbot, window)
    asked = []
    window.evidence.verdict_bar.witness_runner = lambda snapshot, done: asked.append(snapshot)
    button = window.evidence.verdict_bar.witness_button
    qtbot.waitUntil(button.isEnabled, timeout=WAIT_MS)
    action.trigger()  # (the key is the action's shortcut, asserted above)
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=WAIT_MS)
