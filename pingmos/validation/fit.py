"""Fitting g107-jb's named constants on the study's training conditions (``validate_mos --fit``).

A grid search: for every combination of candidate values the model is evaluated on the training conditions' probe
views, both buffers, and the combination with the lowest mean absolute error against the truth wins. The held-out
conditions are never looked at. The result is printed, not written: the constants live in the formula file
(``pingmos/scoring/formulas/g107_jb.py``), where a user can read and change them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from pingmos.scoring import HopWindow
from pingmos.scoring.formulas import g107_jb as model
from pingmos.validation.study import BUFFERS, FIXED_DEPTH_MS, Outcome

GRID = {
    "NETWORK_LOSS_WEIGHT": (1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.2),
    "LATE_LOSS_WEIGHT": (1.5, 1.75, 2.0, 2.25, 2.5, 3.0),
    "LOSS_ONE_DIRECTION_SHARE": (0.0, 0.25, 0.5, 0.75, 1.0),
}


def _settings(buffer: str) -> dict[str, object]:
    return {"buffer": buffer, "buffer_ms": FIXED_DEPTH_MS, "codec": "g711", "one_way_pct": 50.0, "packet_ms": 20.0}


def training_mae(outcomes: Sequence[Outcome], values: dict[str, float]) -> float:
    """Mean absolute error (MOS) of g107-jb with the constants ``values`` over the training conditions."""
    saved = {k: getattr(model, k) for k in values}
    try:
        for k, v in values.items():
            setattr(model, k, v)
        errs = []
        for o in outcomes:
            if o.split != "training":
                continue
            window = HopWindow.from_rtts(o.rtts_ms)
            for buffer in BUFFERS:
                mos = 1.0 if window.received == 0 else model.score_hop(window.for_model(_settings(buffer)))[1]
                errs.append(abs(mos - o.truth_mos[buffer]))
        return float(np.mean(errs))
    finally:
        for k, v in saved.items():
            setattr(model, k, v)


def fit(outcomes: Sequence[Outcome]) -> tuple[dict[str, float], float]:
    """The grid point with the lowest training MAE, and that MAE."""
    best, best_mae = {}, float("inf")
    names = list(GRID)
    for combo in itertools.product(*(GRID[n] for n in names)):
        values = dict(zip(names, combo, strict=True))
        mae = training_mae(outcomes, values)
        if mae < best_mae:
            best, best_mae = values, mae
    return best, best_mae


def report(outcomes: Sequence[Outcome]) -> str:
    """The fitted constants and the training MAE before and after, as text."""
    current = {k: getattr(model, k) for k in GRID}
    best, mae = fit(outcomes)
    return (
        f"fit on training conditions: now {current} MAE {training_mae(outcomes, current):.3f}; "
        f"best {best} MAE {mae:.3f}"
    )
