"""Kernel send stamps for unprivileged datagram sockets (UDP with ``IP_RECVERR``, ICMP "ping" sockets).

A stamp read in Python just before ``sendto()`` is early by whatever runs in between: a thread switch, a garbage
collection, the scheduler giving the CPU to another process. On a starved machine that adds milliseconds to every
RTT. With ``SO_TIMESTAMPING`` (``SOF_TIMESTAMPING_TX_SOFTWARE``) the kernel stamps each datagram as the driver
takes it (``skb_tx_timestamp``; loopback and veth do, as do most NIC drivers) and queues the stamp on the socket's
error queue (``MSG_ERRQUEUE``), the same queue the ICMP errors of ``IP_RECVERR`` arrive on. Each entry carries:

- an ``SCM_TIMESTAMPING`` cmsg: three ``struct timespec``; the first is the software stamp, CLOCK_REALTIME, the
  clock of the ``SO_TIMESTAMPNS`` receive stamps it is subtracted from (so no conversion is needed);
- an ``IP_RECVERR`` / ``IPV6_RECVERR`` cmsg, a ``sock_extended_err`` whose ``ee_origin`` is
  ``SO_EE_ORIGIN_TIMESTAMPING`` (ICMP errors say ``SO_EE_ORIGIN_ICMP`` / ``ICMP6``: that is how the two are told
  apart) and whose ``ee_data`` is the ``SOF_TIMESTAMPING_OPT_ID`` key: a per-socket count of the datagrams sent
  since the option was set, from 0. A send refused before its datagram is built gives its key back
  (``__ip_append_data`` / ``__ip6_append_data`` on error; ``tests/engine/test_tx_stamps.py`` checks it: sends
  refused by a pending ECONNREFUSED leave the keys of the successful ones consecutive), so it counts successful
  sends.
- ``SOF_TIMESTAMPING_OPT_TSONLY``: the stamp comes without a copy of the datagram (less to read, and allowed to
  unprivileged sockets whatever ``net.core.tstamp_allow_data`` says).

The raw-socket network (``network.RawSocketNetwork``, also behind the probe helper) uses the same flags and reads
the stamp the same way: right after ``sendto()``, where drivers that stamp on transmit have already queued it.
"""

from __future__ import annotations

import socket
import struct

from pingmos.engine.network import (
    SO_TIMESTAMPING,
    SOF_TIMESTAMPING_OPT_ID,
    SOF_TIMESTAMPING_OPT_TSONLY,
    SOF_TIMESTAMPING_SOFTWARE,
    SOF_TIMESTAMPING_TX_SOFTWARE,
)

# <linux/errqueue.h>: sock_extended_err.ee_origin of a send stamp; the cmsg type equals the socket option
# (SCM_TIMESTAMPING == SO_TIMESTAMPING, <asm-generic/socket.h>).
SO_EE_ORIGIN_TIMESTAMPING = 4
SCM_TIMESTAMPING = SO_TIMESTAMPING
SEND_STAMP_FLAGS = (
    SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY
)
_TIMESPEC = struct.Struct("@qq")  # struct timespec (64-bit time_t)
_KEY_MASK = 0xFFFFFFFF  # ee_data is a u32: the key wraps


def enable_send_stamps(sock: socket.socket) -> bool:
    """Ask the kernel for a software send stamp of every datagram ``sock`` sends; False if it refuses."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, SEND_STAMP_FLAGS)
    except OSError:
        return False
    return True


def software_stamp(cdata: bytes) -> float | None:
    """The software stamp (wall clock, s) of an ``SCM_TIMESTAMPING`` cmsg's data; None if it holds none."""
    if len(cdata) < _TIMESPEC.size:
        return None
    sec, nsec = _TIMESPEC.unpack_from(cdata)  # [0] software, [1] deprecated, [2] hardware
    if not sec and not nsec:
        return None
    return sec + nsec * 1e-9


class SendStampCounts:
    """How many sends used the kernel's stamp and how many the Python fallback, over every socket of a network
    (tests and benchmarks read them to know which stamp an RTT started from)."""

    __slots__ = ("kernel", "python")

    def __init__(self) -> None:
        self.kernel = 0
        self.python = 0


class CountsSendStamps:
    """For a network whose sockets share one ``SendStampCounts`` in ``self._counts``: the two counts as properties
    (tests and benchmarks read them to know which stamp an RTT started from)."""

    _counts: SendStampCounts

    @property
    def kernel_send_stamps(self) -> int:
        """Sends whose time is the kernel's stamp."""
        return self._counts.kernel

    @property
    def python_send_stamps(self) -> int:
        """Sends that fell back to the stamp read in Python before ``sendto()``."""
        return self._counts.python


class SendKeys:
    """The ``OPT_ID`` key the kernel gives each successful send on one socket, and which queued stamp is whose.

    ``sent()`` after every successful ``sendto()`` returns the key that send should carry. ``whose(key)`` says
    what a stamp read afterwards belongs to: ``"this"`` (the send just made), or ``"stale"`` (an earlier send's
    stamp that came after its send had returned; its RTT already used the Python stamp). A key *ahead* of the
    expected one can only be this send's (stamps are read right after each send, by the one thread that sends):
    the kernel counted a send we saw fail (a send refused after its datagram was built, e.g. ENOBUFS from the
    queue discipline). The count is then resynchronised to it."""

    __slots__ = ("_next", "expected")

    def __init__(self) -> None:
        self._next = 0
        self.expected: int | None = None  # the key of the last successful send

    def sent(self) -> int:
        key = self._next
        self._next = (key + 1) & _KEY_MASK
        self.expected = key
        return key

    def whose(self, key: int) -> str:
        if self.expected is None:
            return "stale"
        ahead = (key - self.expected) & _KEY_MASK
        if ahead == 0:
            return "this"
        if ahead < 1 << 31:
            self.expected = key
            self._next = (key + 1) & _KEY_MASK
            return "this"
        return "stale"
