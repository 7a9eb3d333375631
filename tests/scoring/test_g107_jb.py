"""g107-jb, G.107 with a predicted jitter buffer, against numbers worked out by hand (the working is in each test).

The fitted constants are read from the module, so the working stays true when they are fitted again; the E-model
part is checked against the ``g107`` model given the same one-way delay and loss (its own tests check G.107)."""

import math

import pytest

from pingmos.scoring import HopWindow, Score, load_model
from pingmos.scoring.formulas import g107_jb as jb


def score(window, **settings):
    result = load_model("g107-jb", settings, raising=True).score(window)
    assert isinstance(result, Score)
    return result


def g107_at(ta_ms, loss_pct):
    """The g107 model for one-way delay ta_ms (latency 0 + added delay) and loss_pct."""
    window = HopWindow.from_summary(0.0, 0.0, min(100.0, loss_pct))
    return load_model("g107", {"added_delay_ms": ta_ms}, raising=True).score(window)


def test_fixed_buffer_no_jitter_one_way_loss():
    # 90 replies of 50 ms, 10 lost: round-trip loss 10 %: one-way 1 - sqrt(0.9) = 5.1317 %; base 50 / 2 = 25 ms;
    # no spread, so no late loss; Ta = 25 + 60 (buffer) + 20 (packet) = 105 ms
    s = score(HopWindow.from_rtts([50.0] * 90 + [None] * 10), buffer="fixed")
    one_way = 100.0 * (1.0 - math.sqrt(0.9))
    assert s.detail["one_way_loss_pct"] == pytest.approx(5.1317, abs=1e-4)
    assert s.detail["late_loss_pct"] == 0.0
    assert s.detail["ta_ms"] == pytest.approx(105.0)
    assert s.detail["ppl_pct"] == pytest.approx(jb.LOSS_SENSITIVITY * one_way)
    expected = g107_at(105.0, jb.LOSS_SENSITIVITY * one_way)
    assert s.r == pytest.approx(expected.r) and s.mos == pytest.approx(expected.mos)


def test_fixed_buffer_late_loss_from_the_rtt_spread():
    # RTTs 20 ms and 220 ms alternating: excess r = 0 or 200, mean 100; one way x = M 100 + S (r - 100):
    # the fast half max(0, M 100 - S 100) (0 with the shipped constants), the slow half M 100 + S 100 > 60 ms:
    # half the packets come too late for a 60 ms buffer
    m, sp = jb.ONE_WAY_MEAN_SHARE, jb.ONE_WAY_SPREAD
    assert m * 100 + sp * 100 > 60.0 and max(0.0, m * 100 - sp * 100) <= 60.0
    s = score(HopWindow.from_rtts([20.0, 220.0] * 50), buffer="fixed", buffer_ms="60")
    assert s.detail["late_loss_pct"] == pytest.approx(50.0)
    assert s.detail["base_one_way_ms"] == pytest.approx(10.0)
    # Ppl = 1 - (1 - 0)(1 - 0.5) = 50 %, times the loss sensitivity (at most 100 %)
    assert s.detail["ppl_pct"] == pytest.approx(min(100.0, jb.LOSS_SENSITIVITY * 50.0))
    # a deeper buffer takes them all, and the delay instead: Ta = 10 + 200 + 20
    deep = score(HopWindow.from_rtts([20.0, 220.0] * 50), buffer="fixed", buffer_ms="200")
    assert deep.detail["late_loss_pct"] == 0.0 and deep.detail["ta_ms"] == pytest.approx(230.0)


def test_adaptive_buffer_ramjee_margin():
    # RTTs 10 and 20 alternating: r = 0 or 10, mean 5: x = M 5 - S 5 (not below 0) or M 5 + S 5.
    m, sp = jb.ONE_WAY_MEAN_SHARE, jb.ONE_WAY_SPREAD
    lo, hi = max(0.0, m * 5 - sp * 5), m * 5 + sp * 5
    mean_x = (lo + hi) / 2
    deviation = (abs(lo - mean_x) + abs(hi - mean_x)) / 2
    delay = mean_x + max(jb.RAMJEE_BETA * deviation, jb.ADAPTIVE_MIN_MARGIN_MS)  # Ramjee's d + 4 v, 20 ms at least
    s = score(HopWindow.from_rtts([10.0, 20.0] * 50), buffer="adaptive")
    assert s.detail["buffer_delay_ms"] == pytest.approx(delay)
    assert s.detail["late_loss_pct"] == 0.0  # the play-out point lies above both values
    assert s.detail["ta_ms"] == pytest.approx(5.0 + delay + 20.0)
    expected = g107_at(5.0 + delay + 20.0, 0.0)
    assert s.mos == pytest.approx(expected.mos)


def test_adaptive_buffer_wide_spread_and_the_floor():
    # RTTs 10 ms and 110 ms alternating: r = 0 or 100, mean 50: x = max(0, M 50 - S 50) or M 50 + S 50; the mean
    # deviation is the half-distance, so d + 4 v lies far above the slow half: no late loss, a long buffer
    m, sp = jb.ONE_WAY_MEAN_SHARE, jb.ONE_WAY_SPREAD
    lo, hi = max(0.0, m * 50 - sp * 50), m * 50 + sp * 50
    mean_x, deviation = (lo + hi) / 2, (hi - lo) / 2
    s = score(HopWindow.from_rtts([10.0, 110.0] * 50))
    assert jb.RAMJEE_BETA * deviation > jb.ADAPTIVE_MIN_MARGIN_MS
    assert s.detail["buffer_delay_ms"] == pytest.approx(mean_x + jb.RAMJEE_BETA * deviation)
    # sub-millisecond spread and one slow probe in 30: the 20 ms floor keeps it from counting as late loss
    lan = score(HopWindow.from_rtts([4.8, 4.9, 5.0] * 9 + [4.7, 9.0, 7.1]))
    assert lan.detail["late_loss_pct"] == 0.0 and lan.mos > 4.3


def test_settings_move_the_delay_and_codec():
    window = HopWindow.from_rtts([100.0] * 50)
    base = score(window, buffer="fixed")
    # one_way_pct 80: base 80 instead of 50 ms; packet_ms 40: 20 ms more
    moved = score(window, buffer="fixed", one_way_pct="80", packet_ms="40")
    assert moved.detail["ta_ms"] == pytest.approx(base.detail["ta_ms"] + 30.0 + 20.0)
    assert score(window, codec="g729a").detail["ie"] == 11.0  # G.113 Appendix I


def test_summary_window_exponential_variation():
    # latency 40, jitter 10, no loss: x exponential with mean M 10; base = 40 / 2 - M 10
    m = jb.ONE_WAY_MEAN_SHARE
    s = score(HopWindow.from_summary(40.0, 10.0, 0.0), buffer="fixed")
    # the 200 quantile points of an exponential with mean M 10: -M 10 ln(1 - (k + 0.5) / 200); the base is
    # 40 / 2 less their mean (about M 10); late: the share of points above 60 ms
    points = [-m * 10.0 * math.log(1.0 - (k + 0.5) / 200) for k in range(200)]
    assert s.detail["base_one_way_ms"] == pytest.approx(20.0 - sum(points) / 200)
    assert sum(points) / 200 == pytest.approx(m * 10.0, rel=0.02)
    assert s.detail["late_loss_pct"] == pytest.approx(100.0 * sum(p > 60.0 for p in points) / 200)


def test_jitter_lowers_the_score_where_g107_does_not_see_it():
    steady = HopWindow.from_rtts([40.0] * 100)
    jittery = HopWindow.from_rtts([40.0, 40.0, 40.0, 200.0] * 25)  # same minimum, a quarter 160 ms late
    assert load_model("g107").score(jittery).mos < load_model("g107").score(steady).mos  # only by the mean delay
    assert score(jittery, buffer="fixed").mos < score(steady, buffer="fixed").mos - 0.5  # late loss
