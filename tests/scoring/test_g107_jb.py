"""g107-jb, G.107 with a predicted jitter buffer, against numbers worked out by hand (the working is in each test).

The fitted constants are read from the module, so the working stays true when they are fitted again; the E-model
part is G.107's own terms (``pingmos.scoring.formulas.g107``, tested there) at the one-way delay and loss worked
out here."""

import math
import random

import pytest

from pingmos.scoring import HopWindow, Score, load_model
from pingmos.scoring.formulas import g107
from pingmos.scoring.formulas import g107_jb as jb
from pingmos.scoring.score import r_to_mos


def score(window, **settings):
    result = load_model("g107-jb", settings, raising=True).score(window)
    assert isinstance(result, Score)
    return result


def r_at(ta_ms, ppl_pct):
    """G.107's R, default parameters and G.711 (Ie 0, Bpl 25.1), for mouth-to-ear delay ta_ms and loss ppl_pct,
    the talker echo at jb.ECHO_DELAY_MS (a VoIP terminal cancels it)."""
    ro, no, iolr = g107.basic_terms()
    idte, idle, idd = g107.delay_impairment(ro, no, ta_ms, jb.ECHO_DELAY_MS, 2.0 * ta_ms)
    ie_eff = 95.0 * ppl_pct / (ppl_pct + 25.1)
    return ro - g107.simultaneous_impairment(ro, no, iolr, jb.ECHO_DELAY_MS) - idte - idle - idd - ie_eff


def r_heard(ta_ms, ppl_a_pct, ppl_b_pct):
    """R of a call whose listeners A and B hear the losses ppl_a_pct and ppl_b_pct at ta_ms: G.107's terms with
    the listeners' mean Ie-eff, which is their mean R (R is linear in Ie-eff) where neither is clamped."""
    return (r_at(ta_ms, ppl_a_pct) + r_at(ta_ms, ppl_b_pct)) / 2.0


def split_loss(round_trip):
    """Listener A's and B's network loss (0-1) for a round trip's loss (0-1): LOSS_ONE_DIRECTION_SHARE of the
    time all in one direction (A's), else 1 - sqrt(1 - L) each."""
    each = 1.0 - math.sqrt(1.0 - round_trip)
    share = jb.LOSS_ONE_DIRECTION_SHARE
    return share * round_trip + (1.0 - share) * each, (1.0 - share) * each


def test_upper_gamma_share_closed_forms():
    # Q(1, x) = e^-x; Q(1/2, x) = erfc(sqrt x); Q(2, x) = (1 + x) e^-x; Q(3/2, x) = erfc(sqrt x) + 2 sqrt(x/pi) e^-x
    for x in (0.0, 0.01, 0.3, 1.0, 2.5, 6.0, 20.0, 60.0):
        assert jb.upper_gamma_share(1.0, x) == pytest.approx(math.exp(-x), rel=1e-9, abs=1e-300)
        assert jb.upper_gamma_share(0.5, x) == pytest.approx(math.erfc(math.sqrt(x)), rel=1e-9, abs=1e-300)
        assert jb.upper_gamma_share(2.0, x) == pytest.approx((1 + x) * math.exp(-x), rel=1e-9, abs=1e-300)
        q15 = math.erfc(math.sqrt(x)) + 2.0 * math.sqrt(x / math.pi) * math.exp(-x)
        assert jb.upper_gamma_share(1.5, x) == pytest.approx(q15, rel=1e-9, abs=1e-300)
    # the mean deviation of an exponential (gamma shape 1) with mean theta is 2 theta / e
    assert jb.gamma_mean_deviation(1.0, 10.0) == pytest.approx(20.0 / math.e)


def test_fixed_buffer_no_jitter_one_way_loss():
    # 90 replies of 50 ms, 10 lost: round-trip loss 10 %: one-way 1 - sqrt(0.9) = 5.1317 %; base 50 / 2 = 25 ms;
    # no spread, so no late loss; Ta = 25 + 60 (buffer) + 20 (packet) = 105 ms
    # A hears LOSS_ONE_DIRECTION_SHARE x 10 % + the rest x 5.1317 %, B the rest x 5.1317 %
    s = score(HopWindow.from_rtts([50.0] * 90 + [None] * 10), buffer="fixed")
    a, b = split_loss(0.10)
    assert b / (1.0 - jb.LOSS_ONE_DIRECTION_SHARE) == pytest.approx(0.051317, abs=1e-6)
    assert (s.detail["loss_a_pct"], s.detail["loss_b_pct"]) == pytest.approx((100.0 * a, 100.0 * b))
    assert s.detail["late_loss_a_pct"] == s.detail["late_loss_b_pct"] == 0.0
    assert s.detail["ta_ms"] == pytest.approx(105.0)
    assert s.detail["ppl_a_pct"] == pytest.approx(100.0 * jb.NETWORK_LOSS_WEIGHT * a)
    assert s.detail["ppl_b_pct"] == pytest.approx(100.0 * jb.NETWORK_LOSS_WEIGHT * b)
    assert s.r == pytest.approx(r_heard(105.0, 100.0 * jb.NETWORK_LOSS_WEIGHT * a, 100.0 * jb.NETWORK_LOSS_WEIGHT * b))
    assert s.mos == pytest.approx(r_to_mos(s.r))


def test_gamma_shape_from_mean_deviation():
    # MD / mean of a gamma(k) is 2 k^k e^-k / Gamma(k + 1): 2 / e at k = 1, 4 e^-2 at k = 2, 2 sqrt(0.5) e^-0.5 /
    # Gamma(1.5) at k = 0.5; it falls as k grows, so each ratio gives one shape back
    assert jb.gamma_shape_for_deviation(2.0 / math.e) == pytest.approx(1.0, rel=1e-9)
    assert jb.gamma_shape_for_deviation(4.0 * math.exp(-2.0)) == pytest.approx(2.0, rel=1e-9)
    half = 2.0 * math.sqrt(0.5) * math.exp(-0.5) / math.gamma(1.5)
    assert jb.gamma_shape_for_deviation(half) == pytest.approx(0.5, rel=1e-9)


def test_one_direction_queues_rtt_excess():
    # RTTs 10 and 30 alternating: excess 0 or 20, mean 10, mean deviation 10 (ratio 1): the gamma with that ratio
    # (shape k, checked against its closed forms above), scale 10 / k. Half the round trips at the minimum: one
    # queue (n = 1): one listener's packets vary as gamma(k, 10 / k), the other's not.
    window = HopWindow.from_rtts([10.0, 30.0] * 50)
    k = jb.gamma_shape_for_deviation(1.0)
    assert 2.0 * math.exp(k * math.log(k) - k - math.lgamma(k + 1.0)) == pytest.approx(1.0)
    fixed = score(window, buffer="fixed", buffer_ms="60")
    assert fixed.detail["rtt_excess_shape"] == pytest.approx(k)
    assert fixed.detail["rtt_excess_scale_ms"] == pytest.approx(10.0 / k)
    assert fixed.detail["queueing_directions"] == pytest.approx(1.0)
    # fixed 60 ms: that listener loses Q(k, 60 / theta) of the packets as late, the other none; Ta = 5 + 60 + 20
    late = jb.upper_gamma_share(k, 60.0 * k / 10.0)
    assert 0.0 < late < 0.05
    assert fixed.detail["late_loss_a_pct"] == pytest.approx(100.0 * late)
    assert fixed.detail["late_loss_b_pct"] == 0.0
    assert fixed.detail["ta_ms"] == pytest.approx(85.0)
    assert fixed.r == pytest.approx(r_heard(85.0, 100.0 * jb.FIXED_LATE_LOSS_WEIGHT * late, 0.0))
    # adaptive (Ramjee): mean 10 + 4 mean deviations (the fit keeps the sample's, 10) = 50 ms, late Q(k, 50 / theta);
    # the steady listener's buffer keeps the 5 ms floor and loses nothing
    adaptive = score(window)
    late = jb.upper_gamma_share(k, 50.0 * k / 10.0)
    assert adaptive.detail["late_loss_a_pct"] == pytest.approx(100.0 * late)
    ta = 5.0 + (50.0 + jb.ADAPTIVE_MIN_MARGIN_MS) / 2.0 + 20.0
    assert adaptive.detail["ta_ms"] == pytest.approx(ta)
    assert adaptive.r == pytest.approx(r_heard(ta, 100.0 * jb.ADAPTIVE_LATE_LOSS_WEIGHT * late, 0.0))


def test_the_loss_split_does_not_follow_the_delay_variation():
    # RTTs 10 and 30 alternating (90) and 10 lost: round-trip loss 10 %, one direction queues (n = 1, as above):
    # A hears its split of the loss and the late packets, B its split; fixed 60 ms, Ta = 5 + 60 + 20 = 85 ms
    window = HopWindow.from_rtts([10.0, 30.0] * 45 + [None] * 10)
    k = jb.gamma_shape_for_deviation(1.0)
    late = jb.upper_gamma_share(k, 60.0 * k / 10.0)
    a, b = split_loss(0.10)
    s = score(window, buffer="fixed")
    assert s.detail["queueing_directions"] == 1.0 and s.detail["ta_ms"] == pytest.approx(85.0)
    ppl_a = 100.0 * (jb.NETWORK_LOSS_WEIGHT * a + jb.FIXED_LATE_LOSS_WEIGHT * late)
    assert s.r == pytest.approx(r_heard(85.0, ppl_a, 100.0 * jb.NETWORK_LOSS_WEIGHT * b))
    # the same loss over a path that does not vary is split the same way (G.107's Ie-eff is concave in the loss,
    # so a split that followed the queue would score the varying path higher): it scores higher by the late loss
    steady = score(HopWindow.from_rtts([10.0] * 90 + [None] * 10), buffer="fixed")
    assert (steady.detail["loss_a_pct"], steady.detail["loss_b_pct"]) == (
        s.detail["loss_a_pct"],
        s.detail["loss_b_pct"],
    )
    assert steady.r == pytest.approx(
        r_heard(85.0, 100.0 * jb.NETWORK_LOSS_WEIGHT * a, 100.0 * jb.NETWORK_LOSS_WEIGHT * b)
    )
    assert steady.r > s.r


def near_min_shares(count):
    """The near-minimum shares (one queue, two queues) for ``count`` round trips, worked out as the docstring
    says: the thresholds in units of theta moved by the sample minimum's expected offset."""
    u1 = 1.0 / count + 0.1 * (1.0 - 1.0 / count)
    above = math.sqrt(math.pi / (2.0 * count))
    u2 = above + 0.1 * (2.0 - above)
    return 1.0 - math.exp(-u1), 1.0 - math.exp(-u2) * (1.0 + u2)


def test_both_directions_queue():
    # RTTs 20 once, then 30 and 50 alternating (99 more): excess 0 once, else 10 or 30: mean (50 x 10 + 49 x 30)
    # / 100 = 19.7, mean deviation (19.7 + 50 x 9.7 + 49 x 10.3) / 100 = 10.094; only 1 % comes within 0.1 x 19.7
    # of the minimum, fewer than two queues in a row leave (3.98 % for 100 round trips): n = 2
    rtts = [20.0] + [30.0, 50.0] * 49 + [30.0]
    window = HopWindow.from_rtts(rtts)
    one, two = near_min_shares(100)
    assert one == pytest.approx(0.1033, abs=1e-4) and two == pytest.approx(0.0398, abs=1e-4)
    k_r = jb.gamma_shape_for_deviation(10.094 / 19.7)
    theta = 19.7 / k_r
    s = score(window, buffer="fixed")
    assert s.detail["queueing_directions"] == 2.0
    assert s.detail["rtt_excess_shape"] == pytest.approx(k_r)
    # each listener's packets vary as gamma(k_r / 2, theta); fixed 60 ms: late Q(k_r / 2, 60 / theta) each
    late = jb.upper_gamma_share(k_r / 2, 60.0 / theta)
    assert 0.0 < late < 0.05
    assert s.detail["late_loss_a_pct"] == pytest.approx(100.0 * late)
    assert s.detail["late_loss_b_pct"] == pytest.approx(100.0 * late)
    assert s.r == pytest.approx(r_at(10.0 + 60.0 + 20.0, 100.0 * jb.FIXED_LATE_LOSS_WEIGHT * late))


def test_how_many_directions_queue():
    # the share of excesses within 0.1 x mean of the minimum: 10.33 % for one exponential queue, 3.98 % for two in
    # a row (100 round trips, see near_min_shares); n moves linearly from 1 to 2 between them
    assert jb.NEAR_MIN == 0.1
    one, two = near_min_shares(100)
    # 15 of 100 at the minimum, the rest at 10 and 30 (mean 16.9): 15 %, more than one queue leaves: n = 1
    rtts = [5.0] * 15 + [15.0, 35.0] * 42 + [15.0]
    assert score(HopWindow.from_rtts(rtts)).detail["queueing_directions"] == 1.0
    # 7 of 100: n = 1 + (10.33 - 7) / (10.33 - 3.98)
    rtts = [5.0] * 7 + [15.0, 35.0] * 46 + [15.0]
    n = score(HopWindow.from_rtts(rtts)).detail["queueing_directions"]
    assert n == pytest.approx(1 + (one - 0.07) / (one - two))
    # between one and two the cases mix by n: 1.5 is half each
    # between one and two the cases mix by n: at 1.5 each listener hears half of each case
    fixed = {"buffer": "fixed", "buffer_ms": 60.0}
    one, both = jb.upper_gamma_share(3.0, 60.0 / 4.0), jb.upper_gamma_share(1.5, 60.0 / 4.0)
    heard = jb.listeners(3.0, 4.0, 1.5, fixed)
    assert heard[0] == pytest.approx((0.5 * one + 0.5 * both, 60.0))
    assert heard[1] == pytest.approx((0.5 * both, 60.0))


def test_sample_minimum_does_not_hide_the_second_queue():
    # 300 round trips over two exponential queues: the sample minimum sits about theta sqrt(pi / 600) above the
    # path's, which without the correction made such paths look like 1.8 queues on average; one queue stays near 1
    rng = random.Random(7)

    def mean_n(queues):
        ns = []
        for _ in range(60):
            rtts = [30.0 + sum(rng.expovariate(0.1) for _ in range(queues)) for _ in range(300)]
            ns.append(score(HopWindow.from_rtts(rtts)).detail["queueing_directions"])
        return sum(ns) / len(ns)

    assert mean_n(2) > 1.88
    assert mean_n(1) < 1.2


def test_lan_hop_with_one_slow_probe_is_not_a_lossy_call():
    # sub-millisecond spread and one slow probe in 30: the 5 ms least margin keeps late loss negligible
    lan = score(HopWindow.from_rtts([4.8, 4.9, 5.0] * 9 + [4.7, 9.0, 7.1]))
    assert lan.detail["late_loss_a_pct"] < 0.5 and lan.mos > 4.3


def test_settings_move_the_delay_and_codec():
    window = HopWindow.from_rtts([100.0] * 50)
    base = score(window, buffer="fixed")
    # one_way_pct 80: base 80 instead of 50 ms; packet_ms 40: 20 ms more
    moved = score(window, buffer="fixed", one_way_pct="80", packet_ms="40")
    assert moved.detail["ta_ms"] == pytest.approx(base.detail["ta_ms"] + 30.0 + 20.0)
    assert score(window, codec="g729a").detail["ie"] == 11.0  # G.113 Appendix I


def test_summary_window_two_exponential_directions():
    # latency 40, jitter 15, no loss: excess gamma(2, 15 / 1.5 = 10) (RFC 3550 jitter of two exponentials is 1.5
    # theta): each listener exponential, mean 10; base = 40 / 2 (a summary cannot say how much of the average is
    # queueing: more jitter never shortens the delay); fixed 60 ms: late e^-6 each
    s = score(HopWindow.from_summary(40.0, 15.0, 0.0), buffer="fixed")
    assert s.detail["base_one_way_ms"] == pytest.approx(20.0)
    assert s.detail["rtt_excess_scale_ms"] == pytest.approx(10.0)
    assert s.detail["late_loss_a_pct"] == pytest.approx(100.0 * math.exp(-6.0))
    assert s.detail["late_loss_b_pct"] == pytest.approx(100.0 * math.exp(-6.0))


def test_jitter_lowers_the_score_where_g107_does_not_see_it():
    steady = HopWindow.from_rtts([40.0] * 100)
    jittery = HopWindow.from_rtts([40.0, 40.0, 40.0, 200.0] * 25)  # same minimum, a quarter 160 ms late
    assert load_model("g107").score(jittery).mos < load_model("g107").score(steady).mos  # only by the mean delay
    assert score(jittery, buffer="fixed").mos < score(steady, buffer="fixed").mos - 0.5  # late loss
