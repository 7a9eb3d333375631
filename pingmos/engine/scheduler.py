"""When to send which probe: pure, driven by an injected monotonic time, so pacing is testable without a network.

Round r starts at ``start + r * interval_s``. Within a round the TTLs go out in order 1, 2, ... spread evenly
across the interval (TTL k at ``(k - 1) / n`` of it, n = the TTLs of the round) instead of in one burst: routers
then never see a burst from us, and by the time the high TTLs are due the destination has usually answered,
so TTLs beyond it are never sent at all.
"""

from __future__ import annotations


class RoundScheduler:
    def __init__(self, interval_s: float, max_ttl: int, start: float, rounds: int | None = None):
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        if max_ttl < 1:
            raise ValueError("max_ttl must be at least 1")
        self.interval_s = interval_s
        self.max_ttl = max_ttl
        self.rounds = rounds  # None = until stopped
        self._start = start
        self._round = 0
        self._next_ttl = 1
        self._round_ttls = max_ttl
        self.destination_ttl: int | None = None
        self._ended = False

    def set_destination_ttl(self, ttl: int) -> None:
        """The destination answered at ``ttl``; keep the lowest TTL it ever answered at."""
        if self.destination_ttl is None or ttl < self.destination_ttl:
            self.destination_ttl = ttl

    @property
    def last_ttl(self) -> int:
        return self.destination_ttl if self.destination_ttl is not None else self.max_ttl

    @property
    def finished(self) -> bool:
        return self._ended or (self.rounds is not None and self._round >= self.rounds)

    def end(self) -> None:
        """Send nothing more, even in the middle of a round (a trace winding down). Safe from another thread: one
        attribute set, read by ``finished``."""
        self._ended = True

    def _normalize(self) -> None:
        # The round ends after its last TTL, which moves down when the destination turns up mid-round.
        if self._next_ttl > min(self._round_ttls, self.last_ttl):
            self._round += 1
            self._next_ttl = 1

    def _due_at(self) -> float:
        round_start = self._start + self._round * self.interval_s
        return round_start + (self._next_ttl - 1) * self.interval_s / self._round_ttls

    def next_due(self) -> float | None:
        """Monotonic time the next probe is due, None when every round has been sent."""
        self._normalize()
        return None if self.finished else self._due_at()

    def due(self, now: float, ahead_s: float = 0.0) -> list[tuple[int, int]]:
        """(round, ttl) of every probe due by ``now``, in sending order; with ``ahead_s``, also the probes of the
        same round due within ``ahead_s`` after ``now`` (sent early, with the others: one wake-up for several
        probes), never a later round's (a round starts on time)."""
        out = []
        self._normalize()
        last = now + ahead_s
        while not self.finished:
            at = self._due_at()
            if at > now and (at > last or self._next_ttl == 1):
                break
            if self._next_ttl == 1:
                # Fix the spread for this round now: the destination may be known by the time it starts.
                self._round_ttls = self.last_ttl
            out.append((self._round, self._next_ttl))
            self._next_ttl += 1
            self._normalize()
        return out

    def skip_to(self, now: float) -> None:
        """After a stall (a suspended laptop), start the next round at ``now`` instead of sending a backlog."""
        behind = now - self._due_at()
        if behind > self.interval_s:
            self._start += behind
