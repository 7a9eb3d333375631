"""The state of one trace, built only from Sample events, and snapshots of it as HopReports.

``apply`` is the one function that changes the state; everything shown (windows, statistics, scores) is derived
from the raw samples at snapshot time, so a different window or scoring model re-scores the whole history.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pingmos.engine.events import Sample
from pingmos.hop_report import TraceSnapshot, scored_hop
from pingmos.route_changes import RouteChangeTracker
from pingmos.scoring import ModelError, Score, score_all
from pingmos.stats import WindowStats, window_stats

# A scorer turns a hop's window into a Score, None (nothing to score), or why it failed (a scoring.ModelError or a
# string). A scoring.Model is one; its score_many is then used to score all hops of a snapshot in one batch.
Scorer = Callable[[WindowStats], "Score | ModelError | str | None"]


@dataclass
class HopHistory:
    """Every settled sample of one TTL, ordered by round (replies settle out of order; the window must not)."""

    rounds: list[int] = field(default_factory=list)
    rtts_ms: list[float | None] = field(default_factory=list)
    responders: list[str | None] = field(default_factory=list)
    route: RouteChangeTracker | None = None  # the hop's route changes, kept up to date by add()

    def add(self, sample: Sample) -> None:
        i = bisect.bisect(self.rounds, sample.round)
        self.rounds.insert(i, sample.round)
        self.rtts_ms.insert(i, sample.rtt_ms)
        self.responders.insert(i, sample.responder)
        if self.route is not None:
            self.route.add(sample.round, sample.responder, sample.sent_at)

    def window(self, n: int | None) -> slice:
        return slice(0, len(self.rounds)) if n is None else slice(max(0, len(self.rounds) - n), len(self.rounds))


class TraceState:
    def __init__(self, target: str, address: str, protocol: str, interval_s: float, flows: int = 1):
        self.target = target
        self.address = address
        self.protocol = protocol
        self.interval_s = interval_s
        self.flows = flows  # TraceSettings.flows: route changes are followed per flow (route_changes.py)
        self.hops: dict[int, HopHistory] = {}
        self.destination_ttl: int | None = None

    def apply(self, sample: Sample) -> None:
        if sample.reached and (self.destination_ttl is None or sample.ttl < self.destination_ttl):
            self.destination_ttl = sample.ttl
        history = self.hops.get(sample.ttl)
        if history is None:
            history = self.hops[sample.ttl] = HopHistory(route=RouteChangeTracker(sample.ttl, self.flows))
        history.add(sample)

    def visible_ttls(self) -> list[int]:
        """The TTLs a user should see: up to the destination once it answered; otherwise up to the last hop
        that answered and one silent TTL after it (a row of ??? standing for the rest, as traceroute users
        expect), never 30 rows of nothing."""
        if not self.hops:
            return []
        if self.destination_ttl is not None:
            last = self.destination_ttl
        else:
            answered = [t for t, h in self.hops.items() if any(r is not None for r in h.responders)]
            last = min(max(self.hops), (max(answered) + 1) if answered else 1)
        return list(range(1, last + 1))

    def snapshot(
        self,
        window: int | None,
        scorer: Scorer,
        model_name: str,
        names: Callable[[str], str | None] = lambda addr: None,
        probes_sent: int = 0,
        unmatched_replies: int = 0,
    ) -> TraceSnapshot:
        rows = []
        for ttl in self.visible_ttls():
            history = self.hops.get(ttl, HopHistory())
            part = history.window(window)
            rows.append((ttl, history, part, window_stats(history.rtts_ms[part])))
        # One batch per snapshot: a user's formula runs in a worker process, one round trip for all hops.
        results = score_all(scorer, [stats for *_, stats in rows])
        hops = []
        all_changes = []
        for (ttl, history, part, stats), result in zip(rows, results, strict=True):
            responders = Counter(r for r in history.responders[part] if r is not None)
            changes = list(history.route.changes) if history.route is not None else []
            all_changes += changes
            first_round = history.rounds[part][0] if history.rounds[part] else None
            if not responders:  # silent in the window: the address it answered from before (a destination gone quiet)
                responders_ever = Counter(r for r in history.responders if r is not None)
                address = responders_ever.most_common(1)[0][0] if responders_ever else None
            else:
                address = responders.most_common(1)[0][0]
            hops.append(
                scored_hop(
                    ttl,
                    address,
                    names(address) if address else None,
                    dict(responders),
                    stats,
                    result,
                    route_changes=tuple(c for c in changes if first_round is not None and c.round >= first_round),
                    # Per-round data for the diagnosis ("are the rounds lost here lost further on too?").
                    window_rounds=np.asarray(history.rounds[part], dtype=np.int64),
                    window_rtts_ms=np.array([np.nan if v is None else v for v in history.rtts_ms[part]], dtype=float),
                )
            )
        return TraceSnapshot(
            target=self.target,
            address=self.address,
            protocol=self.protocol,
            interval_s=self.interval_s,
            window=window,
            rounds=max((len(h.rounds) for h in self.hops.values()), default=0),
            model=model_name,
            destination_reached=self.destination_ttl is not None,
            hops=tuple(hops),
            probes_sent=probes_sent,
            unmatched_replies=unmatched_replies,
            route_changes=tuple(sorted(all_changes, key=lambda c: (c.round, c.ttl))),
        )
