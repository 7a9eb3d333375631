"""The truth's reliability (study.reliability): split-half Spearman with the Spearman-Brown step-up, and the
ceiling a perfect predictor of each condition's expected MOS reaches against a mean of few calls."""

import math

import numpy as np
import pytest

from pingmos.validation import study
from pingmos.validation.paths import Condition, Direction


def _outcomes(expected_r, noise_r, calls, seed=1):
    """Conditions whose legs' listening R is ``expected_r`` plus Gaussian noise of ``noise_r`` R points, no delay
    impairment (10 ms), both buffers alike."""
    rng = np.random.default_rng(seed)
    out = []
    for i, r in enumerate(expected_r):
        legs = list(r + noise_r * rng.standard_normal(2 * calls))
        ta = [10.0] * (2 * calls)
        out.append(
            study.Outcome(
                condition=Condition(f"c{i}", Direction(), Direction()),
                split="held-out",
                truth_mos={b: study.legs_truth(legs, ta) for b in study.BUFFERS},
                ta_ms={b: 10.0 for b in study.BUFFERS},
                played_pct={b: 100.0 for b in study.BUFFERS},
                rtts_ms=[],
                legs_r_listen={b: legs for b in study.BUFFERS},
                legs_ta_ms={b: ta for b in study.BUFFERS},
            )
        )
    return out


def test_noiseless_truth_is_fully_reliable():
    rel = study.reliability(_outcomes(np.linspace(60.0, 90.0, 30), 0.0, 8), "adaptive")
    assert rel.n == 30 and rel.calls == 8
    assert rel.half_spearman == pytest.approx(1.0) and rel.reliability == pytest.approx(1.0)
    assert rel.split_ceiling == pytest.approx(1.0) and rel.ceiling == pytest.approx(1.0)
    assert rel.noise_mae == pytest.approx(0.0, abs=1e-9)


def test_noisy_truth_ceiling_and_more_calls_raise_it():
    expected = np.linspace(70.0, 85.0, 60)
    few = study.reliability(_outcomes(expected, 8.0, 4), "fixed")
    many = study.reliability(_outcomes(expected, 8.0, 64), "fixed")
    assert 0.5 < few.ceiling < 0.97 and few.ceiling < many.ceiling
    assert few.noise_mae > 2.0 * many.noise_mae  # 16 times the calls: a quarter of the noise
    # the two estimates of the ceiling agree roughly (the split-half one is a single draw)
    assert abs(few.split_ceiling - few.ceiling) < 0.1
    # the noise MAE is that of the n-call mean: R noise / sqrt(2 n legs), in MOS near R 77 (about 0.035 MOS per R)
    assert few.noise_mae == pytest.approx(math.sqrt(2.0 / math.pi) * 8.0 / math.sqrt(8) * 0.035, rel=0.35)


def test_one_call_has_no_reliability():
    assert study.reliability(_outcomes(np.linspace(60.0, 90.0, 10), 1.0, 1), "fixed") is None
    text = study.format_reliability([("fixed", "training", None)])
    assert text.startswith("truth reliability fixed") and "n/a" in text


def test_view_table_spread_and_mean_of_views():
    """A model whose every view is the expected MOS plus noise: each view ranks worse than the views' mean."""
    rng = np.random.default_rng(3)
    outcomes = _outcomes(np.linspace(60.0, 90.0, 30), 0.0, 2)
    for o in outcomes:
        t = o.truth_mos["fixed"]
        o.views_predicted = {"m": {b: list(t + 0.2 * rng.standard_normal(10)) for b in study.BUFFERS}}
    rows = study.view_table(outcomes)
    assert [(r[0], r[1], r[2]) for r in rows] == [("m", "fixed", "held-out"), ("m", "adaptive", "held-out")]
    v = rows[0][3]
    assert v.views == 10 and v.spearman_min <= v.spearman_mean <= v.spearman_max < v.spearman_of_mean
    assert v.mae_of_mean < v.mae_mean and v.prediction_sd == pytest.approx(0.2, rel=0.2)
    assert "over 10 probe views" in study.format_view_table(rows)
    for o in outcomes:  # one view each (a re-scored study): nothing to show
        o.views_predicted = {"m": {b: [1.0] for b in study.BUFFERS}}
    assert study.view_table(outcomes) == []
