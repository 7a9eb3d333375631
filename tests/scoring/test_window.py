"""HopWindow: the numbers every model is given, worked by hand from the samples."""

import math

import pytest

from pingmos.scoring import HopWindow

SEED = [136.0, 184.0, 115.0, 148.0, 125.0]  # PingPlotter's article


def test_seed_example_numbers():
    w = HopWindow.from_rtts(SEED)
    assert (w.sent, w.received, w.loss_pct) == (5, 5, 0.0)
    assert w.avg_ms == pytest.approx(708 / 5)  # 136+184+115+148+125 = 708
    assert w.median_ms == 136.0  # sorted 115 125 136 148 184
    # |D| = 48, 69, 33, 23: mean 173/4; their sample stdev: squares of (4.75, 25.75, -10.25, -20.25) sum to
    # 1200.75, / 3 = 400.25, sqrt = 20.00625
    assert w.jitter_ms_for("pingplotter") == pytest.approx(43.25)
    assert w.jitter_stdev_ms_for("pingplotter") == pytest.approx(math.sqrt(400.25))
    # RFC 3550: J = 48/16 = 3; 3 + (69-3)/16 = 7.125; 7.125 + (33-7.125)/16 = 8.7421875; + (23-8.7421875)/16
    assert w.jitter_ms_for("rfc3550") == pytest.approx(8.7421875 + (23 - 8.7421875) / 16)
    # stdev of the RTTs: mean 141.6, squared deviations 31.36+1797.76+707.56+40.96+275.56 = 2853.2, /4 = 713.3
    assert w.jitter_ms_for("stdev") == pytest.approx(math.sqrt(713.3))
    # percentile of |D| series sorted 23 33 48 69: p50 at position 1.5 -> 40.5
    assert w.jitter_percentile_ms_for(50, "pingplotter") == pytest.approx(40.5)


def test_lost_samples_are_skipped_for_jitter_and_counted_for_loss():
    w = HopWindow.from_rtts([136.0, 184.0, None, 115.0, float("nan")])
    assert (w.sent, w.received, w.loss_pct, w.lost) == (5, 3, 40.0, 2)
    assert w.rtts_ms == (136.0, 184.0, None, 115.0, None)  # NaN counts as lost
    assert w.jitter_ms_for() == pytest.approx((48 + 69) / 2)


def test_edge_cases_zero_one_all_lost():
    empty = HopWindow.from_rtts([])
    assert (empty.sent, empty.loss_pct, empty.avg_ms) == (0, None, None)  # nothing sent: no loss claimed
    one = HopWindow.from_rtts([5.0])
    assert one.avg_ms == 5.0 and one.jitter_ms_for() is None and one.stdev_ms is None
    lost = HopWindow.from_rtts([None, None])
    assert (lost.received, lost.loss_pct, lost.avg_ms) == (0, 100.0, None)


def test_markov_transitions_by_hand():
    # R L L R R R L L R R: out of received 5 transitions, 2 to lost (p = 0.4); out of lost 4, 2 to received (q = 0.5)
    w = HopWindow.from_rtts([1, None, None, 1, 1, 1, None, None, 1, 1])
    assert w.loss_transitions() == (pytest.approx(0.4), pytest.approx(0.5))
    assert HopWindow.from_rtts([1, 1, 1]).loss_transitions() == (0.0, None)
    assert HopWindow.from_rtts([1, 1, None]).loss_transitions() == (0.5, None)


def test_summary_window():
    w = HopWindow.from_summary(100.0, 10.0, 2.5, jitter_stdev_ms=3.0)
    assert w.is_summary and w.loss_pct == 2.5 and w.median_ms == 100.0 and w.percentile_ms(99) == 100.0
    assert w.jitter_ms_for("rfc3550") == 10.0 and w.jitter_percentile_ms_for(96) == 10.0
    assert w.jitter_stdev_ms_for() == 3.0 and w.loss_transitions() == (None, None)
    assert HopWindow.from_summary(100.0, 0.0, 100.0).received == 0
    assert HopWindow.from_summary(100.0, 0.0, 99.99).received == 1  # some received: it is scored
    for bad in [(-1.0, 0.0, 0.0), (1.0, float("nan"), 0.0), (1.0, 0.0, 101.0), (1.0, 0.0, -0.5)]:
        with pytest.raises(ValueError):
            HopWindow.from_summary(*bad)


def test_dict_round_trip():
    w = HopWindow.from_rtts([1.0, None, 3.0])
    assert w.rtts_ms == (1.0, None, 3.0) and w.loss_ci_pct is not None
    assert HopWindow.from_dict(w.to_dict()) == w


def test_for_model_uses_the_chosen_jitter_definition():
    w = HopWindow.from_rtts(SEED)
    hop = w.for_model({"jitter": "rfc3550", "codec": "g711"})
    assert hop.jitter_ms == w.jitter_ms_for("rfc3550") and hop.settings["codec"] == "g711"
    assert hop.jitter_series_ms() == w.jitter_series_ms_for("rfc3550")
    assert hop.avg_ms == w.avg_ms
