#!/usr/bin/env python3
"""What reading replies before sending costs the sends of ``engine.TraceLoop`` (the agent's engine: one thread,
many traces) or of ``Tracer.run`` (``--driver run``: a thread per trace, as the report and the window run them):
`.venv/bin/python scripts/bench_loop_order.py [--targets 100] [--interval 0.2] [--stress 2] [--driver run]`.

Not a test: it prints figures. Every probe goes to loopback only (127.0.0.1 ... 127.0.0.N, a closed UDP port: the
kernel answers with a port unreachable) through ``UdpSocketNetwork`` (unprivileged; kernel send and receive
stamps), one probe (TTL 1) per target and round, all targets in one ``TraceLoop`` and in phase (their rounds fall
due together, so wakes have bursts of replies to read); with ``--driver run`` each target's ``Tracer.run`` in a
thread of its own (each wake then has the previous round's reply to read). Mind the kernel's global ICMP budget
(``net.ipv4.icmp_msgs_per_sec`` 1000, burst 50, shared by every namespace of the machine, loopback included):
port unreachables beyond it are not sent, and those probes are lost; "answered" below says how many came.

The loop's thread is timed from the outside: every ``recv`` and ``send`` of every network is wrapped, and so is
its epoll's wait (one thread makes them all, so the calls between two waits are one wake); with ``--driver run``,
each trace thread's ``time.sleep`` (its wait for the next probe; a wake that did not sleep is not counted).
Printed:

- **wake to its first send**: per wake that sent, the time from the loop's return from its wait to the first
  send (with replies read first: reading and matching the burst, handing the samples to their observer), and
  how many of those wakes read replies before that send;
- **send lateness**: each probe's send stamp against its round's due time (the trace's schedule: round r is due
  r x interval after its earliest round's probe), median, p99 and max;
- **RTT**: median and p99 of the RTTs reported (loopback: a few tens of microseconds; a read that delayed a
  send would show here only if the send stamp were taken before the read);
- the send stamps' sources (kernel, python fallback) and the CPU time of the process.

``--tree PATH`` runs the pingmos of another tree (e.g. ``git worktree add /tmp/old-loop main``) for a before/after
pair, back to back; ``--stress N`` runs ``stress-ng --cpu N`` meanwhile (stopped by its pid at the end).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

from cpu_stress import StressUnavailable, stress_ng  # scripts/ is sys.path[0] when a script runs


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))] if ordered else float("nan")


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", type=int, default=100, help="loopback targets 127.0.0.1 ... (100, at most 250)")
    ap.add_argument("--interval", type=float, default=0.2, help="seconds between rounds (0.2)")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of probing (20)")
    ap.add_argument("--stress", type=int, default=0, help="run stress-ng --cpu N meanwhile (default: none)")
    ap.add_argument("--tree", help="the pingmos tree to run (default: this script's)")
    ap.add_argument(
        "--driver", choices=("loop", "run"), default="loop", help="loop: one TraceLoop (the agent); run: Tracer.run"
    )
    args = ap.parse_args()
    if not 1 <= args.targets <= 250:
        print("bench_loop_order: --targets must be 1 to 250 (127.0.0.1 to 127.0.0.250)", file=sys.stderr)
        return 2
    tree = Path(args.tree).resolve() if args.tree else Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(tree))
    from pingmos.engine import TraceLoop, Tracer, TraceSettings
    from pingmos.engine.udp_socket_network import UdpSocketNetwork

    stress = contextlib.ExitStack()  # stress-ng --cpu N for the run (cpu_stress.stress_ng)
    try:
        stress.enter_context(stress_ng(args.stress, "bench_loop_order"))
    except StressUnavailable as exc:
        print(exc, file=sys.stderr)
        return 2

    # Per thread: ("w" | "r" | "s", perf_counter) in that thread's order (a wake, a recv, a send).
    calls_by_thread: dict[int, list[tuple[str, float]]] = {}
    perf = time.perf_counter

    def calls_here() -> list[tuple[str, float]]:
        return calls_by_thread.setdefault(threading.get_ident(), [])

    class Timed(UdpSocketNetwork):
        def recv(self, timeout_s):
            calls_here().append(("r", perf()))
            return super().recv(timeout_s)

        def send(self, packet, dst):
            calls_here().append(("s", perf()))
            return super().send(packet, dst)

    import select

    real_epoll = select.epoll

    class TimedEpoll:
        """The loop's poller (epoll is no base type): a mark after each wait, where a wake begins."""

        def __init__(self) -> None:
            self._e = real_epoll()
            self.register, self.unregister, self.close = self._e.register, self._e.unregister, self._e.close

        def poll(self, *a):
            events = self._e.poll(*a)
            calls_here().append(("w", perf()))
            return events

    real_sleep = time.sleep

    def timed_sleep(seconds: float) -> None:  # Tracer.run's wait for its next probe (bound when run() starts)
        real_sleep(seconds)
        calls_here().append(("w", perf()))

    if args.driver == "loop":
        select.epoll = TimedEpoll  # the loop makes its poller when its thread starts
    else:
        time.sleep = timed_sleep
    port = closed_port()
    rounds = max(2, int(args.duration / args.interval))
    loop = TraceLoop("bench-loop")
    samples: list = []
    networks = []
    threads = []
    for i in range(args.targets):
        dst = f"127.0.0.{i + 1}"
        settings = TraceSettings(address=dst, protocol="udp", port=port, interval_s=args.interval, max_ttl=1,
                                 timeout_s=1.0, rounds=rounds)  # fmt: skip
        net = Timed()
        networks.append(net)
        tracer = Tracer(settings, net, samples.append)
        t = threading.Thread(
            target=loop.drive if args.driver == "loop" else tracer.run,
            args=(tracer,) if args.driver == "loop" else (),
            daemon=True,
        )
        threads.append(t)
    cpu0 = os.times()
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join(args.duration * 3 + 30)
    finally:
        loop.close()
        stress.close()
        time.sleep = real_sleep
    cpu1 = os.times()

    # Per wake that sent: the wake -> its first send, and the wakes that read before that send.
    to_send, ahead = [], []
    calls = [c for thread_calls in calls_by_thread.values() for c in [("x", 0.0), *thread_calls]]
    woke = first_read = None
    sent_in_wake = False
    for kind, t in calls:
        if kind == "x":  # the next thread's calls begin
            woke = first_read = None
        elif kind == "w":
            woke, first_read, sent_in_wake = t, None, False
        elif kind == "r":
            if first_read is None and not sent_in_wake:
                first_read = t
        elif not sent_in_wake and woke is not None:
            sent_in_wake = True
            to_send.append(t - woke)
            if first_read is not None:
                ahead.append(t - first_read)
    lateness = []
    by_target: dict[str, list] = {}
    for s in samples:
        if s.ttl == 1:
            by_target.setdefault(s.responder or "", []).append(s)
    for got in by_target.values():
        anchor = min(s.sent_at - s.round * args.interval for s in got)
        lateness += [s.sent_at - anchor - s.round * args.interval for s in got]
    rtts = [s.rtt_ms for s in samples if s.rtt_ms is not None]
    kernel = sum(n.kernel_send_stamps for n in networks)
    python = sum(n.python_send_stamps for n in networks)
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    ms = 1000.0
    print(f"tree {tree}, driver {args.driver}: {args.targets} targets x 1 probe every {args.interval:g} s, "
          f"{rounds} rounds, stress-ng --cpu {args.stress}; {len(samples)} samples, {len(rtts)} answered")  # fmt: skip
    print(f"wake to its first send: {len(to_send)} wakes that sent, median {statistics.median(to_send) * ms:.3f} ms, "
          f"p99 {percentile(to_send, 99) * ms:.3f} ms, max {max(to_send) * ms:.3f} ms; "
          f"{len(ahead)} of them read replies before it")  # fmt: skip
    print(f"send lateness (TTL 1): median {statistics.median(lateness) * ms:.3f} ms, "
          f"p99 {percentile(lateness, 99) * ms:.3f} ms, max {max(lateness) * ms:.3f} ms")  # fmt: skip
    print(
        f"RTT: median {statistics.median(rtts):.3f} ms, p99 {percentile(rtts, 99):.3f} ms; send stamps: "
        f"{kernel} kernel, {python} python; CPU {cpu:.2f} s ({cpu / max(1, len(samples)) * 1e6:.0f} us/probe)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
