#!/usr/bin/env python3
"""How much a starved machine adds to unprivileged RTTs, with Python send stamps and with the kernel's (as root):
`.venv/bin/python scripts/bench_send_stamps.py [--stress 4] [--gil-threads 2]`.

Not a test: it prints figures. Probes go to 127.0.0.1 only (a closed UDP port: the kernel answers with a port
unreachable) through ``UdpSocketNetwork``, the unprivileged network for UDP probes (ping sockets share its send
path, ``ping_socket_network.ProbeSocket``), in blocks that alternate between

- **python**: the send time is ``time.time()`` read just before ``sendto()`` (main before kernel send stamps; here
  the same code with ``SO_TIMESTAMPING`` refused, which falls back to exactly that stamp), and
- **kernel**: the send time is the kernel's software TX stamp (``tx_stamps``).

The true loopback RTT of every probe comes from an independent capture: an ``AF_PACKET`` socket on ``lo`` with
kernel stamps sees the probe and its port unreachable as ``lo`` hands each to the stack (``netif_rx``; a packet
socket sees each loopback packet once, as PACKET_HOST), whichever way the sender stamps. Printed per stamp:
probes, the median, p99 and max of (RTT the network reported - true RTT) in ms, which stamp the network used, and
the CPU time of this process in those blocks (every thread: the capture's and the busy ones too). The figure the
target speaks to is the excess: what a thread switch between the stamp and ``sendto()`` adds to every RTT.

Load: ``--stress N`` starts ``stress-ng --cpu N`` for the run (stopped by its pid at the end); ``--gil-threads N``
runs N busy Python threads in this process, the interpreter-lock contention of an agent with many engine threads.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import struct
import sys
import threading
import time
from pathlib import Path

from cpu_stress import StressUnavailable, stress_ng  # scripts/ is sys.path[0] when a script runs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pingmos.engine import tx_stamps  # noqa: E402
from pingmos.engine.packets import UdpTemplate  # noqa: E402
from pingmos.engine.udp_socket_network import UdpSocketNetwork  # noqa: E402
from pingmos.engine.wire import parse_reply  # noqa: E402

ETH_P_IP = 0x0800
SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("@qq")


class LoopbackCapture(threading.Thread):
    """Kernel-stamped passages over ``lo`` of our probes (UDP to ``port``) and of their port unreachables, by
    the probe's sequence (the first two payload bytes, as UdpSocketNetwork sends it)."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.bind(("lo", ETH_P_IP))
        self.sock.settimeout(0.2)
        self.probe_at: dict[int, float] = {}
        self.reply_at: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                data, anc, _flags, addr = self.sock.recvmsg(2048, socket.CMSG_SPACE(16))
            except TimeoutError:
                continue
            if len(data) < 28 or data[0] != 0x45:
                continue
            stamp = None
            for level, ctype, cdata in anc:
                if level == socket.SOL_SOCKET and ctype == SO_TIMESTAMPNS:
                    sec, nsec = _TIMESPEC.unpack_from(cdata)
                    stamp = sec + nsec * 1e-9
            if stamp is None:
                continue
            if data[9] == socket.IPPROTO_UDP and struct.unpack_from("!H", data, 22)[0] == self.port:
                self.probe_at.setdefault(struct.unpack_from("!H", data, 28)[0], stamp)
            elif data[9] == socket.IPPROTO_ICMP and data[20] == 3 and len(data) >= 58:
                q = 28  # the quoted IPv4 header (20 bytes, no options) + UDP header + our payload
                if data[q + 9] == socket.IPPROTO_UDP and struct.unpack_from("!H", data, q + 22)[0] == self.port:
                    self.reply_at.setdefault(struct.unpack_from("!H", data, q + 28)[0], stamp)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_block(kind: str, port: int, seqs: range, interval_s: float) -> tuple[dict[int, float], UdpSocketNetwork]:
    """Send one probe per seq; return the RTT (s) the network's stamps give each, as the tracer computes it."""
    real = tx_stamps.SO_TIMESTAMPING
    if kind == "python":
        tx_stamps.SO_TIMESTAMPING = 0x7FFF  # refused by the kernel: the network falls back to time.time()
    try:
        net = UdpSocketNetwork(socket.AF_INET)
        template = UdpTemplate("127.0.0.1", "127.0.0.1", 40000, port)
        net.send(template.packet(64, seqs[0]), "127.0.0.1")  # opens the socket (under the patched option)
    finally:
        tx_stamps.SO_TIMESTAMPING = real
    sent: dict[int, float] = {}
    rtts: dict[int, float] = {}

    def read(timeout_s: float) -> None:
        for packet, received_at in net.recv(timeout_s):
            reply = parse_reply(packet)
            if reply is not None and reply.key[3] in sent:
                rtts[reply.key[3]] = received_at - sent[reply.key[3]]

    next_at = time.monotonic()
    for seq in seqs[1:]:
        sent[seq] = net.send(template.packet(64, seq), "127.0.0.1")
        next_at += interval_s
        read(max(0.0, next_at - time.monotonic()))
    deadline = time.monotonic() + 1.0
    while len(rtts) < len(sent) and time.monotonic() < deadline:
        read(0.05)
    net.close()
    return rtts, net


def busy(stop: threading.Event) -> None:
    x = 0
    while not stop.is_set():
        x += 1


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=10, help="blocks per stamp, alternating (default 10)")
    parser.add_argument("--probes", type=int, default=200, help="probes per block (default 200)")
    parser.add_argument("--interval-ms", type=float, default=5.0, help="between probes (default 5)")
    parser.add_argument("--stress", type=int, default=0, help="run stress-ng --cpu N meanwhile (default: none)")
    parser.add_argument("--gil-threads", type=int, default=0, help="busy Python threads in this process")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_send_stamps: needs root for the loopback capture (AF_PACKET)", file=sys.stderr)
        return 2

    stress = contextlib.ExitStack()  # stress-ng --cpu N for the run (cpu_stress.stress_ng)
    try:
        stress.enter_context(stress_ng(args.stress, "bench_send_stamps"))
    except StressUnavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    stop_busy = threading.Event()
    for _ in range(args.gil_threads):
        threading.Thread(target=busy, args=(stop_busy,), daemon=True).start()
    port = closed_port()
    capture = LoopbackCapture(port)
    capture.start()
    run_block("kernel", port, range(60000, 60010), 0.001)  # warm-up: imports and scapy's template, not counted
    measured: list[tuple[str, int, float]] = []  # (stamp, seq, RTT the network reported in s)
    used: dict[str, list[int]] = {"python": [0, 0], "kernel": [0, 0]}
    cpu_s: dict[str, float] = {"python": 0.0, "kernel": 0.0}
    missing = {"python": 0, "kernel": 0}  # unanswered within the block, or not in the capture
    seq = 1
    try:
        for block in range(2 * args.blocks):
            kind = ("python", "kernel")[block % 2]
            seqs = range(seq, seq + args.probes + 1)
            seq += args.probes + 1
            t0 = os.times()
            rtts, net = run_block(kind, port, seqs, args.interval_ms / 1000.0)
            t1 = os.times()
            cpu_s[kind] += (t1.user - t0.user) + (t1.system - t0.system)
            used[kind][0] += net.kernel_send_stamps
            used[kind][1] += net.python_send_stamps
            measured += [(kind, s, rtt_s) for s, rtt_s in rtts.items()]
            missing[kind] += len(seqs) - 1 - len(rtts)
    finally:
        stop_busy.set()
        stress.close()

    # The capture thread reads late on a loaded machine (its stamps are the kernel's: that changes nothing); let it
    # finish the queue before matching.
    while True:
        before = len(capture.probe_at) + len(capture.reply_at)
        time.sleep(0.5)
        if len(capture.probe_at) + len(capture.reply_at) == before:
            break
    capture.stop.set()
    excess_ms: dict[str, list[float]] = {"python": [], "kernel": []}
    for kind, s, rtt_s in measured:
        if s in capture.probe_at and s in capture.reply_at:
            excess_ms[kind].append((rtt_s - (capture.reply_at[s] - capture.probe_at[s])) * 1000.0)
        else:
            missing[kind] += 1

    load = f"stress-ng --cpu {args.stress}" if args.stress else "no stress-ng"
    print(f"UDP-socket probes to 127.0.0.1, {args.interval_ms:g} ms apart, {load}, {args.gil_threads} busy threads")
    print("excess = RTT the network reported - true RTT (capture on lo, kernel-stamped), ms")
    print(
        f"{'send stamp':<11} {'probes':>6} {'median':>8} {'p99':>8} {'p99.9':>8} {'max':>8} {'>1 ms':>6}"
        f"  {'kernel/python stamps':>20} {'left out':>8}  cpu s"
    )
    for kind in ("python", "kernel"):
        xs = excess_ms[kind]
        if not xs:
            print(f"{kind:<11} no probes matched")
            continue
        k, p = used[kind]
        print(
            f"{kind:<11} {len(xs):>6} {statistics.median(xs):>8.3f} {percentile(xs, 99):>8.3f}"
            f" {percentile(xs, 99.9):>8.3f} {max(xs):>8.3f} {sum(x > 1.0 for x in xs):>6}"
            f"  {f'{k}/{p}':>20} {missing[kind]:>8}  {cpu_s[kind]:.2f}"
        )
    print("(left out: unanswered within its block's second of grace, or not in the capture)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
