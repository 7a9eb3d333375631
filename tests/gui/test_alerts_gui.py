"""Alert rules in the window, on scripted sample feeds in virtual time: rules fire and clear once per episode (no
flapping), the event shows in the status bar, the event log dock and the timeline, goes into the session and
runs the rule's command; the rules dialog checks what it saves."""

import email
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from pingmos.alerts import DEFAULT_RULES, AlertRule, load_rules
from pingmos.alerts import episodes as alert_episodes
from pingmos.engine.events import Sample
from pingmos.engine.network import NoPermission
from pingmos.gui.alert_monitor import rules_path
from pingmos.gui.alerts_dialog import AlertsDialog, explain
from pingmos.live_trace import LiveTrace
from pingmos.session import open_session
from tests.gui.conftest import WAIT_MS

TARGET = "198.18.0.99"
ROUTER = "198.18.0.2"
T0 = 1_700_000_000.0


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PINGMOS_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def unprobed(target, protocol, interval_s):
    """A trace whose engine cannot open a network (nothing is ever sent): the test feeds its samples."""

    def no_network():
        raise NoPermission("tests feed this trace by hand")

    return LiveTrace(target, protocol=protocol, interval_s=interval_s, network_factory=no_network)


def feed(trace, start_s, seconds, lost_every=None):
    """One round per second from T0 + start_s: hop 1 answers, hop 2 is the destination; with ``lost_every`` N,
    every Nth probe to the destination is lost."""
    for i in range(start_s, start_s + seconds):
        trace.apply(Sample(i, 1, 2 * i, T0 + i, 1.0, ROUTER))
        lost = lost_every is not None and i % lost_every == 0
        trace.apply(Sample(i, 2, 2 * i + 1, T0 + i, None if lost else 20.0, None if lost else TARGET, not lost))


def evaluate(qtbot, monitor, start_s, seconds):
    for i in range(start_s, start_s + seconds):
        assert monitor.check(T0 + i)
        qtbot.waitUntil(lambda: not monitor.busy, timeout=WAIT_MS)


@pytest.fixture
def watched(qtbot, make_window, tmp_path, monkeypatch):
    """A window tracing TARGET (fed by hand) under a loss rule (with a command) and a MOS rule."""
    # Started from root (the test suite), the command runs as another user: it writes where anyone may.
    shared = Path(tempfile.mkdtemp(prefix="pingmos-test-"))
    shared.chmod(0o777)
    out = shared / "command.out"
    monkeypatch.setenv("ALERT_OUT", str(out))
    command = ("/bin/sh", "-c", 'echo "$PINGMOS_ALERT_STATE $PINGMOS_ALERT_VALUE" >> "$ALERT_OUT"')
    rules = [
        AlertRule("loss", "loss_pct", 10.0, window_s=28, for_s=3, clear_for_s=2, min_samples=5, command=command),
        AlertRule("voice", "mos", 3.5, window_s=10, min_samples=5),
    ]
    window = make_window(factory=unprobed)
    monitor = window.evidence.alerts
    monitor.timer.stop()  # the test says when "now" is
    qtbot.waitUntil(lambda: monitor.rules_loaded, timeout=WAIT_MS)
    monitor.set_rules(rules, save=False)
    window.target_combo.setCurrentText(TARGET)
    window.start()
    # The engine cannot open a network, so the trace stops at once; wait for the window to see that (the rules
    # then judge it anew), so that no sample the test feeds goes to an engine about to be replaced.
    qtbot.waitUntil(lambda: window.start_action.text() == "Start", timeout=WAIT_MS)
    yield window, monitor, out
    shutil.rmtree(shared, ignore_errors=True)


def fired(window):
    return [(kind, text.split(" ")[0]) for _, kind, text in window.evidence.event_log.rows() if kind != "note"]


def test_rules_fire_once_hold_through_a_wobble_and_clear_once(qtbot, watched):
    window, monitor, out = watched
    trace = window.trace
    feed(trace, 0, 30)
    evaluate(qtbot, monitor, 0, 30)
    assert fired(window) == [] and monitor.firing() == []
    assert "2 rules watching" in window.evidence.firing_label.text()

    feed(trace, 30, 30, lost_every=2)  # 50 % loss at the destination
    qtbot.waitUntil(lambda: window.evidence.verdict_bar.diagnosis is not None, timeout=WAIT_MS)
    evaluate(qtbot, monitor, 30, 30)
    assert fired(window) == [("alert fired", "voice"), ("alert fired", "loss")]
    # Each event carries the window's one diagnosis (the verdict line's), in the status bar and the event log.
    assert "; diagnosis (" in window.statusBar().currentMessage()
    assert all("; diagnosis (" in text for _, kind, text in window.evidence.event_log.rows() if kind != "note")
    assert sorted(monitor.firing()) == ["loss", "voice"]
    assert "loss" in window.evidence.firing_label.text()
    assert "cleared" not in window.statusBar().currentMessage() and "fired" in window.statusBar().currentMessage()
    assert len(window.evidence.episodes.items) == 2  # shaded on the timeline, still open

    # One probe in 14 lost: 2 or 3 in the 29 probes of a 28 s window, 7 to 10 %, above the clear level (5 %).
    feed(trace, 60, 30, lost_every=14)
    evaluate(qtbot, monitor, 60, 30)
    assert ("alert cleared", "loss") not in fired(window)
    assert [k for k, rule in fired(window) if rule == "loss"] == ["alert fired"]  # no flapping, no second fire

    feed(trace, 90, 30)
    evaluate(qtbot, monitor, 90, 30)
    events = fired(window)
    assert events.count(("alert fired", "loss")) == 1 and events.count(("alert cleared", "loss")) == 1
    assert monitor.firing() == []
    for rule in ("loss", "voice"):  # a rule never fires twice in one episode: fired and cleared alternate
        kinds = [kind for kind, r in events if r == rule]
        assert kinds and kinds == ["alert fired", "alert cleared"] * (len(kinds) // 2)
    assert "alerts: 2 rules watching" in window.evidence.firing_label.text()

    # The rule's command ran for the fire and the clear, with the values in its environment.
    qtbot.waitUntil(lambda: out.exists() and len(out.read_text().splitlines()) == 2, timeout=WAIT_MS)
    states = sorted(line.split()[0] for line in out.read_text().splitlines())
    assert states == ["clear", "fire"]
    fire_value = next(float(line.split()[1]) for line in out.read_text().splitlines() if line.startswith("fire"))
    assert fire_value > 10.0

    # The session file holds the events with their values; opened again, they are in the log and on the timeline.
    sessions = window.evidence.sessions
    path = str(sessions.recording.path)
    sessions.finish_recording()
    qtbot.waitUntil(lambda: sessions.worker.pending == 0, timeout=WAIT_MS)
    with open_session(path) as session:
        kinds = [(e.kind, e.data["rule"]) for e in session.events()]
        assert kinds.count(("alert-fire", "loss")) == 1 and kinds.count(("alert-clear", "loss")) == 1
        loss_fire = next(e for e in session.events() if e.kind == "alert-fire" and e.data["rule"] == "loss")
        assert loss_fire.data["value"] > 10.0
        assert loss_fire.data["diagnosis"]["status"] in ("problem", "no-problem", "undecided")
    sessions.open_path(path)
    qtbot.waitUntil(lambda: window.evidence.is_replay(window.trace), timeout=WAIT_MS)
    assert fired(window) == events
    qtbot.waitUntil(lambda: window.last_update is not None and window.last_update.request.trace is window.trace)
    assert len(window.evidence.episodes.items) == 2 and window.evidence.alerts.engine is None


def test_changing_the_rules_while_firing_carries_kept_rules_over_and_ends_changed_ones(qtbot, watched):
    window, monitor, _ = watched
    trace = window.trace
    feed(trace, 0, 30, lost_every=2)
    evaluate(qtbot, monitor, 0, 30)
    assert sorted(monitor.firing()) == ["loss", "voice"]
    loss, voice = monitor.rules

    monitor.set_rules(list(monitor.rules), save=False)  # OK without a change: nothing happens
    assert sorted(monitor.firing()) == ["loss", "voice"] and len(fired(window)) == 2

    # The MOS rule changes (another threshold), the loss rule stays as it was.
    changed = AlertRule("voice", "mos", 3.0, window_s=10, min_samples=5)
    monitor.set_rules([loss, changed], save=False)
    assert monitor.firing() == ["loss"]  # its episode goes on in the new engine
    events = window.evidence.event_log.session_events()
    assert [(e.kind, e.data["rule"]) for e in events][-1] == ("alert-clear", "voice")
    assert "rule was changed or removed" in events[-1].data["message"]
    assert [ep.rule for ep in alert_episodes(events) if ep.end is None] == ["loss"]  # the timeline's open one

    # The carried-over loss episode clears by its own rule once the path is good again, and never fires twice.
    feed(trace, 30, 40)
    evaluate(qtbot, monitor, 30, 40)
    kinds = [k for k, rule in fired(window) if rule == "loss"]
    assert kinds == ["alert fired", "alert cleared"] and monitor.firing() == []


def test_a_rule_firing_when_the_trace_stops_ends_with_a_note(qtbot, watched):
    window, monitor, _ = watched
    feed(window.trace, 0, 30, lost_every=2)
    evaluate(qtbot, monitor, 0, 30)
    assert sorted(monitor.firing()) == ["loss", "voice"]
    window.stop()
    assert monitor.firing() == []
    ended = window.evidence.event_log.session_events()[-2:]
    assert {e.data["rule"] for e in ended} == {"loss", "voice"} and {e.kind for e in ended} == {"alert-clear"}
    assert all("the trace stopped" in e.data["message"] for e in ended)
    assert "the trace stopped" in window.statusBar().currentMessage()
    assert "watching" in window.evidence.firing_label.text()
    assert all(ep.end is not None for ep in alert_episodes(window.evidence.event_log.session_events()))
    # The recorded session holds the ends too: opened later, no episode is left open.
    sessions = window.evidence.sessions
    path = str(sessions.recording.path)
    sessions.finish_recording()
    qtbot.waitUntil(lambda: sessions.worker.pending == 0, timeout=WAIT_MS)
    with open_session(path) as session:
        assert all(ep.end is not None for ep in alert_episodes(session.events()))


def test_the_desktop_notification_can_be_turned_off_and_stays_off(qtbot, watched, settings_store):
    from PySide6.QtCore import Qt

    from pingmos.gui.settings_store import SettingsStore

    window, monitor, _ = watched
    shown = []

    class Tray:  # offscreen there is no system tray: this one records what would pop up
        def showMessage(self, title, text, icon, ms):  # noqa: N802 - Qt's name
            shown.append(title)

    window.evidence._tray = lambda: Tray()
    action = window.evidence.notify_action
    assert action.isChecked() and action in window.menuBar().actions()[-1].menu().actions()  # on by default
    feed(window.trace, 0, 30, lost_every=2)
    evaluate(qtbot, monitor, 0, 30)
    assert sorted(shown) == ["pingmos: loss", "pingmos: voice"]

    action.trigger()  # Alerts › Desktop notifications: off; the log and the status bar still say it
    assert not settings_store.desktop_notifications()
    feed(window.trace, 30, 60)
    evaluate(qtbot, monitor, 30, 60)
    assert ("alert cleared", "loss") in fired(window) and len(shown) == 2
    # Persisted with the other settings: a new store on the same file reads it off.
    assert SettingsStore(settings_store.q).desktop_notifications() is False

    # The rules dialog has the same switch, reached with Tab, and OK keeps it (and the menu follows).
    dialog = AlertsDialog(monitor.rules, parent=window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.wait_for_model(qtbot)
    assert not dialog.notify_box.isChecked()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=WAIT_MS)
    dialog.table.setFocus()
    for _ in range(30):  # Tab from the rules table reaches the switch; Space turns it on
        if dialog.focusWidget() is dialog.notify_box:
            break
        qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.notify_box
    qtbot.keyClick(dialog.notify_box, Qt.Key.Key_Space)
    assert dialog.notify_box.isChecked()
    dialog._accept()
    assert dialog.result_notify is True and settings_store.desktop_notifications() and action.isChecked()


def test_the_rules_dialog_checks_and_saves_rules(qtbot, watched, config_dir):
    window, monitor, _ = watched
    dialog = AlertsDialog(DEFAULT_RULES, parent=window)
    qtbot.addWidget(dialog)
    assert dialog.rules() == list(DEFAULT_RULES)
    dialog.set_cell(0, "threshold", "abc")
    dialog._accept()
    assert dialog.result_rules is None and "rule 1" in dialog.error.text() and "number" in dialog.error.text()
    dialog.set_cell(0, "threshold", "7")
    dialog._accept()
    assert "within 1 and 4.5" in dialog.error.text()
    dialog.set_cell(0, "threshold", "3.2")
    dialog.set_cell(1, "name", dialog.cell(0, "name"))
    dialog._accept()
    assert "same name" in dialog.error.text()
    dialog.set_cell(1, "name", "latency")
    dialog.set_metric(1, "latency_ms")
    dialog.set_cell(1, "threshold", "150")
    dialog.set_cell(1, "ttl", "1")
    dialog.set_cell(1, "command", "notify-send 'pingmos alert'")
    dialog._accept()
    rules = dialog.result_rules
    assert rules[0].threshold == 3.2 and rules[1].metric == "latency_ms" and rules[1].ttl == 1
    assert rules[1].command == ("notify-send", "pingmos alert")

    monitor.set_rules(rules)
    qtbot.waitUntil(lambda: rules_path().exists(), timeout=WAIT_MS)
    assert rules_path().parent == config_dir and load_rules(rules_path()) == rules
    assert [r.name for r in monitor.engine.rules] == [r.name for r in rules]  # the trace is watched by them


def test_a_broken_rules_file_is_a_note_and_the_defaults_apply(qtbot, make_window, config_dir):
    config_dir.mkdir(parents=True)
    (config_dir / "alerts.json").write_text('{"rules": [{"metric": "mos", "below": 9}]}')
    window = make_window(factory=unprobed)
    monitor = window.evidence.alerts
    qtbot.waitUntil(lambda: monitor.rules_loaded, timeout=WAIT_MS)
    assert monitor.rules == list(DEFAULT_RULES)
    notes = [text for _, kind, text in window.evidence.event_log.rows() if kind == "note"]
    assert len(notes) == 1 and "alerts.json" in notes[0] and "default rules" in notes[0]


def test_a_rules_file_rule_that_could_never_clear_with_the_model_is_said_once(qtbot, make_window, config_dir):
    # The window's own rules file gets the dialog's check (pingmos.alerts.check_reach) with the window's model,
    # when it is read and again when another model or setting is chosen: one note naming the file, the rule and
    # what to do. G.107 with G.729A (Ie 11) gives at most about 4.1 on a clean path; PingPlotter's formula 4.40.
    from pingmos.gui.alerts_dialog import mos_ceiling

    config_dir.mkdir(parents=True)
    rule = '{"name": "voice", "metric": "mos", "below": 3.8, "clear_at": 4.3}'
    (config_dir / "alerts.json").write_text('{"rules": [' + rule + "]}")
    window = make_window(factory=unprobed)
    monitor = window.evidence.alerts
    qtbot.waitUntil(lambda: monitor.rules_loaded and monitor.worker.pending == 0, timeout=WAIT_MS)

    def notes():
        return [text for _, kind, text in window.evidence.event_log.rows() if kind == "note"]

    assert notes() == [] and monitor.rules[0].name == "voice"  # 4.3 is reachable with PingPlotter's formula
    window.settings.set_model_setting("g107", "codec", "g729a")
    top = mos_ceiling("g107", {"codec": "g729a"})
    assert 3.8 < top < 4.3
    window.model_combo.setCurrentIndex(window.model_combo.findData("g107"))
    qtbot.waitUntil(lambda: len(notes()) == 1, timeout=WAIT_MS)
    assert notes()[0] == (
        f"{rules_path()}: rule 1 (voice): it would never clear at MOS 4.3: g107 gives at most {top:.2f} on a clean "
        f"path (10 ms, no loss); give a 'clears at' between 3.8 and {top:.2f} (e.g. {round((3.8 + top) / 2, 2):g}); "
        "change it in Alerts › Alert rules…"
    )
    window.model_combo.setCurrentIndex(window.model_combo.findData("g107"))  # no change: said once
    qtbot.wait(200)
    assert len(notes()) == 1


@pytest.mark.lab
def test_on_the_lab_loss_switched_on_mid_trace_fires_in_the_window(qtbot, make_window, lab_factory):
    """The real engine in the lab's client namespace, the rule watching the live trace in wall-clock time."""
    import time

    from tests.netlab import LinkSpec, RouterSpec
    from tests.netlab.relay import in_netns

    clean, lossy = LinkSpec.symmetric(1.0), LinkSpec.symmetric(1.0, loss_pct=30.0)  # ~51 % round-trip loss
    lab = lab_factory([RouterSpec()] * 2, [clean] * 3)

    def factory(target, protocol, interval_s):
        return LiveTrace(target, protocol, interval_s, thread_context=lambda: in_netns(lab.client_ns))

    window = make_window(factory)
    monitor = window.evidence.alerts
    qtbot.waitUntil(lambda: monitor.rules_loaded, timeout=WAIT_MS)
    rule = AlertRule("loss", "loss_pct", 5.0, window_s=1.0, min_samples=5)
    monitor.set_rules([rule], save=False)
    window.interval_spin.setValue(0.1)
    window.target_combo.setCurrentText(lab.target_addr)
    window.start()
    qtbot.waitUntil(lambda: window.trace.sample_count > 30, timeout=10_000)
    qtbot.wait(500)
    assert fired(window) == []
    on_at = time.time()
    lab.set_link(2, lossy)  # the last link: the destination (hop 3) loses
    qtbot.waitUntil(lambda: fired(window) == [("alert fired", "loss")], timeout=10_000)
    assert "loss (loss above 5 % over 1 s) fired" in window.statusBar().currentMessage()  # its settings follow
    window.stop()
    # Stopped (once the replies to the probes in flight are in: Stop winds the trace down), nothing measures the
    # path any more: the episode ends with a note instead of firing forever.
    qtbot.waitUntil(lambda: window.start_action.text() == "Start", timeout=10_000)
    assert fired(window) == [("alert fired", "loss"), ("alert cleared", "loss")]  # "loss (loss above 5 % ...): ended"
    assert "the trace stopped" in window.statusBar().currentMessage() and monitor.firing() == []
    event = window.evidence.event_log.session_events()[0]
    settle_s = monitor.engine.settle_s  # a lost probe settles (and its round enters the window) at its timeout
    print(f"fired {event.at - on_at:.2f} s after loss on ({event.data['value']:.1f} %), settle {settle_s:g} s")
    # Within the rule's window of the switch, plus the settle time and one evaluation tick (1 s).
    assert on_at < event.at <= on_at + rule.window_s + settle_s + 1.0, event.at - on_at
    assert event.data["value"] > 5.0 and event.data["ttl"] == 3 and event.data["address"] == lab.target_addr


def test_a_mos_clear_level_the_model_cannot_reach_is_refused_or_adjusted(qtbot, make_window):
    from pingmos.alerts import CLEAN_RTT_MS
    from pingmos.gui.alerts_dialog import explain, mos_ceiling

    window = make_window(factory=unprobed)
    top = mos_ceiling("pingplotter", {})
    assert 4.3 < top < 4.4  # PingPlotter's formula on a clean 10 ms path: R 92.7, MOS 4.40 (rounded down)
    dialog = AlertsDialog([AlertRule("voice", "mos", 4.2)], parent=window)
    qtbot.addWidget(dialog)
    assert not dialog.ok_button.isEnabled()  # until the model's reach is known
    dialog.wait_for_model(qtbot)
    assert dialog.ok_button.isEnabled() and dialog.ceiling == pytest.approx(top)

    # The default clear level (4.2 + 0.2 = 4.4) is out of reach: set to one the model gives, and said so.
    dialog._accept()
    assert dialog.result_rules is None and "Adjusted" in dialog.error.text() and "never would" in dialog.error.text()
    adjusted = float(dialog.cell(0, "clear_at"))
    assert 4.2 < adjusted < top
    dialog._accept()
    assert dialog.result_rules == [AlertRule("voice", "mos", 4.2, clear_at=adjusted)]

    # A clear level typed above the reach, or a threshold at it, is refused with what the model can give.
    dialog = AlertsDialog([AlertRule("voice", "mos", 4.2, clear_at=4.45)], parent=window)
    qtbot.addWidget(dialog)
    dialog.wait_for_model(qtbot)
    dialog._accept()
    assert dialog.result_rules is None and "never clear at MOS 4.45" in dialog.error.text()
    assert f"{top:.2f} on a clean path ({CLEAN_RTT_MS:g} ms" in dialog.error.text()
    dialog.set_cell(0, "threshold", "4.42")
    dialog.set_cell(0, "clear_at", "")
    dialog._accept()
    assert "MOS below 4.42 would never clear" in dialog.error.text()
    dialog.set_cell(0, "threshold", "3.5")
    dialog._accept()
    assert dialog.result_rules == [AlertRule("voice", "mos", 3.5)]  # 3.7 is reachable: kept as the default

    # Hysteresis in words, for the selected rule.
    words = explain(AlertRule("loss", "loss_pct", 2.0, window_s=60, for_s=300, clear_for_s=60))
    assert "stays above 2 % for 5 min" in words and "back at or below 1 %" in words and "hysteresis" in words
    dialog.table.selectRow(0)
    assert "clears when the MOS" in dialog.explanation.text() and "at most" in dialog.explanation.text()


def test_an_alert_sends_e_mail_to_a_local_smtp_server(qtbot, watched, tmp_path):
    aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

    class Sink:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode()))
            return "250 OK"

    import socket

    with socket.socket() as s:  # a free port on loopback for the sink
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = aiosmtpd_controller.Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        window, monitor, _ = watched
        dialog = AlertsDialog(monitor.rules, parent=window)
        qtbot.addWidget(dialog)
        dialog.wait_for_model(qtbot)
        dialog.mail_to.setText("noc@example.test, oncall@example.test")
        dialog.mail_host.setText("127.0.0.1")
        dialog.mail_port.setValue(port)
        dialog.mail_from.setText("pingmos@example.test")
        dialog.send_test_mail()
        qtbot.waitUntil(lambda: dialog.mail_status.text().startswith(("e-mailed", "failed")), timeout=10000)
        assert dialog.mail_status.text().startswith("e-mailed noc@example.test, oncall@example.test")
        assert len(sink.messages) == 1 and sink.messages[0][1] == ["noc@example.test", "oncall@example.test"]
        dialog._accept()
        assert dialog.result_mail is not None and monitor.mail.port == port  # kept and in use
        assert window.settings.mail() == dialog.result_mail

        trace = window.trace
        feed(trace, 0, 30)
        evaluate(qtbot, monitor, 0, 30)
        feed(trace, 30, 30, lost_every=2)
        evaluate(qtbot, monitor, 30, 30)
        qtbot.waitUntil(lambda: len(sink.messages) >= 3, timeout=10000)
        texts = [m[2] for m in sink.messages[1:]]
        # The subject says what the event log says of the alert, short: display name, target, value and hop (it
        # said only "pingmos: loss fired for TARGET").
        fired = [
            t for _, kind, t in window.evidence.event_log.rows() if kind == "alert fired" and t.startswith("loss ")
        ]
        assert fired, window.evidence.event_log.rows()
        said = re.match(r"(.+) fired for (\S+): loss (\S+ %) at (hop \d+)", fired[0])
        assert said is not None, fired[0]
        title, target, value, hop = said.groups()
        subject = f"pingmos: {title} fired for {target}: loss {value} at {hop}"
        subjects = [" ".join(email.message_from_string(t)["Subject"].split()) for t in texts]  # unfolded
        assert subject in subjects, (subject, subjects)
        notes = [text for _, kind, text in window.evidence.event_log.rows() if kind == "note"]
        assert any(n.startswith("e-mailed noc@example.test") for n in notes)
    finally:
        controller.stop()
    # A server that is not there: the log says so, nothing else breaks.
    from pingmos.gui.alert_mail import MailSettings

    window.evidence.alerts.mail = MailSettings(host="127.0.0.1", port=port, recipients=("a@b.test",))
    window.evidence.alerts.send_mail([_event()])
    qtbot.waitUntil(
        lambda: any("failed" in t for _, k, t in window.evidence.event_log.rows() if k == "note"), timeout=20000
    )


def _event():
    from pingmos.alerts import FIRE, AlertEvent

    return AlertEvent("loss", FIRE, T0, TARGET, 2, None, "loss_pct", 50.0, 10.0, 28.0, 28)


def _probe(trace, k, t, lost_at_destination):
    trace.apply(Sample(k, 1, 2 * k, t, 1.0, ROUTER, False, "time_exceeded"))
    lost = lost_at_destination
    trace.apply(Sample(k, 2, 2 * k + 1, t, None if lost else 20.0, None if lost else TARGET, not lost,
                       None if lost else "echo_reply"))  # fmt: skip


def test_window_alerts_run_for_s_on_the_monotonic_clock_whatever_the_wall_clock_does(qtbot, watched):
    # The window's clocks injected: one probe round a monotonic second, every other one lost at the destination.
    window, monitor, _ = watched
    rule = AlertRule("loss", "loss_pct", 1.0, window_s=20.0, for_s=30.0, min_samples=5)
    mono0 = 500.0
    monitor.set_rules([rule], save=False)
    runs = []

    def run(steps: dict[int, float]) -> list[float]:
        monitor.engine = monitor._engine_for(window.trace)  # a fresh engine: nothing firing, no history
        runs.append(steps)
        wall, mono = [T0 + 10_000.0 * len(runs)], [mono0]
        monitor.clock, monitor.mono_clock = (lambda: wall[0]), (lambda: mono[0])
        fired: list[float] = []
        collect = lambda events: fired.extend(mono[0] for e in events if e.kind == "fire")  # noqa: E731
        monitor.fired.connect(collect)
        try:
            for k in range(70):
                wall[0] += steps.get(k, 0.0)
                _probe(window.trace, k, wall[0], k % 2 == 0)
                assert monitor.check()
                qtbot.waitUntil(lambda: not monitor.busy, timeout=WAIT_MS)
                wall[0] += 1.0
                mono[0] += 1.0
        finally:
            monitor.fired.disconnect(collect)
        return fired

    # Known once the window (its settled rounds: every fate is fed at once here) holds 5 probes of the destination:
    # at second 4; fired for_s (30 s) later. (Before, the window ended 3 s before now whatever was settled: 7.)
    assert run({}) == [mono0 + 4 + rule.for_s]
    # Forward 8 s mid-episode (the value stays known): the old tree counted for_s on the wall clock, 8 s early.
    assert run({15: 8.0}) == [mono0 + 4 + rule.for_s]
    # Back an hour: the windows start anew at the evaluation that sees it (second 16), known again 5 s later, then
    # for_s. The old tree measured for_s from a wall time an hour ahead: it never fired.
    assert run({16: -3600.0}) == [mono0 + 16 + 5 + rule.for_s]


def test_a_window_alerts_clear_carries_the_diagnosis_of_its_rules_window(qtbot, watched):
    # 20 s clean, 40 s of an outage beyond hop 1, then 30 s clean. The window's verdict (here: all the trace's
    # samples) still says "problem" when the 10-s rule clears: the clear said "loss 0.0 % ...; diagnosis (problem)".
    from pingmos.diagnosis import diagnose
    from pingmos.gui import models

    window, monitor, _ = watched
    rule = AlertRule("loss above 1", "loss_pct", 1.0, window_s=10.0, for_s=5.0, min_samples=5)
    monitor.set_rules([rule], save=False)
    trace = window.trace
    model = models.load_model("pingplotter", {})
    monitor.diagnosis_of = lambda: diagnose(trace.snapshot(None, model.score_many, model.name))
    events = []
    monitor.fired.connect(events.extend)
    try:
        for k in range(90):
            _probe(trace, k, T0 + k, 20 <= k < 60)
            assert monitor.check(T0 + k + 0.5)
            qtbot.waitUntil(lambda: not monitor.busy, timeout=WAIT_MS)
        fire, clear = events
        assert (fire.kind, clear.kind) == ("fire", "clear") and clear.value == 0.0
        assert monitor.diagnosis_of().status == "problem"  # the window's verdict still holds the outage
        assert fire.diagnosis_status == "problem", fire.message
        assert clear.diagnosis_status != "problem" and "problem starts" not in clear.message, clear.message
    finally:
        model.close()


def test_a_generated_name_follows_the_edit_and_a_name_of_ones_own_shows_the_settings(qtbot, make_window):
    """Breaker finding 10: the rule edited to for 10 s still fired as "loss above 1 % for 5 minutes"."""
    window = make_window(factory=unprobed)
    dialog = AlertsDialog(DEFAULT_RULES, parent=window)
    qtbot.addWidget(dialog)
    dialog.wait_for_model(qtbot)
    dialog.set_cell(1, "for_s", "10")
    assert dialog.cell(1, "name") == "loss above 1 % for 10 s"
    dialog.set_metric(1, "jitter_ms")
    dialog.set_cell(1, "threshold", "30")
    assert dialog.cell(1, "name") == "jitter above 30 ms for 10 s"
    dialog.set_cell(0, "name", "voice")  # a name of one's own stays, with what the rule does after it
    dialog.set_cell(0, "for_s", "20")
    assert dialog.cell(0, "name") == "voice"
    dialog._accept()
    assert [r.title for r in dialog.result_rules] == ["voice (MOS below 3.5 for 20 s)", "jitter above 30 ms for 10 s"]
    assert "<b>voice (MOS below 3.5 for 20 s)</b>" in explain(dialog.result_rules[0])


def test_editing_one_rule_keeps_the_others_evidence(qtbot, watched):
    """The window's rules dialog gave a fresh engine: the unchanged loss rule's 28 s window restarted empty, and
    its event claimed the whole window over the few probes sent since the edit."""
    window, monitor, _ = watched
    trace = window.trace
    feed(trace, 0, 40)
    evaluate(qtbot, monitor, 0, 40)
    loss, voice = monitor.rules
    monitor.set_rules([loss, AlertRule("voice", "mos", 3.0, window_s=10, min_samples=5)], save=False)
    feed(trace, 40, 20, lost_every=2)
    evaluate(qtbot, monitor, 40, 20)
    (text,) = [t for _, kind, t in window.evidence.event_log.rows() if kind == "alert fired" and t.startswith("loss")]
    probes = int(text.split(" probes;")[0].rsplit("(", 1)[1])
    assert probes >= 27 and "not full yet" not in text, text  # the 28 s window, samples from before the edit too
