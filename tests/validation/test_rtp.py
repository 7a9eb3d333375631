"""The lab mode's RTP-like stream on loopback: packets 20 ms apart, every one accounted for, delays from the
kernel's receive stamps; a destination outside the lab is refused before anything is sent."""

import ipaddress
import socket
import threading

import pytest

from pingmos.validation import rtp


def test_packet_round_trip():
    data = rtp.packet(70000, b"\x7f" * 160, 123456789)
    assert len(data) == rtp.HEADER.size + 160 and data[0] == 0x80 and data[1] == 0  # RTP version 2, PCMU
    assert int.from_bytes(data[2:4], "big") == 70000 & 0xFFFF  # the 16-bit sequence number wraps
    assert rtp.parse(data) == (70000, 123456789)  # the index comes from the timestamp, which does not wrap as soon
    assert rtp.parse(b"junk") is None and rtp.parse(b"\x80\x08" + data[2:]) is None  # too short; not PCMU


def test_stream_over_loopback():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # a free port, closed again for the receiver to take
    ready = threading.Event()
    result = {}
    rx = threading.Thread(
        target=lambda: result.setdefault("d", rtp.receive("127.0.0.1", port, 25, 20.0, ready=ready.set))
    )
    rx.start()
    assert ready.wait(10)
    rtp.send("127.0.0.1", port, bytes(range(160)) * 3, 25)
    rx.join(30)
    delays = result["d"]
    assert len(delays) == 25 and all(d is not None for d in delays)  # loopback loses nothing
    assert all(0.0 <= d < 1000.0 for d in delays)  # kernel stamp after the send stamp, same clock


# The addresses just outside the lab's /15 and just past loopback's /8 (computed from the allowed ranges, so no
# other network is named), IPv6 loopback (the stream is IPv4 only) and a name: each is refused before any socket
# exists; nothing is looked up or sent.
_LAB, _LOOPBACK = ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("127.0.0.0/8")
OUTSIDE = [str(_LAB.network_address - 1), str(_LAB.broadcast_address + 1), str(_LOOPBACK.broadcast_address + 1)]


@pytest.mark.parametrize("address", [*OUTSIDE, "::1", "lab.invalid"])
def test_refuses_destinations_outside_the_lab(address, tmp_path, capsys):
    payload = tmp_path / "p"
    payload.write_bytes(b"\0" * 160)
    assert rtp.main(["send", "--to", address, "--port", "5004", "--payload", str(payload), "--count", "1"]) == 2
    assert "refusing to send" in capsys.readouterr().err
    assert rtp.allowed_destination("198.18.3.2") and rtp.allowed_destination("198.19.255.1")
    assert rtp.allowed_destination("127.0.0.1")
