"""The validation study: path conditions, simulated calls, the probe view, every model's prediction, the table.

For each condition (``conditions(seed)``): the path's two directions are drawn for ``PATH_S`` seconds of 20 ms
slots; the probe view is ``PROBES`` round trips one second apart (``paths.probe_rtts``); ``calls`` G.711 calls
(references in turn) start at random slots, each after ``WARMUP_S`` of stream the buffers learn from. A call has
two listeners: each leg is mu-law coded in 20 ms frames, sent through its direction of the path, played out by the
fixed (``FIXED_DEPTH_MS`` beyond the base delay) and by the adaptive buffer (``buffers``), concealed (``plc``) and
scored (``truth``). The truth of a condition and buffer is the conversational MOS of the legs' mean calibrated
listening R and mean mouth-to-ear delay: a ping cannot tell the directions apart, so the quality it can predict is
that of the call as both parties hear it. Every model (``pingmos.scoring.available_models()``, by its public
API) scores the probe view; ``g107-jb`` with the buffer of the truth it is compared with, the others with their
defaults.

Two measures of how far one number of the table can be trusted: the truth's own reliability (``reliability``: its
calls split in halves and resampled), and the probe view's (``view_table``): ``PROBE_VIEWS`` probe views of the same
path, each ``PROBES`` round trips one second apart starting ``VIEW_STEP_SLOTS`` slots after the last (the first is
the table's), every model scoring each; how much a model's agreement moves from one view of the same paths to the
next is the sampling noise of 300 pings, and the agreement of its mean over the views the model with that noise
averaged out.

Conditions are split, by their order, into training (2 of 3) and held-out (1 of 3); the constants of ``g107-jb``
were fitted on training conditions only (``fit``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from pingmos.validation import buffers, g711, plc, truth
from pingmos.validation.paths import Condition, Direction, probe_rtts

PATH_S = 300
PROBES = 300
PROBE_VIEWS = 10  # probe views of each path (the first is the table's); see ``view_table``
VIEW_STEP_SLOTS = 5  # each view starts 100 ms after the one before
WARMUP_S = 30
FIXED_DEPTH_MS = 60.0
SLOTS_PER_S = 50
BUFFERS = ("fixed", "adaptive")
BUFFERED_MODEL = "g107-jb"  # the model whose ``buffer`` setting follows the truth's buffer


@dataclass
class Reference:
    """A reference signal prepared once: samples, frames, talkspurt starts, clean calibrated R."""

    label: str
    pcm: np.ndarray
    frames: np.ndarray = field(init=False)
    coded: np.ndarray = field(init=False)
    talkspurt_start: np.ndarray = field(init=False)
    mos_clean: float = field(init=False)
    r_clean: float = field(init=False)

    def __post_init__(self) -> None:
        self.frames = g711.frames(self.pcm)
        self.coded = g711.decode(g711.encode(self.frames)).astype(np.float64)
        self.talkspurt_start = buffers.talkspurts(self.frames)
        clean = self.coded.reshape(-1)[: len(self.pcm)]
        self.mos_clean = truth.pesq_mos(self.pcm, clean)
        self.r_clean = truth.mos_to_r(self.mos_clean)


@dataclass
class Outcome:
    """One condition's result: the truth per buffer, what each probe view gave, every model's MOS."""

    condition: Condition
    split: str  # "training" or "held-out"
    truth_mos: dict[str, float]  # buffer -> conversational MOS
    ta_ms: dict[str, float]  # buffer -> mean mouth-to-ear delay
    played_pct: dict[str, float]  # buffer -> share of frames played
    rtts_ms: list[float | None]
    predicted: dict[str, dict[str, float]] = field(default_factory=dict)  # model -> buffer -> MOS
    # Per leg heard, in order (call c: legs 2c and 2c + 1), buffer -> calibrated listening R, mouth-to-ear delay ms:
    # what the truth is the mean of, kept so its reliability can be measured (``reliability``).
    legs_r_listen: dict[str, list[float]] = field(default_factory=dict)
    legs_ta_ms: dict[str, list[float]] = field(default_factory=dict)
    # The other probe views of the same path (``view_table``; not saved), and every model's MOS from each view, the
    # table's first: model -> buffer -> [MOS per view].
    other_views_rtts: list[list[float | None]] = field(default_factory=list)
    views_predicted: dict[str, dict[str, list[float]]] = field(default_factory=dict)


def _d(**kw) -> Direction:
    return Direction(**kw)


def conditions(seed: int, count: int) -> list[Condition]:
    """``count`` path conditions covering the factors (loss model and rate, delay-variation kind and size, base
    delay 0-400 ms, asymmetry), drawn from ``seed``; the first few are fixed anchors."""
    rng = np.random.default_rng(seed)
    anchors = [
        Condition("clean, 10 ms", _d(base_ms=10.0), _d(base_ms=10.0)),
        Condition("clean, 250 ms", _d(base_ms=250.0), _d(base_ms=250.0)),
        Condition(
            "iid 20 ms, 1 % random, 40 ms",
            _d(base_ms=40.0, jitter_kind="iid", jitter_ms=20.0, loss_model="random", loss_pct=1.0),
            _d(base_ms=40.0, jitter_kind="iid", jitter_ms=20.0, loss_model="random", loss_pct=1.0),
        ),
        Condition(
            "gilbert 3 % burst 4, 80 ms",
            _d(base_ms=80.0, loss_model="gilbert", loss_pct=3.0, burst_packets=4.0),
            _d(base_ms=80.0, loss_model="gilbert", loss_pct=3.0, burst_packets=4.0),
        ),
    ]
    out = list(anchors[:count])
    while len(out) < count:
        loss_model = str(rng.choice(["none", "random", "random", "gilbert", "gilbert"]))
        loss_pct = 0.0 if loss_model == "none" else float(rng.choice([0.5, 1.0, 2.0, 3.0, 5.0, 8.0]))
        burst = float(rng.choice([2.0, 3.0, 5.0, 8.0]))
        kind = str(rng.choice(["none", "iid", "correlated", "pareto", "iid", "correlated", "pareto"]))
        jitter_ms = 0.0 if kind == "none" else float(rng.choice([2.0, 5.0, 10.0, 15.0, 25.0, 40.0]))
        base = float(rng.choice([0.0, 10.0, 25.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0]))
        asym = str(rng.choice(["symmetric", "symmetric", "symmetric", "forward", "reverse"]))
        impaired = Direction(
            base_ms=base,
            jitter_kind=kind,
            jitter_ms=jitter_ms,
            loss_model=loss_model,
            loss_pct=loss_pct,
            burst_packets=burst,
        )
        if asym == "symmetric":
            fwd, rev = impaired, impaired
        else:
            # One direction holds the impairments, the other is clean (and, on some, shorter: routes differ).
            other_base = float(rng.choice([base, base * 0.5, base * 1.5]))
            clean = Direction(base_ms=other_base)
            fwd, rev = (impaired, clean) if asym == "forward" else (clean, impaired)
        loss_txt = "no loss" if loss_model == "none" else f"{loss_model} {loss_pct:g} %"
        if loss_model == "gilbert":
            loss_txt += f" burst {burst:g}"
        jit_txt = "no jitter" if kind == "none" else f"{kind} {jitter_ms:g} ms"
        name = f"{loss_txt}, {jit_txt}, base {base:g} ms, {asym}"
        tags = {"loss": loss_model, "jitter": kind, "base": f"{base:g}", "asymmetry": asym}
        out.append(Condition(name, fwd, rev, tags))
    for c in out[: len(anchors)]:
        f = c.forward
        c.tags.update(
            {"loss": f.loss_model, "jitter": f.jitter_kind, "base": f"{f.base_ms:g}", "asymmetry": "symmetric"}
        )
    return out


def split_of(index: int) -> str:
    """Training for 2 of every 3 conditions, held-out for the third."""
    return "held-out" if index % 3 == 2 else "training"


class Listener:
    """Plays legs of calls through both buffers, conceals and scores them, and sums up the truth per buffer.

    ``hear(ref, delays_ms, warmup, talk)``: one leg, ``delays_ms`` the one-way delays (NaN = lost) of the
    ``warmup`` packets before the reference's frames and of its frames; ``talk`` the talkspurt starts of both.
    ``truth()``: (conversational MOS, mean mouth-to-ear delay ms, frames played %) per buffer over every leg heard.
    """

    def __init__(self) -> None:
        self.r_listen: dict[str, list[float]] = {b: [] for b in BUFFERS}
        self.ta: dict[str, list[float]] = {b: [] for b in BUFFERS}
        self.played: dict[str, list[float]] = {b: [] for b in BUFFERS}
        # PESQ is most of the cost: a reference played out in a pattern already scored (every frame: the clean
        # score; the fixed and the adaptive buffer alike) is the same signal, so the same score.
        self.scored: dict[tuple[str, bytes], float] = {}

    def hear(self, ref: Reference, delays: np.ndarray, warmup: int, talk: np.ndarray) -> None:
        for name in BUFFERS:
            if name == "fixed":
                out = buffers.fixed(delays, warmup, FIXED_DEPTH_MS)
            else:
                out = buffers.adaptive(delays, warmup, talk)
            out = out.scored(warmup)
            key = (ref.label, out.played.tobytes())
            if key not in self.scored:
                if out.played.all():  # the concealment passes every frame through: the clean signal
                    self.scored[key] = ref.mos_clean
                else:
                    heard = plc.conceal(ref.coded, out.played)[: len(ref.pcm)]
                    self.scored[key] = truth.pesq_mos(ref.pcm, np.clip(heard, -32768, 32767))
            mos = self.scored[key]
            self.r_listen[name].append(truth.mos_to_r(mos) * truth.clean_r() / ref.r_clean)
            self.ta[name].append(float(np.mean(out.delay_ms)) + truth.PACKETISATION_MS)
            self.played[name].append(100.0 * float(np.mean(out.played)))

    def truth(self) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
        ta = {b: float(np.mean(self.ta[b])) for b in BUFFERS}
        mos = {b: legs_truth(self.r_listen[b], self.ta[b]) for b in BUFFERS}
        return mos, ta, {b: float(np.mean(self.played[b])) for b in BUFFERS}


def legs_truth(r_listen: Sequence[float], ta_ms: Sequence[float]) -> float:
    """The conversational MOS of legs heard: their mean calibrated listening R less Idd for their mean
    mouth-to-ear delay."""
    return truth.conversational_mos(float(np.mean(r_listen)), float(np.mean(ta_ms)))[1]


def talk_with_warmup(ref: Reference, warmup: int) -> np.ndarray:
    """Talkspurt starts of a leg: the call so far (``warmup`` packets, a talkspurt every second), then the
    reference's own."""
    talk = np.concatenate([np.zeros(warmup, dtype=bool), ref.talkspurt_start])
    talk[:warmup:SLOTS_PER_S] = True
    return talk


def simulate(condition: Condition, refs: Sequence[Reference], calls: int, seed: int) -> Outcome:
    """One condition: the probe view and the truth for both buffers (see the module docstring)."""
    rng = np.random.default_rng(seed)
    slots = PATH_S * SLOTS_PER_S
    path = condition.draw(slots, rng)
    rtts = probe_rtts(path, PROBES)
    others = [
        probe_rtts({k: v[VIEW_STEP_SLOTS * view :] for k, v in path.items()}, PROBES) for view in range(1, PROBE_VIEWS)
    ]
    legs = {
        "forward": np.where(path["fwd_lost"], np.nan, path["fwd_ms"]),
        "reverse": np.where(path["rev_lost"], np.nan, path["rev_ms"]),
    }
    warmup = WARMUP_S * SLOTS_PER_S
    listener = Listener()
    for c in range(calls):
        for leg, one_way in enumerate(legs.values()):
            ref = refs[(2 * c + leg) % len(refs)]
            nf = len(ref.frames)
            start = int(rng.integers(warmup, slots - nf))
            listener.hear(ref, one_way[start - warmup : start + nf], warmup, talk_with_warmup(ref, warmup))
    truth_mos, ta_ms, played_pct = listener.truth()
    return Outcome(
        condition=condition,
        split="",
        truth_mos=truth_mos,
        ta_ms=ta_ms,
        played_pct=played_pct,
        rtts_ms=rtts,
        other_views_rtts=others,
        legs_r_listen={b: list(v) for b, v in listener.r_listen.items()},
        legs_ta_ms={b: list(v) for b, v in listener.ta.items()},
    )


def model_names() -> list[str]:
    """Every model the scoring API offers that loads without an error."""
    from pingmos.scoring import available_models

    return [m.name for m in available_models() if m.error is None]


def predict(outcomes: Sequence[Outcome], names: Sequence[str]) -> dict[str, dict[str, dict[str, object]]]:
    """Fill ``outcome.predicted[model][buffer]`` from the probe view, through ``pingmos.scoring``; returns every
    model's effective settings per buffer (what its MOS assumed: codec, buffer, one-way share, ...)."""
    from pingmos.scoring import HopWindow, Score, load_model

    # Every outcome's views, the table's first: (outcome, view rtts) in order.
    views = [(o, rtts) for o in outcomes for rtts in [o.rtts_ms, *o.other_views_rtts]]
    windows = [HopWindow.from_rtts(rtts) for _, rtts in views]
    assumed: dict[str, dict[str, dict[str, object]]] = {}
    for name in names:
        for buffer in BUFFERS:
            settings = {"buffer": buffer, "buffer_ms": str(FIXED_DEPTH_MS)} if name == BUFFERED_MODEL else {}
            model = load_model(name, settings)
            assumed.setdefault(name, {})[buffer] = dict(model.settings)
            try:
                results = model.score_many(windows)
            finally:
                model.close()
            for o in outcomes:
                o.views_predicted.setdefault(name, {})[buffer] = []
            for (o, _), res in zip(views, results, strict=True):
                mos = res.mos if isinstance(res, Score) else 1.0  # nothing received: no call either
                o.views_predicted[name][buffer].append(mos)
            for o in outcomes:
                o.predicted.setdefault(name, {})[buffer] = o.views_predicted[name][buffer][0]
    return assumed


def settings_text(settings: dict[str, object]) -> str:
    """``k=v, k=v`` of a model's effective settings (floats without trailing zeros)."""
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(settings.items()))


def assumptions_text(assumed: dict[str, dict[str, dict[str, object]]]) -> str:
    """What every MOS of the study assumed, in a few lines: the calls, and each model's settings per buffer."""
    lines = [
        f"calls: G.711 mu-law, 20 ms packets, G.711 Appendix I concealment; buffers: fixed {FIXED_DEPTH_MS:g} ms "
        f"beyond the base delay, adaptive Ramjee et al. 1994 Algorithm 1; probe view: {PROBES} round trips 1 s apart",
    ]
    for name, per_buffer in assumed.items():
        texts = {b: settings_text(s) for b, s in per_buffer.items()}
        if len(set(texts.values())) == 1:
            lines.append(f"{name}: {next(iter(texts.values())) or 'no settings'} (both buffers)")
        else:
            lines += [f"{name} ({b} buffer): {t}" for b, t in texts.items()]
    return "\n".join(lines)


def _job(args):
    condition, refs, calls, seed = args
    return simulate(condition, refs, calls, seed)


def run(seed: int, count: int, calls: int, refs: Sequence[Reference], jobs: int = 1) -> list[Outcome]:
    """Simulate ``count`` conditions (``calls`` calls each) and return their outcomes, in order, split set."""
    conds = conditions(seed, count)
    seeds = np.random.SeedSequence(seed).generate_state(len(conds)).tolist()
    work = [(c, refs, calls, s) for c, s in zip(conds, seeds, strict=True)]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            outcomes = list(pool.map(_job, work))
    else:
        outcomes = [_job(w) for w in work]
    for i, o in enumerate(outcomes):
        o.split = split_of(i)
    return outcomes


@dataclass(frozen=True)
class Agreement:
    """How one model's predictions agree with the truth on a set of conditions."""

    n: int
    spearman: float
    pearson: float
    mae: float
    max_error: float
    spearman_ci95: tuple[float, float] | None = None  # over the conditions (``spearman_interval``); None: not computed


def agreement(predicted: Sequence[float], actual: Sequence[float]) -> Agreement:
    """Spearman's rho, Pearson's r, mean and largest absolute error (MOS) of predictions against the truth."""
    from scipy.stats import pearsonr, spearmanr

    p = np.asarray(predicted, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    err = np.abs(p - a)
    constant = len(p) < 3 or np.ptp(p) == 0.0 or np.ptp(a) == 0.0
    rho = math.nan if constant else float(spearmanr(p, a).statistic)
    r = math.nan if constant else float(pearsonr(p, a).statistic)
    return Agreement(len(p), rho, r, float(err.mean()) if len(p) else math.nan, float(err.max()) if len(p) else 0.0)


@dataclass(frozen=True)
class Reliability:
    """How far the truth of a set of conditions is from its own expectation, from the calls that make it.

    The truth of a condition is a mean over ``calls`` calls; a model can at best predict its expectation (the mean
    over endless calls on that path). Two estimates of what that allows:

    - split-half: the calls split in two (even and odd), each half's truth computed alike; ``half_spearman`` is
      the Spearman correlation of the halves over the conditions, ``reliability`` its Spearman-Brown step-up to
      all the calls, 2 r / (1 + r), and ``split_ceiling`` = sqrt(reliability), the correlation of the truth with
      its expectation (classical test theory; for ranks an approximation);
    - resampling: each condition's standard error ``se`` (MOS) from resampling its calls (bootstrap), and
      ``ceiling`` the mean Spearman of expectations against expectations plus such noise, the expectations taken
      as the truths shrunk towards their mean by the share of their variance the noise does not explain.
      ``noise_mae`` is the mean absolute error such noise alone makes (sqrt(2 / pi) x se on average).

    A predictor of the expectation that is exact still scores about ``ceiling`` Spearman and ``noise_mae`` MAE
    against the truth.
    """

    n: int
    calls: int
    half_spearman: float
    reliability: float
    split_ceiling: float
    ceiling: float
    noise_mae: float


RELIABILITY_RESAMPLES = 400


def reliability(outcomes: Sequence[Outcome], buffer: str, seed: int = 0) -> Reliability | None:
    """The truth's reliability for ``buffer`` over ``outcomes`` (see ``Reliability``); None without at least two
    calls per condition (or without the legs: results saved before they were kept) or three conditions."""
    from scipy.stats import spearmanr

    legs = [(o.legs_r_listen.get(buffer, []), o.legs_ta_ms.get(buffer, [])) for o in outcomes]
    calls = min((len(r) // 2 for r, _ in legs), default=0)
    if calls < 2 or len(outcomes) < 3:
        return None
    rng = np.random.default_rng(seed)
    halves = np.empty((2, len(legs)))
    se = np.empty(len(legs))
    truths = np.empty(len(legs))
    for i, (r, ta) in enumerate(legs):
        r = np.asarray(r, dtype=np.float64).reshape(-1, 2)  # one row per call, its two legs
        ta = np.asarray(ta, dtype=np.float64).reshape(-1, 2)
        truths[i] = legs_truth(r.ravel(), ta.ravel())
        for h in (0, 1):
            halves[h, i] = legs_truth(r[h::2].ravel(), ta[h::2].ravel())
        picks = rng.integers(0, len(r), size=(RELIABILITY_RESAMPLES, len(r)))
        means = zip(r[picks].mean(axis=(1, 2)).tolist(), ta[picks].mean(axis=(1, 2)).tolist(), strict=True)
        se[i] = float(np.std([truth.conversational_mos(m_r, m_ta)[1] for m_r, m_ta in means], ddof=1))
    if np.ptp(halves[0]) == 0.0 or np.ptp(halves[1]) == 0.0:
        return None
    half = float(spearmanr(halves[0], halves[1]).statistic)
    full = 2.0 * half / (1.0 + half) if half > -1.0 else math.nan
    split_ceiling = math.sqrt(full) if full > 0.0 else 0.0
    spread = float(np.var(truths, ddof=1))
    shrink = math.sqrt(max(0.0, 1.0 - float(np.mean(se**2)) / spread)) if spread > 0.0 else 0.0
    expected = truths.mean() + shrink * (truths - truths.mean())
    rhos = []
    for _ in range(RELIABILITY_RESAMPLES):
        noisy = expected + rng.standard_normal(len(se)) * se
        rhos.append(float(spearmanr(expected, noisy).statistic) if np.ptp(expected) > 0.0 else math.nan)
    return Reliability(
        n=len(outcomes),
        calls=calls,
        half_spearman=half,
        reliability=full,
        split_ceiling=split_ceiling,
        ceiling=float(np.mean(rhos)),
        noise_mae=float(np.mean(se)) * math.sqrt(2.0 / math.pi),
    )


def reliabilities(outcomes: Sequence[Outcome]) -> list[tuple[str, str, Reliability | None]]:
    """(buffer, split, Reliability or None) for both buffers, training and held-out conditions."""
    rows = []
    for buffer in BUFFERS:
        for split in ("training", "held-out"):
            chosen = [o for o in outcomes if o.split == split]
            if chosen:
                rows.append((buffer, split, reliability(chosen, buffer)))
    return rows


def format_reliability(rows) -> str:
    """One "truth reliability" line per buffer and split: the ceiling a perfect predictor reaches."""
    lines = []
    for buffer, split, rel in rows:
        head = f"truth reliability {buffer:<9} {split:<9}"
        if rel is None:
            lines.append(f"{head} n/a (needs two calls per condition or more, and each call's legs)")
            continue
        lines.append(
            f"{head} {rel.n:>3} conditions x {rel.calls} calls: split-half Spearman {rel.half_spearman:.3f}, "
            f"Spearman-Brown {rel.reliability:.3f}, ceiling {rel.split_ceiling:.3f}; resampled calls: ceiling "
            f"{rel.ceiling:.3f}, noise MAE {rel.noise_mae:.3f}"
        )
    return "\n".join(lines)


# Resamples of the conditions for the Spearman interval (``spearman_interval``): 4,000 put a 95 % percentile
# interval's ends within about +-0.005 of where endless resamples would (their Monte Carlo error).
SPEARMAN_RESAMPLES = 4000


def spearman_interval(
    predicted: Sequence[float], actual: Sequence[float], seed: int = 0, resamples: int = SPEARMAN_RESAMPLES
) -> tuple[float, float] | None:
    """95 % interval (low, high) of Spearman's rho between ``predicted`` and ``actual`` (one value per condition)
    over the conditions a study could have drawn: a paired percentile bootstrap over the conditions
    (``scipy.stats.bootstrap``, seeded: the same for the same input). It is the uncertainty of the table's rho as
    an estimate for paths like these, from having 30 or 60 of them; the probe views' and the truth's own sampling
    noise are the study's other two tables. None with fewer than 5 conditions or a constant side (no rho)."""
    from scipy.stats import bootstrap, rankdata

    p = np.asarray(predicted, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if len(p) < 5 or np.ptp(p) == 0.0 or np.ptp(a) == 0.0:
        return None

    def rho(x, y, axis=-1):
        # Spearman's rho is Pearson's r of the ranks (ties get their mean rank), along the resamples' axis. A
        # resample whose values on one side are all equal has no rho: NaN, left out of the percentiles below.
        rx, ry = rankdata(x, axis=axis), rankdata(y, axis=axis)
        rx = rx - rx.mean(axis=axis, keepdims=True)
        ry = ry - ry.mean(axis=axis, keepdims=True)
        den = np.sqrt((rx * rx).sum(axis=axis) * (ry * ry).sum(axis=axis))
        with np.errstate(invalid="ignore", divide="ignore"):
            return (rx * ry).sum(axis=axis) / den

    boot = bootstrap((p, a), rho, paired=True, vectorized=True, n_resamples=resamples, confidence_level=0.95,
                     method="percentile", random_state=np.random.default_rng(seed))  # fmt: skip
    dist = boot.bootstrap_distribution
    dist = dist[np.isfinite(dist)]
    low, high = np.percentile(dist, [2.5, 97.5])
    return float(low), float(high)


def table(outcomes: Sequence[Outcome]) -> list[tuple[str, str, str, Agreement]]:
    """(model, buffer, split, Agreement) for every model and buffer, on training and held-out conditions; each
    with its Spearman interval over the conditions (``spearman_interval``)."""
    rows = []
    names = list(outcomes[0].predicted) if outcomes else []
    for name in names:
        for buffer in BUFFERS:
            for split in ("training", "held-out"):
                chosen = [o for o in outcomes if o.split == split]
                if not chosen:
                    continue
                predicted = [o.predicted[name][buffer] for o in chosen]
                actual = [o.truth_mos[buffer] for o in chosen]
                found = replace(agreement(predicted, actual), spearman_ci95=spearman_interval(predicted, actual))
                rows.append((name, buffer, split, found))
    return rows


@dataclass(frozen=True)
class ViewAgreement:
    """How one model's agreement with the truth varies over probe views of the same paths (``view_table``):
    Spearman's rho of each view (mean, least, most), its mean MAE, and the Spearman and MAE of the model's mean
    MOS over the views (the model with the sampling noise of its probes averaged out)."""

    views: int
    spearman_mean: float
    spearman_min: float
    spearman_max: float
    mae_mean: float
    spearman_of_mean: float
    mae_of_mean: float
    prediction_sd: float  # a condition's MOS from one view to the next, standard deviation, mean over conditions


def view_table(outcomes: Sequence[Outcome]) -> list[tuple[str, str, str, ViewAgreement]]:
    """(model, buffer, split, ViewAgreement) for every model and buffer, on training and held-out conditions;
    empty when the outcomes have one probe view each (results saved without the others)."""
    views = min((len(v) for o in outcomes for per in o.views_predicted.values() for v in per.values()), default=0)
    if views < 2:
        return []
    rows = []
    for name in outcomes[0].views_predicted:
        for buffer in BUFFERS:
            for split in ("training", "held-out"):
                chosen = [o for o in outcomes if o.split == split]
                if not chosen:
                    continue
                actual = [o.truth_mos[buffer] for o in chosen]
                each = np.array([o.views_predicted[name][buffer][:views] for o in chosen])  # conditions x views
                per_view = [agreement(each[:, v], actual) for v in range(views)]
                rhos = [a.spearman for a in per_view]
                of_mean = agreement(each.mean(axis=1), actual)
                rows.append(
                    (
                        name,
                        buffer,
                        split,
                        ViewAgreement(
                            views=views,
                            spearman_mean=float(np.mean(rhos)),
                            spearman_min=float(np.min(rhos)),
                            spearman_max=float(np.max(rhos)),
                            mae_mean=float(np.mean([a.mae for a in per_view])),
                            spearman_of_mean=of_mean.spearman,
                            mae_of_mean=of_mean.mae,
                            prediction_sd=float(np.mean(each.std(axis=1, ddof=1))),
                        ),
                    )
                )
    return rows


def format_view_table(rows) -> str:
    """The probe-view table as text: per model, buffer and set, Spearman over the views (mean, range), mean MAE,
    and the Spearman and MAE of the mean over views."""
    if not rows:
        return "probe views: one per condition (no spread to show)"
    views = rows[0][3].views
    lines = [
        f"over {views} probe views of each path ({PROBES} round trips each, {VIEW_STEP_SLOTS * 20} ms apart): "
        "Spearman per view mean (least-most), MAE per view mean; the views' mean MOS: Spearman, MAE; MOS sd",
        f"{'model':<14} {'buffer':<9} {'set':<9} {'rho mean':>8} {'range':>13} {'MAE':>6} {'mean: rho':>9} "
        f"{'MAE':>6} {'sd':>6}",
    ]
    for name, buffer, split, v in rows:
        lines.append(
            f"{name:<14} {buffer:<9} {split:<9} {v.spearman_mean:>8.3f} {v.spearman_min:>6.3f}-{v.spearman_max:<6.3f} "
            f"{v.mae_mean:>6.3f} {v.spearman_of_mean:>9.3f} {v.mae_of_mean:>6.3f} {v.prediction_sd:>6.3f}"
        )
    return "\n".join(lines)


def format_table(rows) -> str:
    """The validation table as text (one line per model, buffer and split)."""
    lines = [
        f"{'model':<14} {'buffer':<9} {'set':<9} {'n':>3} {'spearman':>8} {'(95 % CI)':<13} {'pearson':>8} "
        f"{'MAE':>6} {'max err':>7}"
    ]
    for name, buffer, split, a in rows:
        lines.append(
            f"{name:<14} {buffer:<9} {split:<9} {a.n:>3} {a.spearman:>8.3f} {_interval_text(a.spearman_ci95, 3):<13} "
            f"{a.pearson:>8.3f} {a.mae:>6.3f} {a.max_error:>7.3f}"
        )
    return "\n".join(lines)


def _interval_text(ci: tuple[float, float] | None, digits: int) -> str:
    return "" if ci is None else f"({ci[0]:.{digits}f}-{ci[1]:.{digits}f})"


def format_markdown(rows) -> str:
    """The held-out part of the table, as Markdown: per model, each buffer's rho / r / MAE / max error."""
    held = [r for r in rows if r[2] == "held-out"]
    names = list(dict.fromkeys(r[0] for r in held))
    out = [
        "| model | fixed 60 ms buffer: Spearman (95 % CI) / Pearson / MAE / max err | adaptive buffer: Spearman"
        " (95 % CI) / Pearson / MAE / max err |",
        "| --- | --- | --- |",
    ]
    for name in names:
        cells = []
        for buffer in BUFFERS:
            a = next(r[3] for r in held if r[0] == name and r[1] == buffer)
            rho = f"{a.spearman:.2f} {_interval_text(a.spearman_ci95, 2)}".rstrip()
            cells.append(f"{rho} / {a.pearson:.2f} / {a.mae:.2f} / {a.max_error:.2f}")
        out.append(f"| {name} | {cells[0]} | {cells[1]} |")
    return "\n".join(out)


def to_json(outcomes: Sequence[Outcome], rows, seed: int, calls: int, assumed=None, reliable=(), viewed=()) -> dict:
    """Everything the study measured, as plain data (results.json); ``assumed``: ``predict``'s model settings;
    ``reliable``: ``reliabilities``' rows; ``viewed``: ``view_table``'s."""
    return {
        "seed": seed,
        "calls_per_condition": calls,
        "fixed_depth_ms": FIXED_DEPTH_MS,
        "codec": "G.711 mu-law, 20 ms packets, G.711 Appendix I packet loss concealment",
        "adaptive_buffer": "Ramjee, Kurose, Towsley, Schulzrinne, IEEE INFOCOM 1994, Algorithm 1",
        "model_settings": assumed or {},
        "table": [
            {
                "model": m,
                "buffer": b,
                "set": s,
                "n": a.n,
                "spearman": a.spearman,
                "spearman_ci95": list(a.spearman_ci95) if a.spearman_ci95 is not None else None,
                "pearson": a.pearson,
                "mae": a.mae,
                "max_error": a.max_error,
            }
            for m, b, s, a in rows
        ],
        "probe_views": [{"model": m, "buffer": b, "set": s, **asdict(v)} for m, b, s, v in viewed],
        "truth_reliability": [
            {"buffer": b, "set": s, **(asdict(rel) if rel is not None else {})} for b, s, rel in reliable
        ],
        "conditions": [
            {
                "name": o.condition.name,
                "set": o.split,
                "tags": o.condition.tags,
                "truth_mos": o.truth_mos,
                "mouth_to_ear_ms": o.ta_ms,
                "played_pct": o.played_pct,
                "probe_loss_pct": 100.0 * sum(v is None for v in o.rtts_ms) / len(o.rtts_ms),
                "probe_rtts_ms": [None if v is None else round(v, 3) for v in o.rtts_ms],
                "predicted_mos": o.predicted,
                "probe_views_predicted_mos": o.views_predicted,
                # per leg heard (call c: legs 2c and 2c + 1): what the truth is the mean of
                "legs_r_listen": {b: [round(v, 4) for v in r] for b, r in o.legs_r_listen.items()},
                "legs_mouth_to_ear_ms": {b: [round(v, 3) for v in t] for b, t in o.legs_ta_ms.items()},
            }
            for o in outcomes
        ],
    }


_NUMBER_LIST = re.compile(r"\[\n[-+0-9.eE,\snul]+\n\s*\]")


def dumps(doc: dict) -> str:
    """``doc`` as indented JSON with every list of numbers on one line (the probe views and the calls' legs are
    most of results.json)."""
    return _NUMBER_LIST.sub(lambda m: "[" + " ".join(m.group(0)[1:-1].split()) + "]", json.dumps(doc, indent=1))


def from_json(doc: dict) -> list[Outcome]:
    """Outcomes back from ``to_json`` (for re-scoring the same probe views with changed models: ``--rescore``);
    the conditions keep their names and tags, not their path parameters, and the table's probe view only (the
    other views' round trips are not saved, so a re-scored study has no ``view_table``)."""
    outcomes = []
    for c in doc["conditions"]:
        condition = Condition(c["name"], Direction(), Direction(), dict(c["tags"]))
        outcomes.append(
            Outcome(
                condition=condition,
                split=c["set"],
                truth_mos=dict(c["truth_mos"]),
                ta_ms=dict(c["mouth_to_ear_ms"]),
                played_pct=dict(c["played_pct"]),
                rtts_ms=list(c["probe_rtts_ms"]),
                predicted={m: dict(v) for m, v in c.get("predicted_mos", {}).items()},
                legs_r_listen={b: list(v) for b, v in c.get("legs_r_listen", {}).items()},
                legs_ta_ms={b: list(v) for b, v in c.get("legs_mouth_to_ear_ms", {}).items()},
            )
        )
    return outcomes
