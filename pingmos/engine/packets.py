"""Probe packets and reply parsing: the only module that imports scapy.

scapy builds each probe *template* once; every probe after that is the template's bytes with TTL and sequence
patched in, because building a packet with scapy costs ~1.5 ms and patching costs microseconds. Replies are read
with ``struct`` for the few fields a match needs (the reply's type and source, and the probe header it quotes);
scapy dissects a reply only when a person wants to see it (``describe``). IPv4 and IPv6 both: a packet's first
nibble says which.

How a reply names its probe:
- ICMP / ICMPv6 echo: the echo reply carries our identifier and sequence; a time-exceeded or unreachable quotes
  the probe's IP header and first 8 bytes (IPv6: as much of the probe as fits), which hold the same identifier
  and sequence.
- UDP: the quoted UDP header holds our source port (reserved per process, so unique) and destination port; the
  sequence rides in the quoted IPv4 header's identification field, which routers quote untouched. IPv6 has no
  identification field, so there it rides in the first two payload bytes (ICMPv6 errors quote the whole probe).
- TCP SYN: ports as for UDP, the sequence in the TCP sequence number (inside the 8 quoted bytes). The
  destination answers SYN-ACK (open port) or RST (closed port), both acknowledging sequence + 1.

Stable flows (Paris traceroute): load balancers hash on addresses, protocol, ports, and for ICMP often the
first 4 bytes of the ICMP header (type, code, checksum). So every header field they can see is fixed for the
life of a trace: ports never change, the IPv6 flow label is 0, and where the sequence is covered by a checksum
(ICMP echo, UDP over IPv6) a 16-bit payload word carries its one's complement, which keeps the checksum
constant. ``flow`` > 0 gives a different but again constant checksum (ICMP) for a flow-varying trace.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from enum import Enum

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6TimeExceeded, IPv6
from scapy.packet import Raw

PROBE_SIZE = 64  # bytes on the wire, IP header included, as ping and mtr send by default
UDP_BASE_PORT = 33434  # traceroute's traditional destination port; closed on almost every host
TCP_DEFAULT_PORT = 80  # where a firewall most likely lets a SYN through

ICMP_ECHO_REPLY = 0
ICMP_DEST_UNREACH = 3
ICMP_ECHO_REQUEST = 8
ICMP_TIME_EXCEEDED = 11
ICMP6_DEST_UNREACH = 1
ICMP6_TIME_EXCEEDED = 3
ICMP6_ECHO_REQUEST = 128
ICMP6_ECHO_REPLY = 129

PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMPV6 = 58

TCP_SYN = 0x02
TCP_RST = 0x04
TCP_ACK = 0x10

IPV4_HEADER = 20
IPV6_HEADER = 40


class ReplyKind(Enum):
    ECHO_REPLY = "echo-reply"
    TIME_EXCEEDED = "time-exceeded"
    UNREACHABLE = "unreachable"
    TCP_ANSWER = "tcp-answer"  # SYN-ACK or RST from the destination: it was reached


# A probe's identity as a reply reveals it: ("icmp", identifier, sequence), ("udp", sport, dport, sequence) or
# ("tcp", sport, dport, sequence).
ProbeKey = tuple


@dataclass(frozen=True)
class Reply:
    """What one received packet says about one of our probes."""

    kind: ReplyKind
    responder: str  # the address that answered (a router, or the destination)
    key: ProbeKey
    icmp_code: int = 0


def is_ipv6(address: str) -> bool:
    return ":" in address


def family_of(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if is_ipv6(address) else socket.AF_INET


def probe_ttl(packet: bytes) -> int:
    """The TTL (IPv4) or hop limit (IPv6) of a complete IP packet."""
    return packet[7] if packet[0] >> 4 == 6 else packet[8]


def probe_destination(packet: bytes) -> str:
    if packet[0] >> 4 == 6:
        return socket.inet_ntop(socket.AF_INET6, packet[24:40])
    return socket.inet_ntoa(packet[16:20])


def ip_header_length(packet: bytes) -> int:
    return IPV6_HEADER if packet[0] >> 4 == 6 else (packet[0] & 0x0F) * 4


def _checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total >> 16) + (total & 0xFFFF)
    return ~total & 0xFFFF


def _pseudo_header(src: str, dst: str, proto: int, length: int) -> bytes:
    """The pseudo header TCP, UDP and ICMPv6 checksums cover (RFC 793 / RFC 8200 section 8.1)."""
    if is_ipv6(dst):
        return (
            socket.inet_pton(socket.AF_INET6, src)
            + socket.inet_pton(socket.AF_INET6, dst)
            + struct.pack("!I3xB", length, proto)
        )
    return socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!xBH", proto, length)


def _ip(src: str, dst: str, proto_layer):
    """An IP header for ``dst``'s family, TTL 64 for now (patched per probe), flow label 0 (stable flows)."""
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
            struct.pack_into("!H", buf, 4, seq)
        return buf


class IcmpEchoTemplate(_Template):
    """ICMP (or ICMPv6) echo requests to one destination with one identifier; ``packet(ttl, seq)`` gives the bytes
    to send. The first payload word compensates the sequence so the checksum never changes (see module doc)."""

    protocol = "icmp"

    def __init__(self, src: str, dst: str, ident: int, size: int = PROBE_SIZE, flow: int = 0):
        payload_len = max(10, size - (IPV6_HEADER if is_ipv6(dst) else IPV4_HEADER) - 8)
        payload = b"\0\0pingmos-" + bytes(range(256))[: payload_len - 10]
        if is_ipv6(dst):
            pkt = _ip(src, dst, ICMPv6EchoRequest(id=ident, seq=0) / Raw(payload))
        else:
            pkt = _ip(src, dst, ICMP(type=ICMP_ECHO_REQUEST, id=ident, seq=0) / Raw(payload))
        super().__init__(pkt, dst)
        self.ident = ident
        self.flow = flow & 0xFFFF
        icmp_len = len(self._bytes) - self._l3
        self._pseudo = _pseudo_header(src, dst, PROTO_ICMPV6, icmp_len) if self.ipv6 else b""

    def packet(self, ttl: int, seq: int) -> bytes:
        buf = self._patch_ip(ttl, seq)
        o = self._l3
        struct.pack_into("!HH", buf, o + 2, 0, self.ident)
        # seq + ~seq is 0xFFFF, which one's complement addition ignores: the checksum depends on the flow only.
        comp = (~seq & 0xFFFF) + self.flow
        comp = (comp & 0xFFFF) + (comp >> 16)
        struct.pack_into("!HH", buf, o + 6, seq, comp)
        struct.pack_into("!H", buf, o + 2, _checksum(self._pseudo + bytes(buf[o:])))
        return bytes(buf)

    def key(self, seq: int) -> ProbeKey:
        return ("icmp", self.ident, seq)


class UdpTemplate(_Template):
    """UDP probes from a reserved source port to ``dport``. The sequence goes in the IPv4 identification field, or
    (IPv6) in the first payload word, followed by its complement so that the UDP checksum stays constant."""

    protocol = "udp"

    def __init__(self, src: str, dst: str, sport: int, dport: int = UDP_BASE_PORT, size: int = PROBE_SIZE):
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


def _quoted_key(inner: bytes) -> ProbeKey | None:
    """The probe key from the IP header + 8 bytes (or more) an ICMP error quotes; None if it is not one of ours."""
    if len(inner) < IPV4_HEADER:
        return None
    if inner[0] >> 4 == 6:
        if len(inner) < IPV6_HEADER + 8:
            return None
        proto, ihl, ip_id = inner[6], IPV6_HEADER, None
    else:
        ihl = (inner[0] & 0x0F) * 4
        if len(inner) < ihl + 8:
            return None
        proto = inner[9]
        (ip_id,) = struct.unpack_from("!H", inner, 4)
    if proto in (PROTO_ICMP, PROTO_ICMPV6):
        qtype, _qcode, _qsum, ident, seq = struct.unpack_from("!BBHHH", inner, ihl)
        if qtype not in (ICMP_ECHO_REQUEST, ICMP6_ECHO_REQUEST):
            return None
        return ("icmp", ident, seq)
    if proto == PROTO_UDP:
        sport, dport = struct.unpack_from("!HH", inner, ihl)
        if ip_id is None:  # IPv6: the sequence is the first payload word
            if len(inner) < ihl + 10:
                return None
            (ip_id,) = struct.unpack_from("!H", inner, ihl + 8)
        return ("udp", sport, dport, ip_id)
    if proto == PROTO_TCP:
        sport, dport, seq = struct.unpack_from("!HHI", inner, ihl)
        return ("tcp", sport, dport, seq)
    return None


def _tcp_answer(data: bytes, off: int, responder: str) -> Reply | None:
    """A SYN-ACK or RST-ACK acknowledging one of our SYNs: the key is the SYN's, from the acknowledged number."""
    if len(data) < off + 20:
        return None
    sport, dport, _seq, ack, _off, flags = struct.unpack_from("!HHIIBB", data, off)
    if not flags & TCP_ACK or not flags & (TCP_SYN | TCP_RST):
        return None
    return Reply(ReplyKind.TCP_ANSWER, responder, ("tcp", dport, sport, (ack - 1) & 0xFFFFFFFF))


def parse_reply(data: bytes) -> Reply | None:
    """Read a received IPv4 or IPv6 packet (ICMP, ICMPv6, or TCP); None when it cannot be a reply to a probe.

    Cheap on purpose (struct only): it runs for every packet the receive sockets see, ours or not.
    """
    if len(data) < 28:
        return None
    if data[0] >> 4 == 6:
        if len(data) < IPV6_HEADER + 8:
            return None
        proto, ihl = data[6], IPV6_HEADER
        responder = socket.inet_ntop(socket.AF_INET6, data[8:24])
    else:
        ihl = (data[0] & 0x0F) * 4
        if len(data) < ihl + 8:
            return None
        proto = data[9]
        responder = socket.inet_ntoa(data[12:16])
    if proto == PROTO_TCP:
        return _tcp_answer(data, ihl, responder)
    icmp_type, code = data[ihl], data[ihl + 1]
    if proto == PROTO_ICMP:
        echo_reply, time_exceeded, unreachable = ICMP_ECHO_REPLY, ICMP_TIME_EXCEEDED, ICMP_DEST_UNREACH
    elif proto == PROTO_ICMPV6:
        echo_reply, time_exceeded, unreachable = ICMP6_ECHO_REPLY, ICMP6_TIME_EXCEEDED, ICMP6_DEST_UNREACH
    else:
        return None
    if icmp_type == echo_reply:
        ident, seq = struct.unpack_from("!HH", data, ihl + 4)
        return Reply(ReplyKind.ECHO_REPLY, responder, ("icmp", ident, seq), code)
    if icmp_type in (time_exceeded, unreachable):
        key = _quoted_key(data[ihl + 8 :])
        if key is None:
            return None
        kind = ReplyKind.TIME_EXCEEDED if icmp_type == time_exceeded else ReplyKind.UNREACHABLE
        return Reply(kind, responder, key, code)
    return None


def with_ip_header(src: str, dst: str, proto: int, payload: bytes, ttl: int = 64, ip_id: int = 0) -> bytes:
    """``payload`` behind a minimal IP header (checksums left 0): how a network whose sockets deliver no IP
    header (ping sockets, raw IPv6 sockets, the error queue) hands packets to ``parse_reply``. ``ip_id`` is the
    IPv4 identification field (IPv6 has none)."""
    if is_ipv6(src):
        head = struct.pack("!IHBB", 6 << 28, len(payload), proto, ttl)
        return head + socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + payload
    head = struct.pack("!BBHHHBBH", 0x45, 0, IPV4_HEADER + len(payload), ip_id, 0, ttl, proto, 0)
    return head + socket.inet_aton(src) + socket.inet_aton(dst) + payload


def icmp_error_packet(
    offender: str,
    local: str,
    probe_dst: str,
    icmp_type: int,
    icmp_code: int,
    quoted_proto: int,
    quoted: bytes,
    quoted_ip_id: int = 0,
) -> bytes:
    """The ICMP error ``offender`` sent about a probe from ``local`` to ``probe_dst``, rebuilt from what a socket
    error queue reports: the type and code, and the probe's transport header + payload (``quoted``); IPv4 only:
    the identification field of the quoted header (``quoted_ip_id``)."""
    proto = PROTO_ICMPV6 if is_ipv6(offender) else PROTO_ICMP
    inner = with_ip_header(local, probe_dst, quoted_proto, quoted, ip_id=quoted_ip_id)
    return with_ip_header(offender, local, proto, struct.pack("!BBHI", icmp_type, icmp_code, 0, 0) + inner)


def describe(data: bytes) -> str:
    """A one-line human description of a received packet, dissected by scapy (for logs and debugging)."""
    return (IPv6(data) if data and data[0] >> 4 == 6 else IP(data)).summary()


# --- Replies as a router or host would send them: used by the fake network in tests -------------------------


def build_time_exceeded(probe: bytes, router: str) -> bytes:
    """The time-exceeded a router at ``router`` sends back for ``probe`` (IPv4: quoting its header + 8 bytes;
    IPv6: the whole probe, as RFC 4443 routers do)."""
    if probe[0] >> 4 == 6:
        src = socket.inet_ntop(socket.AF_INET6, probe[8:24])
        return bytes(IPv6(src=router, dst=src) / ICMPv6TimeExceeded(code=0) / Raw(probe))
    src = socket.inet_ntoa(probe[12:16])
    quoted = probe[: (probe[0] & 0x0F) * 4 + 8]
    return bytes(IP(src=router, dst=src) / ICMP(type=ICMP_TIME_EXCEEDED, code=0) / Raw(quoted))


def build_destination_reply(probe: bytes) -> bytes:
    """What the destination answers to ``probe``: an echo reply for ICMP, a port unreachable for UDP, and for a
    TCP SYN the RST-ACK of a closed port."""
    v6 = probe[0] >> 4 == 6
    parsed = IPv6(probe) if v6 else IP(probe)
    ip = IPv6(src=parsed.dst, dst=parsed.src) if v6 else IP(src=parsed.dst, dst=parsed.src)
    if TCP in parsed:
        syn = parsed[TCP]
        return bytes(ip / TCP(sport=syn.dport, dport=syn.sport, flags="RA", seq=0, ack=(syn.seq + 1) & 0xFFFFFFFF))
    if v6 and ICMPv6EchoRequest in parsed:
        echo = parsed[ICMPv6EchoRequest]
        return bytes(ip / ICMPv6EchoReply(id=echo.id, seq=echo.seq) / Raw(bytes(echo.payload)))
    if not v6 and parsed.proto == PROTO_ICMP:
        echo = parsed[ICMP]
        return bytes(ip / ICMP(type=ICMP_ECHO_REPLY, id=echo.id, seq=echo.seq) / Raw(bytes(echo.payload)))
    if v6:
        return bytes(ip / ICMPv6DestUnreach(code=4) / Raw(probe))
    quoted = probe[: (probe[0] & 0x0F) * 4 + 8]
    return bytes(ip / ICMP(type=ICMP_DEST_UNREACH, code=3) / Raw(quoted))


def probe_fields(packet: bytes) -> dict:
    """The fields one of our probes was built from (the inverse of the templates' ``packet``): protocol, dst, ttl,
    seq and ident + flow (ICMP) or sport + dport (UDP, TCP). How a probe is described to the probe helper."""
    l3 = ip_header_length(packet)
    v6 = packet[0] >> 4 == 6
    proto = packet[6] if v6 else packet[9]
    out: dict = {"dst": probe_destination(packet), "ttl": probe_ttl(packet)}
    if proto in (PROTO_ICMP, PROTO_ICMPV6):
        ident, seq, comp = struct.unpack_from("!HHH", packet, l3 + 4)
        # comp = ~seq + flow in one's complement arithmetic, so flow = comp + seq (mod 0xFFFF).
        out.update(proto="icmp", seq=seq, ident=ident, flow=(comp + seq) % 0xFFFF)
    elif proto == PROTO_UDP:
        sport, dport = struct.unpack_from("!HH", packet, l3)
        (seq,) = struct.unpack_from("!H", packet, l3 + 8 if v6 else 4)
        out.update(proto="udp", seq=seq, sport=sport, dport=dport)
    elif proto == PROTO_TCP:
        sport, dport, seq = struct.unpack_from("!HHI", packet, l3)
        out.update(proto="tcp", seq=seq, sport=sport, dport=dport)
    else:
        raise ValueError(f"not a probe: IP protocol {proto}")
    return out
