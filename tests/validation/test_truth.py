"""The conversational truth: G.107's Idd, the R <-> MOS conversion and the calibration."""

import numpy as np
import pytest

from pingmos.validation import truth


def test_idd_against_g107_worked_values():
    # G.107 7.4: Idd = 0 for Ta <= 100 ms; else X = log2(Ta / 100), Idd = 25 {(1 + X^6)^(1/6) - 3 (1 + (X/3)^6)^(1/6)
    # + 2}. Ta 150: X = 0.58496, X^6 = 0.040117: 1.006573 - 3 x 1.0000092 + 2 = 0.006545 -> 0.1636.
    # Ta 400: X = 2: 65^(1/6) = 2.005174, (2/3)^6 = 0.087791 -> 3 x 1.014124; 2.005174 - 3.042373 + 2 -> 24.070.
    assert truth.idd(100.0) == 0.0
    assert truth.idd(150.0) == pytest.approx(0.1636, abs=2e-4)
    assert truth.idd(400.0) == pytest.approx(24.070, abs=2e-3)


def test_r_mos_round_trip_and_clean_r():
    for r in (10.0, 50.0, 70.0, 93.2):
        assert truth.mos_to_r(truth.r_to_mos(r)) == pytest.approx(r, abs=1e-4)
    assert truth.mos_to_r(1.0) == 0.0 and truth.mos_to_r(4.5) == 100.0
    assert truth.clean_r() == pytest.approx(93.206, abs=1e-3)
    assert truth.r_to_mos(truth.clean_r()) == pytest.approx(4.41, abs=0.005)
    # a clean call with 400 ms mouth-to-ear delay: R 93.206 - 24.070
    r, mos = truth.conversational_mos(truth.clean_r(), 400.0)
    assert r == pytest.approx(93.206 - 24.070, abs=0.01)


def test_pesq_identity_and_floor():
    rng = np.random.default_rng(0)
    t = np.arange(8000 * 3) / 8000.0
    speechlike = (6000 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.int16)
    speechlike = speechlike + rng.integers(-50, 50, len(t)).astype(np.int16)
    assert truth.pesq_mos(speechlike, speechlike) > 4.0
    assert truth.pesq_mos(speechlike, np.zeros_like(speechlike)) == 1.0  # nothing heard: the floor
