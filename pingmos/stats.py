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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

# Two-sided 95 % normal quantile, for the Wilson score interval.
Z_95 = 1.959963984540054
_EMPTY = np.empty(0)
_EMPTY.flags.writeable = False


def as_rtts(samples_ms: Sequence[float | None] | np.ndarray) -> np.ndarray:
    """A window as a read-only float64 array, NaN for a lost sample (None or NaN in the input)."""
    if isinstance(samples_ms, np.ndarray) and samples_ms.dtype == np.float64:
        out = samples_ms
    elif isinstance(samples_ms, RttSeq):
        out = samples_ms.array
    else:
        values = list(samples_ms)
        out = np.array([np.nan if v is None else v for v in values], dtype=np.float64) if values else _EMPTY
    if out.flags.writeable:
        out = out.view()
        out.flags.writeable = False
    return out


class RttSeq(Sequence):
    """A window of RTTs (ms) as a sequence of floats with None for a lost sample, over a float64 array (NaN = lost)
    that it never copies: a day of samples is handed to a formula or a percentile without building 86 400 Python
    objects first. Compares equal to a tuple or list holding the same values."""

    __slots__ = ("array",)

    def __init__(self, rtts_ms: Sequence[float | None] | np.ndarray = ()) -> None:
        self.array = as_rtts(rtts_ms)

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return RttSeq(self.array[i])
        v = float(self.array[i])
        return None if v != v else v

    def __iter__(self) -> Iterator[float | None]:
        return (None if v != v else v for v in self.array.tolist())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RttSeq):
            return np.array_equal(self.array, other.array, equal_nan=True)
        if isinstance(other, tuple | list):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"RttSeq({list(self)!r})"

    def __reduce__(self):
        return (RttSeq, (tuple(self),))


@dataclass(frozen=True)
class WindowStats:
    """Statistics of one hop's window. Latencies in ms, loss in percent (0-100).

    ``rtts_ms``: the window itself, oldest first, as a read-only float64 array with NaN for a lost sample (scoring
    models may want more than the summary); empty for a window made from another tool's summary numbers.
    ``samples_ms`` is the same as a sequence with None for a lost sample; ``received_ms`` the received ones.
    """

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
    rtts_ms: np.ndarray = field(default_factory=lambda: _EMPTY, compare=False, repr=False)

    @property
    def lost(self) -> int:
        return self.sent - self.received

    @cached_property
    def samples_ms(self) -> RttSeq:
        """The window oldest first, None for a lost sample."""
        return RttSeq(self.rtts_ms)

    @cached_property
    def received_array(self) -> np.ndarray:
        """The received latencies (ms) in the order they were sent, as a float64 array."""
        rtts = self.rtts_ms
        return rtts[~np.isnan(rtts)] if self.received < len(rtts) else rtts

    @property
    def received_ms(self) -> tuple[float, ...]:
        """The received latencies in the order they were sent."""
        return tuple(self.received_array.tolist())


def _array(values: Sequence[float] | np.ndarray) -> np.ndarray:
    return values if isinstance(values, np.ndarray) else np.asarray(values, dtype=np.float64)


def mean(values: Sequence[float] | np.ndarray) -> float | None:
    """Arithmetic mean; None for no values."""
    if len(values) == 0:
        return None
    return float(np.mean(_array(values)))


def sample_stdev(values: Sequence[float] | np.ndarray) -> float | None:
    """Sample standard deviation (n - 1 in the denominator, as mtr reports it); None for fewer than 2 values."""
    if len(values) < 2:
        return None
    return float(np.std(_array(values), ddof=1))


def jitter_mean_abs_diff(received_ms: Sequence[float] | np.ndarray) -> float | None:
    """PingPlotter's jitter: the mean absolute difference between consecutive received latencies.

    Lost samples are skipped, so the difference is taken between the received samples on either side of a loss
    (the seed article sums the differences between the samples it has). 136, 184, 115, 148, 125 gives
    (48 + 69 + 33 + 23) / 4 = 43.25. None for fewer than 2 received samples.
    """
    if len(received_ms) < 2:
        return None
    values = _array(received_ms)
    steps = np.subtract(values[1:], values[:-1])
    return float(np.abs(steps, out=steps).mean())


def jitter_rfc3550(received_ms: Sequence[float] | np.ndarray) -> float | None:
    """RFC 3550's smoothed interarrival jitter, J += (|D| - J) / 16, run over consecutive round-trip times.

    Starts from J = 0 as RTP stacks do, so it needs many samples to settle. None for fewer than 2 samples.
    """
    if len(received_ms) < 2:
        return None
    return float(_rfc3550(np.abs(np.diff(_array(received_ms))))[-1])


def successive_diffs_ms(received_ms: Sequence[float] | np.ndarray) -> list[float]:
    """|D| between consecutive received latencies (ms): the steps every jitter definition starts from."""
    if len(received_ms) < 2:
        return []
    return np.abs(np.diff(_array(received_ms))).tolist()


# J_n = a J_(n-1) + (1 - a) |D_n| with a = 15/16 is a linear recurrence: within a block of B steps it is a cumulative
# sum scaled by powers of a (a^-B stays small for B = 64, so nothing is lost to rounding), blocks chained by J.
_A = 15.0 / 16.0
_BLOCK = 64
_POW = _A ** np.arange(_BLOCK + 1)


def _rfc3550(d: np.ndarray) -> np.ndarray:
    out = np.empty(len(d))
    j = 0.0
    for start in range(0, len(d), _BLOCK):
        block = d[start : start + _BLOCK] / 16.0
        k = len(block)
        up = _POW[:k]
        out[start : start + k] = up * (_A * j + np.cumsum(block / up))
        j = out[start + k - 1]
    return out


def jitter_rfc3550_series(received_ms: Sequence[float] | np.ndarray) -> list[float]:
    """RFC 3550's J after each step (J += (|D| - J) / 16 from J = 0); [] for fewer than 2 samples."""
    if len(received_ms) < 2:
        return []
    return _rfc3550(np.abs(np.diff(_array(received_ms)))).tolist()


def jitter_stdev(received_ms: Sequence[float] | np.ndarray) -> float | None:
    """Standard deviation of the successive differences |D| (how unsteady the jitter is); None below 3 samples."""
    if len(received_ms) < 3:
        return None
    return sample_stdev(np.abs(np.diff(_array(received_ms))))


def percentile(values: Sequence[float] | np.ndarray, pct: float) -> float | None:
    """The pct-th percentile (0-100) with linear interpolation between closest ranks; None for no values."""
    if not 0.0 <= pct <= 100.0:
        raise ValueError(f"percentile must be within 0 and 100, not {pct}")
    if len(values) == 0:
        return None
    return float(np.percentile(_array(values), pct))


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


def window_stats(samples_ms: Sequence[float | None] | np.ndarray) -> WindowStats:
    """Statistics of a window of samples (oldest first; None or NaN = lost), a sequence or a float64 array. See
    the module docstring for edge cases. Vectorised: a day of samples (86 400) takes about a millisecond."""
    rtts = as_rtts(samples_ms)
    lost_mask = np.isnan(rtts)
    sent = len(rtts)
    lost = int(np.count_nonzero(lost_mask))
    received = rtts[~lost_mask] if lost else rtts
    n = sent - lost
    stats = WindowStats(
        sent=sent,
        received=n,
        loss_pct=(100.0 * lost / sent) if sent else None,
        loss_ci_pct=wilson_interval_pct(lost, sent),
        last_ms=float(received[-1]) if n else None,
        avg_ms=mean(received),
        min_ms=float(received.min()) if n else None,
        max_ms=float(received.max()) if n else None,
        stdev_ms=sample_stdev(received),
        jitter_ms=jitter_mean_abs_diff(received),
        rtts_ms=rtts,
    )
    stats.__dict__["received_array"] = received  # computed already (cached_property's slot)
    return stats
