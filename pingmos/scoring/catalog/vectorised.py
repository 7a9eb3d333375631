"""The default model, ``g107-jb``, over many windows at once: its formula's arithmetic on numpy arrays, one row per
window, for a batch as large as the MOS interval's (200 resampled windows of a hop, ``pingmos.scoring.interval``).

The formula file (``formulas/g107_jb.py``) stays what scores, and what a user reads and copies; this module
repeats its steps operation for operation, in the same order, so every number is the same to the bit:

- the sums over a window's samples are ``np.add.accumulate`` along the row (left to right, like Python's
  ``sum``; a lost sample adds 0.0, which changes no bit), the minimum is the minimum, and the comparisons count
  the same samples;
- every transcendental function (log, exp, lgamma, log10, ``**``) is the formula's own ``math`` function mapped
  over the row's values (numpy's SIMD versions differ from libm's in the last bit on some CPUs); arithmetic,
  ``sqrt`` and ``abs`` are exact in both;
- the iterations (the bisection for the gamma's shape, the incomplete gamma function's series and continued
  fraction) run until every row has stopped, each row stopping after the step where the formula stops.

``tests/scoring/test_vectorised.py`` holds the two to equality on random and edge-case windows and settings.
Windows this path does not cover (a summary window, settings the formula file does not declare) and any row whose
numbers come out non-finite or out of range are scored by the formula itself, which says what is wrong. Cost:
about 25 us per window against the formula's 150 us (30 hops x 200 resamples: 0.15 s instead of 0.92 s).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from itertools import repeat

import numpy as np

from pingmos.scoring.formulas import g107
from pingmos.scoring.formulas import g107_jb as jb
from pingmos.scoring.model import R_MAX, R_MIN, ModelError
from pingmos.scoring.score import Score
from pingmos.scoring.window import HopWindow

# Below this many windows a batch goes through the formula (the arrays' set-up costs about 20 windows' worth).
MIN_WINDOWS = 24  # builtin.VECTORISED_MIN_WINDOWS

MODULE = jb.__name__
_SETTINGS = frozenset(jb.SETTINGS)


def _map(func: Callable[[float], float], values: np.ndarray) -> np.ndarray:
    """``func`` (a ``math`` function) of every value, as float64: libm's bits, not numpy's."""
    return np.fromiter(map(func, values.tolist()), np.float64, len(values))


def _pow(values: np.ndarray, exponent: float) -> np.ndarray:
    return np.fromiter(map(pow, values.tolist(), repeat(exponent)), np.float64, len(values))


def covers(module: str | None, settings: Mapping[str, object]) -> bool:
    """True when ``score_windows`` can score this formula module with these settings."""
    return module == MODULE and _SETTINGS.issuperset(settings)


def score_windows(
    windows: Sequence[HopWindow], settings: Mapping[str, object], fallback: Callable[[HopWindow], Score | ModelError]
) -> list[Score | ModelError]:
    """g107-jb's result for every window (each with at least one received sample), as the formula's ``score_hop``
    gives it through ``check_result``; ``fallback(window)`` scores the windows this path leaves to the formula."""
    out: list[Score | ModelError | None] = [None] * len(windows)
    rows = [i for i, w in enumerate(windows) if not w.is_summary and w.received > 0]
    if rows:
        for i, result in zip(rows, _score_rows([windows[i] for i in rows], settings), strict=True):
            out[i] = result
    return [fallback(windows[i]) if r is None else r for i, r in enumerate(out)]


def _received_matrix(windows: Sequence[HopWindow]) -> tuple[np.ndarray, np.ndarray]:
    """(values, counts): each window's received RTTs left-aligned in a row, NaN after them; their counts."""
    arrays = [w.received_array for w in windows]
    counts = np.fromiter(map(len, arrays), np.int64, len(arrays))
    width = int(counts.max())
    if counts.min() == width:
        return np.stack(arrays), counts
    values = np.full((len(arrays), width), np.nan)
    for row, a in zip(values, arrays, strict=True):
        row[: len(a)] = a
    return values, counts


def _row_sums(values: np.ndarray) -> np.ndarray:
    """Each row's sum left to right (Python's ``sum``), NaN counting 0.0 (an exact no-op)."""
    return np.add.accumulate(np.where(np.isnan(values), 0.0, values), axis=1)[:, -1]


def _rtt_excess_gamma(values: np.ndarray, counts: np.ndarray, share: float):
    """``jb.rtt_excess_gamma`` per row: (k_r, theta, n, base_ms) arrays."""
    m = len(counts)
    low = np.fmin.reduce(values, axis=1)
    count = counts.astype(np.float64)
    mean = _row_sums(values) / count - low
    excess = values - low[:, None]
    deviation = _row_sums(np.abs(excess - mean[:, None])) / count
    varies = (mean >= jb.MIN_VARIATION_MS) & (deviation >= jb.MIN_VARIATION_MS)
    k_r = np.zeros(m)
    theta = np.zeros(m)
    n = np.zeros(m)
    if varies.any():
        v = np.flatnonzero(varies)
        ratio = deviation[v] / mean[v]
        k = _gamma_shape_for_deviation(ratio)
        with np.errstate(invalid="ignore"):  # NaN (a lost sample's place) compares False: not counted
            near = np.count_nonzero(excess[v] < (jb.NEAR_MIN * mean[v])[:, None], axis=1) / count[v]
        c = count[v]
        u1 = 1.0 / c + jb.NEAR_MIN * (1.0 - 1.0 / c)
        above = np.sqrt(math.pi / (2.0 * c))
        u2 = above + jb.NEAR_MIN * (2.0 - above)
        one = 1.0 - _map(math.exp, -u1)
        two = 1.0 - _map(math.exp, -u2) * (1.0 + u2)
        k_r[v] = k
        theta[v] = mean[v] / k
        n[v] = 1.0 + np.minimum(1.0, np.maximum(0.0, (one - near) / (one - two)))
    return k_r, theta, n, low * share, varies


def _gamma_mean_deviation(k: np.ndarray, theta: np.ndarray | float) -> np.ndarray:
    """``jb.gamma_mean_deviation`` of each element."""
    return 2.0 * theta * _map(math.exp, k * _map(math.log, k) - k - _map(math.lgamma, k))


def _gamma_shape_for_deviation(ratio: np.ndarray) -> np.ndarray:
    """``jb.gamma_shape_for_deviation`` of each element: the same 36 halvings, each taking the formula's side.

    Only the side taken matters, so each comparison is made with numpy's exp and log (a few ulp from libm's at
    most) and made again with libm's, as the formula makes it, where the two numbers are within 1e-9 of each
    other: a difference of a few ulp cannot change a comparison that wide."""
    lo = np.full(len(ratio), 1e-3)
    hi = np.full(len(ratio), 1e3)
    for _ in range(36):
        mid = np.sqrt(lo * hi)
        fast = 2.0 * 1.0 * np.exp(mid * np.log(mid) - mid - _map(math.lgamma, mid)) / mid
        above = fast > ratio
        close = np.flatnonzero(np.abs(fast - ratio) <= 1e-9 * ratio)
        if len(close):
            above[close] = _gamma_mean_deviation(mid[close], 1.0) / mid[close] > ratio[close]
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return np.sqrt(lo * hi)


def _upper_gamma_share(k: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``jb.upper_gamma_share`` of each element (k > 0, x finite), each row stopping where the formula stops."""
    out = np.ones(len(k))
    pos = np.flatnonzero(x > 0.0)
    if not len(pos):
        return out
    k, x = k[pos], x[pos]
    log_front = k * _map(math.log, x) - x - _map(math.lgamma, k)
    front = _map(math.exp, log_front)
    result = np.empty(len(k))
    series = x < k + 1.0
    s = np.flatnonzero(series)
    if len(s):
        ks, xs = k[s], x[s]
        term = 1.0 / ks
        total = term.copy()
        a = ks.copy()
        live = np.arange(len(s))
        for _ in range(500):
            a[live] += 1.0
            term[live] *= xs[live] / a[live]
            total[live] += term[live]
            live = live[~(np.abs(term[live]) < np.abs(total[live]) * 1e-12)]
            if not len(live):
                break
        result[s] = np.maximum(0.0, 1.0 - total * front[s])
    f = np.flatnonzero(~series)
    if len(f):
        kf, xf = k[f], x[f]
        tiny = 1e-300
        b = xf + 1.0 - kf
        c = np.full(len(f), 1.0 / tiny)
        d = 1.0 / b
        h = d.copy()
        live = np.arange(len(f))
        for i in range(1, 500):
            an = -i * (i - kf[live])
            b[live] += 2.0
            dl = an * d[live] + b[live]
            dl = np.where(np.abs(dl) < tiny, tiny, dl)
            cl = b[live] + an / c[live]
            cl = np.where(np.abs(cl) < tiny, tiny, cl)
            dl = 1.0 / dl
            step = dl * cl
            d[live], c[live] = dl, cl
            h[live] *= step
            live = live[~(np.abs(step - 1.0) < 1e-12)]
            if not len(live):
                break
        result[f] = np.minimum(1.0, front[f] * h)
    out[pos] = result
    return out


def _listener(k: np.ndarray, theta: np.ndarray, settings: Mapping[str, object]) -> tuple[np.ndarray, np.ndarray]:
    """``jb.listener`` per row: (late loss 0-1, buffer delay ms); rows with k <= 0 have no variation."""
    late = np.zeros(len(k))
    q = np.flatnonzero(k > 0.0)
    if settings.get("buffer", "adaptive") == "fixed":
        delay_ms = np.full(len(k), float(settings.get("buffer_ms", 60.0)))  # type: ignore[arg-type]
        if len(q):
            late[q] = _upper_gamma_share(k[q], delay_ms[q] / theta[q])
        return late, delay_ms
    delay_ms = np.full(len(k), jb.ADAPTIVE_MIN_MARGIN_MS)
    if len(q):
        kq, tq = k[q], theta[q]
        delay_ms[q] = kq * tq + np.maximum(jb.ADAPTIVE_MIN_MARGIN_MS, jb.RAMJEE_BETA * _gamma_mean_deviation(kq, tq))
        late[q] = _upper_gamma_share(kq, delay_ms[q] / tq)
    return late, delay_ms


# g107.e_model with what g107-jb gives it: no r0, advantage or burst_r setting (R0 from the default parameters,
# A 0, BurstR 1), the talker echo at ECHO_DELAY_MS. The terms that depend on neither delay nor loss, once.
_RO, _NO, _IOLR = g107.basic_terms()
_IS = g107.simultaneous_impairment(_RO, _NO, _IOLR, jb.ECHO_DELAY_MS)
_IDTE = g107.delay_impairment(_RO, _NO, 0.0, jb.ECHO_DELAY_MS, 0.0)[0]
_R_CAP = g107.WIDEBAND_R0 if _RO > 100.0 else 100.0
_LOG10_2 = math.log10(2.0)


def _e_model(ta_ms: np.ndarray, loss_pct: np.ndarray, codec: str) -> tuple[np.ndarray, dict[str, object]]:
    """``g107.e_model(hop, ta_ms, loss_pct=loss_pct, echo_ms=jb.ECHO_DELAY_MS)`` per row: (R, detail)."""
    ie, bpl = g107.CODECS[codec]
    loss_constant = 95.0
    tr_ms = 2.0 * ta_ms
    rle = 10.5 * (g107.WEPL + 7.0) * _pow(tr_ms + 1.0, -0.25)
    idle = (_RO - rle) / 2.0 + np.sqrt(_pow(_RO - rle, 2) / 4.0 + 169.0)
    idd = np.zeros(len(ta_ms))
    late = np.flatnonzero(ta_ms > 100.0)
    if len(late):
        x = _map(math.log10, ta_ms[late] / 100.0) / _LOG10_2
        idd[late] = 25.0 * (_pow(1.0 + _pow(x, 6), 1.0 / 6.0) - 3.0 * _pow(1.0 + _pow(x / 3.0, 6), 1.0 / 6.0) + 2.0)
    ppl = np.minimum(100.0, loss_pct + 0.0)
    burst_r = 1.0
    ie_eff = ie + (loss_constant - ie) * ppl / (ppl / burst_r + bpl)
    advantage = 0.0
    r_raw = _RO - _IS - (_IDTE + idle + idd) - ie_eff + advantage
    r = np.minimum(_R_CAP, np.maximum(0.0, r_raw))
    detail = {
        "ta_ms": ta_ms,
        "ro": _RO,
        "is": _IS,
        "idte": _IDTE,
        "idle": idle,
        "idd": idd,
        "id": _IDTE + idle + idd,
        "ie": ie,
        "bpl": bpl,
        "ppl_pct": ppl,
        "burst_r": burst_r,
        "markov_p": None,
        "markov_q": None,
        "ie_eff": ie_eff,
        "a": advantage,
        "r_unclamped": r_raw,
    }
    return r, detail


def _r_to_mos(r: np.ndarray) -> np.ndarray:
    """``score.r_to_mos`` per row."""
    mos = np.minimum(4.5, np.maximum(1.0, 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)))
    return np.where(r <= 0.0, 1.0, np.where(r >= 100.0, 4.5, mos))


def _score_rows(windows: Sequence[HopWindow], s: Mapping[str, object]) -> list[Score | None]:
    """``jb.score_hop`` per window (raw samples, one received at least): a Score, or None for a row to leave to
    the formula (a number not finite or out of range: the formula's check says what)."""
    values, counts = _received_matrix(windows)
    m = len(windows)
    share = float(s.get("one_way_pct", 50.0)) / 100.0  # type: ignore[arg-type]
    k_r, theta, n, base_ms, varies = _rtt_excess_gamma(values, counts, share)
    loss_pct = np.array([w.loss_pct for w in windows], dtype=np.float64)
    packet_ms = float(s.get("packet_ms", 20.0))  # type: ignore[arg-type]
    codec = str(s.get("codec", "g711"))
    zeros = np.zeros(m)
    # jb.listeners: a row without variation hears ``still`` both ways; the others mix one direction queueing
    # (weight 2 - n: A varies, B not) and both (n - 1). Rows without variation get finite stand-ins, then ``still``.
    safe_k = np.where(varies, k_r, 1.0)
    safe_theta = np.where(varies, theta, 1.0)
    still = _listener(zeros, zeros, s)
    one = _listener(safe_k, safe_theta, s)
    both = _listener(safe_k / 2.0, safe_theta, s)
    w_one, w_both = 2.0 - n, n - 1.0
    heard = [
        tuple(np.where(varies, w_one * one[i] + w_both * both[i], still[i]) for i in (0, 1)),
        tuple(np.where(varies, w_one * still[i] + w_both * both[i], still[i]) for i in (0, 1)),
    ]
    # jb.listener_losses
    round_trip = loss_pct / 100.0
    each = 1.0 - np.sqrt(np.maximum(0.0, 1.0 - round_trip))
    share_one = jb.LOSS_ONE_DIRECTION_SHARE
    lost = [share_one * round_trip + (1.0 - share_one) * each, (1.0 - share_one) * each]
    ta_ms = base_ms + (heard[0][1] + heard[1][1]) / 2.0 + packet_ms
    late_weight = jb.late_loss_weight(s)
    ppl = [
        np.minimum(100.0, 100.0 * (jb.NETWORK_LOSS_WEIGHT * x + late_weight * late))
        for x, (late, _) in zip(lost, heard, strict=True)
    ]
    _, detail = _e_model(ta_ms, zeros, codec)
    ie, bpl = detail["ie"], detail["bpl"]
    ie_effs = [ie + (95.0 - ie) * p / (p + bpl) for p in ppl]
    ie_eff = (ie_effs[0] + ie_effs[1]) / 2.0
    r_raw = detail["ro"] - detail["is"] - detail["id"] - ie_eff + detail["a"]
    r_total = np.minimum(100.0, np.maximum(0.0, r_raw))
    for key in ("ppl_pct", "burst_r", "markov_p", "markov_q"):
        detail.pop(key, None)
    detail.update(jb.split_detail(ie_eff, r_raw, base_ms, heard, lost, ppl, ie_effs, n, k_r, theta, late_weight))
    mos = _r_to_mos(r_total)
    # check_result's checks, per row: finite R within R_MIN..R_MAX, MOS within 1..4.5, finite details.
    ok = np.isfinite(r_total) & (r_total >= R_MIN) & (r_total <= R_MAX) & (mos >= 1.0) & (mos <= 4.5)
    columns: list[tuple[str, list[float] | None, float]] = []
    for name, value in detail.items():
        if value is None:
            continue  # check_result drops a None detail
        if isinstance(value, np.ndarray):
            ok &= np.isfinite(value)
            columns.append((name, value.tolist(), 0.0))
        else:
            columns.append((name, None, float(value)))
    out: list[Score | None] = []
    for i, (good, r, q) in enumerate(zip(ok.tolist(), r_total.tolist(), mos.tolist(), strict=True)):
        if not good:
            out.append(None)
            continue
        row = {name: (col[i] if col is not None else const) for name, col, const in columns}
        out.append(Score(r=r, mos=q, detail=row))
    return out
