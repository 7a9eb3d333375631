"""Thinning long series for drawing: a day of samples is 86 400 points per hop, a plot is ~1000 pixels wide.

Pure numpy (installed with pyqtgraph); no Qt. Lost samples are NaN in the RTT arrays.
"""

from __future__ import annotations

import numpy as np


def visible_slice(t: np.ndarray, x_min: float, x_max: float) -> slice:
    """Indexes of the sorted times ``t`` within [x_min, x_max], widened by one point each side so lines run to
    the edge of the view."""
    lo = max(0, int(np.searchsorted(t, x_min, side="left")) - 1)
    hi = min(len(t), int(np.searchsorted(t, x_max, side="right")) + 1)
    return slice(lo, hi)


def envelope(t: np.ndarray, y: np.ndarray, max_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``2 * max_buckets`` points keeping each bucket's lowest and highest value (peaks survive, as a
    spike is what a user looks for). Unchanged when short enough. A bucket whose samples were all lost gives
    NaN, so the line breaks there as it does at a lost sample."""
    n = len(t)
    if n <= 2 * max_buckets:
        return t, y
    starts = np.linspace(0, n, max_buckets, endpoint=False).astype(np.int64)
    with np.errstate(invalid="ignore"):
        lows = np.fmin.reduceat(y, starts)
        highs = np.fmax.reduceat(y, starts)
    ends = np.append(starts[1:], n) - 1
    # Low at the bucket's first time, high at its last: the drawn line keeps its time order.
    tt = np.empty(2 * len(starts))
    yy = np.empty(2 * len(starts))
    tt[0::2] = t[starts]
    tt[1::2] = t[ends]
    yy[0::2] = lows
    yy[1::2] = highs
    return tt, yy


def thin_markers(t: np.ndarray, max_points: int) -> np.ndarray:
    """At most about ``max_points`` of the sorted times ``t``, one per time bucket that holds any (a run of
    losses inside one pixel is one marker, and a lone loss is never dropped)."""
    if len(t) <= max_points:
        return t
    span = float(t[-1] - t[0]) or 1.0
    buckets = np.floor((t - t[0]) / span * (max_points - 1)).astype(np.int64)
    keep = np.empty(len(t), dtype=bool)
    keep[0] = True
    keep[1:] = buckets[1:] != buckets[:-1]
    return t[keep]
