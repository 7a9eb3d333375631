"""Tracing without privileges: unprivileged ICMP ("ping") sockets, as ``ping`` itself uses on Linux and macOS.

A ``socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`` (ICMPv6 alike) needs no root where the system allows it (Linux:
the user's group within ``net.ipv4.ping_group_range``, a per-network-namespace sysctl that covers IPv6 too).
What differs from raw sockets, and how this module hides it behind the ``Network`` interface:

- We send only the ICMP message; the TTL (hop limit) is a socket option, set before each send that needs a new
  one. The kernel fills in the checksum and replaces the echo identifier with the socket's port, so the tracer
  must use ``icmp_ident`` (the port) as its identifier: that is what every reply quotes.
- Echo replies arrive without an IP header; the source comes from ``recvmsg``.
- A router's time-exceeded (or an unreachable) never reaches a ping socket as a packet: with ``IP_RECVERR`` the
  kernel queues it on the socket's error queue (``MSG_ERRQUEUE``) as a ``sock_extended_err`` naming the ICMP
  type, code and the offender's address, with our quoted echo request as the data and the kernel's receive
  timestamp. The error is also left pending on the socket and makes the next ``recvmsg`` or ``sendto`` fail once
  with its errno; that is expected: the read is skipped, the send repeated.
- The send time is the kernel's: the stamp it queues on the same error queue as the datagram leaves
  (``tx_stamps``), read right after ``sendto()``, not ``time.time()`` read before it (early by any thread switch
  in between, which lengthens the RTT: milliseconds on a starved machine). ICMP errors read on the way are kept
  for the next ``recv``.

Both kinds are rebuilt into the IP packets ``wire.parse_reply`` reads (checksums 0: nothing checks them), so the
tracer and matcher are the same as with raw sockets. UDP and TCP probes need raw sockets (or the helper).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import struct
import time
from dataclasses import dataclass

from pingmos.engine.network import SO_TIMESTAMPNS, NoPermission, kernel_stamp, source_address_for
from pingmos.engine.tx_stamps import (
    SCM_TIMESTAMPING,
    SO_EE_ORIGIN_TIMESTAMPING,
    CountsSendStamps,
    SendKeys,
    SendStampCounts,
    enable_send_stamps,
    software_stamp,
)
from pingmos.engine.wire import (
    PROTO_ICMP,
    PROTO_ICMPV6,
    icmp_error_packet,
    ip_header_length,
    probe_ttl,
    with_ip_header,
)

# <linux/in.h>, <linux/in6.h>, <linux/errqueue.h>; not all exported by Python's socket module.
SOL_IP = 0
SOL_IPV6 = 41
IP_RECVERR = 11
IPV6_RECVERR = 25
IPV6_UNICAST_HOPS = 16
MSG_ERRQUEUE = 0x2000
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
_EXTENDED_ERR = struct.Struct("=IBBBBII")  # ee_errno, ee_origin, ee_type, ee_code, ee_pad, ee_info, ee_data
_ERR_CMSG_SIZE = socket.CMSG_SPACE(512)  # the extended error + offender address, and the timestamps
# A reply's SO_TIMESTAMPNS, and the SCM_TIMESTAMPING that SOF_TIMESTAMPING_SOFTWARE (asked for the send stamps)
# adds to received packets too: room for both, so the receive stamp is never the one cut off.
_REPLY_CMSG_SIZE = socket.CMSG_SPACE(16) + socket.CMSG_SPACE(48)

PING_GROUP_RANGE = "/proc/sys/net/ipv4/ping_group_range"
MAX_READS_PER_CALL = 256  # per queue and call, so a flood of foreign traffic cannot keep recv() from returning
# What an ICMP error from the network turns into (icmp_err_convert in the kernel, time-exceeded = EHOSTUNREACH).
_NETWORK_ERRNOS = frozenset(
    (
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ECONNREFUSED,
        errno.EHOSTDOWN,
        errno.ENONET,
        errno.ENOPROTOOPT,
        errno.EMSGSIZE,
        errno.EOPNOTSUPP,
        errno.EPROTO,
        errno.EACCES,
    )
)


def ping_group_range() -> tuple[int, int] | None:
    """The (low, high) group ids allowed to open ping sockets in this network namespace; None if unreadable."""
    try:
        with open(PING_GROUP_RANGE) as f:
            low, high = f.read().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return None


def ping_socket_help() -> str:
    """What the user can do when ping sockets are refused, with this system's actual numbers."""
    rng = ping_group_range()
    now = f" (now '{rng[0]} {rng[1]}')" if rng else ""
    return (
        f"unprivileged ICMP sockets are not allowed for your groups (gid {os.getgid()}) by "
        f"net.ipv4.ping_group_range{now}. Allow them for every group with "
        "'sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"' (make it permanent in /etc/sysctl.d/)"
    )


def open_ping_socket(family: socket.AddressFamily) -> socket.socket:
    """An unprivileged ICMP socket; NoPermission (with what to do) when the system refuses it."""
    proto = PROTO_ICMPV6 if family == socket.AF_INET6 else PROTO_ICMP
    try:
        return socket.socket(family, socket.SOCK_DGRAM, proto)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise NoPermission(ping_socket_help()) from exc
        if exc.errno in (errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT, errno.ESOCKTNOSUPPORT):
            raise NoPermission(f"this system has no unprivileged ICMP sockets ({exc.strerror})") from exc
        raise


@dataclass(frozen=True)
class QueuedError:
    """One ICMP error from a socket's error queue: what the router said about which of our datagrams."""

    icmp_type: int
    icmp_code: int
    offender: str  # the router (or destination) that sent it
    dst: str  # where our datagram was going
    dport: int  # its destination port (ping sockets: the identifier)
    data: bytes  # what the router quoted of our datagram beyond its transport header (ping: the ICMP message)
    received_at: float  # kernel receive time, wall clock (s)


def set_hop_limit(sock: socket.socket, v6: bool, ttl: int, current: int | None) -> int:
    """Set the TTL / hop limit for the next sends unless it already is ``ttl``; returns it."""
    if ttl != current:
        if v6:
            sock.setsockopt(SOL_IPV6, IPV6_UNICAST_HOPS, ttl)
        else:
            sock.setsockopt(SOL_IP, socket.IP_TTL, ttl)
    return ttl


def enable_error_queue(sock: socket.socket, v6: bool) -> None:
    """ICMP errors to the error queue (IP_RECVERR), kernel receive stamps, a roomy buffer, non-blocking."""
    sock.setsockopt(*((SOL_IPV6, IPV6_RECVERR) if v6 else (SOL_IP, IP_RECVERR)), 1)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.setblocking(False)


PENDING_ERROR_TRIES = 8


class Wake:
    """An eventfd that is readable while a network holds ICMP errors it read early (see ``ProbeSocket``), so a
    caller that waits on the network's descriptors (``loop.TraceLoop``, or ``recv``'s own poll) still wakes for
    them although the socket itself has nothing left to read."""

    def __init__(self) -> None:
        self.fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)

    def set(self) -> None:
        os.eventfd_write(self.fd, 1)

    def clear(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.eventfd_read(self.fd)

    def close(self) -> None:
        # Once only: a second os.close could close whatever descriptor has since reused the number.
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self) -> None:
        # A network dropped without close(): its sockets close when collected, and so does this descriptor.
        self.close()


class ProbeSocket:
    """One unprivileged datagram socket (ping or UDP) as a prober uses it: a TTL per send, the kernel's send stamp
    of each datagram, and the ICMP errors about them, both from the socket's error queue (``tx_stamps``).

    Errors read while looking for a send stamp are kept until ``errors()`` and signalled on ``wake``."""

    def __init__(self, sock: socket.socket, v6: bool, wake: Wake, counts: SendStampCounts) -> None:
        self.sock = sock
        self.v6 = v6
        self.ttl: int | None = None
        enable_error_queue(sock, v6)
        self.kernel_stamps = enable_send_stamps(sock)
        self._keys = SendKeys()
        self._wake = wake
        self._early: list[QueuedError] = []
        self._counts = counts

    def send(self, message: bytes, address: tuple, ttl: int) -> float:
        """Set the TTL and sendto; return the wall-clock send time (s): the kernel's stamp when it has queued one,
        else the one read in Python just before the call (early by whatever ran in between, the RTT long by as
        much). Raises OSError if the send fails.

        An ICMP error for an earlier probe also leaves the socket's pending error set, which the next send reports
        (and clears) instead of sending; the error itself waits in the error queue, so the send is simply
        repeated. More errors can arrive between two tries (a busy agent's socket gets dozens a second), so it is
        repeated a few times before the error counts."""
        self.ttl = set_hop_limit(self.sock, self.v6, ttl, self.ttl)
        for attempt in range(PENDING_ERROR_TRIES):
            try:
                sent_at = time.time()
                self.sock.sendto(message, address)
                break
            except OSError as exc:
                if exc.errno not in _NETWORK_ERRNOS or attempt == PENDING_ERROR_TRIES - 1:
                    raise
        if self.kernel_stamps:
            self._keys.sent()
            stamp = self._read(want_stamp=True)
            if stamp is not None:
                self._counts.kernel += 1
                return stamp
        # No kernel stamp (the option was refused, or the driver stamps late or never): the Python stamp, which
        # is early by the time between it and the datagram leaving.
        self._counts.python += 1
        return sent_at

    def errors(self) -> list[QueuedError]:
        """Every ICMP error read early plus those waiting in the error queue (at most MAX_READS_PER_CALL)."""
        self._read(want_stamp=False)
        out, self._early = self._early, []
        return out

    def _read(self, want_stamp: bool) -> float | None:
        """Read the error queue: ICMP errors are kept, send stamps of earlier sends dropped. With ``want_stamp``,
        stop at the stamp of the send just made and return it (None if it is not there)."""
        v6 = self.v6
        origin = SO_EE_ORIGIN_ICMP6 if v6 else SO_EE_ORIGIN_ICMP
        level, ctype = (SOL_IPV6, IPV6_RECVERR) if v6 else (SOL_IP, IP_RECVERR)
        early = len(self._early)
        found = None
        for _ in range(MAX_READS_PER_CALL):
            try:
                data, ancdata, _flags, addr = self.sock.recvmsg(4096, _ERR_CMSG_SIZE, MSG_ERRQUEUE)
            except (BlockingIOError, InterruptedError):
                break
            ee = sent = None
            for lvl, typ, cdata in ancdata:
                if lvl == level and typ == ctype and len(cdata) >= _EXTENDED_ERR.size:
                    ee = cdata
                elif lvl == socket.SOL_SOCKET and typ == SCM_TIMESTAMPING:
                    sent = software_stamp(cdata)
            if ee is None:
                continue
            _errno, ee_origin, ee_type, ee_code, _pad, _info, ee_data = _EXTENDED_ERR.unpack_from(ee)
            if ee_origin == SO_EE_ORIGIN_TIMESTAMPING:
                if want_stamp and sent is not None and self._keys.whose(ee_data) == "this":
                    found = sent
                    break
                continue  # an earlier send's stamp that came after its send returned
            offender = _offender(ee[_EXTENDED_ERR.size :])
            if ee_origin != origin or offender is None:
                continue  # a local error (e.g. EMSGSIZE), not an answer from the network
            stamp = kernel_stamp(ancdata)
            dst = addr[0].split("%")[0]
            self._early.append(QueuedError(ee_type, ee_code, offender, dst, addr[1], data, stamp or time.time()))
        if want_stamp and len(self._early) > early:
            self._wake.set()
        return found


def _offender(sockaddr: bytes) -> str | None:
    """The address in the SO_EE_OFFENDER sockaddr that follows the extended error."""
    if len(sockaddr) < 2:
        return None
    (fam,) = struct.unpack_from("=H", sockaddr)
    if fam == socket.AF_INET and len(sockaddr) >= 8:
        return socket.inet_ntop(socket.AF_INET, sockaddr[4:8])
    if fam == socket.AF_INET6 and len(sockaddr) >= 24:
        return socket.inet_ntop(socket.AF_INET6, sockaddr[8:24])
    return None


class PingSocketNetwork(CountsSendStamps):
    """One ping socket for the life of a trace, for ``family`` (AF_INET or AF_INET6); ICMP echo probes only."""

    # Every reply recv returns carries the kernel's receive time (SO_TIMESTAMPNS, on the error queue too): the
    # tracer may read late, one wake-up per probe sent rather than one per packet (``network.Network``).
    stamps_replies = True

    def __init__(self, family: socket.AddressFamily = socket.AF_INET) -> None:
        self._v6 = family == socket.AF_INET6
        sock = open_ping_socket(family)
        try:
            sock.bind(("::" if self._v6 else "0.0.0.0", 0))
            # The kernel picked the identifier (the "port"); echo replies are delivered to us by it alone.
            self.icmp_ident: int = sock.getsockname()[1]
            self._wake = Wake()
            self._counts = SendStampCounts()
            try:
                self._probe = ProbeSocket(sock, self._v6, self._wake, self._counts)
            except BaseException:
                self._wake.close()
                raise
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN | select.POLLERR)
        self._poll.register(self._wake.fd, select.POLLIN)
        self._local: dict[str, str] = {}  # destination -> our source address towards it

    def send(self, packet: bytes, dst: str) -> float:
        if dst not in self._local:
            self._local[dst] = source_address_for(dst)
        return self._probe.send(packet[ip_header_length(packet) :], (dst, 0), probe_ttl(packet))

    def poll_fds(self) -> list[int]:
        """The descriptors ``recv`` reads (readable or in error: something is waiting; the wake: errors read early
        by ``send``), for one poll over many networks (``loop.TraceLoop``)."""
        return [self._sock.fileno(), self._wake.fd]

    def recv(self, timeout_s: float) -> list[tuple[bytes, float]]:
        out: list[tuple[bytes, float]] = []
        if not self._poll.poll(max(0.0, timeout_s) * 1000.0):
            return out
        self._wake.clear()
        proto = PROTO_ICMPV6 if self._v6 else PROTO_ICMP
        for e in self._probe.errors():
            packet = icmp_error_packet(
                e.offender, self._local_for(e.dst), e.dst, e.icmp_type, e.icmp_code, proto, e.data
            )
            out.append((packet, e.received_at))
        self._read_replies(out)
        return out

    def _local_for(self, dst: str) -> str:
        local = self._local.get(dst)
        return local if local is not None else ("::" if self._v6 else "0.0.0.0")

    def _read_replies(self, out: list[tuple[bytes, float]]) -> None:
        proto = PROTO_ICMPV6 if self._v6 else PROTO_ICMP
        for _ in range(MAX_READS_PER_CALL):
            try:
                data, ancdata, _flags, addr = self._sock.recvmsg(4096, _REPLY_CMSG_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                # The errno of an ICMP error already read from the error queue (EHOSTUNREACH for a
                # time-exceeded): reported once by the next ordinary read. Nothing was lost.
                continue
            src = addr[0].split("%")[0]
            stamp = kernel_stamp(ancdata)
            packet = with_ip_header(src, self._local_for(src), proto, data)
            out.append((packet, stamp if stamp is not None else time.time()))

    def close(self) -> None:
        self._sock.close()
        self._wake.close()
