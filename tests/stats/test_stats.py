import math
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingmos import stats
from pingmos.scoring import HopWindow
from pingmos.scoring.jitter import jitter_mean_abs_diff, jitter_rfc3550, jitter_stdev_ms
from pingmos.stats import percentile, sample_stdev, wilson_interval_pct

SEED_EXAMPLE = [136.0, 184.0, 115.0, 148.0, 125.0]


def test_seed_example_mean_and_jitter():
    # PingPlotter's article: diffs 48, 69, 33, 23 -> 173 / 4 = 43.25; mean 708 / 5 = 141.6.
    s = HopWindow.from_rtts(SEED_EXAMPLE)
    assert s.avg_ms == pytest.approx(141.6)
    assert s.jitter_ms == pytest.approx(43.25)
    assert (s.min_ms, s.max_ms, s.last_ms) == (115.0, 184.0, 125.0)
    assert (s.sent, s.received, s.loss_pct) == (5, 5, 0.0)


def test_stdev_is_sample_stdev():
    # sum of squared deviations from 141.6: 31.36 + 1797.76 + 707.56 + 40.96 + 275.56 = 2853.2; / 4 = 713.3
    assert HopWindow.from_rtts(SEED_EXAMPLE).stdev_ms == pytest.approx(math.sqrt(713.3))


def test_lost_samples_count_as_loss_and_are_skipped_for_latency():
    s = HopWindow.from_rtts([136.0, None, 184.0, None])
    assert (s.sent, s.received, s.lost) == (4, 2, 2)
    assert s.loss_pct == 50.0
    assert s.avg_ms == pytest.approx(160.0)
    assert s.jitter_ms == pytest.approx(48.0)  # between the received samples on either side of the loss
    assert s.received_ms == (136.0, 184.0)


def test_no_samples_claims_nothing():
    s = HopWindow.from_rtts([])
    assert (s.sent, s.received) == (0, 0)
    assert s.loss_pct is None and s.loss_ci_pct is None
    assert s.avg_ms is None and s.jitter_ms is None and s.stdev_ms is None and s.last_ms is None


def test_all_lost():
    s = HopWindow.from_rtts([None, None, None])
    assert s.loss_pct == 100.0
    assert s.avg_ms is None and s.min_ms is None and s.jitter_ms is None
    low, high = s.loss_ci_pct
    assert high == 100.0 and 0 < low < 100


def test_one_received_sample_jitter_undefined_not_zero():
    s = HopWindow.from_rtts([None, 12.5])
    assert s.avg_ms == 12.5 and s.last_ms == 12.5
    assert s.jitter_ms is None
    assert s.stdev_ms is None


def test_wilson_interval_known_values():
    # 1 lost of 50: p = 0.02, z = 1.96: centre (0.02 + 0.038415) / 1.076829 = 0.054247,
    # half = 1.96 * sqrt(0.02 * 0.98 / 50 + 3.8415 / 10000) / 1.076829 = 0.050712 -> 0.35 % .. 10.50 %
    low, high = wilson_interval_pct(1, 50)
    assert low == pytest.approx(0.354, abs=0.01)
    assert high == pytest.approx(10.50, abs=0.01)
    # 2 % of 50 is not distinguishable from 4 %: the interval holds both.
    assert low < 4.0 < high
    assert wilson_interval_pct(0, 0) is None
    low0, high0 = wilson_interval_pct(0, 50)
    assert low0 == 0.0 and high0 == pytest.approx(7.13, abs=0.01)


def test_jitter_definitions():
    assert jitter_mean_abs_diff([10.0]) is None
    # RFC 3550 from J=0: |D| = 48, 69, 33, 23 -> 3, 3 + 66/16 = 7.125, 7.125 + 25.875/16 = 8.7421875,
    # 8.7421875 + 14.2578125/16 = 9.63330078125
    assert jitter_rfc3550(SEED_EXAMPLE) == pytest.approx(9.63330078125)
    # stdev of 48, 69, 33, 23: mean 43.25, squares 22.5625 + 663.0625 + 105.0625 + 410.0625 = 1200.75 / 3
    assert jitter_stdev_ms(SEED_EXAMPLE, "pingplotter") == pytest.approx(math.sqrt(400.25))
    assert jitter_stdev_ms([1.0, 2.0], "pingplotter") is None


def test_percentile():
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 100) == 5.0
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_sample_stdev_edges():
    assert sample_stdev([]) is None
    assert sample_stdev([3.0]) is None
    assert sample_stdev([3.0, 3.0]) == 0.0


samples = st.lists(st.one_of(st.none(), st.floats(0.0, 10_000.0)), max_size=60)


@given(samples)
def test_window_stats_invariants(window):
    s = HopWindow.from_rtts(window)
    assert s.sent == len(window)
    assert s.received == sum(x is not None for x in window)
    if s.sent:
        assert 0.0 <= s.loss_pct <= 100.0
        low, high = s.loss_ci_pct
        assert 0.0 <= low <= s.loss_pct + 1e-9 and s.loss_pct - 1e-9 <= high <= 100.0
    if s.received:
        assert s.min_ms <= s.avg_ms + 1e-6 and s.avg_ms <= s.max_ms + 1e-6
    if s.received >= 2:
        assert 0.0 <= s.jitter_ms <= (s.max_ms - s.min_ms) + 1e-6
    else:
        assert s.jitter_ms is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(1e-3, 1e6, allow_nan=False), max_size=2000), st.integers(128, 300), st.integers(1, 64))
def test_pairwise_sum_is_numpys_sum_to_the_bit_as_the_array_grows(values, leaf, step):
    """numpy's own tree (stats.pairwise_sum), here with small leaves so that a short list climbs it."""
    x = np.array(values, dtype=np.float64)
    memo: dict = {}
    with mock.patch.object(stats, "PAIRWISE_LEAF", leaf):
        for n in [*range(0, len(x), step), len(x)]:
            got = stats.pairwise_sum(n, lambda s, k: np.add.reduce(x[s : s + k]), memo)
            assert got == float(np.add.reduce(x[:n]))


def test_pairwise_sum_over_a_day():
    rng = np.random.default_rng(4)
    x = 20.0 + rng.exponential(8.0, 86_400) * 10.0 ** rng.uniform(-3, 3, 86_400)
    memo: dict = {}
    for n in (80_000, 80_001, 80_017, 86_400):
        assert stats.pairwise_sum(n, lambda s, k: np.add.reduce(x[s : s + k]), memo) == float(np.add.reduce(x[:n]))
