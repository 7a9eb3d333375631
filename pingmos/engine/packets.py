"""Probe templates: the only module that uses scapy, and only when a template is built (a trace opens).

scapy builds each probe *template* once; every probe after that is the template's bytes with TTL and sequence
patched in, because building a packet with scapy costs ~1.5 ms and patching costs microseconds. Received packets
are read by ``wire`` (``struct`` only), so importing the engine, the matcher or this module does not import scapy;
``describe`` dissects a packet with scapy only when a person wants to see it. IPv4 and IPv6 both.

Stable flows (Paris traceroute): load balancers hash on addresses, protocol, ports, and for ICMP often the
first 4 bytes of the ICMP header (type, code, checksum). So every header field they can see is fixed for the
life of a trace: ports never change, the IPv6 flow label is 0, and where the sequence is covered by a checksum
(ICMP echo, UDP over IPv6) a 16-bit payload word carries its one's complement, which keeps the checksum
constant. ``flow`` > 0 gives a different but again constant checksum (ICMP) for a flow-varying trace.
"""

from __future__ import annotations

import struct

# Re-exported: the reply side lives in ``wire`` (struct only); older callers import it from here.
from pingmos.engine.wire import (  # noqa: F401
    ICMP6_DEST_UNREACH,
    ICMP6_ECHO_REPLY,
    ICMP6_ECHO_REQUEST,
    ICMP6_TIME_EXCEEDED,
    ICMP_DEST_UNREACH,
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    ICMP_TIME_EXCEEDED,
    IPV4_HEADER,
    IPV6_HEADER,
    PROTO_ICMP,
    PROTO_ICMPV6,
    PROTO_TCP,
    PROTO_UDP,
    TCP_ACK,
    TCP_RST,
    TCP_SYN,
    ProbeKey,
    Reply,
    ReplyKind,
    build_destination_reply,
    build_time_exceeded,
    build_unreachable,
    family_of,
    icmp_error_packet,
    ip_header_length,
    is_ipv6,
    parse_reply,
    probe_destination,
    probe_fields,
    probe_ttl,
    with_ip_header,
)
from pingmos.engine.wire import checksum as _checksum
from pingmos.engine.wire import pseudo_header as _pseudo_header

# Compiled once: a probe is patched with these on every send.
_H = struct.Struct("!H")
_ECHO_TAIL = struct.Struct("!HHHH")  # ICMP checksum, identifier, sequence, the payload word compensating it

PROBE_SIZE = 64  # bytes on the wire, IP header included, as ping and mtr send by default
UDP_BASE_PORT = 33434  # traceroute's traditional destination port; closed on almost every host
TCP_DEFAULT_PORT = 80  # where a firewall most likely lets a SYN through


def load_template_builder() -> None:
    """Import what builds templates (scapy) now: a process that drops privileges calls this first, while the
    interpreter's files are still readable."""
    import scapy.layers.inet  # noqa: F401
    import scapy.layers.inet6  # noqa: F401


def _ip(src: str, dst: str, proto_layer):
    """An IP header for ``dst``'s family, TTL 64 for now (patched per probe), flow label 0 (stable flows)."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6

    if is_ipv6(dst):
        return IPv6(src=src, dst=dst, hlim=64, fl=0) / proto_layer
    return IP(src=src, dst=dst, ttl=64, id=0) / proto_layer


class _Template:
    """Shared patching: TTL (IPv4) or hop limit (IPv6), and the IPv4 identification field."""

    def __init__(self, pkt, dst: str):
        self._bytes = bytearray(bytes(pkt))
        self.dst = dst
        self.ipv6 = is_ipv6(dst)
        self._l3 = IPV6_HEADER if self.ipv6 else IPV4_HEADER

    def _patch_ip(self, ttl: int, seq: int) -> bytearray:
        buf = self._bytes
        if self.ipv6:
            buf[7] = ttl
        else:
            # The kernel fills in the IP header checksum (IP_HDRINCL). IP id = seq, for packet captures and UDP.
            buf[8] = ttl
            _H.pack_into(buf, 4, seq)
        return buf


class IcmpEchoTemplate(_Template):
    """ICMP (or ICMPv6) echo requests to one destination with one identifier; ``packet(ttl, seq)`` gives the bytes
    to send. The first payload word compensates the sequence so the checksum never changes (see module doc)."""

    protocol = "icmp"

    def __init__(self, src: str, dst: str, ident: int, size: int = PROBE_SIZE, flow: int = 0):
        payload_len = max(10, size - (IPV6_HEADER if is_ipv6(dst) else IPV4_HEADER) - 8)
        payload = b"\0\0pingmos-" + bytes(range(256))[: payload_len - 10]
        from scapy.layers.inet import ICMP
        from scapy.layers.inet6 import ICMPv6EchoRequest
        from scapy.packet import Raw

        if is_ipv6(dst):
            pkt = _ip(src, dst, ICMPv6EchoRequest(id=ident, seq=0) / Raw(payload))
        else:
            pkt = _ip(src, dst, ICMP(type=ICMP_ECHO_REQUEST, id=ident, seq=0) / Raw(payload))
        super().__init__(pkt, dst)
        self.ident = ident
        self.flow = flow & 0xFFFF
        icmp_len = len(self._bytes) - self._l3
        self._pseudo = _pseudo_header(src, dst, PROTO_ICMPV6, icmp_len) if self.ipv6 else b""
        self._checksum: int | None = None  # the same for every probe of this flow: worked out once

    def packet(self, ttl: int, seq: int) -> bytes:
        buf = self._patch_ip(ttl, seq)
        o = self._l3
        # seq + ~seq is 0xFFFF, which one's complement addition ignores: the checksum depends on the flow only.
        comp = (~seq & 0xFFFF) + self.flow
        comp = (comp & 0xFFFF) + (comp >> 16)
        if self._checksum is None:
            _ECHO_TAIL.pack_into(buf, o + 2, 0, self.ident, seq, comp)
            self._checksum = _checksum(self._pseudo + bytes(buf[o:]))
        _ECHO_TAIL.pack_into(buf, o + 2, self._checksum, self.ident, seq, comp)
        return bytes(buf)

    def key(self, seq: int) -> ProbeKey:
        return ("icmp", self.ident, seq)


class UdpTemplate(_Template):
    """UDP probes from a reserved source port to ``dport``. The sequence goes in the IPv4 identification field, or
    (IPv6) in the first payload word, followed by its complement so that the UDP checksum stays constant."""

    protocol = "udp"

    def __init__(self, src: str, dst: str, sport: int, dport: int = UDP_BASE_PORT, size: int = PROBE_SIZE):
        from scapy.layers.inet import UDP
        from scapy.packet import Raw

        payload_len = max(12, size - (IPV6_HEADER if is_ipv6(dst) else IPV4_HEADER) - 8)
        if is_ipv6(dst):
            # seq 0 and its complement 0xFFFF: any seq with its complement sums to the same checksum.
            payload = b"\x00\x00\xff\xff" + b"pingmos-" + bytes(payload_len - 12)
        else:
            payload = b"pingmos-" + bytes(payload_len - 8)
        # The UDP checksum covers neither TTL nor IP id, so the template's checksum stays right when we patch.
        super().__init__(_ip(src, dst, UDP(sport=sport, dport=dport) / Raw(payload)), dst)
        self.sport = sport
        self.dport = dport

    def packet(self, ttl: int, seq: int) -> bytes:
        buf = self._patch_ip(ttl, seq)
        if self.ipv6:
            struct.pack_into("!HH", buf, IPV6_HEADER + 8, seq, ~seq & 0xFFFF)
        return bytes(buf)

    def key(self, seq: int) -> ProbeKey:
        return ("udp", self.sport, self.dport, seq)


class TcpSynTemplate(_Template):
    """TCP SYNs from a reserved source port to ``dport``; the sequence is the TCP sequence number. The
    destination answers SYN-ACK (open) or RST (closed): either way it was reached. Our kernel answers a SYN-ACK
    with a RST, as no socket of ours is connecting, so no half-open connection is left behind."""

    protocol = "tcp"

    def __init__(self, src: str, dst: str, sport: int, dport: int = TCP_DEFAULT_PORT):
        from scapy.layers.inet import TCP

        super().__init__(_ip(src, dst, TCP(sport=sport, dport=dport, flags="S", seq=0, window=65535)), dst)
        self.sport = sport
        self.dport = dport
        self._pseudo = _pseudo_header(src, dst, PROTO_TCP, len(self._bytes) - self._l3)

    def packet(self, ttl: int, seq: int) -> bytes:
        buf = self._patch_ip(ttl, seq)
        o = self._l3
        struct.pack_into("!I", buf, o + 4, seq)
        struct.pack_into("!H", buf, o + 16, 0)
        struct.pack_into("!H", buf, o + 16, _checksum(self._pseudo + bytes(buf[o:])))
        return bytes(buf)

    def key(self, seq: int) -> ProbeKey:
        return ("tcp", self.sport, self.dport, seq)


def describe(data: bytes) -> str:
    """A one-line human description of a received packet, dissected by scapy (for logs and debugging)."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6

    return (IPv6(data) if data and data[0] >> 4 == 6 else IP(data)).summary()
