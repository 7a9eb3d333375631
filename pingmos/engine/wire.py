"""Received packets on the wire, read and written with ``struct`` only (no scapy: importing this costs nothing).

``parse_reply`` reads what one received IPv4 or IPv6 packet says about one of our probes: the reply's kind (echo
reply, time exceeded, destination unreachable with its code, TCP SYN-ACK or RST), who sent it, the probe key it
names and, for an ICMP error, the source and destination of the probe header it quotes (RFC 792 / RFC 4443: an
error quotes the offending packet's IP header and at least its first 8 bytes), so the matcher can check that the
quote is really our probe's. It runs for every packet the receive sockets see, ours or not, so it is cheap.

How a reply names its probe:
- ICMP / ICMPv6 echo: the echo reply carries our identifier and sequence; a time-exceeded or unreachable quotes
  the probe's IP header and first 8 bytes (IPv6: as much of the probe as fits), which hold the same identifier
  and sequence.
- UDP: the quoted UDP header holds our source port (reserved per process, so unique) and destination port; the
  sequence rides in the quoted IPv4 header's identification field, which routers quote untouched. IPv6 has no
  identification field, so there it rides in the first two payload bytes (ICMPv6 errors quote the whole probe).
- TCP SYN: ports as for UDP, the sequence in the TCP sequence number (inside the 8 quoted bytes). The
  destination answers SYN-ACK (open port) or RST (closed port), both acknowledging sequence + 1.

The ``build_*`` functions write replies as a router or host would (the fake network of the tests uses them).
"""

from __future__ import annotations

import socket
import struct
from enum import Enum
from socket import inet_ntoa
from typing import NamedTuple

ICMP_ECHO_REPLY = 0
ICMP_DEST_UNREACH = 3
ICMP_ECHO_REQUEST = 8
ICMP_TIME_EXCEEDED = 11
ICMP6_DEST_UNREACH = 1
ICMP6_TIME_EXCEEDED = 3
ICMP6_ECHO_REQUEST = 128
ICMP6_ECHO_REPLY = 129
# Destination-unreachable codes (RFC 792 / RFC 1812, RFC 4443) this module names.
ICMP_NET_UNREACH = 0
ICMP_HOST_UNREACH = 1
ICMP_PORT_UNREACH = 3
ICMP_ADMIN_PROHIBITED = 13
ICMP6_ADMIN_PROHIBITED = 1
ICMP6_ADDR_UNREACH = 3
ICMP6_PORT_UNREACH = 4

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
    """What kind of answer a packet is; the values are ``events.REPLY_KINDS``."""

    ECHO_REPLY = "echo_reply"
    TIME_EXCEEDED = "time_exceeded"
    UNREACHABLE = "dest_unreachable"
    TCP_SYN_ACK = "tcp_syn_ack"
    TCP_RST = "tcp_rst"


TCP_ANSWERS = (ReplyKind.TCP_SYN_ACK, ReplyKind.TCP_RST)

# A probe's identity as a reply reveals it: ("icmp", identifier, sequence), ("udp", sport, dport, sequence) or
# ("tcp", sport, dport, sequence).
ProbeKey = tuple


class Reply(NamedTuple):
    """What one received packet says about one of our probes (a named tuple: one is made for every packet the
    receive sockets see, and a tuple is made in a fraction of a frozen dataclass's time).

    ``quoted_src``/``quoted_dst`` are the addresses in the probe header an ICMP error quotes (None for echo
    replies and TCP answers, which quote nothing); ``icmp_code`` is the ICMP code (0 for TCP).
    """

    kind: ReplyKind
    responder: str  # the address that answered (a router, or the destination)
    key: ProbeKey
    icmp_code: int = 0
    quoted_src: str | None = None
    quoted_dst: str | None = None


def is_ipv6(address: str) -> bool:
    return ":" in address


def family_of(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if is_ipv6(address) else socket.AF_INET


def canonical_address(address: str) -> str:
    """``address`` as ``inet_ntop`` writes it (IPv6: compressed, lower case), so addresses compare as strings;
    returned unchanged when it is not an IP address."""
    fam = family_of(address)
    try:
        return socket.inet_ntop(fam, socket.inet_pton(fam, address))
    except OSError:
        return address


def is_port_unreachable(reply_kind: ReplyKind, icmp_code: int, ipv6: bool) -> bool:
    """True for an ICMP port unreachable (3/3; ICMPv6 1/4): only the host a datagram is addressed to sends it."""
    return reply_kind is ReplyKind.UNREACHABLE and icmp_code == (ICMP6_PORT_UNREACH if ipv6 else ICMP_PORT_UNREACH)


def probe_ttl(packet: bytes) -> int:
    """The TTL (IPv4) or hop limit (IPv6) of a complete IP packet."""
    return packet[7] if packet[0] >> 4 == 6 else packet[8]


def probe_destination(packet: bytes) -> str:
    if packet[0] >> 4 == 6:
        return socket.inet_ntop(socket.AF_INET6, packet[24:40])
    return socket.inet_ntoa(packet[16:20])


def ip_header_length(packet: bytes) -> int:
    return IPV6_HEADER if packet[0] >> 4 == 6 else (packet[0] & 0x0F) * 4


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total >> 16) + (total & 0xFFFF)
    return ~total & 0xFFFF


def pseudo_header(src: str, dst: str, proto: int, length: int) -> bytes:
    """The pseudo header TCP, UDP and ICMPv6 checksums cover (RFC 793 / RFC 8200 section 8.1)."""
    if is_ipv6(dst):
        return (
            socket.inet_pton(socket.AF_INET6, src)
            + socket.inet_pton(socket.AF_INET6, dst)
            + struct.pack("!I3xB", length, proto)
        )
    return socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!xBH", proto, length)


def _quoted(inner: bytes) -> tuple[ProbeKey, str, str] | None:
    """The probe key and the quoted source and destination from the IP header + 8 bytes (or more) an ICMP error
    quotes; None if it is not one of ours."""
    if len(inner) < IPV4_HEADER:
        return None
    if inner[0] >> 4 == 6:
        if len(inner) < IPV6_HEADER + 8:
            return None
        proto, ihl, ip_id = inner[6], IPV6_HEADER, None
        src = socket.inet_ntop(socket.AF_INET6, inner[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, inner[24:40])
    else:
        ihl = (inner[0] & 0x0F) * 4
        if ihl < IPV4_HEADER or len(inner) < ihl + 8:
            return None
        proto = inner[9]
        (ip_id,) = struct.unpack_from("!H", inner, 4)
        src = socket.inet_ntoa(inner[12:16])
        dst = socket.inet_ntoa(inner[16:20])
    if proto in (PROTO_ICMP, PROTO_ICMPV6):
        qtype, _qcode, _qsum, ident, seq = struct.unpack_from("!BBHHH", inner, ihl)
        if qtype not in (ICMP_ECHO_REQUEST, ICMP6_ECHO_REQUEST):
            return None
        return ("icmp", ident, seq), src, dst
    if proto == PROTO_UDP:
        sport, dport = struct.unpack_from("!HH", inner, ihl)
        if ip_id is None:  # IPv6: the sequence is the first payload word
            if len(inner) < ihl + 10:
                return None
            (ip_id,) = struct.unpack_from("!H", inner, ihl + 8)
        return ("udp", sport, dport, ip_id), src, dst
    if proto == PROTO_TCP:
        sport, dport, seq = struct.unpack_from("!HHI", inner, ihl)
        return ("tcp", sport, dport, seq), src, dst
    return None


def _tcp_answer(data: bytes, off: int, responder: str) -> Reply | None:
    """A SYN-ACK or RST-ACK acknowledging one of our SYNs: the key is the SYN's, from the acknowledged number."""
    if len(data) < off + 20:
        return None
    sport, dport, _seq, ack, _off, flags = struct.unpack_from("!HHIIBB", data, off)
    if not flags & TCP_ACK or not flags & (TCP_SYN | TCP_RST):
        return None
    kind = ReplyKind.TCP_RST if flags & TCP_RST else ReplyKind.TCP_SYN_ACK
    return Reply(kind, responder, ("tcp", dport, sport, (ack - 1) & 0xFFFFFFFF))


# The common case read in one go: an ICMP error (time exceeded, unreachable) in an IPv4 packet without options,
# quoting an IPv4 header without options: version/IHL, protocol, source; type, code; the quoted version/IHL,
# identification, protocol, source and destination. The quoted transport header follows at byte 48.
_V4_ERROR = struct.Struct("!B8xB2x4s4xBB6xB3xH3xB2x4s4s")
_V4_ERROR_KINDS = {ICMP_TIME_EXCEEDED: ReplyKind.TIME_EXCEEDED, ICMP_DEST_UNREACH: ReplyKind.UNREACHABLE}
_HH = struct.Struct("!HH")
# IPv4 addresses as text, by their 4 bytes: the same few addresses (the path's routers, our source and the
# destination) are in every reply, and a dictionary look-up costs a fraction of inet_ntoa (libc formats with
# snprintf). Bounded: cleared when it fills (a flood of forged sources).
_V4_TEXT: dict[bytes, str] = {}
_V4_TEXT_MAX = 4096


def _v4_text(packed: bytes) -> str:
    text = _V4_TEXT.get(packed)
    if text is None:
        if len(_V4_TEXT) >= _V4_TEXT_MAX:
            _V4_TEXT.clear()
        text = _V4_TEXT[packed] = inet_ntoa(packed)
    return text


_new_reply = tuple.__new__  # Reply's fields in one tuple: skips the named tuple's Python-level __new__
_HHI = struct.Struct("!HHI")
_BXXHH = struct.Struct("!B3xHH")


def parse_reply(data: bytes) -> Reply | None:
    """Read a received IPv4 or IPv6 packet (ICMP, ICMPv6, or TCP); None when it cannot be a reply to a probe
    (too short, another protocol, an ICMP type that answers no probe, or an error quoting no probe of ours)."""
    if len(data) < 28:
        return None
    if (
        data[0] == 0x45
        and data[9] == PROTO_ICMP
        and data[20] in _V4_ERROR_KINDS
        and len(data) >= 56
        and data[28] == 0x45
    ):
        # Every hop's answer but the destination's: the same fields the general reading below finds.
        _v, _p, src, icmp_type, code, _qv, ip_id, qproto, qsrc, qdst = _V4_ERROR.unpack_from(data)
        if qproto == PROTO_ICMP:
            qtype, ident, seq = _BXXHH.unpack_from(data, 48)
            if qtype != ICMP_ECHO_REQUEST:
                return None
            key: ProbeKey = ("icmp", ident, seq)
        elif qproto == PROTO_UDP:
            key = ("udp", *_HH.unpack_from(data, 48), ip_id)
        elif qproto == PROTO_TCP:
            key = ("tcp", *_HHI.unpack_from(data, 48))
        else:
            return None
        text = _V4_TEXT.get
        return _new_reply(
            Reply,
            (
                _V4_ERROR_KINDS[icmp_type],
                text(src) or _v4_text(src),
                key,
                code,
                text(qsrc) or _v4_text(qsrc),
                text(qdst) or _v4_text(qdst),
            ),
        )
    if data[0] >> 4 == 6:
        if len(data) < IPV6_HEADER + 8:
            return None
        proto, ihl = data[6], IPV6_HEADER
        responder = socket.inet_ntop(socket.AF_INET6, data[8:24])
    else:
        ihl = (data[0] & 0x0F) * 4
        if ihl < IPV4_HEADER or len(data) < ihl + 8:
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
        quoted = _quoted(data[ihl + 8 :])
        if quoted is None:
            return None
        key, qsrc, qdst = quoted
        kind = ReplyKind.TIME_EXCEEDED if icmp_type == time_exceeded else ReplyKind.UNREACHABLE
        return Reply(kind, responder, key, code, qsrc, qdst)
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


def probe_fields(packet: bytes) -> dict:
    """The fields one of our probes was built from (the inverse of the templates' ``packet``): protocol, dst, ttl,
    seq and ident + flow (ICMP) or sport + dport (UDP, TCP). How a probe is described to the probe helper.
    ValueError when the packet is none of our probe protocols."""
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


# --- Replies as a router or host would send them (the fake network, tests, forgeries in lab tests) ----------


def _packet_addresses(packet: bytes) -> tuple[str, str]:
    if packet[0] >> 4 == 6:
        return socket.inet_ntop(socket.AF_INET6, packet[8:24]), socket.inet_ntop(socket.AF_INET6, packet[24:40])
    return socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20])


def ip_packet(src: str, dst: str, proto: int, payload: bytes, ttl: int = 64) -> bytes:
    """A complete IPv4 (header checksum filled in) or IPv6 packet; ICMPv6/TCP/UDP checksums are the caller's."""
    if is_ipv6(src):
        return with_ip_header(src, dst, proto, payload, ttl)
    head = bytearray(with_ip_header(src, dst, proto, b"", ttl))
    struct.pack_into("!H", head, 2, IPV4_HEADER + len(payload))
    struct.pack_into("!H", head, 10, checksum(bytes(head)))
    return bytes(head) + payload


def icmp_message(src: str, dst: str, icmp_type: int, code: int, body: bytes) -> bytes:
    """An ICMP (IPv4 ``src``) or ICMPv6 message from ``src`` to ``dst`` with a valid checksum; ``body`` follows
    the type/code/checksum word."""
    v6 = is_ipv6(src)
    msg = bytearray(struct.pack("!BBH", icmp_type, code, 0) + body)
    pseudo = pseudo_header(src, dst, PROTO_ICMPV6, len(msg)) if v6 else b""
    struct.pack_into("!H", msg, 2, checksum(pseudo + bytes(msg)))
    return ip_packet(src, dst, PROTO_ICMPV6 if v6 else PROTO_ICMP, bytes(msg))


def _quote(probe: bytes) -> bytes:
    """What an error quotes of ``probe``: IPv4 header + 8 bytes (RFC 792), IPv6 the whole probe (RFC 4443)."""
    if probe[0] >> 4 == 6:
        return probe
    return probe[: (probe[0] & 0x0F) * 4 + 8]


def build_time_exceeded(probe: bytes, router: str) -> bytes:
    """The time-exceeded a router at ``router`` sends back for ``probe``."""
    src, _dst = _packet_addresses(probe)
    icmp_type = ICMP6_TIME_EXCEEDED if is_ipv6(router) else ICMP_TIME_EXCEEDED
    return icmp_message(router, src, icmp_type, 0, b"\0\0\0\0" + _quote(probe))


def build_unreachable(probe: bytes, sender: str, code: int) -> bytes:
    """The destination unreachable with ``code`` that ``sender`` sends back for ``probe`` (a router refusing to
    forward it, or the destination itself)."""
    src, _dst = _packet_addresses(probe)
    icmp_type = ICMP6_DEST_UNREACH if is_ipv6(sender) else ICMP_DEST_UNREACH
    return icmp_message(sender, src, icmp_type, code, b"\0\0\0\0" + _quote(probe))


def build_destination_reply(probe: bytes, responder: str | None = None) -> bytes:
    """What the destination answers to ``probe``: an echo reply for ICMP, a port unreachable for UDP, and for a
    TCP SYN the RST-ACK of a closed port. ``responder`` is the source address it answers from (default: the
    probe's destination; a multi-homed host may answer an error from another of its addresses)."""
    v6 = probe[0] >> 4 == 6
    src, dst = _packet_addresses(probe)
    me = responder or dst
    l3 = ip_header_length(probe)
    proto = probe[6] if v6 else probe[9]
    if proto == PROTO_TCP:
        sport, dport, seq = struct.unpack_from("!HHI", probe, l3)
        seg = bytearray(struct.pack("!HHIIBBHHH", dport, sport, 0, (seq + 1) & 0xFFFFFFFF, 5 << 4, 0x14, 0, 0, 0))
        struct.pack_into("!H", seg, 16, checksum(pseudo_header(me, src, PROTO_TCP, len(seg)) + bytes(seg)))
        return ip_packet(me, src, PROTO_TCP, bytes(seg))
    if proto in (PROTO_ICMP, PROTO_ICMPV6):
        return icmp_message(me, src, ICMP6_ECHO_REPLY if v6 else ICMP_ECHO_REPLY, 0, bytes(probe[l3 + 4 :]))
    return build_unreachable(probe, me, ICMP6_PORT_UNREACH if v6 else ICMP_PORT_UNREACH)
