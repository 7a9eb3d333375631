"""Route changes: the router answering at a TTL changed during the trace.

Derived from a hop's samples at snapshot time (never stored on their own), so a replayed session shows the same
changes. Only answered samples count: a lost probe says nothing about the route. With one stable flow (the
default, Paris-traceroute style) a hop's responder changes only when the route does. With several flows
(``TraceSettings.flows`` = N) round r uses flow r % N and every flow is followed on its own: two flows meeting the
two routers of a load balancer is not a change; one flow moving from one router to another is.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RouteChange:
    """At ``ttl``, flow ``flow`` was answered by ``old`` and, from round ``round`` on, by ``new``."""

    ttl: int
    round: int  # the first round answered by the new responder
    sent_at: float  # wall clock (s) of that round's probe: where the change goes on a timeline
    flow: int
    old: str
    new: str


def find_route_changes(
    ttl: int,
    rounds: Sequence[int],
    responders: Sequence[str | None],
    sent_ats: Sequence[float],
    flows: int = 1,
) -> list[RouteChange]:
    """Every responder change of one hop, oldest first. ``rounds``, ``responders`` and ``sent_ats`` are the hop's
    samples in round order (None = lost). No samples, or no answered one, gives no change."""
    if flows < 1:
        raise ValueError("flows must be at least 1")
    last: dict[int, str] = {}  # flow -> the responder of its latest answered sample
    changes = []
    for round_no, responder, sent_at in zip(rounds, responders, sent_ats, strict=True):
        if responder is None:
            continue
        flow = round_no % flows
        before = last.get(flow)
        if before is not None and before != responder:
            changes.append(RouteChange(ttl, round_no, sent_at, flow, before, responder))
        last[flow] = responder
    return changes


class RouteChangeTracker:
    """``find_route_changes`` kept up to date sample by sample, for traces that run for a day.

    Answered samples nearly always settle in round order (a lost one settles a timeout later, but says nothing
    about the route); each is then one step. An answered sample that settles behind a later round (reordering
    beyond an interval) makes it recompute the hop from its answered samples, which is rare.
    """

    def __init__(self, ttl: int, flows: int = 1):
        if flows < 1:
            raise ValueError("flows must be at least 1")
        self.ttl = ttl
        self.flows = flows
        self._answered: list[tuple[int, str, float]] = []  # (round, responder, sent_at), in round order
        self._last: dict[int, str] = {}
        self.changes: list[RouteChange] = []

    def add(self, round_no: int, responder: str | None, sent_at: float) -> None:
        if responder is None:
            return
        if self._answered and round_no < self._answered[-1][0]:
            bisect.insort(self._answered, (round_no, responder, sent_at))
            rounds, responders, sent_ats = zip(*self._answered, strict=True)
            self.changes = find_route_changes(self.ttl, rounds, responders, sent_ats, self.flows)
            self._last = {}
            for r, who, _t in self._answered:
                self._last[r % self.flows] = who
            return
        self._answered.append((round_no, responder, sent_at))
        flow = round_no % self.flows
        before = self._last.get(flow)
        if before is not None and before != responder:
            self.changes.append(RouteChange(self.ttl, round_no, sent_at, flow, before, responder))
        self._last[flow] = responder
