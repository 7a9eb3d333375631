"""Thinning series for drawing keeps peaks, lone losses and time order."""

import numpy as np

from pingmos.gui.decimate import envelope, thin_markers, visible_slice


def test_envelope_keeps_the_spike_and_bounds_the_points():
    t = np.arange(100_000, dtype=float)
    y = np.full_like(t, 20.0)
    y[54_321] = 900.0
    tt, yy = envelope(t, y, 500)
    assert len(tt) <= 1000
    assert yy.max() == 900.0 and yy.min() == 20.0
    assert np.all(np.diff(tt) >= 0)


def test_short_series_are_unchanged():
    t = np.arange(10, dtype=float)
    y = t * 2
    tt, yy = envelope(t, y, 500)
    assert tt is t and yy is y


def test_thin_markers_keeps_a_lone_loss():
    t = np.concatenate([np.arange(0, 1000, 0.01), [5000.0]])
    thin = thin_markers(t, 100)
    assert len(thin) <= 101 and thin[-1] == 5000.0 and thin[0] == 0.0


def test_visible_slice_widens_by_one_point():
    t = np.arange(10, dtype=float)
    s = visible_slice(t, 3.5, 6.5)
    assert (s.start, s.stop) == (3, 8)
