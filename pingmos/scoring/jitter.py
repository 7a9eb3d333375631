"""Named jitter definitions, so a user can reproduce the number of the tool they compare against.

Tools disagree on what "jitter" is. Each definition here gives a summary value (the hop's jitter in ms) and a
per-packet series (one value per step, used where a model needs a spread or percentiles of jitter):

- ``pingplotter`` (default): mean |D| of consecutive received round-trip times (PingPlotter, mtr's "Javg").
  Series: the |D| values themselves.
- ``rfc3550``: RFC 3550's smoothed estimate, J += (|D| - J) / 16 from J = 0, as an RTP stack reports it.
  Summary: the final J. Series: J after each step.
- ``stdev``: the sample standard deviation of the received round-trip times (mtr's "StDev").
  Series: each sample's absolute deviation from the mean.

All take the received latencies oldest first (lost samples skipped) and give None below two samples. This module
holds every jitter definition pingmos has; their names say which is which:

- ``jitter_ms(received, definition)``: the hop's jitter by a definition (``jitter_mean_abs_diff``,
  ``jitter_rfc3550``, or for ``stdev`` the RTTs' sample standard deviation, ``stats.sample_stdev``);
- ``jitter_series_ms(received, definition)``: its per-packet series (``successive_diffs_ms``,
  ``jitter_rfc3550_series``, absolute deviations from the mean);
- ``jitter_stdev_ms(received, definition)``: how unsteady the jitter is, the sample standard deviation of that
  series (for ``pingplotter``: of |D|, what Asterisk's formula multiplies), None below three samples. Not the
  ``stdev`` definition, which is the spread of the RTTs themselves (a window's ``stdev_ms``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pingmos.lazy_numpy import LazyNumpy

if TYPE_CHECKING:
    import numpy as np
else:
    np = LazyNumpy(globals())  # numpy on first use: `pingmos score` needs no array (lazy_numpy.py)

from pingmos import stats

DEFAULT_JITTER = "pingplotter"
JITTER_DEFINITIONS = ("pingplotter", "rfc3550", "stdev")


def jitter_mean_abs_diff(received_ms: Sequence[float] | np.ndarray) -> float | None:
    """PingPlotter's jitter: the mean absolute difference between consecutive received latencies.

    Lost samples are skipped, so the difference is taken between the received samples on either side of a loss
    (the seed article sums the differences between the samples it has). 136, 184, 115, 148, 125 gives
    (48 + 69 + 33 + 23) / 4 = 43.25. None for fewer than 2 received samples.
    """
    if len(received_ms) < 2:
        return None
    values = stats.as_array(received_ms)
    steps = np.subtract(values[1:], values[:-1], out=stats.scratch(len(values) - 1))  # no 675 kB page faults a day
    return float(np.abs(steps, out=steps).mean())


def jitter_rfc3550(received_ms: Sequence[float] | np.ndarray) -> float | None:
    """RFC 3550's smoothed interarrival jitter, J += (|D| - J) / 16, run over consecutive round-trip times.

    Starts from J = 0 as RTP stacks do, so it needs many samples to settle. None for fewer than 2 samples.
    """
    if len(received_ms) < 2:
        return None
    return float(_rfc3550(np.abs(np.diff(stats.as_array(received_ms))))[-1])


def successive_diffs_ms(received_ms: Sequence[float] | np.ndarray) -> list[float]:
    """|D| between consecutive received latencies (ms): the steps every jitter definition starts from."""
    if len(received_ms) < 2:
        return []
    return np.abs(np.diff(stats.as_array(received_ms))).tolist()


# J_n = a J_(n-1) + (1 - a) |D_n| with a = 15/16 is a linear recurrence: within a block of B steps it is a cumulative
# sum scaled by powers of a (a^-B stays small for B = 64, so nothing is lost to rounding), blocks chained by J.
_A = 15.0 / 16.0
_BLOCK = 64


@functools.cache
def _pow() -> np.ndarray:
    return _A ** np.arange(_BLOCK + 1)


def _rfc3550(d: np.ndarray) -> np.ndarray:
    out = np.empty(len(d))
    j = 0.0
    for start in range(0, len(d), _BLOCK):
        block = d[start : start + _BLOCK] / 16.0
        k = len(block)
        up = _pow()[:k]
        out[start : start + k] = up * (_A * j + np.cumsum(block / up))
        j = out[start + k - 1]
    return out


def jitter_rfc3550_series(received_ms: Sequence[float] | np.ndarray) -> list[float]:
    """RFC 3550's J after each step (J += (|D| - J) / 16 from J = 0); [] for fewer than 2 samples."""
    if len(received_ms) < 2:
        return []
    return _rfc3550(np.abs(np.diff(stats.as_array(received_ms)))).tolist()


def jitter_ms(received_ms: Sequence[float], definition: str = DEFAULT_JITTER) -> float | None:
    """The hop's jitter (ms) by the named definition; None for fewer than 2 received samples."""
    if definition == "pingplotter":
        return jitter_mean_abs_diff(received_ms)
    if definition == "rfc3550":
        return jitter_rfc3550(received_ms)
    if definition == "stdev":
        return stats.sample_stdev(received_ms)
    raise ValueError(f"unknown jitter definition {definition!r} (known: {', '.join(JITTER_DEFINITIONS)})")


def jitter_series_ms(received_ms: Sequence[float], definition: str = DEFAULT_JITTER) -> list[float]:
    """Per-packet jitter values (ms) by the named definition (see the module docstring); [] below 2 samples."""
    if len(received_ms) < 2:
        return []
    if definition == "pingplotter":
        return successive_diffs_ms(received_ms)
    if definition == "rfc3550":
        return jitter_rfc3550_series(received_ms)
    if definition == "stdev":
        values = np.asarray(received_ms, dtype=np.float64)
        return np.abs(values - values.mean()).tolist()
    raise ValueError(f"unknown jitter definition {definition!r} (known: {', '.join(JITTER_DEFINITIONS)})")


def jitter_stdev_ms(received_ms: Sequence[float], definition: str = DEFAULT_JITTER) -> float | None:
    """Sample standard deviation of the per-packet jitter series (ms); None when it has fewer than 2 values."""
    return stats.sample_stdev(jitter_series_ms(received_ms, definition))
