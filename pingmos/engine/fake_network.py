"""A simulated path for tests and benchmarks: the tracer runs on it in virtual time, without root or sockets.

It answers the packets the tracer sends with real reply bytes (built by ``packets``) as routers would: each hop
has an address (None = never answers), a round-trip time, jitter and loss; the last hop is the destination.
A hop's ``loss_pct`` is its own (a router dropping the replies it should generate: ICMP rate limiting); its
``link_loss_pct`` is forwarding loss on the link into it, in bursts: the link is down in that share of
``burst_s``-long stretches of time, and every probe to that hop or beyond sent then is lost (loss that carries on,
lost in the same rounds further on, as congestion loss is).
Time is a ``FakeClock`` that ``recv`` advances, so a 100-round trace at 1 s runs in milliseconds.
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass

from pingmos.engine.wire import build_destination_reply, build_time_exceeded, build_unreachable, probe_ttl

WALL_EPOCH = 1_700_000_000.0  # virtual wall clock = this + virtual monotonic time


class FakeClock:
    def __init__(self, start: float = 1000.0):
        self.now = start

    def monotonic(self) -> float:
        return self.now


@dataclass(frozen=True)
class FakeHop:
    address: str | None  # None: this router never answers
    rtt_ms: float
    jitter_ms: float = 0.0  # each reply is delayed by rtt_ms + uniform(0, jitter_ms)
    loss_pct: float = 0.0
    # A router that refuses to forward: probes it would pass on get this ICMP destination-unreachable code
    # (1 host unreachable, 13 administratively prohibited, ...) from it instead of going further.
    refuse_code: int | None = None
    # The destination (last hop) only: the address its replies come from, when not the one probed (a host with
    # several addresses answering an error from another of them).
    answer_from: str | None = None
    link_loss_pct: float = 0.0  # the link into this hop is down this share of the time, in bursts of burst_s
    burst_s: float = 1.0


class FakeNetwork:
    def __init__(self, hops: list[FakeHop], clock: FakeClock, seed: int = 1):
        self.hops = hops
        self.clock = clock
        self.sent: list[tuple[int, bytes]] = []  # (ttl, packet) of every probe, for assertions
        self._rng = random.Random(seed)
        self._queue: list[tuple[float, int, bytes]] = []
        self._tie = itertools.count()
        self.closed = False
        self._seed = seed

    def _link_down(self, index: int, now: float) -> bool:
        hop = self.hops[index]
        if hop.link_loss_pct <= 0.0:
            return False
        stretch = int(now // hop.burst_s)  # the same draw for every probe sent within one stretch
        return random.Random(f"{self._seed}/{index}/{stretch}").random() * 100.0 < hop.link_loss_pct

    def wall(self, mono: float) -> float:
        return WALL_EPOCH + mono

    def inject(self, packet: bytes, delay_s: float = 0.0) -> None:
        """Deliver an arbitrary packet (another program's reply, a duplicate) after ``delay_s``."""
        self.deliver_at(self.clock.now + delay_s, packet)

    def deliver_at(self, due: float, packet: bytes) -> None:
        """Queue ``packet`` to arrive at ``due`` (this network's clock, s); every reply goes through here."""
        heapq.heappush(self._queue, (due, next(self._tie), packet))

    def send(self, packet: bytes, dst: str) -> float:
        # One reading of the clock for the send stamp and the reply's due time: with a real-time clock a thread
        # preempted between two readings would otherwise shorten the round trip by the preemption.
        now = self.clock.now
        ttl = probe_ttl(packet)
        self.sent.append((ttl, packet))
        # ``hops`` may be replaced between sends (a route change).
        hops = self.hops
        index = min(ttl, len(hops)) - 1
        refuser = next((i for i in range(index) if hops[i].refuse_code is not None), None)
        hop = hops[index if refuser is None else refuser]
        reach = index if refuser is None else refuser
        forwarded = not any(self._link_down(i, now) for i in range(min(reach, len(hops) - 1) + 1))
        if forwarded and hop.address is not None and self._rng.random() * 100.0 >= hop.loss_pct:
            delay_s = (hop.rtt_ms + self._rng.uniform(0.0, hop.jitter_ms)) / 1000.0
            if refuser is not None:
                reply = build_unreachable(packet, hop.address, hop.refuse_code)
            elif ttl >= len(hops):
                reply = build_destination_reply(packet, hop.answer_from)
            else:
                reply = build_time_exceeded(packet, hop.address)
            self.deliver_at(now + delay_s, reply)
        return self.wall(now)

    def recv(self, timeout_s: float) -> list[tuple[bytes, float]]:
        until = self.clock.now + timeout_s
        if not self._queue or self._queue[0][0] > until:
            self.clock.now = until
            return []
        self.clock.now = max(self.clock.now, self._queue[0][0])
        out = []
        while self._queue and self._queue[0][0] <= self.clock.now:
            due, _, packet = heapq.heappop(self._queue)
            out.append((packet, self.wall(due)))
        return out

    def close(self) -> None:
        self.closed = True
