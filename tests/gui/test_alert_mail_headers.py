"""Alert e-mail with names that hold CR or LF (a rules file or the monitor's configuration accepts them): the message
is still composed and sent, no header or body line is forged; an address with one is refused by ``problem``."""

from __future__ import annotations

import socket

import pytest

from pingmos.alerts import CLEAR, FIRE, AlertEvent, AlertRule
from pingmos.gui.alert_mail import SUBJECT_CHARS, MailSettings, compose, send_events, subject_of

RULE = "loss\r\nBcc: victim@example.test"
TARGET = "pbx\nX-Injected: 1"


def event(kind=FIRE):
    return AlertEvent(RULE, kind, 1_700_000_000.0, TARGET, 3, "198.18.2.2", "loss_pct", 50.0, 1.0, 60.0, 60)


def test_names_with_line_breaks_make_a_safe_message():
    settings = MailSettings(host="127.0.0.1", recipients=("noc@example.test",))
    message = compose(settings, [event(), event(CLEAR)])  # raised ValueError: Header values may not contain linefeed
    raw = message.as_bytes()
    assert message["Subject"] == (
        "pingmos: loss??Bcc: victim@example.test fired for pbx?X-Injected: 1: loss 50.0 % at hop 3 (+1 more)"
    )
    assert message["Bcc"] is None and message["X-Injected"] is None
    lines = raw.decode().splitlines()
    assert not any(line.startswith(("Bcc:", "X-Injected:")) for line in lines)
    body = message.get_content()
    assert "loss??Bcc: victim@example.test fired for pbx?X-Injected: 1: loss" in body


def test_an_address_with_a_line_break_is_refused_before_sending():
    bad = MailSettings(host="127.0.0.1", sender="a@example.test\nBcc: b@example.test", recipients=("c@example.test",))
    assert "is not an e-mail address" in bad.problem()
    assert MailSettings(host="127.0.0.1", recipients=("c@example.test\r",)).problem().endswith("not an e-mail address")


def test_the_mail_reaches_a_loopback_server():
    controller_module = pytest.importorskip("aiosmtpd.controller")

    class Sink:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
            return "250 OK"

    with socket.socket() as s:  # a free port on loopback for the sink
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = controller_module.Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        said = send_events(MailSettings(host="127.0.0.1", port=port, recipients=("noc@example.test",)), [event()])
    finally:
        controller.stop()
    assert said.startswith("e-mailed noc@example.test: pingmos: loss??Bcc:")
    assert said.endswith("fired for pbx?X-Injected: 1: loss 50.0 % at hop 3")
    ((rcpt, text),) = sink.messages
    assert rcpt == ["noc@example.test"] and "\nBcc:" not in text and "\nX-Injected:" not in text


def test_a_subject_shows_the_display_name_target_value_and_hop_short_enough():
    rule = AlertRule("voice quality at the branch office of our company", "mos", 3.5, window_s=60, for_s=300)
    target = "sip-trunk-primary." + "x" * 200 + ".example.test"
    fire = AlertEvent(rule.name, FIRE, 1.7e9, target, 6, "198.18.5.2", "mos", 2.7712, 3.5, 60.0, 60, title=rule.title)
    subject = compose(MailSettings(host="127.0.0.1", recipients=("noc@example.test",)), [fire])["Subject"]
    assert len(subject) <= SUBJECT_CHARS
    assert subject.startswith("pingmos: voice quality at the \u2026low 3.5 for 5 minutes) fired for sip-trunk-pri")
    assert subject.endswith(".example.test: MOS 2.77 at hop 6")  # the value as the event log shows it, and the hop
    assert "2.77 at hop 6" in fire.message
    # The default rules' display names stand whole; an episode a reload ended says so instead of a value.
    default = AlertRule("", "loss_pct", 1.0, window_s=60, for_s=300)
    loss = AlertEvent(default.name, FIRE, 1.7e9, "198.18.5.2", 6, "198.18.5.2", "loss_pct", 40.0, 1.0, 60.0, 60,
                      title=default.title)  # fmt: skip
    assert subject_of([loss]) == "pingmos: loss above 1 % for 5 minutes fired for 198.18.5.2: loss 40.0 % at hop 6"
    ended = AlertEvent(default.name, CLEAR, 1.7e9, "pbx", 6, None, "loss_pct", None, 1.0, 60.0, 0,
                       reason="removed by reload", title=default.title)  # fmt: skip
    assert subject_of([ended, loss]) == (
        "pingmos: loss above 1 % for 5 minutes cleared for pbx: ended: removed by reload (+1 more)"
    )
