"""UDP probes without privileges: ordinary UDP sockets with a TTL per send and ICMP errors from the error queue
(``IP_RECVERR``), as ``tracepath`` does. Any user may do this; no sysctl is involved.

Behind the ``Network`` interface it takes the tracer's complete UDP probe packets and sends their payload from
an ordinary socket of its own, one per source port the tracer uses (so a stable flow stays one flow, and
``--flows N`` gives N). What differs from raw sockets, and how it is hidden:

- The kernel picks the source port and the IPv4 identification field, so the sequence cannot ride in the IP id.
  It rides in the first two payload bytes instead (IPv6 probes carry it there already).
- The error queue reports the ICMP type, code, offender and receive time, plus what the router quoted of our
  datagram *after* its UDP header. The reply handed to ``parse_reply`` is rebuilt from that with the tracer's own
  source port and the sequence from the quoted payload, so the tracer matches it as it would a raw reply.
- A router that quotes only the 8 bytes RFC 792 requires (some old ones) quotes no payload: such a reply cannot be
  told apart and its probe counts as lost. Linux and RFC 1812 routers quote far more; ICMPv6 quotes the lot.
- The destination's port unreachable arrives the same way (offender = destination): reached. A UDP answer from a
  service listening on the port is read and dropped (the raw mode cannot see those either).
- The send time is the kernel's stamp from the same error queue (``tx_stamps``, via
  ``ping_socket_network.ProbeSocket``), not a ``time.time()`` read before ``sendto()``.
"""

from __future__ import annotations

import select
import socket
import struct
import time

from pingmos.engine.network import source_address_for
from pingmos.engine.ping_socket_network import MAX_READS_PER_CALL, ProbeSocket, Wake
from pingmos.engine.tx_stamps import CountsSendStamps, SendStampCounts
from pingmos.engine.wire import (
    PROTO_UDP,
    icmp_error_packet,
    ip_header_length,
    probe_destination,
    probe_fields,
)

MAX_SOCKETS = 64  # one per source port of the tracer (flows); more means something is wrong


class UdpSocketNetwork(CountsSendStamps):
    """Unprivileged UDP probes for ``family`` (AF_INET or AF_INET6)."""

    icmp_ident = None  # UDP only
    # Every reply recv returns carries the kernel's receive time (SO_TIMESTAMPNS, on the error queue too): the
    # tracer may read late, one wake-up per probe sent rather than one per packet (``network.Network``).
    stamps_replies = True

    def __init__(self, family: socket.AddressFamily = socket.AF_INET) -> None:
        self._family = family
        self._v6 = family == socket.AF_INET6
        self._wake = Wake()
        self._counts = SendStampCounts()  # over all sockets, kept after close
        self._poll = select.poll()
        self._poll.register(self._wake.fd, select.POLLIN)
        self._socks: dict[int, ProbeSocket] = {}  # the tracer's source port -> our socket for it
        self._local: dict[str, str] = {}

    def _socket_for(self, sport: int) -> ProbeSocket:
        probe = self._socks.get(sport)
        if probe is None:
            if len(self._socks) >= MAX_SOCKETS:
                raise OSError(f"more than {MAX_SOCKETS} UDP source ports in one trace")
            sock = socket.socket(self._family, socket.SOCK_DGRAM)
            try:
                sock.bind(("::" if self._v6 else "0.0.0.0", 0))
                probe = ProbeSocket(sock, self._v6, self._wake, self._counts)
            except BaseException:
                sock.close()
                raise
            self._poll.register(sock, select.POLLIN | select.POLLERR)
            self._socks[sport] = probe
        return probe

    def send(self, packet: bytes, dst: str) -> float:
        fields = probe_fields(packet)
        if fields["proto"] != "udp":
            raise ValueError("UdpSocketNetwork sends UDP probes only")
        if dst not in self._local:
            self._local[dst] = source_address_for(dst)
        probe = self._socket_for(fields["sport"])
        payload = bytearray(packet[ip_header_length(packet) + 8 :])
        if not self._v6:
            struct.pack_into("!H", payload, 0, fields["seq"])  # the IPv4 id the kernel will not let us set
        return probe.send(bytes(payload), (probe_destination(packet), fields["dport"]), fields["ttl"])

    def poll_fds(self) -> list[int]:
        """The descriptors ``recv`` reads (one per source port, a new one after the first send from a port; and
        the wake: errors read early by ``send``), for one poll over many networks (``loop.TraceLoop``)."""
        return [self._wake.fd, *(p.sock.fileno() for p in self._socks.values())]

    def recv(self, timeout_s: float) -> list[tuple[bytes, float]]:
        out: list[tuple[bytes, float]] = []
        if not self._socks or not self._poll.poll(max(0.0, timeout_s) * 1000.0):
            if not self._socks:
                time.sleep(max(0.0, timeout_s))
            return out
        self._wake.clear()
        for sport, probe in self._socks.items():
            for e in probe.errors():
                if len(e.data) < 2:
                    continue  # the router quoted no payload: the sequence is unknown (see module doc)
                (seq,) = struct.unpack_from("!H", e.data)
                udp_header = struct.pack("!HHHH", sport, e.dport, 8 + len(e.data), 0)
                local = self._local.get(e.dst) or ("::" if self._v6 else "0.0.0.0")
                packet = icmp_error_packet(
                    e.offender, local, e.dst, e.icmp_type, e.icmp_code, PROTO_UDP, udp_header + e.data, seq
                )
                out.append((packet, e.received_at))
            self._drain(probe.sock)
        return out

    def _drain(self, sock: socket.socket) -> None:
        for _ in range(MAX_READS_PER_CALL):
            try:
                sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # the pending errno of an error already read from the queue

    def close(self) -> None:
        for probe in self._socks.values():
            probe.sock.close()
        self._socks.clear()
        self._wake.close()
