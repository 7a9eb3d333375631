"""The conversational quality of a simulated call: ITU-T P.862 PESQ (narrowband, MOS-LQO by P.862.1) of what the
listener heard, on the R scale of ITU-T G.107, minus G.107's delay impairment Idd for the mouth-to-ear delay.

    R_listen = R(PESQ MOS-LQO) x R_clean_G107 / R(PESQ MOS-LQO of the same speech through G.711 with no loss)
    R = R_listen - Idd(Ta),   MOS = G.107 Annex B (R)

R(MOS) inverts G.107 Annex B. The scaling calibrates each reference so that a clean G.711 call scores what G.107
gives a clean G.711 call with no delay (R 93.206, MOS 4.41), as the models do; PESQ's own ceiling for a codec
differs by talker. Ta is the mean mouth-to-ear delay: 20 ms of packetisation plus the delay from sending a frame
to playing it out (network and jitter buffer). Idd is G.107's (0 up to Ta 100 ms), from pingmos.scoring.formulas.g107.
"""

from __future__ import annotations

import numpy as np
from pesq import PesqError, pesq
from scipy.optimize import brentq

from pingmos.scoring.formulas import g107
from pingmos.scoring.score import r_to_mos

RATE_HZ = 8000
PACKETISATION_MS = 20.0


def clean_r() -> float:
    """G.107's R for a clean G.711 call with no delay (93.206 from the default parameters)."""
    ro, no, iolr = g107.basic_terms()
    is_ = g107.simultaneous_impairment(ro, no, iolr, 0.0)
    _, idle, _ = g107.delay_impairment(ro, no, 0.0, 0.0, 0.0)
    return ro - is_ - idle


def mos_to_r(mos: float) -> float:
    """R for a MOS by G.107 Annex B, inverted (MOS 1 or below gives 0, 4.5 gives 100)."""
    if mos <= 1.0:
        return 0.0
    if mos >= 4.5:
        return 100.0
    return float(brentq(lambda r: r_to_mos(r) - mos, 0.0, 100.0, xtol=1e-6))


def idd(ta_ms: float) -> float:
    """G.107's delay impairment Idd (R points) for the one-way mouth-to-ear delay ``ta_ms``."""
    ro, no, _ = g107.basic_terms()
    return g107.delay_impairment(ro, no, ta_ms, ta_ms, 2.0 * ta_ms)[2]


def pesq_mos(reference: np.ndarray, degraded: np.ndarray) -> float:
    """P.862 narrowband MOS-LQO of ``degraded`` against ``reference`` (int16 or float, 8 kHz, same length); a
    signal PESQ cannot process (nothing but silence left) scores the scale's floor, 1.0."""
    ref = np.asarray(reference, dtype=np.float32)
    deg = np.asarray(degraded, dtype=np.float32)
    value = pesq(RATE_HZ, ref, deg, "nb", on_error=PesqError.RETURN_VALUES)
    return float(value) if np.isfinite(value) and value >= 0 else 1.0


def conversational_mos(r_listen: float, ta_ms: float) -> tuple[float, float]:
    """(R, MOS) of a call whose calibrated listening R is ``r_listen`` and mouth-to-ear delay ``ta_ms``."""
    r = max(0.0, r_listen - idd(ta_ms))
    return r, r_to_mos(r)
