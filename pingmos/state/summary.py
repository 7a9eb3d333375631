"""Whole-run numbers of samples that are no longer in memory: a long report keeps its memory flat.

``pingmos report -c N`` shows every hop's numbers over the whole run. Keeping every sample for that grows by 24
bytes a sample (``history``); a run of a million rounds over 30 hops would hold 720 MB. So a report's history keeps
only its last samples per hop (``TraceHistory(keep_samples=..., summarise=True)``) and folds each sample it lets go
into a ``RunningSummary``: counts, the running mean and sum of squared deviations (the pairwise update of Chan,
Golub and LeVeque, "Algorithms for computing the sample variance", 1979: exact up to rounding, no cancellation),
the extremes, and the sum of absolute differences between consecutive received RTTs with the last RTT let go (so
the difference across the boundary counts too). ``combined`` merges it with the statistics of the samples still in
memory: sent, received, loss and its interval, mean, min, max, sample standard deviation and PingPlotter jitter are
those of the whole run, equal to ``HopWindow.from_rtts`` of every sample (to rounding, see the tests). What needs
the samples themselves (``rtts_ms``: a model's own jitter or playout, the MOS interval's resampling, the per-round
diagnosis) sees the samples still in memory, the last ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pingmos.scoring import DEFAULT_JITTER, HopWindow
from pingmos.stats import wilson_interval_pct


@dataclass
class RunningSummary:
    """Samples let go, oldest first: ``add`` them in the order they were sent. RTTs in ms; NaN = lost."""

    sent: int = 0
    received: int = 0
    mean_ms: float = 0.0
    m2: float = 0.0  # sum of squared deviations from mean_ms
    min_ms: float = math.inf
    max_ms: float = -math.inf
    abs_diff_sum_ms: float = 0.0  # sum of |consecutive received differences|, boundaries between batches included
    last_ms: float | None = None  # the last received RTT let go
    responders: dict[int, int] = field(default_factory=dict)  # responder index -> replies (history's addresses)
    first_round: int | None = None  # round and send time (wall clock, s) of the first sample let go
    first_sent_at: float | None = None

    def add(
        self,
        rtts_ms: np.ndarray,
        responders: np.ndarray | None = None,
        first_round: int | None = None,
        first_sent_at: float | None = None,
    ) -> None:
        """Fold in the next samples let go (a float64 array, NaN = lost; oldest first) with their responder
        indexes (uint16, 0 = lost), and the round and send time of the first sample let go of the row."""
        if not len(rtts_ms):
            return
        if self.first_round is None:
            self.first_round, self.first_sent_at = first_round, first_sent_at
        self.sent += len(rtts_ms)
        if responders is not None and len(responders):
            per_index = np.bincount(responders)
            for i in np.flatnonzero(per_index):
                if i:
                    self.responders[int(i)] = self.responders.get(int(i), 0) + int(per_index[i])
        got = rtts_ms[~np.isnan(rtts_ms)]
        n_b = len(got)
        if not n_b:
            return
        mean_b = float(got.mean())
        m2_b = float(((got - mean_b) ** 2).sum())
        n_a = self.received
        n = n_a + n_b
        delta = mean_b - self.mean_ms
        self.mean_ms += delta * n_b / n
        self.m2 += m2_b + delta * delta * n_a * n_b / n
        self.received = n
        self.min_ms = min(self.min_ms, float(got.min()))
        self.max_ms = max(self.max_ms, float(got.max()))
        if self.last_ms is not None:
            self.abs_diff_sum_ms += abs(float(got[0]) - self.last_ms)
        self.abs_diff_sum_ms += float(np.abs(np.diff(got)).sum())
        self.last_ms = float(got[-1])

    def combined(self, window: HopWindow) -> HopWindow:
        """The statistics of these samples followed by ``window``'s (the samples still in memory): whole-run
        counts and summary numbers; ``rtts_ms`` stays the window's own samples."""
        if not self.sent:
            return window
        tail = window.received_array
        n_b = len(tail)
        n = self.received + n_b
        mean = self.mean_ms
        m2 = self.m2
        if n_b:
            mean_b = float(tail.mean())
            delta = mean_b - mean
            mean = mean + delta * n_b / n
            m2 += float(((tail - mean_b) ** 2).sum()) + delta * delta * self.received * n_b / n
        diffs = self.abs_diff_sum_ms + (float(np.abs(np.diff(tail)).sum()) if n_b > 1 else 0.0)
        if self.last_ms is not None and n_b:
            diffs += abs(float(tail[0]) - self.last_ms)
        sent = self.sent + window.sent
        lost = sent - n
        stats = HopWindow(
            sent=sent,
            received=n,
            loss_pct=100.0 * lost / sent,
            loss_ci_pct=wilson_interval_pct(lost, sent),
            last_ms=window.last_ms if n_b else self.last_ms,
            avg_ms=mean if n else None,
            min_ms=min(self.min_ms, float(tail.min()) if n_b else math.inf) if n else None,
            max_ms=max(self.max_ms, float(tail.max()) if n_b else -math.inf) if n else None,
            stdev_ms=math.sqrt(m2 / (n - 1)) if n >= 2 else None,
            rtts_ms=window.rtts_ms,
        )
        # The whole run's PingPlotter jitter (the default definition: the hop table's and a model's unless it asks
        # for another), and the samples in memory for everything else.
        stats._jitter_cache[DEFAULT_JITTER] = diffs / (n - 1) if n >= 2 else None
        stats._jitter_cache["_received_array"] = tail
        return stats
