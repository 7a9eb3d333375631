"""The default model on arrays (pingmos.scoring.catalog.vectorised) gives g107-jb's formula file's results to the
bit, and the MOS interval built on it is the interval the formula gives window by window."""

import math

import numpy as np
import pytest

from pingmos.scoring import HopWindow, ModelError, Score, load_model
from pingmos.scoring.catalog import builtin, vectorised
from pingmos.scoring.interval import mos_intervals, resampled_windows


def formula_model(settings=None):
    """g107-jb scoring every window through its formula file, whatever the batch size."""
    model = load_model("g107-jb", settings)
    model._vectorised_min = math.inf
    return model


def array_model(settings=None):
    """g107-jb scoring every batch on arrays, even of one window."""
    model = load_model("g107-jb", settings)
    model._vectorised_min = 1
    return model


def windows_of_every_kind(seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for n in (1, 2, 3, 10, 57, 200, 1000):
        for shape in ("exp", "two", "flat", "lossy", "heavy", "spike", "tiny"):
            x = 20.0 + rng.exponential(5.0, n)
            if shape == "two":
                x = 20.0 + rng.exponential(5.0, n) + rng.exponential(5.0, n)
            elif shape == "flat":
                x = np.full(n, 31.25)
            elif shape == "lossy":
                x[rng.random(n) < 0.3] = np.nan
            elif shape == "heavy":
                x = 5.0 + rng.pareto(1.5, n) * 40.0
            elif shape == "spike":
                x = np.full(n, 12.0)
                x[-1] = 900.0
            elif shape == "tiny":
                x = 1.0 + rng.random(n) * 1e-7  # variation below MIN_VARIATION_MS
            if np.isnan(x).all():
                x[0] = 40.0
            out.append(HopWindow.from_rtts(x))
    out.append(HopWindow.from_rtts([None] * 9 + [250.0]))  # one received sample
    out.append(HopWindow.from_rtts([None, 400.0, None, 420.0]))  # long delay: Idd
    out.append(HopWindow.from_rtts([0.05, 0.07, 0.06, None, 0.05]))  # a LAN hop
    return out


SETTINGS = [
    None,
    {"buffer": "fixed"},
    {"buffer": "fixed", "buffer_ms": 5.0, "codec": "g729a"},
    {"buffer_ms": 0.0, "buffer": "fixed"},
    {"codec": "g723.1", "one_way_pct": 80.0, "packet_ms": 0.0},
    {"codec": "gsm-efr", "packet_ms": 200.0, "one_way_pct": 1.0},
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_the_arrays_give_the_formulas_results_to_the_bit(settings):
    windows = windows_of_every_kind()
    by_formula = formula_model(settings).score_many(windows)
    by_arrays = array_model(settings).score_many(windows)
    for window, want, got in zip(windows, by_formula, by_arrays, strict=True):
        assert isinstance(want, Score), (window, want)
        assert got == want, window  # r, mos and every detail, exactly (and the detail's order)
        assert list(got.detail) == list(want.detail)


def test_the_arrays_cover_only_what_they_repeat():
    assert vectorised.covers("pingmos.scoring.formulas.g107_jb", {"codec": "g711", "buffer": "fixed"})
    assert not vectorised.covers("pingmos.scoring.formulas.g107", {})
    assert not vectorised.covers("pingmos.scoring.formulas.g107_jb", {"burst_r": "auto"})
    assert builtin.VECTORISED_MIN_WINDOWS == vectorised.MIN_WINDOWS
    # nothing received, nothing sent, a summary window: the model's own answers, in place
    windows = [
        HopWindow.from_rtts([None] * 5),
        HopWindow(),
        HopWindow.from_summary(80.0, 4.0, 1.0),
        HopWindow.from_rtts([30.0, 31.0, None, 45.0]),
    ]
    assert array_model().score_many(windows) == formula_model().score_many(windows)


def test_a_row_the_arrays_cannot_score_goes_to_the_formula(monkeypatch):
    # A formula error (here: the formula file raising) is reported by the formula, with its file and line.
    windows = windows_of_every_kind()[:40]

    def broken(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr("pingmos.scoring.formulas.g107_jb.rtt_excess_gamma", broken)
    monkeypatch.setattr(vectorised, "_r_to_mos", lambda r: np.where(r > 50.0, np.nan, 2.0))
    results = array_model().score_many(windows)
    for result in results:
        assert isinstance(result, Score | ModelError)
    assert any(isinstance(r, ModelError) and "g107_jb.py" in r.file for r in results)
    assert any(isinstance(r, Score) and r.mos == 2.0 for r in results)


@pytest.mark.parametrize(
    "rtts",
    [
        [30.0 + (i * 7 % 11) for i in range(40)],  # nothing lost
        [None if i % 9 == 0 else 30.0 + (i * 7 % 11) for i in range(40)],  # some lost
        [None] * 38 + [30.0, 45.0],  # two received: all but lost
        [None] * 10 + [30.0],  # one received: no interval
        [None] * 20,  # all lost: no interval
        [25.0] * 12,  # no variation
    ],
)
def test_the_interval_is_the_one_the_formula_gives_window_by_window(rtts):
    want = mos_intervals(formula_model().score_many, [rtts], budget_s=None)
    got = mos_intervals(array_model().score_many, [rtts], budget_s=None)
    assert got == want
    assert (want[0] is None) == (sum(v is not None for v in rtts) == 0)


def test_resampled_windows_through_both():
    x = np.array([20.0 + (i * 13 % 17) * 0.7 if i % 11 else np.nan for i in range(300)])
    windows = resampled_windows(x, 200, seed=3)
    assert formula_model().score_many(windows) == array_model().score_many(windows)


def test_the_shape_bisection_takes_the_formulas_side_at_a_tie():
    from pingmos.scoring.formulas import g107_jb as jb

    # The first halving's midpoint is 1.0 exactly: a ratio equal to its mean deviation is a tie there, decided
    # by libm's numbers as the formula decides it; and ratios a few ulp either side of it.
    tie = jb.gamma_mean_deviation(1.0, 1.0) / 1.0
    ratios = np.array([tie, np.nextafter(tie, 0.0), np.nextafter(tie, 1.0), 0.3, 0.9, 1.4, 1.99])
    got = vectorised._gamma_shape_for_deviation(ratios)
    assert got.tolist() == [jb.gamma_shape_for_deviation(r) for r in ratios.tolist()]
