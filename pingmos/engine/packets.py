"""Probe packets and reply parsing: the only module that imports scapy.

scapy builds each probe *template* once; every probe after that is the template's bytes with TTL and sequence
patched in, because building a packet with scapy costs ~1.5 ms and patching costs microseconds. Replies are read
with ``struct`` for the few fields a match needs (the reply's type and source, and the probe header it quotes);
scapy dissects a reply only when a person wants to see it (``describe``).

How a reply names its probe:
- ICMP echo: the echo reply carries our identifier and sequence; a time-exceeded or unreachable quotes the probe's
  IP header and first 8 bytes, which hold the same identifier and sequence.
- UDP: the quoted UDP header holds our source port (reserved per process, so unique) and destination port; the
  sequence rides in the quoted IP header's identification field, which routers quote untouched.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from enum import Enum

from scapy.layers.inet import ICMP, IP, UDP
from scapy.packet import Raw

PROBE_SIZE = 64  # bytes on the wire, IP header included, as ping and mtr send by default
UDP_BASE_PORT = 33434  # traceroute's traditional destination port; closed on almost every host

ICMP_ECHO_REPLY = 0
ICMP_DEST_UNREACH = 3
ICMP_ECHO_REQUEST = 8
ICMP_TIME_EXCEEDED = 11

PROTO_ICMP = 1
PROTO_UDP = 17


class ReplyKind(Enum):
    ECHO_REPLY = "echo-reply"
    TIME_EXCEEDED = "time-exceeded"
    UNREACHABLE = "unreachable"


# A probe's identity as a reply reveals it: ("icmp", identifier, sequence) or ("udp", sport, dport, ip_id).
ProbeKey = tuple


@dataclass(frozen=True)
class Reply:
    """What one received ICMP packet says about one of our probes."""

    kind: ReplyKind
    responder: str  # the address that answered (a router, or the destination)
    key: ProbeKey
    icmp_code: int = 0


def _checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


class IcmpEchoTemplate:
    """ICMP echo requests to one destination with one identifier; ``packet(ttl, seq)`` gives the bytes to send."""

    protocol = "icmp"

    def __init__(self, src: str, dst: str, ident: int, size: int = PROBE_SIZE):
        payload_len = max(0, size - 28)
        pkt = IP(src=src, dst=dst, ttl=64, id=0) / ICMP(type=ICMP_ECHO_REQUEST, id=ident, seq=0)
        pkt = pkt / Raw(b"pingmos-" + bytes(range(256))[: max(0, payload_len - 8)])
        self._bytes = bytearray(bytes(pkt))
        self.ident = ident
        self.dst = dst

    def packet(self, ttl: int, seq: int) -> bytes:
        buf = self._bytes
        buf[8] = ttl
        # The kernel fills in the IP header checksum (IP_HDRINCL); the ICMP checksum covers seq, so redo it.
        struct.pack_into("!H", buf, 4, seq)  # IP id = seq as well, like the UDP probes, for packet captures
        struct.pack_into("!HH", buf, 22, 0, self.ident)
        struct.pack_into("!H", buf, 26, seq)
        struct.pack_into("!H", buf, 22, _checksum(bytes(buf[20:])))
        return bytes(buf)

    def key(self, seq: int) -> ProbeKey:
        return ("icmp", self.ident, seq)


class UdpTemplate:
    """UDP probes from a reserved source port to ``dport``; the sequence goes in the IP identification field."""

    protocol = "udp"

    def __init__(self, src: str, dst: str, sport: int, dport: int = UDP_BASE_PORT, size: int = PROBE_SIZE):
        payload_len = max(0, size - 28)
        pkt = IP(src=src, dst=dst, ttl=64, id=0) / UDP(sport=sport, dport=dport)
        pkt = pkt / Raw(b"pingmos-" + bytes(payload_len - 8 if payload_len > 8 else 0))
        # The UDP checksum covers neither TTL nor IP id, so the template's checksum stays right when we patch.
        self._bytes = bytearray(bytes(pkt))
        self.sport = sport
        self.dport = dport
        self.dst = dst

    def packet(self, ttl: int, seq: int) -> bytes:
        buf = self._bytes
        buf[8] = ttl
        struct.pack_into("!H", buf, 4, seq)
        return bytes(buf)

    def key(self, seq: int) -> ProbeKey:
        return ("udp", self.sport, self.dport, seq)


def _quoted_key(inner: bytes) -> ProbeKey | None:
    """The probe key from the IP header + 8 bytes an ICMP error quotes; None if it is not one of ours."""
    if len(inner) < 20:
        return None
    ihl = (inner[0] & 0x0F) * 4
    if len(inner) < ihl + 8:
        return None
    proto = inner[9]
    if proto == PROTO_ICMP:
        qtype, _qcode, _qsum, ident, seq = struct.unpack_from("!BBHHH", inner, ihl)
        if qtype != ICMP_ECHO_REQUEST:
            return None
        return ("icmp", ident, seq)
    if proto == PROTO_UDP:
        (ip_id,) = struct.unpack_from("!H", inner, 4)
        sport, dport = struct.unpack_from("!HH", inner, ihl)
        return ("udp", sport, dport, ip_id)
    return None


def parse_reply(data: bytes) -> Reply | None:
    """Read an IPv4 packet received on a raw ICMP socket; None when it cannot be a reply to a probe.

    Cheap on purpose (struct only): it runs for every ICMP packet the host receives, ours or not.
    """
    if len(data) < 28:
        return None
    ihl = (data[0] & 0x0F) * 4
    if data[9] != PROTO_ICMP or len(data) < ihl + 8:
        return None
    icmp_type = data[ihl]
    code = data[ihl + 1]
    responder = socket.inet_ntoa(data[12:16])
    if icmp_type == ICMP_ECHO_REPLY:
        ident, seq = struct.unpack_from("!HH", data, ihl + 4)
        return Reply(ReplyKind.ECHO_REPLY, responder, ("icmp", ident, seq), code)
    if icmp_type in (ICMP_TIME_EXCEEDED, ICMP_DEST_UNREACH):
        key = _quoted_key(data[ihl + 8 :])
        if key is None:
            return None
        kind = ReplyKind.TIME_EXCEEDED if icmp_type == ICMP_TIME_EXCEEDED else ReplyKind.UNREACHABLE
        return Reply(kind, responder, key, code)
    return None


def describe(data: bytes) -> str:
    """A one-line human description of a received packet, dissected by scapy (for logs and debugging)."""
    return IP(data).summary()


# --- Replies as a router or host would send them: used by the fake network in tests -------------------------


def build_time_exceeded(probe: bytes, router: str) -> bytes:
    """The ICMP time-exceeded a router at ``router`` sends back for ``probe`` (quoting its header + 8 bytes)."""
    src = socket.inet_ntoa(probe[12:16])
    quoted = probe[: (probe[0] & 0x0F) * 4 + 8]
    return bytes(IP(src=router, dst=src) / ICMP(type=ICMP_TIME_EXCEEDED, code=0) / Raw(quoted))


def build_destination_reply(probe: bytes) -> bytes:
    """What the destination answers to ``probe``: an echo reply for ICMP, a port unreachable for UDP."""
    parsed = IP(probe)
    if parsed.proto == PROTO_ICMP:
        echo = parsed[ICMP]
        return bytes(
            IP(src=parsed.dst, dst=parsed.src)
            / ICMP(type=ICMP_ECHO_REPLY, id=echo.id, seq=echo.seq)
            / Raw(bytes(echo.payload))
        )
    quoted = probe[: (probe[0] & 0x0F) * 4 + 8]
    return bytes(IP(src=parsed.dst, dst=parsed.src) / ICMP(type=ICMP_DEST_UNREACH, code=3) / Raw(quoted))
