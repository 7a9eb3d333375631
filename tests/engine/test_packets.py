import struct

from scapy.layers.inet import ICMP, IP, UDP

from pingmos.engine.packets import (
    IcmpEchoTemplate,
    ReplyKind,
    UdpTemplate,
    build_destination_reply,
    build_time_exceeded,
    describe,
    parse_reply,
)

SRC, DST, ROUTER = "198.18.0.1", "198.18.0.9", "198.18.0.5"


def test_icmp_template_patches_ttl_and_seq_with_a_valid_checksum():
    t = IcmpEchoTemplate(SRC, DST, ident=0x1234)
    for ttl, seq in ((1, 1), (7, 513), (30, 65535)):
        raw = t.packet(ttl, seq)
        pkt = IP(raw)
        assert len(raw) == 64
        assert (pkt.ttl, pkt[ICMP].type, pkt[ICMP].id, pkt[ICMP].seq) == (ttl, 8, 0x1234, seq)
        # scapy recomputes the checksum when asked to rebuild: ours must equal it.
        theirs = IP(raw)
        del theirs[ICMP].chksum
        assert pkt[ICMP].chksum == IP(bytes(theirs))[ICMP].chksum


def test_udp_template_keeps_ports_and_carries_seq_in_ip_id():
    t = UdpTemplate(SRC, DST, sport=40000)
    pkt = IP(t.packet(5, 777))
    assert (pkt.ttl, pkt.id, pkt[UDP].sport, pkt[UDP].dport) == (5, 777, 40000, 33434)
    rebuilt = IP(t.packet(5, 777))
    del rebuilt[UDP].chksum
    assert pkt[UDP].chksum == IP(bytes(rebuilt))[UDP].chksum  # TTL and IP id are outside the UDP checksum


def test_time_exceeded_for_icmp_probe_names_the_probe():
    t = IcmpEchoTemplate(SRC, DST, ident=42)
    reply = parse_reply(build_time_exceeded(t.packet(3, 99), ROUTER))
    assert reply.kind is ReplyKind.TIME_EXCEEDED
    assert reply.responder == ROUTER
    assert reply.key == t.key(99) == ("icmp", 42, 99)


def test_echo_reply_names_the_probe():
    t = IcmpEchoTemplate(SRC, DST, ident=42)
    reply = parse_reply(build_destination_reply(t.packet(9, 1000)))
    assert (reply.kind, reply.responder, reply.key) == (ReplyKind.ECHO_REPLY, DST, ("icmp", 42, 1000))


def test_udp_time_exceeded_and_port_unreachable():
    t = UdpTemplate(SRC, DST, sport=40001)
    te = parse_reply(build_time_exceeded(t.packet(2, 5), ROUTER))
    assert (te.kind, te.key) == (ReplyKind.TIME_EXCEEDED, ("udp", 40001, 33434, 5))
    unreach = parse_reply(build_destination_reply(t.packet(8, 6)))
    assert (unreach.kind, unreach.responder, unreach.icmp_code) == (ReplyKind.UNREACHABLE, DST, 3)
    assert unreach.key == t.key(6)


def test_things_that_are_not_replies_to_probes():
    t = IcmpEchoTemplate(SRC, DST, ident=42)
    assert parse_reply(t.packet(1, 1)) is None  # an echo request (ours, looped back)
    assert parse_reply(b"\x45" + bytes(10)) is None  # truncated
    assert parse_reply(bytes(IP(src=ROUTER, dst=SRC) / UDP(sport=1, dport=2))) is None  # not ICMP
    # A time-exceeded quoting an SCTP packet is somebody else's (TCP quotes are ours since TCP SYN probes).
    sctp_quote = bytes(IP(src=SRC, dst=DST, proto=132)) + struct.pack("!HHI", 1, 2, 3)
    assert parse_reply(bytes(IP(src=ROUTER, dst=SRC) / ICMP(type=11) / sctp_quote)) is None
    # A time-exceeded quoting only a truncated header.
    assert parse_reply(bytes(IP(src=ROUTER, dst=SRC) / ICMP(type=11) / bytes(10))) is None


def test_describe_uses_scapy():
    t = IcmpEchoTemplate(SRC, DST, ident=42)
    assert "198.18.0.5" in describe(build_time_exceeded(t.packet(3, 99), ROUTER))
