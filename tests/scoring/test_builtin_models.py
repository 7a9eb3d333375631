"""Every built-in model against numbers worked out by hand (the working is in each test)."""

import math

import pytest

from pingmos.scoring import HopWindow, ModelError, Score, load_model
from pingmos.scoring.formulas import pingplotter
from pingmos.scoring.score import ALL_LOST


def mos_of(r):
    """ITU-T G.107 Annex B, written out again here so the test does not trust the code under test."""
    return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)


def score(name, window, **settings):
    result = load_model(name, settings, raising=True).score(window)
    assert isinstance(result, Score)
    return result


# -- pingplotter ----------------------------------------------------------------------------------------------


def test_pingplotter_seed_example():
    # avg 141.6, jitter 43.25: effective = 141.6 + 86.5 + 10 = 238.1 >= 160, so R = 93.2 - 118.1 / 10 = 81.39
    s = score("pingplotter", HopWindow.from_rtts([136, 184, 115, 148, 125]))
    assert s.detail["effective_latency_ms"] == pytest.approx(238.1)
    assert s.r == pytest.approx(81.39)
    assert s.mos == pytest.approx(mos_of(81.39))


def test_pingplotter_below_the_knee_and_loss():
    # 20 ms, jitter 5, 2 % loss: effective 20 + 10 + 10 = 40 < 160: R = 93.2 - 1 - 2.5 * 2 = 87.2
    s = score("pingplotter", HopWindow.from_summary(20.0, 5.0, 2.0))
    assert s.r == pytest.approx(87.2) and s.mos == pytest.approx(mos_of(87.2))


def test_pingplotter_jitter_definition_switch():
    # rfc3550 J of 10, 20, 10, 20: |D| = 10 each: J = 10/16 = 0.625, then 0.625 + 9.375/16 = 1.2109375, then
    # 1.2109375 + 8.7890625/16 = 1.76025390625; avg 15: effective = 15 + 3.5205078125 + 10
    s = score("pingplotter", HopWindow.from_rtts([10, 20, 10, 20]), jitter="rfc3550")
    assert s.detail["effective_latency_ms"] == pytest.approx(28.5205078125)
    assert s.r == pytest.approx(93.2 - 28.5205078125 / 40)


def test_pingplotter_clamps_and_single_sample():
    # 2000 ms: R = 93.2 - (2010 - 120) / 10 = -95.8 -> reported 0, MOS 1
    s = score("pingplotter", HopWindow.from_rtts([2000.0]))
    assert s.detail["r_unclamped"] == pytest.approx(-95.8) and s.r == 0.0 and s.mos == 1.0
    # a single sample: jitter counts as 0
    assert s.detail["jitter_ms"] == 0.0


def test_pingplotter_legacy_function_gives_the_same_numbers():
    window = HopWindow.from_rtts([136, 184, None, 115, 148, 125])
    new = score("pingplotter", window)
    old = pingplotter.score(window.avg_ms, window.jitter_ms_for(), window.loss_pct)
    assert (old.r, old.mos) == (new.r, new.mos)
    assert pingplotter.score(None, None, 100.0) is None


# -- asterisk -------------------------------------------------------------------------------------------------


def test_asterisk_summary_numbers():
    # effective = 100 + 10 * 2 * (6 / 3) + 10 = 150 < 160: R = 93.2 - 150 / 40 = 89.45; 1 % loss: 86.95
    s = score("asterisk", HopWindow.from_summary(100.0, 10.0, 1.0, jitter_stdev_ms=6.0))
    assert s.detail["effective_latency_ms"] == pytest.approx(150.0)
    assert s.r == pytest.approx(86.95) and s.mos == pytest.approx(mos_of(86.95))


def test_asterisk_seed_samples_and_codec_delay():
    # avg 141.6, jitter 43.25, jitter stdev sqrt(400.25) = 20.00625 (see test_window):
    # effective = 141.6 + 43.25 * 2 * 20.00625 / 3 + 0 = 141.6 + 576.846875 = 718.446875 (codec delay 0)
    # R = 93.2 - (718.446875 - 120) / 10 = 33.3553125
    s = score("asterisk", HopWindow.from_rtts([136, 184, 115, 148, 125]), codec_delay_ms=0)
    stdev = math.sqrt(400.25)
    assert s.detail["effective_latency_ms"] == pytest.approx(141.6 + 43.25 * 2 * stdev / 3)
    assert s.r == pytest.approx(93.2 - (141.6 + 43.25 * 2 * stdev / 3 - 120) / 10)


def test_asterisk_extremes():
    assert score("asterisk", HopWindow.from_summary(5000.0, 0.0, 0.0)).mos == 1.0
    assert score("asterisk", HopWindow.from_summary(0.0, 0.0, 0.0)).r == pytest.approx(93.2 - 10 / 40)


# -- g107 -----------------------------------------------------------------------------------------------------

# G.107 with every default parameter, no delay, no loss (working: Nos = 35-8-3-100+0.004*(35-10-3-14)^2 = -75.744,
# Pre = 35 + 10 log10(1 + 10^-0.8) = 35.6389, Nor = 2-121+35.6389+0.008*0.6389^2 = -83.3578, Nfo = -62,
# No = 10 log10(10^-7 + 10^-7.5744 + 10^-8.3358 + 10^-6.2) = -61.1792, Ro = 15 - 1.5 (8 - 61.1792) = 94.7688;
# Is = Iolr 0.4402 + Ist 0.0001 + Iq 0.9733 = 1.4136; Idte = 0 (T = 0); Idle at Tr = 0: Rle = 10.5 * 117 = 1228.5,
# Idle = (94.7688 - 1228.5) / 2 + sqrt(566.8656^2 + 169) = 0.1490; R = 94.7688 - 1.4136 - 0.1490 = 93.2062.
R_DEFAULT = 93.206


def zero_delay(loss_pct=0.0):
    return HopWindow.from_summary(0.0, 0.0, loss_pct)


def test_g107_default_r_and_mos():
    s = score("g107", zero_delay())
    assert s.r == pytest.approx(93.206, abs=5e-4) and s.mos == pytest.approx(4.409, abs=5e-4)
    assert s.detail["ro"] == pytest.approx(94.7688, abs=1e-4)
    assert s.detail["is"] == pytest.approx(1.4136, abs=1e-4)
    assert s.detail["idle"] == pytest.approx(0.1490, abs=1e-4)


def test_g107_issue_checks():
    # G.711 (Ie 0, Bpl 25.1), 2 % random loss: Ie-eff = 95 * 2 / (2 + 25.1) = 7.0111 -> R 86.195, MOS 4.235
    s = score("g107", zero_delay(2.0))
    assert s.detail["ie_eff"] == pytest.approx(190 / 27.1)
    assert s.r == pytest.approx(86.195, abs=5e-4) and s.mos == pytest.approx(4.235, abs=5e-4)
    # G.729A, no loss: R = 93.206 - 11 = 82.206, MOS 4.105
    s = score("g107", zero_delay(), codec="g729a")
    assert s.r == pytest.approx(82.206, abs=5e-4) and s.mos == pytest.approx(4.105, abs=5e-4)
    # no loss, Ta = T = 150 ms (RTT 300 ms), Tr = 300 ms: R 89.539
    s = score("g107", HopWindow.from_summary(300.0, 0.0, 0.0))
    assert s.detail["ta_ms"] == 150.0
    assert s.r == pytest.approx(89.539, abs=5e-4)


@pytest.mark.parametrize(
    "codec,ie,bpl",
    [("g711", 0, 25.1), ("g711-noplc", 0, 4.3), ("g729a", 11, 19.0), ("g723.1", 15, 16.1), ("gsm-efr", 5, 10.0)],
)
def test_g107_codec_table(codec, ie, bpl):
    # ITU-T G.113 Appendix I values; 1 % random loss: Ie-eff = Ie + (95 - Ie) / (1 + Bpl)
    s = score("g107", zero_delay(1.0), codec=codec)
    assert (s.detail["ie"], s.detail["bpl"]) == (ie, bpl)
    assert s.detail["ie_eff"] == pytest.approx(ie + (95 - ie) * 1 / (1 + bpl))
    assert s.r == pytest.approx(R_DEFAULT - s.detail["ie_eff"], abs=1e-3)


def test_g107_idd_above_100_ms():
    # RTT 400 -> Ta 200: X = log2(2) = 1, Idd = 25 ((1 + 1)^(1/6) - 3 (1 + 3^-6)^(1/6) + 2) = 3.0444
    s = score("g107", HopWindow.from_summary(400.0, 0.0, 0.0))
    assert s.detail["idd"] == pytest.approx(25 * (2 ** (1 / 6) - 3 * (1 + 3**-6) ** (1 / 6) + 2))
    assert score("g107", HopWindow.from_summary(200.0, 0.0, 0.0)).detail["idd"] == 0.0  # Ta = 100: none yet


def test_g107_delay_settings():
    # one_way_pct 100 on RTT 150 and added 30 ms: Ta = 150 + 30 = 180
    s = score("g107", HopWindow.from_summary(150.0, 0.0, 0.0), one_way_pct=100, added_delay_ms=30)
    assert s.detail["ta_ms"] == 180.0
    # plain g107 ignores jitter
    a = score("g107", HopWindow.from_summary(150.0, 0.0, 0.0))
    b = score("g107", HopWindow.from_summary(150.0, 80.0, 0.0))
    assert a == b


def test_g107_burst_ratio_number_and_auto():
    # BurstR 2, 2 % loss: Ie-eff = 95 * 2 / (2/2 + 25.1) = 7.2797
    s = score("g107", zero_delay(2.0), burst_r=2)
    assert s.detail["ie_eff"] == pytest.approx(190 / 26.1)
    # auto from R L L R R R L L R R: p = 0.4, q = 0.5, BurstR = 1 / 0.9; Ppl = 40 %
    s = score("g107", HopWindow.from_rtts([1, None, None, 1, 1, 1, None, None, 1, 1]), burst_r="auto")
    assert s.detail["burst_r"] == pytest.approx(1 / 0.9)
    assert s.detail["ie_eff"] == pytest.approx(95 * 40 / (40 * 0.9 + 25.1))
    # alternating loss (p = 1, q = 1 would give 0.5): never below 1, random loss is the floor
    s = score("g107", HopWindow.from_rtts([1, None, 1, None, 1]), burst_r="auto")
    assert s.detail["burst_r"] == 1.0
    # no loss: nothing to estimate from
    assert score("g107", HopWindow.from_rtts([1, 1, 1]), burst_r="auto").detail["burst_r"] == 1.0


def test_g107_wideband_scale():
    # r0 129: Ro 129, Is 0, G.711's Ie 0 + 35.8; Idle at Tr 0 with Ro 129: (129 - 1228.5)/2 + sqrt(549.75^2 + 169)
    # = 0.15369 -> R = 129 - 0.15369 - 35.8 = 93.0463
    s = score("g107", zero_delay(), r0=129)
    assert s.detail["ie"] == 35.8 and s.detail["is"] == 0.0
    assert s.r == pytest.approx(129 - ((129 - 1228.5) / 2 + math.sqrt(549.75**2 + 169)) - 35.8)
    # loss term's constant becomes 130.8: 2 % loss: Ie-eff = 35.8 + (130.8 - 35.8) * 2 / 27.1 (the same 7.0111)
    s2 = score("g107", zero_delay(2.0), r0=129)
    assert s2.detail["ie_eff"] == pytest.approx(35.8 + 95 * 2 / 27.1)
    # above R 100 the MOS is 4.5: advantage 20 lifts R to 113.05
    s3 = score("g107", zero_delay(), r0=129, advantage=20)
    assert s3.r == pytest.approx(s.r + 20) and s3.mos == 4.5
    # narrowband r0 given as a number: Is becomes 0 (R0 93.2, Is 0 of simplified E-models)
    s4 = score("g107", zero_delay(), r0=93.2)
    assert s4.detail["is"] == 0.0 and s4.r == pytest.approx(93.2 - s4.detail["idle"])


# -- g107-playout ---------------------------------------------------------------------------------------------


def test_g107_playout_by_hand():
    # RTTs 100 100 110 130 100 140: median of 100 100 100 110 130 140 = 105; |D| = 0 10 20 30 40;
    # 99th percentile at position 4 * 0.99 = 3.96: 30 + 0.96 * 10 = 39.6; 96th at 3.84: 38.4
    window = HopWindow.from_rtts([100, 100, 110, 130, 100, 140])
    s99 = score("g107-playout", window)
    assert s99.detail["median_ms"] == 105.0 and s99.detail["jitter_percentile_ms"] == pytest.approx(39.6)
    # Ta = (105 + 39.6) / 2 + 20 (packetisation) = 92.3 ms; no loss added at 99
    assert s99.detail["ta_ms"] == pytest.approx(92.3) and s99.detail["ppl_pct"] == 0.0
    s96 = score("g107-playout", window, playout="96")
    assert s96.detail["ta_ms"] == pytest.approx((105 + 38.4) / 2 + 20)
    # 4 % added loss, G.711: Ie-eff = 95 * 4 / (4 + 25.1)
    assert s96.detail["ie_eff"] == pytest.approx(380 / 29.1)
    s98 = score("g107-playout", window, playout="98", packet_ms=0)
    assert s98.detail["ta_ms"] == pytest.approx((105 + 39.2) / 2) and s98.detail["ppl_pct"] == 2.0
    # the same delay and loss through plain g107 give the same R: the playout model only moves Ta and Ppl
    plain = score("g107", HopWindow.from_summary(2 * 92.3, 0.0, 0.0))
    assert s99.r == pytest.approx(plain.r)


def test_g107_playout_jitter_matters_and_single_sample():
    calm = score("g107-playout", HopWindow.from_summary(200.0, 0.0, 0.0))
    shaky = score("g107-playout", HopWindow.from_summary(200.0, 100.0, 0.0))
    assert shaky.r < calm.r
    assert score("g107-playout", HopWindow.from_rtts([50.0])).detail["jitter_percentile_ms"] == 0.0


# -- common ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pingplotter", "asterisk", "g107", "g107-playout", "g107-jb"])
def test_all_lost_is_the_worst_score_and_nothing_sent_no_score(name):
    model = load_model(name)
    assert model.score(HopWindow.from_rtts([None, None])) == ALL_LOST and (ALL_LOST.r, ALL_LOST.mos) == (0.0, 1.0)
    assert model.score(HopWindow.from_rtts([])) is None


def test_a_builtin_failing_gives_an_error_not_a_crash(monkeypatch):
    model = load_model("g107")
    monkeypatch.setattr(model, "_func", lambda hop: 1 / 0)
    result = model.score(HopWindow.from_rtts([1.0]))
    assert isinstance(result, ModelError) and "ZeroDivisionError" in result.message
