"""TCP SYN and IPv6 probe templates, reply parsing, stable (Paris) checksums, and the rebuilt packets of the
sockets that deliver no IP header."""

import socket

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6TimeExceeded, IPv6

from pingmos.engine.packets import (
    IcmpEchoTemplate,
    ReplyKind,
    TcpSynTemplate,
    UdpTemplate,
    build_destination_reply,
    build_time_exceeded,
    describe,
    icmp_error_packet,
    parse_reply,
    probe_fields,
    probe_ttl,
    with_ip_header,
)

SRC4, DST4, R4 = "198.18.0.1", "198.18.3.2", "198.18.1.2"
SRC6, DST6, R6 = "2001:db8::1", "2001:db8:3::2", "2001:db8:1::2"


def _valid_checksums(raw: bytes) -> bool:
    """scapy rebuilds the packet with fresh checksums; ours must be identical."""
    v6 = raw[0] >> 4 == 6
    pkt = IPv6(raw) if v6 else IP(raw)
    layer = pkt.payload
    delattr(layer, "cksum" if "cksum" in layer.fields else "chksum")  # ICMPv6 calls it cksum
    if v6:
        return bytes(pkt) == raw
    # The IPv4 header checksum is left to the kernel (IP_HDRINCL): compare what follows the header.
    return bytes(pkt)[20:] == raw[20:]


@pytest.mark.parametrize(("src", "dst"), [(SRC4, DST4), (SRC6, DST6)])
@pytest.mark.parametrize("protocol", ["icmp", "udp", "tcp"])
def test_templates_patch_ttl_and_seq_with_valid_checksums(src, dst, protocol):
    t = {
        "icmp": lambda: IcmpEchoTemplate(src, dst, ident=0x4242),
        "udp": lambda: UdpTemplate(src, dst, sport=40000, dport=33434),
        "tcp": lambda: TcpSynTemplate(src, dst, sport=40001, dport=443),
    }[protocol]()
    for ttl, seq in ((1, 1), (9, 513), (64, 65535)):
        raw = t.packet(ttl, seq)
        assert probe_ttl(raw) == ttl
        assert _valid_checksums(raw)
        fields = probe_fields(raw)
        assert (fields["proto"], fields["dst"], fields["ttl"], fields["seq"]) == (protocol, dst, ttl, seq)
        # Every reply form names the probe's key.
        assert parse_reply(build_time_exceeded(raw, R6 if ":" in dst else R4)).key == t.key(seq)
        answer = parse_reply(build_destination_reply(raw))
        assert answer.key == t.key(seq) and answer.responder == dst


def test_tcp_syn_is_a_syn_with_the_sequence_as_its_number():
    raw = TcpSynTemplate(SRC4, DST4, sport=40001, dport=80).packet(5, 777)
    tcp = IP(raw)[TCP]
    assert (tcp.flags, tcp.seq, tcp.sport, tcp.dport) == ("S", 777, 40001, 80)


@pytest.mark.parametrize(("src", "dst"), [(SRC4, DST4), (SRC6, DST6)])
def test_tcp_answers_syn_ack_and_rst_reach_the_destination(src, dst):
    t = TcpSynTemplate(src, dst, sport=40001, dport=80)
    ip = (lambda **kw: IPv6(**kw)) if ":" in dst else (lambda **kw: IP(**kw))
    for flags, kind in (("SA", ReplyKind.TCP_SYN_ACK), ("RA", ReplyKind.TCP_RST)):
        reply = parse_reply(bytes(ip(src=dst, dst=src) / TCP(sport=80, dport=40001, flags=flags, ack=1001)))
        assert reply.kind is kind and reply.key == t.key(1000)
    # A bare RST (no ACK) acknowledges nothing; a SYN alone is no answer to us.
    assert parse_reply(bytes(ip(src=dst, dst=src) / TCP(sport=80, dport=40001, flags="R"))) is None
    assert parse_reply(bytes(ip(src=dst, dst=src) / TCP(sport=80, dport=40001, flags="S", ack=1001))) is None


def test_icmp_checksum_stays_constant_within_a_flow_and_differs_between_flows():
    # Load balancers hash on the first ICMP word (type, code, checksum): Paris traceroute keeps it fixed.
    for src, dst in ((SRC4, DST4), (SRC6, DST6)):
        sums = {}
        for flow in (0, 1, 2):
            t = IcmpEchoTemplate(src, dst, ident=7, flow=flow)
            off = 40 if ":" in dst else 20
            sums[flow] = {t.packet(ttl, seq)[off + 2 : off + 4] for ttl in (1, 5) for seq in (1, 2, 300, 65535)}
            assert len(sums[flow]) == 1
            assert probe_fields(t.packet(3, 1234))["flow"] == flow
        assert len({next(iter(s)) for s in sums.values()}) == 3


def test_udp_over_ipv6_keeps_its_checksum_and_flow_label_constant():
    t = UdpTemplate(SRC6, DST6, sport=40000, dport=33434)
    packets = [IPv6(t.packet(ttl, seq)) for ttl in (1, 9) for seq in (1, 2, 40000)]
    assert len({p[UDP].chksum for p in packets}) == 1
    assert {p.fl for p in packets} == {0}


def test_icmpv6_time_exceeded_and_unreachable_are_parsed():
    t = IcmpEchoTemplate(SRC6, DST6, ident=99)
    te = parse_reply(bytes(IPv6(src=R6, dst=SRC6) / ICMPv6TimeExceeded() / t.packet(2, 5)))
    assert (te.kind, te.responder, te.key) == (ReplyKind.TIME_EXCEEDED, R6, ("icmp", 99, 5))
    u = UdpTemplate(SRC6, DST6, sport=40000)
    unreach = parse_reply(build_destination_reply(u.packet(4, 6)))
    assert (unreach.kind, unreach.icmp_code, unreach.key) == (ReplyKind.UNREACHABLE, 4, u.key(6))
    # An ICMPv6 error quoting someone's echo *reply* (not a request of ours) is not ours.
    other = IPv6(src=SRC6, dst=DST6) / ICMPv6EchoRequest(id=1, seq=1)
    other_bytes = bytearray(bytes(other))
    other_bytes[40] = 129
    assert parse_reply(bytes(IPv6(src=R6, dst=SRC6) / ICMPv6TimeExceeded() / bytes(other_bytes))) is None


def test_rebuilt_packets_from_ping_sockets_and_the_error_queue():
    # A ping socket hands over the ICMP message only; the error queue the type, code, offender and our request.
    t = IcmpEchoTemplate(SRC4, DST4, ident=31337)
    probe = t.packet(2, 77)
    icmp_only = probe[20:]
    te = parse_reply(icmp_error_packet(R4, SRC4, DST4, 11, 0, 1, icmp_only))
    assert (te.kind, te.responder, te.key) == (ReplyKind.TIME_EXCEEDED, R4, t.key(77))
    reply = bytearray(icmp_only)
    reply[0] = 0  # echo reply
    echo = parse_reply(with_ip_header(DST4, SRC4, 1, bytes(reply)))
    assert (echo.kind, echo.responder, echo.key) == (ReplyKind.ECHO_REPLY, DST4, t.key(77))
    t6 = IcmpEchoTemplate(SRC6, DST6, ident=5)
    te6 = parse_reply(icmp_error_packet(R6, SRC6, DST6, 3, 0, 58, t6.packet(1, 9)[40:]))
    assert (te6.kind, te6.responder, te6.key) == (ReplyKind.TIME_EXCEEDED, R6, t6.key(9))
    assert "2001:db8:1::2" in describe(with_ip_header(R6, SRC6, 58, bytes(8)))


def test_probe_fields_refuses_what_is_not_a_probe():
    with pytest.raises(ValueError):
        probe_fields(bytes(IP(src=SRC4, dst=DST4, proto=132) / b"12345678"))
    assert socket.inet_pton(socket.AF_INET6, DST6)  # (the literal used above is valid)
    assert IP(IcmpEchoTemplate(SRC4, DST4, 1).packet(1, 1))[ICMP].type == 8
