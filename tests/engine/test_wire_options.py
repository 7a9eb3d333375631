"""``wire.parse_reply`` reads the common ICMP error (IPv4 headers without options) in one go; errors whose outer or
quoted IPv4 header carries options take the general path. Both must read the same reply."""

import pytest

from pingmos.engine.packets import IcmpEchoTemplate, TcpSynTemplate, UdpTemplate
from pingmos.engine.wire import ICMP_ECHO_REPLY, build_time_exceeded, build_unreachable, parse_reply

NOPS = b"\x01\x01\x01\x01"  # four IPv4 no-operation options: the header grows by one 32-bit word


def with_options(packet: bytes, at: int) -> bytes:
    """``packet`` with the IPv4 header that starts at byte ``at`` given 4 bytes of options (lengths patched; the
    header checksum is not checked by the parser)."""
    head = bytearray(packet[at : at + 20])
    head[0] = 0x46
    total = int.from_bytes(head[2:4], "big") + 4
    head[2:4] = total.to_bytes(2, "big")
    out = bytearray(packet[:at] + bytes(head) + NOPS + packet[at + 20 :])
    if at:  # the quoted header grew: so did the packet around it
        out[2:4] = (int.from_bytes(out[2:4], "big") + 4).to_bytes(2, "big")
    return bytes(out)


TEMPLATES = [
    IcmpEchoTemplate("198.18.0.1", "198.18.29.2", 4321),
    UdpTemplate("198.18.0.1", "198.18.29.2", 40000, 33434),
    TcpSynTemplate("198.18.0.1", "198.18.29.2", 40001, 80),
]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.protocol)
@pytest.mark.parametrize(
    "build", [lambda p: build_time_exceeded(p, "198.18.4.2"), lambda p: build_unreachable(p, "198.18.4.2", 13)]
)
def test_an_error_reads_the_same_with_options_in_either_header(template, build):
    for seq in (1, 777, 0xFFFF):
        plain = build(template.packet(5, seq))
        reply = parse_reply(plain)
        assert reply is not None and reply.key == template.key(seq)
        assert (reply.responder, reply.quoted_src, reply.quoted_dst) == ("198.18.4.2", "198.18.0.1", "198.18.29.2")
        for variant in (with_options(plain, 0), with_options(plain, 28), with_options(with_options(plain, 28), 0)):
            assert parse_reply(variant) == reply


def test_an_error_quoting_anything_but_our_probes_is_no_reply():
    probe = bytearray(IcmpEchoTemplate("198.18.0.1", "198.18.29.2", 4321).packet(5, 9))
    probe[20] = ICMP_ECHO_REPLY  # someone's echo reply expired on the way: not a probe of ours
    assert parse_reply(build_time_exceeded(bytes(probe), "198.18.4.2")) is None
    probe[20], probe[9] = 8, 47  # GRE: a protocol we never probe with
    assert parse_reply(build_time_exceeded(bytes(probe), "198.18.4.2")) is None


def test_addresses_read_the_same_when_the_address_cache_fills_up(monkeypatch):
    from pingmos.engine import wire

    monkeypatch.setattr(wire, "_V4_TEXT", {})
    monkeypatch.setattr(wire, "_V4_TEXT_MAX", 3)
    template = IcmpEchoTemplate("198.18.0.1", "198.18.29.2", 4321)
    for i in range(10):  # ten routers (plus our source and the destination) through a cache of three
        router = f"198.18.{i}.2"
        reply = parse_reply(build_time_exceeded(template.packet(i + 1, i), router))
        assert (reply.responder, reply.quoted_src, reply.quoted_dst) == (router, "198.18.0.1", "198.18.29.2")
        assert len(wire._V4_TEXT) <= 3
