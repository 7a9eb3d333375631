"""Numbers over a window of samples: pure functions on numpy arrays, no I/O, no threads, no Qt.

A sample is one probe's outcome: its round-trip time in milliseconds, or ``None`` (NaN in an array) when the
probe was lost. Here: a window as an array (``as_rtts``) or a sequence with None (``RttSeq``), the mean, the sample
standard deviation, percentiles and the Wilson interval of a loss proportion. One hop's window with all its numbers
is ``pingmos.scoring.HopWindow``; every jitter definition is in ``pingmos.scoring.jitter``.

Edge cases: no values gives ``None`` (nothing was measured, so nothing is claimed); a standard deviation needs
two values, never 0 for one, because 0 would claim a perfectly steady line.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from pingmos.lazy_numpy import LazyNumpy

if TYPE_CHECKING:
    import numpy as np
else:
    np = LazyNumpy(globals())  # numpy on first use: `pingmos score` needs no array (lazy_numpy.py)

# Two-sided 95 % normal quantile, for the Wilson score interval.
Z_95 = 1.959963984540054

_scratch = threading.local()


def scratch(n: int, dtype: object = "float64") -> np.ndarray:
    """A work buffer of ``n`` values of ``dtype`` (float64 or int64) owned by the calling thread, reused.

    Why: a temporary the size of a day's window (86,400 values, 675 kB) is above glibc's mmap threshold, so each
    one is fresh memory from the kernel, and its page faults cost more than the arithmetic (a 24 h snapshot spent
    about half its CPU in them, more on a loaded machine). Only for values consumed before the function that
    asked for it returns: the next call on the thread overwrites them.
    """
    key = "int64" if np.dtype(dtype) == np.int64 else "float64"
    buf = getattr(_scratch, key, None)
    if buf is None or len(buf) < n:
        buf = np.empty(max(n, 1024, 2 * len(buf) if buf is not None else 0), dtype=key)
        setattr(_scratch, key, buf)
    return buf[:n]


@functools.cache
def _empty() -> np.ndarray:
    out = np.empty(0)
    out.flags.writeable = False
    return out


def as_rtts(samples_ms: Sequence[float | None] | np.ndarray) -> np.ndarray:
    """A window as a read-only float64 array, NaN for a lost sample (None or NaN in the input)."""
    if isinstance(samples_ms, np.ndarray) and samples_ms.dtype == np.float64:
        out = samples_ms
    elif isinstance(samples_ms, RttSeq):
        out = samples_ms.array
    else:
        values = list(samples_ms)
        out = np.array([np.nan if v is None else v for v in values], dtype=np.float64) if values else _empty()
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

    @classmethod
    def of_readonly(cls, array: np.ndarray) -> RttSeq:
        """Over ``array``, a read-only float64 array already (not checked: for many windows at once, e.g. rows of
        one read-only matrix, where ``as_rtts``'s checks would cost more than the rest of a window)."""
        seq = object.__new__(cls)
        seq.array = array
        return seq

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


# Blocks of the pairwise tree up to this size are summed by numpy in one call (see pairwise_sum).
PAIRWISE_LEAF = 8192


def pairwise_sum(n: int, leaf: Callable[[int, int], float], memo: dict | None = None) -> float:
    """``np.add.reduce(terms)`` of ``n`` float64 terms, to the bit, given ``leaf(start, k)`` =
    ``np.add.reduce(terms[start : start + k])`` for the blocks of ``PAIRWISE_LEAF`` terms or fewer.

    numpy sums a contiguous float64 array pairwise: above 128 terms it sums the first half (rounded down to a
    multiple of 8) and the rest separately and adds the two (``pairwise_sum`` in numpy's loops_utils). Each
    block's sum depends on that block's terms only, so this walks the same tree and, with ``memo`` (a dict kept
    by the caller between calls over an array that only grows at the end), takes the blocks it met last time from
    there: a day of samples plus one costs the last block, not the day. ``memo`` is left holding this call's
    blocks. Why not one running sum: its rounding would differ from numpy's, and every number must be the same
    whichever way the window was built.
    """
    used: dict[tuple[int, int], float] = {}

    def block(start: int, k: int) -> float:
        if k <= PAIRWISE_LEAF or k <= 128:  # numpy splits only above 128 terms
            return leaf(start, k)
        key = (start, k)
        total = memo.get(key) if memo is not None else None
        if total is None:
            half = k // 2
            half -= half % 8
            total = block(start, half) + block(start + half, k - half)
        used[key] = total
        return total

    total = block(0, n) if n else 0.0
    if memo is not None:
        memo.clear()
        memo.update(used)
    return float(total)


def as_array(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """``values`` as a float64 array, not copied when it is one already."""
    return values if isinstance(values, np.ndarray) else np.asarray(values, dtype=np.float64)


def mean(values: Sequence[float] | np.ndarray) -> float | None:
    """Arithmetic mean; None for no values. ``np.mean``'s sum and division without its dispatch (the same bits:
    a bootstrap builds thousands of small windows)."""
    n = len(values)
    if n == 0:
        return None
    return float(np.add.reduce(np.asarray(values, dtype=np.float64)) / n)


def sample_stdev(values: Sequence[float] | np.ndarray, mean_: float | None = None) -> float | None:
    """Sample standard deviation (n - 1 in the denominator, as mtr reports it); None for fewer than 2 values.

    ``np.std(values, ddof=1)`` step for step (the same sums in the same order, so the same bits: see the tests),
    with its deviations in the thread's scratch buffer instead of a new array. ``mean_``: the values' mean as
    ``mean`` gives it, when the caller has it already."""
    n = len(values)
    if n < 2:
        return None
    a = np.asarray(values, dtype=np.float64)
    if mean_ is None:
        mean_ = np.add.reduce(a) / n
    dev = scratch(n)
    np.subtract(a, mean_, out=dev)
    np.square(dev, out=dev)
    return float(np.sqrt(np.add.reduce(dev) / (n - 1)))


def percentile(values: Sequence[float] | np.ndarray, pct: float) -> float | None:
    """The pct-th percentile (0-100) with linear interpolation between closest ranks; None for no values."""
    if not 0.0 <= pct <= 100.0:
        raise ValueError(f"percentile must be within 0 and 100, not {pct}")
    if len(values) == 0:
        return None
    return float(np.percentile(as_array(values), pct))


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
