"""Named jitter definitions, so a user can reproduce the number of the tool they compare against.

Tools disagree on what "jitter" is. Each definition here gives a summary value (the hop's jitter in ms) and a
per-packet series (one value per step, used where a model needs a spread or percentiles of jitter):

- ``pingplotter`` (default): mean |D| of consecutive received round-trip times (PingPlotter, mtr's "Javg").
  Series: the |D| values themselves.
- ``rfc3550``: RFC 3550's smoothed estimate, J += (|D| - J) / 16 from J = 0, as an RTP stack reports it.
  Summary: the final J. Series: J after each step.
- ``stdev``: the sample standard deviation of the received round-trip times (mtr's "StDev").
  Series: each sample's absolute deviation from the mean.

All take the received latencies oldest first (lost samples skipped) and give None below two samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pingmos import stats

DEFAULT_JITTER = "pingplotter"
JITTER_DEFINITIONS = ("pingplotter", "rfc3550", "stdev")


def jitter_ms(received_ms: Sequence[float], definition: str = DEFAULT_JITTER) -> float | None:
    """The hop's jitter (ms) by the named definition; None for fewer than 2 received samples."""
    if definition == "pingplotter":
        return stats.jitter_mean_abs_diff(received_ms)
    if definition == "rfc3550":
        return stats.jitter_rfc3550(received_ms)
    if definition == "stdev":
        return stats.sample_stdev(received_ms)
    raise ValueError(f"unknown jitter definition {definition!r} (known: {', '.join(JITTER_DEFINITIONS)})")


def jitter_series_ms(received_ms: Sequence[float], definition: str = DEFAULT_JITTER) -> list[float]:
    """Per-packet jitter values (ms) by the named definition (see the module docstring); [] below 2 samples."""
    if len(received_ms) < 2:
        return []
    if definition == "pingplotter":
        return stats.successive_diffs_ms(received_ms)
    if definition == "rfc3550":
        return stats.jitter_rfc3550_series(received_ms)
    if definition == "stdev":
        values = np.asarray(received_ms, dtype=np.float64)
        return np.abs(values - values.mean()).tolist()
    raise ValueError(f"unknown jitter definition {definition!r} (known: {', '.join(JITTER_DEFINITIONS)})")


def jitter_stdev_ms(received_ms: Sequence[float], definition: str = DEFAULT_JITTER) -> float | None:
    """Sample standard deviation of the per-packet jitter series (ms); None when it has fewer than 2 values."""
    return stats.sample_stdev(jitter_series_ms(received_ms, definition))
