"""The reply matcher: pairs each reply with the probe it quotes, and declares probes lost at their deadline.

Replies are matched by what they quote (ICMP identifier and sequence, UDP/TCP ports and sequence), never by arrival
order. A reply that matches no outstanding probe (another program's, a duplicate, or one that came after its
probe's timeout) is counted in ``unmatched`` and otherwise ignored.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from pingmos.engine.events import Sample
from pingmos.engine.packets import ProbeKey, Reply, ReplyKind


@dataclass(frozen=True, slots=True)
class Outstanding:
    round: int
    ttl: int
    seq: int
    sent_at: float  # wall clock, seconds: pairs with the kernel's wall-clock receive stamp
    deadline: float  # monotonic clock, seconds


class Matcher:
    def __init__(self, destination: str):
        self.destination = destination
        self._outstanding: dict[ProbeKey, Outstanding] = {}
        # Deadlines grow with send time (the timeout is fixed), so a FIFO holds them in order.
        self._by_deadline: deque[ProbeKey] = deque()
        self.unmatched = 0

    def __len__(self) -> int:
        return len(self._outstanding)

    def is_outstanding(self, key: ProbeKey) -> bool:
        return key in self._outstanding

    def add(self, key: ProbeKey, probe: Outstanding) -> None:
        if key in self._outstanding:
            raise ValueError(f"probe key {key} is still outstanding")
        self._outstanding[key] = probe
        self._by_deadline.append(key)

    def match(self, reply: Reply, received_at: float) -> Sample | None:
        """The sample for ``reply`` received at wall-clock ``received_at``, or None if it is not ours."""
        probe = self._outstanding.pop(reply.key, None)
        if probe is None:
            self.unmatched += 1
            return None
        reached = reply.kind in (ReplyKind.ECHO_REPLY, ReplyKind.TCP_ANSWER) or (
            reply.kind is ReplyKind.UNREACHABLE and reply.responder == self.destination
        )
        # A clock step between send and receive could make this negative; 0 is the honest floor.
        rtt_ms = max(0.0, (received_at - probe.sent_at) * 1000.0)
        return Sample(probe.round, probe.ttl, probe.seq, probe.sent_at, rtt_ms, reply.responder, reached)

    def expire(self, now_mono: float) -> list[Sample]:
        """Samples for every probe whose deadline has passed without a reply: lost."""
        lost = []
        queue = self._by_deadline
        while queue:
            key = queue[0]
            probe = self._outstanding.get(key)
            if probe is None:  # answered already
                queue.popleft()
                continue
            if probe.deadline > now_mono:
                break
            queue.popleft()
            del self._outstanding[key]
            lost.append(Sample(probe.round, probe.ttl, probe.seq, probe.sent_at, None, None))
        return lost

    def next_deadline(self) -> float | None:
        queue = self._by_deadline
        while queue and queue[0] not in self._outstanding:
            queue.popleft()
        return self._outstanding[queue[0]].deadline if queue else None

    def drop_beyond(self, ttl: int) -> None:
        """Forget probes sent beyond the destination's TTL: they are not hops and are not reported as lost."""
        for key in [k for k, p in self._outstanding.items() if p.ttl > ttl]:
            del self._outstanding[key]
