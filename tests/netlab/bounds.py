"""Exact binomial bounds for loss checks: how many of n probes may be lost before the configured loss rate
is no longer a believable explanation."""

from __future__ import annotations

import math


def path_loss_prob(per_link_loss_pct: float, links_each_way: int) -> float:
    """Probability that a probe to a hop `links_each_way` links away, or its reply, is dropped, when every
    link drops independently with per_link_loss_pct in each direction (2 * links_each_way chances)."""
    return 1.0 - (1.0 - per_link_loss_pct / 100.0) ** (2 * links_each_way)


def binomial_interval(n: int, p: float, confidence: float = 0.999) -> tuple[int, int]:
    """The central interval [lo, hi] of Binomial(n, p) counts holding at least `confidence` of the mass
    (each tail outside it has probability <= (1 - confidence) / 2). Exact, from the pmf; n up to a few
    thousand is fine."""
    if n < 0 or not 0.0 <= p <= 1.0:
        raise ValueError(f"bad binomial parameters n={n}, p={p}")
    tail = (1.0 - confidence) / 2.0
    pmf = [math.comb(n, k) * p**k * (1.0 - p) ** (n - k) for k in range(n + 1)]
    lo, below = 0, 0.0
    while lo < n and below + pmf[lo] <= tail:
        below += pmf[lo]
        lo += 1
    hi, above = n, 0.0
    while hi > 0 and above + pmf[hi] <= tail:
        above += pmf[hi]
        hi -= 1
    return lo, hi
