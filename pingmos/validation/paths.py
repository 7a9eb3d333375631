"""Path models: per-packet one-way delay and loss of each direction of a path, at the voice stream's 20 ms spacing.

A ``Direction`` draws, for packets sent every 20 ms, the one-way network delay (ms) and whether the packet is lost:

- loss: ``none``; ``random`` (Bernoulli, each packet lost with the given probability); ``gilbert`` (the two-state
  Gilbert model: every packet in the bad state is lost, P(good -> bad) = p, P(bad -> good) = r, so the loss rate is
  p / (p + r) and the mean burst 1 / r packets; Gilbert 1960, as in ITU-T G.1050 and RFC 3611's burst metrics).
- delay = base delay + a non-negative variation whose mean is ``jitter_ms``: ``none``; ``iid`` (independent,
  exponential: a queue's waiting time under light load); ``correlated`` (exponential marginal, correlated over
  ``CORRELATION_MS``: the sum of the squares of two AR(1) Gaussian processes, so consecutive packets wait alike, as
  behind a queue that builds up and drains); ``pareto`` (independent, Pareto type II / Lomax with shape
  ``PARETO_SHAPE``: heavy-tailed, rare very late packets, e.g. Wi-Fi retransmissions).

A ``Condition`` is a forward and a reverse direction; the call is heard in the forward direction, the probe's
round trip uses both (a probe is lost when either direction loses it). Everything is drawn from a numpy Generator,
so a seed fixes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PACKET_MS = 20.0
CORRELATION_MS = 300.0  # time constant of the correlated delay variation
PARETO_SHAPE = 2.5  # Lomax shape: finite variance, heavy tail
MAX_VARIATION_MS = 3000.0  # a packet later than 3 s is lost in any buffer anyway; keeps the numbers finite

LOSS_MODELS = ("none", "random", "gilbert")
JITTER_KINDS = ("none", "iid", "correlated", "pareto")


@dataclass(frozen=True)
class Direction:
    """One direction of a path: base delay (ms), delay variation (kind, mean ms), loss (model, %, mean burst)."""

    base_ms: float = 0.0
    jitter_kind: str = "none"
    jitter_ms: float = 0.0
    loss_model: str = "none"
    loss_pct: float = 0.0
    burst_packets: float = 1.0  # mean loss burst of the Gilbert model, packets

    def draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(delay_ms float64[n], lost bool[n]) for n packets sent 20 ms apart."""
        return self.base_ms + self._variation(n, rng), self._loss(n, rng)

    def _variation(self, n: int, rng: np.random.Generator) -> np.ndarray:
        s = self.jitter_ms
        if self.jitter_kind == "none" or s <= 0.0:
            return np.zeros(n)
        if self.jitter_kind == "iid":
            v = rng.exponential(s, n)
        elif self.jitter_kind == "pareto":
            v = rng.pareto(PARETO_SHAPE, n) * s * (PARETO_SHAPE - 1.0)  # Lomax mean = scale / (shape - 1)
        elif self.jitter_kind == "correlated":
            rho = float(np.exp(-PACKET_MS / CORRELATION_MS))
            from scipy.signal import lfilter

            e = rng.standard_normal((2, n)) * np.sqrt(1.0 - rho * rho)
            g0 = rng.standard_normal(2)  # start in the stationary distribution
            g, _ = lfilter([1.0], [1.0, -rho], e, axis=1, zi=(rho * g0)[:, None])
            v = s * (g[0] ** 2 + g[1] ** 2) / 2.0  # exponential marginal with mean s
        else:
            raise ValueError(f"unknown jitter kind {self.jitter_kind!r}; one of {', '.join(JITTER_KINDS)}")
        return np.minimum(v, MAX_VARIATION_MS)

    def _loss(self, n: int, rng: np.random.Generator) -> np.ndarray:
        rate = self.loss_pct / 100.0
        if self.loss_model == "none" or rate <= 0.0:
            return np.zeros(n, dtype=bool)
        if self.loss_model == "random":
            return rng.random(n) < rate
        if self.loss_model == "gilbert":
            return gilbert(n, rate, self.burst_packets, rng)
        raise ValueError(f"unknown loss model {self.loss_model!r}; one of {', '.join(LOSS_MODELS)}")


def gilbert(n: int, rate: float, burst_packets: float, rng: np.random.Generator) -> np.ndarray:
    """Loss pattern (bool[n]) of the two-state Gilbert model with loss ``rate`` (0-1) and mean burst (packets >= 1).

    r = 1 / burst, p = rate r / (1 - rate); the first state is drawn from the stationary distribution.
    """
    r = 1.0 / max(1.0, burst_packets)
    p = rate * r / (1.0 - rate)
    u = rng.random(n)
    lost = np.empty(n, dtype=bool)
    bad = bool(u[0] < rate)
    for i in range(n):
        if i:
            bad = (u[i] >= r) if bad else (u[i] < p)
        lost[i] = bad
    return lost


@dataclass(frozen=True)
class Condition:
    """A path: the call's direction (``forward``) and the way back (``reverse``); ``name`` says what it is."""

    name: str
    forward: Direction
    reverse: Direction
    tags: dict[str, str] = field(default_factory=dict, compare=False)

    def draw(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Both directions for n packets: ``fwd_ms``, ``fwd_lost``, ``rev_ms``, ``rev_lost``."""
        fwd_ms, fwd_lost = self.forward.draw(n, rng)
        rev_ms, rev_lost = self.reverse.draw(n, rng)
        return {"fwd_ms": fwd_ms, "fwd_lost": fwd_lost, "rev_ms": rev_ms, "rev_lost": rev_lost}


def probe_rtts(path: dict[str, np.ndarray], count: int, interval_packets: int = 50) -> list[float | None]:
    """What a pinger sees of the path: ``count`` round trips one second (50 packet slots) apart, None = lost.

    A probe sent at slot i goes out with the forward direction's delay and loss of slot i and comes back with the
    reverse direction's of the slot it arrives in (queues are shared with the voice stream's packets).
    """
    fwd_ms, rev_ms = path["fwd_ms"], path["rev_ms"]
    n = len(fwd_ms)
    # Vectorised (the noise script takes every slot's round trip, 15 000 a path); the same float64 operations as one
    # probe at a time, so the same numbers to the last bit.
    sent = np.arange(count, dtype=np.int64) * interval_packets
    sent = sent[sent < n]
    back = np.minimum(n - 1, sent + (fwd_ms[sent] // PACKET_MS).astype(np.int64))
    lost = path["fwd_lost"][sent] | path["rev_lost"][back]
    rtts = fwd_ms[sent] + rev_ms[back]
    return [None if gone else rtt for gone, rtt in zip(lost.tolist(), rtts.tolist(), strict=True)]
