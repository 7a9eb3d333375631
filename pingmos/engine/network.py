"""The network behind a small interface (send, receive, close), so the tracer can run on a fake in tests.

``RawSocketNetwork`` keeps one send socket and its receive sockets for the life of a trace (as mtr-packet and
Trippy do): a raw IP socket we hand complete packets to, a raw ICMP (ICMPv6) socket that sees every ICMP packet
the host receives and, for TCP probes, a raw TCP socket for the SYN-ACKs and RSTs, each packet with the kernel's
receive timestamp. Other implementations: ``ping_socket_network`` (no privileges), ``helper_network`` (a
privileged helper process), ``fake_network`` (tests).
"""

from __future__ import annotations

import select
import socket
import struct
import time
from typing import Protocol

from pingmos.engine.packets import PROTO_ICMPV6, PROTO_TCP, family_of, with_ip_header

# Not exported by Python's socket module on every version; values from <asm-generic/socket.h> and <linux/icmp.h>.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SOL_RAW = 255
ICMP_FILTER = 1
_TIMESPEC = struct.Struct("@qq")
ICMP6_FILTER = 1  # level IPPROTO_ICMPV6, <netinet/icmp6.h>

RAW_SOCKET_HELP = (
    "pingmos needs permission to open raw sockets to send its probes. Run it as root (for example "
    "'sudo pingmos report HOST'), or allow this Python once with "
    "'sudo setcap cap_net_raw+ep {python}' and run it as yourself."
)


class NoPermission(Exception):
    """Raw sockets are not allowed for this process; the message says what the user can do."""


class Network(Protocol):
    # The ICMP echo identifier this network sends with (ping sockets: the kernel sets it to the socket's port),
    # or None when the tracer chooses it.
    icmp_ident: int | None

    def send(self, packet: bytes, dst: str) -> float:
        """Send a complete IPv4 or IPv6 packet; return the wall-clock time (s) it was handed to the kernel."""

    def recv(self, timeout_s: float) -> list[tuple[bytes, float]]:
        """Wait up to ``timeout_s`` for packets; return each as a complete IP packet (``packets.parse_reply``
        reads it) with its wall-clock receive time (s)."""

    def close(self) -> None: ...


def source_address_for(dst: str) -> str:
    """The local address the kernel would send from towards ``dst`` (no packet is sent: UDP connect only)."""
    with socket.socket(family_of(dst), socket.SOCK_DGRAM) as s:
        s.connect((dst, 9))
        return s.getsockname()[0]


def kernel_stamp(ancdata) -> float | None:
    """The SO_TIMESTAMPNS receive time (wall clock, s) in a recvmsg ancillary list, None if absent."""
    for level, ctype, cdata in ancdata:
        if level == socket.SOL_SOCKET and ctype == SO_TIMESTAMPNS:
            sec, nsec = _TIMESPEC.unpack_from(cdata)
            return sec + nsec * 1e-9
    return None


class RawSocketNetwork:
    """Raw sockets for ``family`` (AF_INET or AF_INET6) and ``protocol`` ("icmp", "udp", "tcp")."""

    icmp_ident = None  # the tracer chooses

    def __init__(self, family: socket.AddressFamily = socket.AF_INET, protocol: str = "icmp") -> None:
        import sys

        self._family = family
        v6 = family == socket.AF_INET6
        self._rx: list[socket.socket] = []
        try:
            # IPPROTO_RAW implies IP_HDRINCL (IPv6 too, since Linux 4.5): we hand over the whole packet.
            self._tx = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_RAW)
            self._rx.append(socket.socket(family, socket.SOCK_RAW, PROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP))
            if protocol == "tcp":
                self._rx.append(socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_TCP))
        except PermissionError as exc:
            for s in self._rx:
                s.close()
            raise NoPermission(RAW_SOCKET_HELP.format(python=sys.executable)) from exc
        # Let the kernel drop ICMP types that can never answer a probe (echo requests, redirects, ...):
        # on a busy host this spares a wake-up per foreign packet. Bit set = type filtered out.
        if v6:
            blocked = [0xFFFFFFFF] * 8
            for t in (1, 3, 129):  # unreachable, time exceeded, echo reply
                blocked[t >> 5] &= ~(1 << (t & 31))
            self._rx[0].setsockopt(PROTO_ICMPV6, ICMP6_FILTER, struct.pack("8I", *blocked))
        else:
            wanted = (1 << 0) | (1 << 3) | (1 << 11)
            self._rx[0].setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("I", ~wanted & 0xFFFFFFFF))
        self._poll = select.poll()
        for s in self._rx:
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            self._poll.register(s, select.POLLIN)
        self._protos = [PROTO_ICMPV6, PROTO_TCP] if v6 else []
        self._cmsg_size = socket.CMSG_SPACE(_TIMESPEC.size)

    def send(self, packet: bytes, dst: str) -> float:
        # Stamp as close to the send as Python allows; the kernel's receive stamp uses the same wall clock.
        sent_at = time.time()
        self._tx.sendto(packet, (dst, 0))
        return sent_at

    def recv(self, timeout_s: float) -> list[tuple[bytes, float]]:
        out: list[tuple[bytes, float]] = []
        if not self._poll.poll(max(0.0, timeout_s) * 1000.0):
            return out
        for i, rx in enumerate(self._rx):
            while True:
                try:
                    data, ancdata, _flags, addr = rx.recvmsg(4096, self._cmsg_size)
                except BlockingIOError:
                    break
                if self._protos:
                    # Raw IPv6 sockets deliver no IPv6 header; rebuild one with the source (the destination
                    # is not needed to match a reply, so it stays unspecified).
                    data = with_ip_header(addr[0].split("%")[0], "::", self._protos[i], data)
                received_at = kernel_stamp(ancdata)
                out.append((data, received_at if received_at is not None else time.time()))
        return out

    def close(self) -> None:
        self._tx.close()
        for s in self._rx:
            s.close()


def reserve_udp_port(family: socket.AddressFamily = socket.AF_INET) -> socket.socket:
    """Bind a UDP socket to a free port and keep it: the port then belongs to this process alone, so our UDP
    probes' source port identifies them, and the kernel never answers a reply to it with a port unreachable."""
    return reserve_port("udp", family)


def reserve_port(protocol: str, family: socket.AddressFamily = socket.AF_INET) -> socket.socket:
    """A UDP or TCP socket bound to a free port, kept for the life of a trace so the port is ours alone. For
    TCP it is bound but never connected: a SYN-ACK to it is answered by the kernel with a RST."""
    s = socket.socket(family, socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
    return s
