"""Alert e-mail with names that hold CR or LF (a rules file or the monitor's configuration accepts them): the message
is still composed and sent, no header or body line is forged; an address with one is refused by ``problem``."""

from __future__ import annotations

import socket

import pytest

from pingmos.alerts import CLEAR, FIRE, AlertEvent
from pingmos.gui.alert_mail import MailSettings, compose, send_events

RULE = "loss\r\nBcc: victim@example.test"
TARGET = "pbx\nX-Injected: 1"


def event(kind=FIRE):
    return AlertEvent(RULE, kind, 1_700_000_000.0, TARGET, 3, "198.18.2.2", "loss_pct", 50.0, 1.0, 60.0, 60)


def test_names_with_line_breaks_make_a_safe_message():
    settings = MailSettings(host="127.0.0.1", recipients=("noc@example.test",))
    message = compose(settings, [event(), event(CLEAR)])  # raised ValueError: Header values may not contain linefeed
    raw = message.as_bytes()
    assert message["Subject"] == "pingmos: loss??Bcc: victim@example.test fired for pbx?X-Injected: 1 (+1 more)"
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
    ((rcpt, text),) = sink.messages
    assert rcpt == ["noc@example.test"] and "\nBcc:" not in text and "\nX-Injected:" not in text
