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

from pingmos.engine.wire import PROTO_ICMPV6, PROTO_TCP, family_of, with_ip_header

# Not exported by Python's socket module on every version; values from <asm-generic/socket.h> and <linux/icmp.h>.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SOL_RAW = 255
ICMP_FILTER = 1
_TIMESPEC = struct.Struct("@qq")
ICMP6_FILTER = 1  # level IPPROTO_ICMPV6, <netinet/icmp6.h>
# Kernel send timestamps (<linux/net_tstamp.h>): the driver stamps each packet as it leaves, and the stamp comes
# back on the socket's error queue tagged with a per-socket packet counter (OPT_ID).
SO_TIMESTAMPING = getattr(socket, "SO_TIMESTAMPING", 37)
SOF_TIMESTAMPING_TX_SOFTWARE = 1 << 1
SOF_TIMESTAMPING_SOFTWARE = 1 << 4
SOF_TIMESTAMPING_OPT_ID = 1 << 7
SOF_TIMESTAMPING_OPT_TSONLY = 1 << 11
_RECVERR = {(socket.IPPROTO_IP, 11), (socket.IPPROTO_IPV6, 25)}  # IP_RECVERR, IPV6_RECVERR cmsgs
_EE_DATA = struct.Struct("@I")  # sock_extended_err.ee_data, at offset 12: the OPT_ID packet counter
# Plain ints: the socket module's flags are enums, and combining them costs an Enum.__or__ call per probe.
_ERRQUEUE_NOWAIT = int(socket.MSG_ERRQUEUE) | int(socket.MSG_DONTWAIT)
_SOL_SOCKET = int(socket.SOL_SOCKET)

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
    # Optional: ``stamps_replies = True`` says every packet ``recv`` returns carries the kernel's receive time, so
    # reading it late changes no RTT; the tracer then sleeps until its next probe is due and reads what came
    # meanwhile in one go, instead of waking for every packet.

    def send(self, packet: bytes, dst: str) -> float:
        """Send a complete IPv4 or IPv6 packet; return the wall-clock time (s) it was handed to the kernel."""

    def recv(self, timeout_s: float) -> list[tuple[bytes, float]]:
        """Wait up to ``timeout_s`` for packets; return each as a complete IP packet (``wire.parse_reply``
        reads it) with its wall-clock receive time (s)."""

    def close(self) -> None: ...


def source_address_for(dst: str) -> str:
    """The local address the kernel would send from towards ``dst`` (no packet is sent: UDP connect only)."""
    with socket.socket(family_of(dst), socket.SOCK_DGRAM) as s:
        s.connect((dst, 9))
        return s.getsockname()[0]


def _received_at(packet: tuple[bytes, float]) -> float:
    return packet[1]


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
    stamps_replies = True  # each reply carries the kernel's receive time: reading it late changes no RTT

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
        # A user-space stamp taken before sendto() is late by whatever runs in between (a garbage collection, the
        # scheduler giving the CPU away): milliseconds on a busy machine. So ask the kernel for the time each packet
        # really left; the user-space stamp stays as the fallback when no kernel stamp comes back.
        self._tx_counter = 0
        self.kernel_send_stamps = 0  # how many sends used the kernel's stamp (tests and benchmarks read it)
        try:
            flags = (
                SOF_TIMESTAMPING_TX_SOFTWARE
                | SOF_TIMESTAMPING_SOFTWARE
                | SOF_TIMESTAMPING_OPT_ID
                | SOF_TIMESTAMPING_OPT_TSONLY
            )
            self._tx.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, flags)
            self._tx_stamps = True
        except OSError:
            self._tx_stamps = False
        self._errq_cmsg_size = socket.CMSG_SPACE(3 * _TIMESPEC.size) + socket.CMSG_SPACE(64)

    def send(self, packet: bytes, dst: str) -> float:
        # The user-space stamp pairs with the kernel's wall-clock receive stamp; it is replaced by the kernel's own
        # send stamp when that comes back.
        sent_at = time.time()
        self._tx.sendto(packet, (dst, 0))
        if self._tx_stamps:
            counter = self._tx_counter
            self._tx_counter = (counter + 1) & 0xFFFFFFFF
            stamp = self._kernel_send_stamp(counter)
            if stamp is not None:
                self.kernel_send_stamps += 1
                return stamp
        return sent_at

    def _kernel_send_stamp(self, counter: int) -> float | None:
        """The kernel's send time (wall clock, s) of the packet with OPT_ID ``counter``, if it is already on the
        error queue (drivers stamp synchronously in sendto on this path); stale stamps of earlier packets whose
        stamp came late are drained and dropped."""
        recvmsg, size, flags = self._tx.recvmsg, self._errq_cmsg_size, _ERRQUEUE_NOWAIT
        while True:
            try:
                ancdata = recvmsg(0, size, flags)[1]
            except OSError:  # BlockingIOError: not stamped yet, or nothing left to drain
                return None
            stamp = packet_id = None
            for level, ctype, cdata in ancdata:
                if ctype == SO_TIMESTAMPING and level == _SOL_SOCKET and len(cdata) >= 16:
                    sec, nsec = _TIMESPEC.unpack_from(cdata)  # [0] is the software stamp
                    if sec or nsec:
                        stamp = sec + nsec * 1e-9
                elif (level, ctype) in _RECVERR and len(cdata) >= 16:
                    packet_id = _EE_DATA.unpack_from(cdata, 12)[0]
            if packet_id == counter and stamp is not None:
                return stamp

    def poll_fds(self) -> list[int]:
        """The descriptors ``recv`` reads, for one poll over many networks (``loop.TraceLoop``)."""
        return [s.fileno() for s in self._rx]

    def recv(self, timeout_s: float) -> list[tuple[bytes, float]]:
        out: list[tuple[bytes, float]] = []
        # Without a wait (the tracer reads late, once per probe sent), the sockets are read at once: a poll first
        # would be one more system call for what the first recvmsg finds out anyway.
        if timeout_s > 0.0 and not self._poll.poll(timeout_s * 1000.0):
            return out
        size, protos = self._cmsg_size, self._protos
        from_sockets = 0
        for i, rx in enumerate(self._rx):
            before = len(out)
            recvmsg = rx.recvmsg
            while True:
                try:
                    data, ancdata, _flags, addr = recvmsg(4096, size)
                except BlockingIOError:
                    break
                if protos:
                    # Raw IPv6 sockets deliver no IPv6 header; rebuild one with the source (the destination
                    # is not needed to match a reply, so it stays unspecified).
                    data = with_ip_header(addr[0].split("%")[0], "::", protos[i], data)
                received_at = None
                for level, ctype, cdata in ancdata:
                    if ctype == SO_TIMESTAMPNS and level == _SOL_SOCKET:
                        sec, nsec = _TIMESPEC.unpack_from(cdata)
                        received_at = sec + nsec * 1e-9
                        break
                out.append((data, time.time() if received_at is None else received_at))
            from_sockets += len(out) > before
        if from_sockets > 1:
            # In the order they arrived (the kernel's stamps), not socket by socket: an answer judged before one
            # that came earlier (a forged SYN-ACK before the genuine time-exceeded) would be judged differently.
            out.sort(key=_received_at)
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
