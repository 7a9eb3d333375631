"""The network behind a small interface (send, receive, close), so the tracer can run on a fake in tests.

``RawSocketNetwork`` keeps one send socket and one receive socket for the life of a trace (as mtr-packet and
Trippy do): a raw IP socket we hand complete packets to, and a raw ICMP socket that sees every ICMP packet the
host receives, each with the kernel's receive timestamp.
"""

from __future__ import annotations

import select
import socket
import struct
import time
from typing import Protocol

# Not exported by Python's socket module on every version; values from <asm-generic/socket.h> and <linux/icmp.h>.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SOL_RAW = 255
ICMP_FILTER = 1
_TIMESPEC = struct.Struct("@qq")

RAW_SOCKET_HELP = (
    "pingmos needs permission to open raw sockets to send its probes. Run it as root (for example "
    "'sudo pingmos report HOST'), or allow this Python once with "
    "'sudo setcap cap_net_raw+ep {python}' and run it as yourself."
)


class NoPermission(Exception):
    """Raw sockets are not allowed for this process; the message says what the user can do."""


class Network(Protocol):
    def send(self, packet: bytes, dst: str) -> float:
        """Send a complete IPv4 packet; return the wall-clock time (s) it was handed to the kernel."""

    def recv(self, timeout_s: float) -> list[tuple[bytes, float]]:
        """Wait up to ``timeout_s`` for packets; return each with its wall-clock receive time (s)."""

    def close(self) -> None: ...


def source_address_for(dst: str) -> str:
    """The local address the kernel would send from towards ``dst`` (no packet is sent: UDP connect only)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((dst, 9))
        return s.getsockname()[0]


class RawSocketNetwork:
    def __init__(self) -> None:
        import sys

        try:
            self._tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
            self._rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        except PermissionError as exc:
            raise NoPermission(RAW_SOCKET_HELP.format(python=sys.executable)) from exc
        self._rx.setblocking(False)
        self._rx.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        # Let the kernel drop ICMP types that can never answer a probe (echo requests, redirects, ...):
        # on a busy host this spares a wake-up per foreign packet. Bit set = type filtered out.
        wanted = (1 << 0) | (1 << 3) | (1 << 11)
        self._rx.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("I", ~wanted & 0xFFFFFFFF))
        self._rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self._poll = select.poll()
        self._poll.register(self._rx, select.POLLIN)
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
        while True:
            try:
                data, ancdata, _flags, _addr = self._rx.recvmsg(4096, self._cmsg_size)
            except BlockingIOError:
                return out
            received_at = None
            for level, ctype, cdata in ancdata:
                if level == socket.SOL_SOCKET and ctype == SO_TIMESTAMPNS:
                    sec, nsec = _TIMESPEC.unpack_from(cdata)
                    received_at = sec + nsec * 1e-9
            out.append((data, received_at if received_at is not None else time.time()))

    def close(self) -> None:
        self._tx.close()
        self._rx.close()


def reserve_udp_port() -> socket.socket:
    """Bind a UDP socket to a free port and keep it: the port then belongs to this process alone, so our UDP
    probes' source port identifies them, and the kernel never answers a reply to it with a port unreachable."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    return s
