"""The Spearman interval over the conditions (study.spearman_interval) and the README's table, which prints it."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from pingmos.validation import study

TOP = Path(__file__).resolve().parents[2]


def _pairs(n, noise, seed=3):
    rng = np.random.default_rng(seed)
    actual = rng.uniform(1.0, 4.5, n)
    return actual + noise * rng.standard_normal(n), actual


def test_the_interval_holds_the_estimate_and_narrows_with_more_conditions():
    widths = []
    for n in (30, 120):
        predicted, actual = _pairs(n, 0.6)
        low, high = study.spearman_interval(predicted, actual)
        rho = spearmanr(predicted, actual).statistic
        assert -1.0 <= low < rho < high <= 1.0
        widths.append(high - low)
    assert widths[1] < 0.7 * widths[0]  # about 1 / sqrt(4) as wide with four times the conditions


def test_the_interval_covers_the_population_rho_about_95_times_in_100():
    # Many studies of 30 conditions drawn from one population whose rho is known (from 20,000 of its conditions):
    # a 95 % interval should hold it in most of them, not in half (a percentile bootstrap runs a little narrow).
    predicted, actual = _pairs(20_000, 0.6, seed=11)
    population = spearmanr(predicted, actual).statistic
    held = 0
    for seed in range(40):
        p, a = _pairs(30, 0.6, seed=100 + seed)
        low, high = study.spearman_interval(p, a, resamples=1000)
        held += low <= population <= high
    assert held >= 33  # 95 % of 40 is 38; binomial and the bootstrap's narrowness leave some room


def test_the_interval_is_the_same_for_the_same_input_and_none_without_a_rho():
    predicted, actual = _pairs(30, 0.4)
    assert study.spearman_interval(predicted, actual) == study.spearman_interval(predicted, actual)
    assert study.spearman_interval([3.0] * 10, actual[:10]) is None  # a constant prediction has no rho
    assert study.spearman_interval(predicted[:4], actual[:4]) is None  # too few conditions


def test_the_readme_table_is_the_studys_own():
    """The README's validation table is what the study's results.json gives, interval included, to the digit."""
    doc = json.loads((TOP / "resources" / "validation" / "results.json").read_text())
    rows = study.table(study.from_json(doc))
    readme = (TOP / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^\| model \| fixed 60 ms buffer: Spearman.*?\n(?:\|.*\n)+", readme, re.MULTILINE)
    assert found is not None
    assert found.group(0).strip() == study.format_markdown(rows)
    # and results.json holds the same intervals
    for (name, buffer, split, a), saved in zip(rows, doc["table"], strict=True):
        assert (saved["model"], saved["buffer"], saved["set"]) == (name, buffer, split)
        assert saved["spearman_ci95"] == pytest.approx(list(a.spearman_ci95))
