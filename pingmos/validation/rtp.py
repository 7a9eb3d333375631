"""An RTP-like voice stream over real UDP sockets, for the validation study's lab mode (``validate_mos --lab``).

``python -m pingmos.validation.rtp send --to ADDR --port P --payload FILE --count N`` sends N packets 20 ms apart,
each an RTP header (RFC 3550: version 2, payload type 0 = PCMU, sequence number, timestamp in 8 kHz samples, SSRC)
followed by the sender's wall-clock send time (int64 ns, CLOCK_REALTIME) and one 20 ms G.711 mu-law frame (160
bytes) from FILE (raw codes, cycled). ``receive --bind ADDR --port P --count N --timeout S`` prints "READY" once
bound, then collects packets until all N came or S seconds passed, and prints one JSON line: ``{"delays_ms":
[...]}``, the one-way delay of packet k (the kernel's receive time stamp, SO_TIMESTAMPNS, less the send time; both
clocks are the machine's, as sender and receiver run on one host in different network namespaces), null where
it never came. A packet that comes twice keeps its first arrival.

Network safety: the sender refuses any destination outside the lab's 198.18.0.0/15 and loopback.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import select
import socket
import struct
import sys
import time

PACKET_NS = 20_000_000
FRAME_BYTES = 160
HEADER = struct.Struct("!BBHIIq")  # RTP: V/P/X/CC, M/PT, sequence, timestamp, SSRC; then the send time (ns)
PAYLOAD_TYPE_PCMU = 0
SSRC = 0x70696E67  # "ping"
ALLOWED = (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("127.0.0.0/8"))
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def allowed_destination(address: str) -> bool:
    """Whether ``address`` is in the lab's range (198.18.0.0/15) or loopback: the only places this sends to."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in ALLOWED)


def packet(index: int, frame: bytes, sent_ns: int) -> bytes:
    """Packet ``index`` of the stream carrying ``frame`` (160 bytes), stamped ``sent_ns``."""
    timestamp = (index * FRAME_BYTES) & 0xFFFFFFFF  # 8 kHz samples
    return HEADER.pack(0x80, PAYLOAD_TYPE_PCMU, index & 0xFFFF, timestamp, SSRC, sent_ns) + frame


def parse(data: bytes) -> tuple[int, int] | None:
    """(RTP timestamp / 160 = packet index, send time ns) of a packet of this stream, None for anything else."""
    if len(data) < HEADER.size:
        return None
    first, pt, _seq, ts, ssrc, sent_ns = HEADER.unpack_from(data)
    if first != 0x80 or pt != PAYLOAD_TYPE_PCMU or ssrc != SSRC:
        return None
    return ts // FRAME_BYTES, sent_ns


def send(address: str, port: int, payload: bytes, count: int) -> int:
    """Send ``count`` packets 20 ms apart (on a monotonic schedule: a late wake-up does not shift the rest)."""
    frames = max(1, len(payload) // FRAME_BYTES)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        start = time.monotonic_ns()
        for k in range(count):
            due = start + k * PACKET_NS
            wait = due - time.monotonic_ns()
            if wait > 0:
                time.sleep(wait / 1e9)
            frame = payload[(k % frames) * FRAME_BYTES : (k % frames + 1) * FRAME_BYTES]
            sock.sendto(packet(k, frame, time.time_ns()), (address, port))
    return count


def receive(address: str, port: int, count: int, timeout_s: float, ready=None) -> list[float | None]:
    """One-way delays (ms, None = never came) of packets 0..count-1, collected for at most ``timeout_s``."""
    delays: list[float | None] = [None] * count
    got = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind((address, port))
        if ready is not None:
            ready()
        deadline = time.monotonic() + timeout_s
        while got < count:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([sock], [], [], left)[0]:
                break
            data, ancillary, _flags, _addr = sock.recvmsg(2048, socket.CMSG_SPACE(16))
            arrived_ns = time.time_ns()
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                    sec, nsec = struct.unpack("qq", value[:16])
                    arrived_ns = sec * 1_000_000_000 + nsec
            parsed = parse(data)
            if parsed is None or not 0 <= parsed[0] < count or delays[parsed[0]] is not None:
                continue
            delays[parsed[0]] = (arrived_ns - parsed[1]) / 1e6
            got += 1
    return delays


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pingmos.validation.rtp", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send", help="send the stream")
    s.add_argument("--to", required=True, help="destination address (198.18.0.0/15 or loopback)")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--payload", required=True, help="file of mu-law codes, 160 bytes a frame")
    s.add_argument("--count", type=int, required=True)
    r = sub.add_parser("receive", help="receive the stream and print the delays as JSON")
    r.add_argument("--bind", required=True)
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--count", type=int, required=True)
    r.add_argument("--timeout", type=float, required=True, help="seconds to wait at most")
    args = parser.parse_args(argv)
    if args.count < 1:
        print("rtp: --count must be at least 1", file=sys.stderr)
        return 2
    if args.cmd == "send":
        if not allowed_destination(args.to):
            print(f"rtp: {args.to} is outside the lab (198.18.0.0/15) and loopback: refusing to send", file=sys.stderr)
            return 2
        try:
            with open(args.payload, "rb") as f:
                payload = f.read()
        except OSError as exc:
            print(f"rtp: cannot read {args.payload}: {exc.strerror}", file=sys.stderr)
            return 2
        if len(payload) < FRAME_BYTES:
            print(f"rtp: {args.payload} holds less than one 160-byte frame", file=sys.stderr)
            return 2
        send(args.to, args.port, payload, args.count)
        return 0
    delays = receive(args.bind, args.port, args.count, args.timeout, ready=lambda: print("READY", flush=True))
    print(json.dumps({"delays_ms": delays}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
