"""User-space link emulator for the network lab: `python -m tests.netlab.relay CONFIG.json`.

The kernel on the test machines has no `netem` qdisc, so every lab link is a pair of TUN devices (one in
each namespace) and this daemon moves packets between them, applying per-link, per-direction delay,
jitter and loss. It runs as its own process so it never competes for the GIL with the code under test.

How it works
------------
* Each TUN device is created inside its namespace: the process enters the namespace with setns(2), opens
  /dev/net/tun, issues TUNSETIFF and goes back. The device stays in the namespace it was created in, and
  the file descriptor keeps working from here. The devices are not persistent: they vanish when this
  process exits.
* One epoll loop and a timer heap. A packet read from one side is dropped with probability loss_pct/100
  (or, with burst_ms > 0, when the direction is in a down period: down periods of mean burst_ms alternate
  with up periods of mean burst_ms * (100 - loss_pct) / loss_pct, both exponential), otherwise scheduled
  for delivery to the other side at now + delay + uniform(-jitter, +jitter), clamped
  at "now" (never negative). As with netem, jitter can reorder packets; without jitter, order is kept.
* Precision: epoll's own timeout has millisecond resolution, which is too coarse. The loop therefore
  blocks on a timerfd armed with the absolute (CLOCK_MONOTONIC, nanosecond) due time of the earliest
  packet, with the process timer slack set to 1 ns. Lateness (write time - due time) is measured and
  reported; it is typically well under 0.1 ms on an idle machine. The relay runs under SCHED_FIFO (see
  set_realtime) so that a busy machine delays its reads and writes as little as possible.
* Randomness: one random.Random per link and direction, seeded from (seed, link, direction), so the
  drop/jitter sequence of one link does not change when traffic on another link changes.
* A small DNS server (tests/netlab/dns.py) shares the loop: its UDP socket is created inside the client
  namespace (bound to 127.0.0.1:53 there) and every query is logged.
* Control: a unix stream socket; a client sends one JSON object on one line and gets one JSON line back.
  Commands: {"cmd": "stats"}, {"cmd": "reset_stats"}, {"cmd": "set_link", "link": i, "fwd": {...},
  "rev": {...}}, {"cmd": "dns_queries", "clear": bool}, {"cmd": "ping"}. The request is read with a short
  blocking timeout inside the loop; clients send it at once, so packets are held up only microseconds.
* Lifetime: PR_SET_PDEATHSIG makes the kernel send SIGTERM when the parent (the thread that started us)
  exits. If we find ourselves orphaned we also delete the lab's namespaces and files (listed in the
  config under "cleanup"), so a test run killed with SIGKILL does not leak a lab. Readiness is signalled
  by printing "READY" on stdout once every device and socket exists.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import gc
import heapq
import json
import os
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field

from tests.netlab import dns

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
PR_SET_PDEATHSIG = 1
PR_SET_TIMERSLACK = 29
CLOCK_MONOTONIC = 1
TFD_TIMER_ABSTIME = 1
TFD_NONBLOCK = os.O_NONBLOCK
TFD_CLOEXEC = os.O_CLOEXEC

MAX_QUEUED = 100_000  # packets in flight over all links; beyond that we drop (counted as "overflow")
READ_BURST = 64  # packets read from one device per wake-up, so one busy link cannot starve the others

_libc = ctypes.CDLL(None, use_errno=True)


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _check(ret: int, what: str) -> int:
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


@contextlib.contextmanager
def in_netns(name: str):
    """Run the body inside network namespace /run/netns/NAME, then return to the original one.

    Only safe in a single-threaded process (setns changes the calling thread only), which this daemon is.
    Sockets and TUN devices created inside stay bound to that namespace after we leave.
    """
    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.setns(target, CLONE_NEWNET), f"setns({name})")
        try:
            yield
        finally:
            _check(_libc.setns(home, CLONE_NEWNET), "setns(back home)")
    finally:
        os.close(target)
        os.close(home)


def open_tun(ns: str, dev: str) -> int:
    """Create TUN device `dev` (IFF_TUN | IFF_NO_PI: raw IP packets, no header) in namespace `ns`."""
    with in_netns(ns):
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", dev.encode(), IFF_TUN | IFF_NO_PI))
        except OSError:
            os.close(fd)
            raise
    return fd


class TimerFd:
    """A CLOCK_MONOTONIC timerfd armed with absolute nanosecond deadlines (os.timerfd_* is 3.13+)."""

    def __init__(self) -> None:
        self.fd = _check(_libc.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC), "timerfd_create")
        self.armed_ns: int | None = None

    def arm(self, deadline_ns: int | None) -> None:
        if deadline_ns == self.armed_ns:
            return
        spec = _Itimerspec()
        if deadline_ns is not None:
            # A zero it_value would disarm the timer: a deadline in the past must still fire.
            deadline_ns = max(deadline_ns, 1)
            spec.it_value.tv_sec, spec.it_value.tv_nsec = divmod(deadline_ns, 1_000_000_000)
        _check(_libc.timerfd_settime(self.fd, TFD_TIMER_ABSTIME, ctypes.byref(spec), None), "timerfd_settime")
        self.armed_ns = deadline_ns

    def clear(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self.fd, 8)
        self.armed_ns = None  # after firing it is disarmed


@dataclass
class Direction:
    """Impairment and counters of one direction of one link."""

    name: str
    rng: random.Random
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_pct: float = 0.0
    burst_ms: float = 0.0
    down: bool = False
    next_change_ns: int = 0
    packets_in: int = 0
    dropped: int = 0
    delivered: int = 0
    overflow: int = 0
    write_errors: int = 0
    lateness_sum_ms: float = 0.0
    lateness_max_ms: float = 0.0
    late_over_1ms: int = 0

    def configure(self, spec: dict) -> None:
        self.delay_ms = float(spec.get("delay_ms", 0.0))
        self.jitter_ms = float(spec.get("jitter_ms", 0.0))
        self.loss_pct = float(spec.get("loss_pct", 0.0))
        self.burst_ms = float(spec.get("burst_ms", 0.0))
        self.down, self.next_change_ns = False, 0

    def lost(self, now_ns: int) -> bool:
        """Whether a packet arriving now is dropped (see the module docstring)."""
        if self.loss_pct <= 0:
            return False
        if self.burst_ms <= 0:
            return self.rng.random() * 100.0 < self.loss_pct
        if self.loss_pct >= 100:
            return True
        if self.next_change_ns == 0:  # the first packet: start in the stationary state
            self.down = self.rng.random() * 100.0 < self.loss_pct
            self.next_change_ns = now_ns + self._period_ns()
        while now_ns >= self.next_change_ns:
            self.down = not self.down
            self.next_change_ns += self._period_ns()
        return self.down

    def _period_ns(self) -> int:
        mean_ms = self.burst_ms if self.down else self.burst_ms * (100.0 - self.loss_pct) / self.loss_pct
        return max(1, int(self.rng.expovariate(1.0 / mean_ms) * 1_000_000))

    def reset(self) -> None:
        self.packets_in = self.dropped = self.delivered = self.overflow = self.write_errors = 0
        self.lateness_sum_ms = self.lateness_max_ms = 0.0
        self.late_over_1ms = 0

    def stats(self, queued: int) -> dict:
        return {
            "delay_ms": self.delay_ms,
            "jitter_ms": self.jitter_ms,
            "loss_pct": self.loss_pct,
            "packets_in": self.packets_in,
            "dropped": self.dropped,
            "delivered": self.delivered,
            "overflow": self.overflow,
            "write_errors": self.write_errors,
            "queued": queued,
            "lateness_mean_ms": self.lateness_sum_ms / self.delivered if self.delivered else 0.0,
            "lateness_max_ms": self.lateness_max_ms,
            "late_over_1ms": self.late_over_1ms,
        }


@dataclass
class Link:
    index: int
    left_fd: int
    right_fd: int
    fwd: Direction  # left -> right, i.e. from the client towards the target
    rev: Direction  # right -> left
    queued: dict[str, int] = field(default_factory=lambda: {"fwd": 0, "rev": 0})


class Relay:
    def __init__(self, config: dict) -> None:
        self.config = config
        self.seed = config.get("seed", 0)
        self.ep = select.epoll()
        self.timer = TimerFd()
        self.ep.register(self.timer.fd, select.EPOLLIN)
        # fd -> (link, direction of packets read from it, fd to write them to)
        self.routes: dict[int, tuple[Link, Direction, int]] = {}
        self.links: list[Link] = []
        # heap of (due_ns, sequence, link, direction, out_fd, packet); the sequence keeps FIFO order for
        # equal due times and stops the comparison from ever reaching the non-comparable fields.
        self.heap: list[tuple[int, int, Link, Direction, int, bytes]] = []
        self.seq = 0
        # Wake this long before a packet is due and spin for the rest: a timerfd wake-up plus Python
        # dispatch costs ~50 us here, which would otherwise be added to every delivery.
        self.spin_ns = int(config.get("spin_us", 60) * 1000)
        self.dns_sock: socket.socket | None = None
        self.dns_fd = -1
        self.dns_ptr: dict[str, str] = {}
        self.dns_a: dict[str, str] = {}
        self.dns_zone = ""
        self.dns_log: list[dict] = []
        self.ctl_sock: socket.socket | None = None
        self.started = time.monotonic()

    # -- setup -------------------------------------------------------------------------------------

    def setup(self) -> None:
        for i, spec in enumerate(self.config["links"]):
            left = open_tun(spec["left"]["ns"], spec["left"]["dev"])
            right = open_tun(spec["right"]["ns"], spec["right"]["dev"])
            link = Link(
                i,
                left,
                right,
                Direction("fwd", random.Random(f"{self.seed}/{i}/fwd")),
                Direction("rev", random.Random(f"{self.seed}/{i}/rev")),
            )
            link.fwd.configure(spec.get("fwd", {}))
            link.rev.configure(spec.get("rev", {}))
            self.links.append(link)
            self.routes[left] = (link, link.fwd, right)
            self.routes[right] = (link, link.rev, left)
            self.ep.register(left, select.EPOLLIN)
            self.ep.register(right, select.EPOLLIN)

        d = self.config.get("dns")
        if d:
            with in_netns(d["ns"]):
                # The loopback of a fresh namespace is down until someone brings it up; the lab does that
                # before starting us. The socket stays in the client namespace after we leave it.
                self.dns_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self.dns_sock.bind((d.get("host", "127.0.0.1"), d.get("port", 53)))
            self.dns_sock.setblocking(False)
            self.dns_fd = self.dns_sock.fileno()
            self.dns_ptr = {dns.reverse_name(addr): name.lower() for addr, name in d["ptr"].items()}
            self.dns_a = {name.lower(): addr for name, addr in d["a"].items()}
            self.dns_zone = d.get("zone", "").lower()
            self.ep.register(self.dns_sock.fileno(), select.EPOLLIN)

        path = self.config["control_socket"]
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        self.ctl_sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ctl_sock.bind(path)
        os.chmod(path, 0o600)
        self.ctl_sock.listen(8)
        self.ctl_sock.setblocking(False)
        self.ep.register(self.ctl_sock.fileno(), select.EPOLLIN)

    # -- main loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        while True:
            self.timer.arm(self.heap[0][0] - self.spin_ns if self.heap else None)
            # No timeout: the timerfd wakes us spin_us before the next packet is due.
            self._dispatch(self.ep.poll())
            self._deliver_due()

    def _dispatch(self, events: list[tuple[int, int]]) -> None:
        for fd, _ in events:
            if fd == self.timer.fd:
                self.timer.clear()
            elif fd in self.routes:
                self._read_packets(fd)
            elif fd == self.dns_fd:
                self._serve_dns()
            elif fd == self.ctl_sock.fileno():
                self._serve_control()

    def _read_packets(self, fd: int) -> None:
        link, direction, out_fd = self.routes[fd]
        for _ in range(READ_BURST):
            try:
                packet = os.read(fd, 65535)
            except BlockingIOError:
                return
            now = time.monotonic_ns()
            direction.packets_in += 1
            rng = direction.rng
            if direction.lost(now):
                direction.dropped += 1
                continue
            if len(self.heap) >= MAX_QUEUED:
                direction.overflow += 1
                continue
            delay_ms = direction.delay_ms
            if direction.jitter_ms > 0:
                delay_ms += rng.uniform(-direction.jitter_ms, direction.jitter_ms)
            due = now + max(0, int(delay_ms * 1_000_000))
            self.seq += 1
            heapq.heappush(self.heap, (due, self.seq, link, direction, out_fd, packet))
            link.queued[direction.name] += 1

    def _deliver_due(self) -> None:
        heap = self.heap
        spin_ns = self.spin_ns
        while heap:
            now = time.monotonic_ns()
            due = heap[0][0]
            if due > now:
                if due - now > spin_ns:
                    return
                # Close enough: spinning a few tens of microseconds beats another sleep/wake-up cycle. Spin on
                # a non-blocking poll, so that packets arriving meanwhile are read (and their delay starts)
                # now rather than after this delivery: on a busy lab that wait would add to every hop.
                self._dispatch(self.ep.poll(0))
                continue
            due, _, link, direction, out_fd, packet = heapq.heappop(heap)
            link.queued[direction.name] -= 1
            late_ms = (now - due) / 1e6
            try:
                os.write(out_fd, packet)
            except OSError:
                # E.g. the device was brought down by a test: count it, a real link would lose it too.
                direction.write_errors += 1
                continue
            direction.delivered += 1
            direction.lateness_sum_ms += late_ms
            if late_ms > direction.lateness_max_ms:
                direction.lateness_max_ms = late_ms
            if late_ms > 1.0:
                direction.late_over_1ms += 1

    # -- DNS ---------------------------------------------------------------------------------------

    def _serve_dns(self) -> None:
        while True:
            try:
                query, peer = self.dns_sock.recvfrom(4096)
            except BlockingIOError:
                return
            reply, question = dns.answer(query, self.dns_ptr, self.dns_a, self.dns_zone)
            if question is not None:
                qtype = dns.TYPE_NAMES.get(question.qtype, str(question.qtype))
                self.dns_log.append({"name": question.name, "type": qtype, "t": time.time()})
            if reply is not None:
                with contextlib.suppress(OSError):
                    self.dns_sock.sendto(reply, peer)

    # -- control -----------------------------------------------------------------------------------

    def _serve_control(self) -> None:
        while True:
            try:
                conn, _ = self.ctl_sock.accept()
            except BlockingIOError:
                return
            with conn:
                conn.settimeout(1.0)
                try:
                    data = b""
                    while not data.endswith(b"\n"):
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    reply = self._handle(json.loads(data))
                except Exception as exc:  # a bad request must never kill the lab
                    reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps(reply).encode() + b"\n")

    def _handle(self, req: dict) -> dict:
        cmd = req.get("cmd")
        if cmd == "ping":
            return {"ok": True}
        if cmd == "stats":
            return {"ok": True, "uptime_s": time.monotonic() - self.started, "links": self._stats()}
        if cmd == "reset_stats":
            for link in self.links:
                link.fwd.reset()
                link.rev.reset()
            return {"ok": True}
        if cmd == "set_link":
            link = self.links[int(req["link"])]
            # Packets already in flight keep the due time they were given, as on a real link.
            if "fwd" in req:
                link.fwd.configure(req["fwd"])
            if "rev" in req:
                link.rev.configure(req["rev"])
            return {"ok": True}
        if cmd == "dns_queries":
            log = list(self.dns_log)
            if req.get("clear"):
                self.dns_log.clear()
            return {"ok": True, "queries": log}
        return {"ok": False, "error": f"unknown command {cmd!r}"}

    def _stats(self) -> list[dict]:
        return [
            {
                "link": link.index,
                "fwd": link.fwd.stats(link.queued["fwd"]),
                "rev": link.rev.stats(link.queued["rev"]),
            }
            for link in self.links
        ]


def set_realtime(priority: int | None) -> bool:
    """Run the relay under SCHED_FIFO so that a busy machine (other test runs, the program being measured)
    does not hold up its reads and writes: every moment a packet waits for the relay to be scheduled is
    latency the lab adds on top of the configured delay. The relay's work per packet is microseconds and it
    only spins within spin_us of a due packet, and the kernel's RT throttling (sched_rt_runtime_us) keeps
    a CPU for everyone else in any case. Returns False where the policy is not allowed (then it runs as a
    normal process, only with more latency under load)."""
    if not priority:
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(priority))
    except (OSError, AttributeError):
        return False
    return True


def cleanup_orphaned_lab(cleanup: dict) -> None:
    """Delete the namespaces and paths of a lab whose owner died without tearing it down."""
    for ns in cleanup.get("namespaces", []):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
    for path in cleanup.get("paths", []):
        shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.netlab.relay CONFIG.json", file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        config = json.load(f)
    parent = config.get("parent_pid")

    class Stop(Exception):
        pass

    def on_signal(signum, frame):
        raise Stop

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    _libc.prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)  # hrtimer wake-ups as close to the deadline as possible
    set_realtime(config.get("rt_priority", 10))

    relay = Relay(config)
    try:
        if parent is not None and os.getppid() != parent:
            raise Stop  # the parent died before PDEATHSIG was in place
        relay.setup()
        # Nothing the loop allocates forms reference cycles; a collector pass would only be a pause that
        # lands on some packet's delivery time.
        gc.disable()
        print("READY", flush=True)
        relay.run()
    except Stop:
        pass
    finally:
        if parent is not None and os.getppid() != parent:
            cleanup_orphaned_lab(config.get("cleanup", {}))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except OSError as exc:
        # Setup errors (no /dev/net/tun, namespace missing, port 53 taken) are reported to the parent via
        # stderr; the traceback adds nothing for the reader.
        if exc.errno in (errno.ENOENT, errno.EPERM, errno.EADDRINUSE, errno.EBUSY):
            print(f"relay: {exc}", file=sys.stderr)
            sys.exit(1)
        raise
