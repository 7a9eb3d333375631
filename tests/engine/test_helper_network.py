"""The helper's client side against stand-in helpers (no privileges needed): start-up failures become a message
for the user, refusals an error, replies are handed over as packets, and closing never hangs."""

import sys
import time

import pytest

from pingmos.engine.helper_network import HelperError, HelperNetwork
from pingmos.engine.network import NoPermission
from pingmos.engine.packets import IcmpEchoTemplate, build_destination_reply, parse_reply

PROBE = IcmpEchoTemplate("198.18.0.1", "198.18.0.9", ident=4242).packet(3, 17)


def fake(script: str) -> list[str]:
    return [sys.executable, "-c", "import sys\n" + script]


def test_a_helper_without_rights_is_reported_with_its_own_words():
    with pytest.raises(NoPermission, match="did not start: no raw sockets here"):
        HelperNetwork(fake("print('fatal no raw sockets here', flush=True)"))


def test_a_helper_that_never_says_ready_is_reported():
    with pytest.raises(NoPermission, match="no answer"):
        HelperNetwork(fake("import time; time.sleep(5)"), start_timeout_s=0.3)
    with pytest.raises(NoPermission, match="cannot start"):
        HelperNetwork(["/nonexistent/pingmos-probe"])


REPLY_HEX = build_destination_reply(PROBE).hex()
ECHOING_HELPER = f"""
print("ready version=1", flush=True)
for line in sys.stdin:
    token, verb, *fields = line.split()
    print(token, "sent at=1700000000.5", flush=True)
    print(token, "reply at=1700000000.75 packet={REPLY_HEX}", flush=True)
    print("junk line that is no answer", flush=True)
"""


def test_probes_are_described_field_by_field_and_replies_come_back_as_packets(tmp_path):
    log = tmp_path / "requests"
    script = ECHOING_HELPER.replace(
        "for line in sys.stdin:", f"for line in sys.stdin:\n    open({str(log)!r}, 'a').write(line)"
    )
    net = HelperNetwork(fake(script))
    try:
        assert net.send(PROBE, "198.18.0.9") == 1700000000.5
        assert log.read_text() == "1 probe proto=icmp dst=198.18.0.9 ttl=3 seq=17 ident=4242 flow=0\n"
        got = net.recv(1.0)
        assert [(parse_reply(p).key, t) for p, t in got] == [(("icmp", 4242, 17), 1700000000.75)]
        assert net.recv(0.05) == []
    finally:
        net.close()


REFUSING_HELPER = """
print("ready version=1", flush=True)
for line in sys.stdin:
    print(line.split()[0], "invalid rate limit", flush=True)
"""
STUBBORN_HELPER = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready version=1", flush=True)
time.sleep(30)
"""


def test_a_refused_probe_is_an_error_not_a_silent_loss():
    net = HelperNetwork(fake(REFUSING_HELPER))
    try:
        with pytest.raises(HelperError, match="invalid rate limit"):
            net.send(PROBE, "198.18.0.9")
    finally:
        net.close()


def test_closing_does_not_hang_on_a_helper_that_ignores_end_of_input():
    net = HelperNetwork(fake(STUBBORN_HELPER))
    started = time.monotonic()
    net.close()
    assert time.monotonic() - started < 5
    assert net._proc.poll() is not None  # we may signal it here (same user): it was killed
