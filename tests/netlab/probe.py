"""Minimal ICMP echo prober used to check the lab itself (iputils-ping may be missing).

Run inside a namespace, as root: `python -m tests.netlab.probe TARGET --ttls 1,2,3 --count 20
--interval-ms 10`. It sends `count` rounds of echo requests, one per TTL per round, and prints JSON:
{"ttls": {"1": {"sent": 20, "replies": [{"seq": 0, "from": "198.18.0.2", "type": 11, "rtt_ms": 4.1}, ...]}}}.
Replies are matched on the echo identifier and sequence (for time-exceeded and unreachable messages, on
the copy of our request they carry). Receive times are kernel timestamps (SO_TIMESTAMPNS) so a slow
wake-up of this process does not inflate the RTT; the send time is read just before sendto().
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import struct
import sys
import time

ICMP_ECHO_REPLY = 0
ICMP_UNREACH = 3
ICMP_ECHO = 8
ICMP_TIME_EXCEEDED = 11
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(ident: int, seq: int, payload: bytes = b"pingmos-netlab-probe") -> bytes:
    header = struct.pack("!BBHHH", ICMP_ECHO, 0, 0, ident, seq)
    return struct.pack("!BBHHH", ICMP_ECHO, 0, checksum(header + payload), ident, seq) + payload


def parse_reply(packet: bytes, ident: int) -> tuple[int, int] | None:
    """Return (icmp type, our sequence number) if `packet` (IP header included) answers one of our probes."""
    ihl = (packet[0] & 0x0F) * 4
    icmp = packet[ihl:]
    if len(icmp) < 8:
        return None
    itype = icmp[0]
    if itype == ICMP_ECHO_REPLY:
        rid, rseq = struct.unpack_from("!HH", icmp, 4)
        return (itype, rseq) if rid == ident else None
    if itype in (ICMP_TIME_EXCEEDED, ICMP_UNREACH):
        inner = icmp[8:]
        if len(inner) < 20:
            return None
        inner_ihl = (inner[0] & 0x0F) * 4
        orig = inner[inner_ihl:]
        if inner[9] != socket.IPPROTO_ICMP or len(orig) < 8 or orig[0] != ICMP_ECHO:
            return None
        rid, rseq = struct.unpack_from("!HH", orig, 4)
        return (itype, rseq) if rid == ident else None
    return None


def probe(target: str, ttls: list[int], count: int, interval_s: float, timeout_s: float) -> dict:
    """Send `count` rounds of probes (one per TTL per round, `interval_s` apart); wait `timeout_s` after
    the last one. Returns {ttl: {"sent": n, "replies": [...]}}; a probe with no reply is simply absent."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.setblocking(False)
    ident = os.getpid() & 0xFFFF
    sent: dict[int, tuple[int, int]] = {}  # seq -> (ttl, send time ns, CLOCK_REALTIME like the kernel stamp)
    result = {ttl: {"sent": 0, "replies": []} for ttl in ttls}
    answered: set[int] = set()
    schedule = [(r, ttl) for r in range(count) for ttl in ttls]
    start = time.monotonic()
    next_send = start
    deadline = None
    i = 0
    while True:
        now = time.monotonic()
        if i < len(schedule) and now >= next_send:
            seq = i & 0xFFFF
            ttl = schedule[i][1]
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
            packet = echo_request(ident, seq)
            sent[seq] = (ttl, time.time_ns())
            sock.sendto(packet, (target, 0))
            result[ttl]["sent"] += 1
            i += 1
            next_send = start + i * interval_s
            if i == len(schedule):
                deadline = time.monotonic() + timeout_s
            continue
        wake = next_send if i < len(schedule) else deadline
        if i == len(schedule) and (now >= deadline or len(answered) == len(schedule)):
            break
        readable, _, _ = select.select([sock], [], [], max(0.0, wake - now))
        if not readable:
            continue
        while True:
            try:
                data, ancdata, _, addr = sock.recvmsg(2048, socket.CMSG_SPACE(16))
            except BlockingIOError:
                break
            rx_ns = time.time_ns()
            for level, kind, value in ancdata:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", value[:16])
                    rx_ns = sec * 1_000_000_000 + nsec
            match = parse_reply(data, ident)
            if match is None or match[1] not in sent or match[1] in answered:
                continue
            itype, seq = match
            answered.add(seq)
            ttl, tx_ns = sent[seq]
            result[ttl]["replies"].append({"seq": seq, "from": addr[0], "type": itype, "rtt_ms": (rx_ns - tx_ns) / 1e6})
    sock.close()
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("target")
    p.add_argument("--ttls", default="64", help="comma separated TTLs, e.g. 1,2,3")
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--interval-ms", type=float, default=10.0)
    p.add_argument("--timeout-ms", type=float, default=1000.0)
    a = p.parse_args(argv)
    ttls = [int(t) for t in a.ttls.split(",")]
    if a.count * len(ttls) > 65536:
        p.error("at most 65536 probes per run (16-bit sequence numbers)")
    res = probe(a.target, ttls, a.count, a.interval_ms / 1000, a.timeout_ms / 1000)
    json.dump({"ttls": {str(k): v for k, v in res.items()}}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
