"""SIP OPTIONS probes against a responder on loopback: response time, code, loss, and provisional answers ignored."""

from __future__ import annotations

import time

from pingmos.monitor.sip import SipProber, options_request, parse_response
from tests.monitor.sip_responder import SipResponder


def run(responder: SipResponder, count: int, timeout_s: float = 0.3) -> SipProber:
    events = []
    prober = SipProber(*responder.address, interval_s=0.1, window=100, timeout_s=timeout_s, on_result=events.append)
    prober.start()
    deadline = time.monotonic() + 20
    while prober.view().sent < count and time.monotonic() < deadline:
        time.sleep(0.02)
    prober.stop()
    assert prober.join(5)
    assert len(events) == prober.view().sent and all(e.kind == "sip-options" for e in events)
    return prober


def test_options_are_answered_with_their_code_and_time():
    responder = SipResponder(trying=True).start()
    try:
        prober = run(responder, 10)
    finally:
        responder.close()
    view = prober.view()
    assert view.sent >= 10 and view.answered == view.sent and view.codes == {200: view.sent}
    assert view.window_loss_ratio == 0.0 and 0 < view.window_rtt_s < 0.05 and view.last_code == 200
    assert sum(view.buckets) == view.answered


def test_unanswered_requests_are_lost_and_other_codes_counted():
    responder = SipResponder(code=486, drop_every=2).start()
    try:
        prober = run(responder, 10)
    finally:
        responder.close()
    view = prober.view()
    assert view.codes == {486: view.answered} and view.last_code == 486
    assert abs(view.window_loss_ratio - 0.5) <= 0.1  # every second request unanswered


def test_nothing_listening_is_all_loss():
    responder = SipResponder()
    responder.close()  # the port is closed: ICMP port unreachable, or nothing
    prober = run(responder, 3, timeout_s=0.2)
    view = prober.view()
    assert view.answered == 0 and view.window_loss_ratio == 1.0 and view.window_rtt_s is None


def test_request_and_response_parsing():
    req = options_request("198.18.1.2", 5060, ("198.18.0.1", 40000), "abc@pingmos", "z9hG4bKx", 7)
    text = req.decode()
    assert text.startswith("OPTIONS sip:198.18.1.2:5060 SIP/2.0\r\n") and text.endswith("\r\n\r\n")
    assert "Call-ID: abc@pingmos\r\n" in text and "CSeq: 7 OPTIONS\r\n" in text and "branch=z9hG4bKx" in text
    assert parse_response(b"SIP/2.0 200 OK\r\ni: abc@pingmos\r\n\r\n") == (200, "abc@pingmos")
    assert parse_response(b"OPTIONS sip:x SIP/2.0\r\nCall-ID: a\r\n\r\n") is None
    assert parse_response(b"garbage") is None
