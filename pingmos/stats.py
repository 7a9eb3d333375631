"""Per-hop statistics over a window of samples: pure functions, no I/O, no threads, no Qt.

A sample is one probe's outcome: its round-trip time in milliseconds, or ``None`` when the probe was lost.
"Samples to include" (PingPlotter's term) is the window: the last N samples of a hop, in the order they were sent.

Edge cases, the same in every function here:
- no samples at all: counts are 0 and every number is ``None`` (nothing was measured, so nothing is claimed);
- every sample lost: loss is 100 %, latency numbers are ``None``;
- one received sample: last/avg/min/max are that sample; jitter and standard deviation are ``None`` (undefined:
  they need two received samples), never 0, because 0 would claim a perfectly steady line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Two-sided 95 % normal quantile, for the Wilson score interval.
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class WindowStats:
    """Statistics of one hop's window. Latencies in ms, loss in percent (0-100)."""

    sent: int
    received: int
    loss_pct: float | None
    loss_ci_pct: tuple[float, float] | None
    last_ms: float | None
    avg_ms: float | None
    min_ms: float | None
    max_ms: float | None
    stdev_ms: float | None
    jitter_ms: float | None
    # The window itself, oldest first, None for a lost sample: scoring models may want more than the summary.
    samples_ms: tuple[float | None, ...] = ()

    @property
    def lost(self) -> int:
        return self.sent - self.received

    @property
    def received_ms(self) -> tuple[float, ...]:
        """The received latencies in the order they were sent."""
        return tuple(s for s in self.samples_ms if s is not None)


def mean(values: Sequence[float]) -> float | None:
    """Arithmetic mean; None for no values."""
    return math.fsum(values) / len(values) if values else None


def sample_stdev(values: Sequence[float]) -> float | None:
    """Sample standard deviation (n - 1 in the denominator, as mtr reports it); None for fewer than 2 values."""
    n = len(values)
    if n < 2:
        return None
    m = math.fsum(values) / n
    return math.sqrt(math.fsum((v - m) ** 2 for v in values) / (n - 1))


def jitter_mean_abs_diff(received_ms: Sequence[float]) -> float | None:
    """PingPlotter's jitter: the mean absolute difference between consecutive received latencies.

    Lost samples are skipped, so the difference is taken between the received samples on either side of a loss
    (the seed article sums the differences between the samples it has). 136, 184, 115, 148, 125 gives
    (48 + 69 + 33 + 23) / 4 = 43.25. None for fewer than 2 received samples.
    """
    if len(received_ms) < 2:
        return None
    return math.fsum(successive_diffs_ms(received_ms)) / (len(received_ms) - 1)


def jitter_rfc3550(received_ms: Sequence[float]) -> float | None:
    """RFC 3550's smoothed interarrival jitter, J += (|D| - J) / 16, run over consecutive round-trip times.

    Starts from J = 0 as RTP stacks do, so it needs many samples to settle. None for fewer than 2 samples.
    """
    series = jitter_rfc3550_series(received_ms)
    return series[-1] if series else None


def successive_diffs_ms(received_ms: Sequence[float]) -> list[float]:
    """|D| between consecutive received latencies (ms): the steps every jitter definition starts from."""
    return [abs(b - a) for a, b in zip(received_ms, received_ms[1:], strict=False)]


def jitter_rfc3550_series(received_ms: Sequence[float]) -> list[float]:
    """RFC 3550's J after each step (J += (|D| - J) / 16 from J = 0); [] for fewer than 2 samples."""
    series = []
    j = 0.0
    for d in successive_diffs_ms(received_ms):
        j += (d - j) / 16.0
        series.append(j)
    return series


def jitter_stdev(received_ms: Sequence[float]) -> float | None:
    """Standard deviation of the successive differences |D| (how unsteady the jitter is); None below 3 samples."""
    return sample_stdev(successive_diffs_ms(received_ms))


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The pct-th percentile (0-100) with linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    if not 0.0 <= pct <= 100.0:
        raise ValueError(f"percentile must be within 0 and 100, not {pct}")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * pct / 100.0
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def wilson_interval_pct(lost: int, sent: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval for the loss proportion, in percent; None when nothing was sent.

    Unlike the normal approximation it stays within 0-100 and is honest for 0 % and 100 % observed loss:
    0 lost of 50 sent gives (0, 7.1), not (0, 0).
    """
    if sent <= 0:
        return None
    p = lost / sent
    z2 = z * z
    denom = 1.0 + z2 / sent
    centre = (p + z2 / (2 * sent)) / denom
    half = z * math.sqrt(p * (1 - p) / sent + z2 / (4 * sent * sent)) / denom
    # At 0 and 100 % observed the bound is exactly 0 / 100; say so rather than print 6.9e-16 of rounding.
    low = 0.0 if lost == 0 else max(0.0, centre - half) * 100.0
    high = 100.0 if lost == sent else min(1.0, centre + half) * 100.0
    return (low, high)


def window_stats(samples_ms: Sequence[float | None]) -> WindowStats:
    """Statistics of a window of samples (oldest first; None = lost). See the module docstring for edge cases."""
    samples = tuple(samples_ms)
    received = [s for s in samples if s is not None]
    sent = len(samples)
    lost = sent - len(received)
    return WindowStats(
        sent=sent,
        received=len(received),
        loss_pct=(100.0 * lost / sent) if sent else None,
        loss_ci_pct=wilson_interval_pct(lost, sent),
        last_ms=received[-1] if received else None,
        avg_ms=mean(received),
        min_ms=min(received) if received else None,
        max_ms=max(received) if received else None,
        stdev_ms=sample_stdev(received),
        jitter_ms=jitter_mean_abs_diff(received),
        samples_ms=samples,
    )
