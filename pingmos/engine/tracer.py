"""The trace loop: send what is due, receive, expire, over and over, emitting one Sample per probe.

A wake's order is ``Tracer.before_reads`` (the due probes, on a network whose replies carry the kernel's receive
stamp), the reads, then ``Tracer.after_reads`` (deadlines; the sends of a network stamped when read): the kernel's
receive timestamp makes a reply's latency independent of when Python got round to it, while every reply handled
ahead of a due probe would make that probe leave late. ``Tracer.run`` (one trace in the caller's thread: the
report, the window's trace thread) and ``loop.TraceLoop`` (many traces in one thread: the agent) both wake in
this order through these two methods. ``stop()`` is safe from any thread.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pingmos.engine.events import ProbeCounts, Sample
from pingmos.engine.limits import DEFAULT_TIMEOUT_FLOOR_S, MAX_FLOWS, MAX_INTERVAL_S, MIN_INTERVAL_S, PROTOCOLS
from pingmos.engine.matcher import Matcher, Outstanding
from pingmos.engine.network import Network, reserve_port, source_address_for
from pingmos.engine.packets import TCP_DEFAULT_PORT, UDP_BASE_PORT, IcmpEchoTemplate, TcpSynTemplate, UdpTemplate
from pingmos.engine.path_end import NOTHING, Decision, PathEnd
from pingmos.engine.scheduler import RoundScheduler
from pingmos.engine.wire import family_of, parse_reply

# The limits live in engine/limits.py (the command line reads them without loading the engine); named here too.
__all__ = [
    "DEFAULT_TIMEOUT_FLOOR_S",
    "MAX_FLOWS",
    "MAX_INTERVAL_S",
    "MIN_INTERVAL_S",
    "PROTOCOLS",
    "Clock",
    "TraceSettings",
    "Tracer",
    "process_icmp_ident",
]


@dataclass(frozen=True)
class TraceSettings:
    """What to trace and how. ``timeout_s`` None = the default: 3 s or the interval, whichever is larger."""

    address: str  # the resolved destination, IPv4 or IPv6
    protocol: str = "icmp"  # "icmp", "udp" or "tcp"
    interval_s: float = 1.0
    max_ttl: int = 30
    timeout_s: float | None = None
    rounds: int | None = None  # None = until stopped
    port: int | None = None  # UDP/TCP destination port; None = 33434 (UDP) or 80 (TCP)
    # Flows the probes cycle through, round by round: 1 = one fixed flow (Paris traceroute: every hop stays one
    # router behind load balancers); N > 1 = N flows (different source ports, or ICMP checksums) to discover
    # the parallel paths.
    flows: int = 1

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return TCP_DEFAULT_PORT if self.protocol == "tcp" else UDP_BASE_PORT

    @property
    def effective_timeout_s(self) -> float:
        if self.timeout_s is not None:
            return self.timeout_s
        return max(DEFAULT_TIMEOUT_FLOOR_S, self.interval_s)

    def validate(self) -> None:
        """Raise ValueError with a user-facing message for settings out of range."""
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be icmp, udp or tcp, not {self.protocol!r}")
        if self.port is not None and not 1 <= self.port <= 65535:
            raise ValueError("port must be within 1 and 65535")
        if not 1 <= self.flows <= MAX_FLOWS:
            raise ValueError(f"flows must be within 1 and {MAX_FLOWS}")
        if not MIN_INTERVAL_S <= self.interval_s <= MAX_INTERVAL_S:
            raise ValueError(f"interval must be within {MIN_INTERVAL_S} and {MAX_INTERVAL_S} s")
        if not 1 <= self.max_ttl <= 255:
            raise ValueError("max TTL must be within 1 and 255")
        if self.timeout_s is not None and not 0.01 <= self.timeout_s <= 300:
            raise ValueError("timeout must be within 0.01 and 300 s")
        if self.rounds is not None and self.rounds < 1:
            raise ValueError("count must be at least 1")


class Clock:
    """Monotonic time for pacing and deadlines; the wall clock lives in the network (kernel stamps)."""

    def monotonic(self) -> float:
        return time.monotonic()


def process_icmp_ident() -> int:
    """An ICMP identifier for this process: its pid, mixed so that two runs rarely share one even when the pid's
    low 16 bits match. Replies to anyone else's probes then never match ours."""
    return (os.getpid() ^ random.getrandbits(16)) & 0xFFFF or 1


# A wake-up that sends a probe also sends the probes of its round due within this much after it, ahead of their
# time. At the highest rate (30 TTLs in 0.1 s: one due every 3.3 ms) a round then goes out in 5 groups of up to 7
# instead of 30 single probes, and each wake-up saved is CPU saved: the thread scheduled back in on cold caches and
# the loop's bookkeeping cost about as much as the probe it sends (30-hop lab, 200 rounds at 0.1 s, CPU of the
# trace loop: 1.40 s with a wake-up per probe, 0.66-0.77 s with a 10 ms window, 0.55 s with 20 ms). No router sees
# a burst (each TTL expires at its own router, one per round), RTTs do not change (the kernel stamps each probe as
# it leaves), rounds still start on time and spread their TTLs across the interval; at 1 s per round (33 ms
# between TTLs) every probe leaves alone.
SEND_AHEAD_S = 0.020


class Tracer:
    send_ahead_s = SEND_AHEAD_S

    def __init__(
        self,
        settings: TraceSettings,
        network: Network,
        on_sample: Callable[[Sample], None],
        clock: Clock | None = None,
        source: str | None = None,
    ):
        settings.validate()
        self.settings = settings
        self._network = network
        self._on_sample = on_sample
        self._clock = clock or Clock()
        # The clock's reading, bound once (the default clock's is time.monotonic itself: no method call per read).
        self._monotonic = time.monotonic if type(self._clock) is Clock else self._clock.monotonic
        self._stop = threading.Event()
        self._winding_down = False  # wind_down(): no more probes; ends once those in flight are settled
        self._wind_down_until: float | None = None  # wind_down(limit_s): ends by then (monotonic s) at the latest
        self._port_sockets = []
        src = source or source_address_for(settings.address)
        dst, dport = settings.address, settings.effective_port
        if settings.protocol == "icmp":
            # Ping sockets choose the identifier themselves (their port); a raw socket lets us pick one.
            ident = getattr(network, "icmp_ident", None) or process_icmp_ident()
            self._templates = [IcmpEchoTemplate(src, dst, ident, flow=f) for f in range(settings.flows)]
        else:
            template = TcpSynTemplate if settings.protocol == "tcp" else UdpTemplate
            self._port_sockets = [reserve_port(settings.protocol, family_of(dst)) for _ in range(settings.flows)]
            self._templates = [template(src, dst, s.getsockname()[1], dport) for s in self._port_sockets]
        self.matcher = Matcher(settings.address, src)
        self.matcher.hold_end_claims = True
        self.path = PathEnd(settings.max_ttl)
        self._seq = random.randrange(1, 0xFFFF)
        self.probes_sent = 0
        self.scheduler: RoundScheduler | None = None
        self._sends_first = bool(getattr(network, "stamps_replies", False))  # the order of a wake: before_reads

    def stop(self) -> None:
        """End at once (any thread): probes still in flight are left out of the samples (their fate is unknown)."""
        self._stop.set()

    def wind_down(self, limit_s: float | None = None) -> None:
        """Send no more probes, and end once every probe sent is settled: answered, or lost when its own deadline
        (``timeout_s`` after it left) passes, so the trace ends at most ``effective_timeout_s`` later (plus a
        claim's proof, see ``next_wake``). ``limit_s``: end ``limit_s`` from now at the latest, the probes then
        still in flight left out as by ``stop()`` (never counted lost). ``stop()`` still ends it at once. Safe from
        any thread and from a signal handler (it sets attributes only); the loop that drives the tracer (``run``,
        ``loop.TraceLoop``) sees it at its next wake (within 0.25 s)."""
        if limit_s is not None and self._wind_down_until is None:
            self._wind_down_until = self._monotonic() + limit_s
        self._winding_down = True
        scheduler = self.scheduler
        if scheduler is not None:
            scheduler.end()

    @property
    def winding_down(self) -> bool:
        """True once ``wind_down()`` was called."""
        return self._winding_down

    @property
    def destination_ttl(self) -> int | None:
        """The TTL where the path ends now (the destination, or a router's unreachable); None while unknown."""
        return self.path.end_ttl

    @property
    def destination_reached(self) -> bool:
        """True when the path ends at the destination itself, False when unknown or at a refusing router."""
        return self.path.end_ttl is not None and self.path.end_reached

    @property
    def suspicious_replies(self) -> int:
        """Replies that named a probe of ours but did not prove it (wrong address, a quote of another packet),
        plus answers that claimed the end of the path against the other TTLs' answers."""
        return self.matcher.suspicious + self.path.suspicious

    def counts(self) -> ProbeCounts:
        """The trace's counters so far (``events.ProbeCounts`` defines them)."""
        return ProbeCounts(self.probes_sent, self.matcher.unmatched, self.suspicious_replies)

    def _next_seq(self, template) -> tuple[int, tuple]:
        """The next sequence number for ``template`` and the probe key it makes: 16 bits, never 0, never one
        still outstanding (at 300 probes/s it wraps in ~3.6 minutes)."""
        is_outstanding, key_of = self.matcher.is_outstanding, template.key
        for _ in range(0x10000):
            self._seq = seq = self._seq % 0xFFFF + 1
            key = key_of(seq)
            if not is_outstanding(key):
                return seq, key
        raise RuntimeError("no free probe sequence number")

    def _apply(self, decision: Decision) -> None:
        """Carry out what the path's judge decided: matcher bookkeeping, the schedule's last TTL, the samples."""
        late = None
        if decision.resolve or decision.retire or decision.rearm:  # a claim was judged: rare
            matcher = self.matcher
            for key in decision.resolve:
                matcher.resolve(key)
            for key in decision.retire:
                matcher.retire(key)
            late = []
            for key in decision.rearm:
                lost = matcher.rearm(key, self._monotonic())
                if lost is not None:
                    late.append(lost)
        end = self.path.end_ttl
        scheduler = self.scheduler
        if scheduler is not None and end != scheduler.destination_ttl:
            scheduler.destination_ttl = end
            if end is not None:
                self.matcher.drop_beyond(end)
        for sample in decision.emit:
            self._on_sample(sample)
        if late:
            for lost in late:
                self._apply(self.path.on_sample(lost, None))

    def _drain(self) -> None:
        # A network read late (``stamps_replies``) may hold answered probes when a send fails or a stop comes:
        # they were measured (the kernel stamped them), so they go into the report with the rounds before the
        # error rather than vanish with the socket. A network already closed has nothing to give.
        try:
            packets = self._network.recv(0.0)
        except (OSError, ValueError):
            return
        if packets:
            self._handle(packets)

    def _handle(self, packets: list[tuple[bytes, float]]) -> None:
        matcher, path, apply = self.matcher, self.path, self._apply
        for data, received_at in packets:
            reply = parse_reply(data)
            if reply is None:
                continue
            sample = matcher.match(reply, received_at)
            if sample is None:
                continue
            apply(path.on_sample(sample, reply.key, matcher.second_answer))

    @property
    def network(self) -> Network:
        """The network this tracer sends and receives on."""
        return self._network

    @property
    def on_sample(self) -> Callable[[Sample], None]:
        """Where this tracer's samples go (a driver that runs the probing elsewhere hands them in here)."""
        return self._on_sample

    @property
    def stopped(self) -> bool:
        """True once ``stop()`` was called."""
        return self._stop.is_set()

    # The loop in steps, so that one thread can drive many tracers (``loop.TraceLoop``): ``begin`` once, then per
    # wake ``before_reads`` / ``receive`` / ``after_reads`` until ``next_wake`` says None (or stop()), then
    # ``finish`` once. ``run`` is exactly that loop for one tracer in the caller's thread.

    def begin(self) -> None:
        """Start the schedule: round 0 is due now."""
        self.scheduler = RoundScheduler(
            self.settings.interval_s, self.settings.max_ttl, self._clock.monotonic(), self.settings.rounds
        )
        if self._winding_down:  # wound down before it began (wind_down saw no scheduler): nothing is sent
            self.scheduler.end()

    def next_wake(self, now: float) -> float | None:
        """Monotonic time something is next due (a probe to send, a deadline), None when the tracer is done:
        every round sent and every probe settled."""
        wake = self.scheduler.next_due()
        deadline = self.matcher.next_deadline()
        if deadline is not None and (wake is None or deadline < wake):
            wake = deadline
        if wake is None and self.path.pending:
            # The last answers await their proof: a second answer to a claimed probe may still come.
            wake = self.matcher.claim_deadline(now)
        until = self._wind_down_until
        if until is not None and wake is not None:
            if now >= until:
                return None  # wound down as long as it may: what is still in flight is left out
            wake = min(wake, until)
        return wake

    def receive(self, packets: list[tuple[bytes, float]]) -> None:
        """Match received packets (``Network.recv``'s) to our probes; samples go out as they settle."""
        self._handle(packets)

    def before_reads(self, now: float) -> None:
        """A wake's first step, before the network is read: send every probe due by ``now`` (monotonic s) when
        the network stamps its replies in the kernel (``stamps_replies``); otherwise nothing.

        Why this order: such a reply gives the same RTT however late it is read, while every reply read and
        matched ahead of a due probe delays that probe (its send stamp is taken at the send, so no RTT changes,
        but its round leaves late: scripts/bench_loop_order.py). A network stamped when read (the probe
        helper's, a fake) is read first, as a send ahead of its reads would be added to their RTTs."""
        if self._sends_first:
            self.send_due(now)

    def after_reads(self, now: float) -> None:
        """A wake's last step, after every reply that came by ``now`` (monotonic s) was handed to ``receive``:
        declare the probes past their deadline lost (a reply that came before its deadline is matched, never
        counted lost), and send the due probes ``before_reads`` left."""
        if self._sends_first:
            self.expire(now)
        else:
            self.advance(now)

    def advance(self, now: float) -> None:
        """Declare probes past their deadline lost and send every probe due by ``now`` (monotonic s)."""
        self.expire(now)
        self.send_due(now)

    def expire(self, now: float) -> None:
        """Declare probes past their deadline lost (after reading what came: a reply waiting in a socket must be
        matched before its probe's deadline is judged)."""
        for sample in self.matcher.expire(now):
            self._apply(self.path.on_sample(sample, None))

    def send_due(self, now: float) -> None:
        """Send every probe due by ``now`` (monotonic s)."""
        scheduler = self.scheduler
        scheduler.skip_to(now)
        due = scheduler.due(now, self.send_ahead_s)
        if not due:
            return
        monotonic, timeout_s = self._monotonic, self.settings.effective_timeout_s
        templates, send, address = self._templates, self._network.send, self.settings.address
        add, on_sent, apply = self.matcher.add_free, self.path.on_sent, self._apply
        new = tuple.__new__  # Outstanding's fields in one tuple: skips the named tuple's Python-level __new__
        for round_no, ttl in due:
            template = templates[round_no % len(templates)]
            seq, key = self._next_seq(template)
            sent_at = send(template.packet(ttl, seq), address)
            add(key, new(Outstanding, (round_no, ttl, seq, sent_at, monotonic() + timeout_s)))
            self.probes_sent += 1
            decision = on_sent(round_no, ttl)
            if decision is not NOTHING:
                apply(decision)

    def finish(self) -> None:
        """After the last step (or a stop, or an error): read the replies that already came, judge a claim still
        waiting for its proof on what came in, so that the samples it holds back are not lost, and release the
        reserved ports."""
        try:
            self._drain()
            self._apply(self.path.finish())
        finally:
            for s in self._port_sockets:
                s.close()

    def run(self) -> None:
        """Trace until the configured rounds are done and their probes answered or timed out, or until stop()."""
        monotonic, network, stop = self._monotonic, self._network, self._stop
        # A network whose replies carry the kernel's receive time (``stamps_replies``) can be read late without
        # changing any RTT: then the loop sleeps until the next probe or deadline is due, sends what is due and
        # reads everything that came meanwhile in one go (``before_reads``), one wake-up per probe sent instead of
        # one per packet received (replies to other programs' probes included). Otherwise, and once every round
        # is sent (the last answers then end the run as soon as they come), it waits on the network itself.
        late_reads = self._sends_first
        # The sleep between probes: a plain sleep (one system call) rather than waiting on the stop event (a
        # condition variable: its lock, waiter list and futex calls cost about as much Python as handling a
        # reply, once per probe sent); a stop is seen when the sleep ends, within 0.25 s.
        sleep = time.sleep
        self.begin()
        try:
            while not stop.is_set():
                now = monotonic()
                wake = self.next_wake(now)
                if wake is None:
                    break  # every round sent and every probe settled
                # Short waits so stop() is honoured promptly even at a 60 s interval.
                wait_s = min(max(0.0, wake - now), 0.25)
                if late_reads and not self.scheduler.finished:
                    if wait_s > 0.0:
                        sleep(wait_s)
                        if stop.is_set():
                            break
                        now = monotonic()
                    self.before_reads(now)
                    packets = network.recv(0.0)
                else:
                    packets = network.recv(wait_s)
                    now = monotonic()  # every reply handled below came by now: its deadline is judged fairly
                if packets:
                    self._handle(packets)
                self.after_reads(now)
        finally:
            self.finish()
