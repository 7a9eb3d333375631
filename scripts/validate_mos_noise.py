#!/usr/bin/env python3
"""Which input's sampling noise moves g107-jb's MOS from one probe view of a path to the next? (README, "Does the
MOS predict a call?", "Which input's sampling noise".)

    .venv/bin/python scripts/validate_mos_noise.py [--results resources/validation/results.json] [--views 10]
        [--denser SLOTS ...] [--near-min SHARE ...]

The study (``scripts/validate_mos``) scores ten probe views of each path, 300 round trips one second apart each;
how far its Spearman moves from one view to the next is the sampling noise of 300 pings. This script splits that
noise by the model's inputs. It redraws every condition's path from the study's seed (the same numbers the study
drew: the first view must equal the saved ``probe_rtts_ms``, or it stops), takes the study's truth from its
``results.json`` (no call is simulated again, so it runs in seconds), and scores ``g107-jb`` on every view with
each input either as that view estimates it or as the same estimator gives it from the whole path: the round trip
of every 20 ms slot of the study's 300 s, 15 000 of them, where its sampling noise is 1/7 of one view's. The
inputs are those of ``g107_jb.score_hop``: the round-trip loss (``loss_pct``), and what ``rtt_excess_gamma`` makes
of the RTTs: the base one-way delay (from the minimum RTT), the spread (the excess's gamma shape and scale, from
its mean and mean absolute deviation) and the queueing directions n (from the share of round trips near the
minimum). For each buffer and set it prints, per mix, the Spearman rank correlation with the truth over the views
(mean, least, most, the first view's: the table's), the mean MAE, and how far a condition's MOS moves from one
view to the next (standard deviation, mean over the conditions). ``--denser SLOTS``: the same with a round trip
every SLOTS x 20 ms of the same 300 s (more round trips per view, as a longer window of a steady path would give);
``--near-min SHARE``: with ``g107_jb.NEAR_MIN`` (how near the minimum counts for n) at another value.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

from pingmos.scoring import HopWindow  # noqa: E402
from pingmos.scoring.formulas import g107_jb as jb  # noqa: E402

INPUTS = ("loss", "base", "spread", "directions")
LABELS = {
    "loss": "round-trip loss",
    "base": "base delay (min RTT)",
    "spread": "spread (gamma k_r, theta)",
    "directions": "queueing directions n",
}
# (label, the inputs taken from the view; the others from the whole path)
MIXES = [("every input from the view (the study)", INPUTS), ("none: every input from the whole path", ())]
MIXES += [(f"only {LABELS[i]} from the view", (i,)) for i in INPUTS]
MIXES += [(f"all but {LABELS[i]} from the view", tuple(x for x in INPUTS if x != i)) for i in INPUTS]
BUFFERS = ("fixed", "adaptive")


def paths(doc: dict, views: int) -> list[tuple[list[list[float | None]], list[float | None], dict]]:
    """Per condition of the study: its ``views`` probe views (the study's offsets), every slot's round trip, and
    the path drawn (``Condition.draw``'s arrays)."""
    from pingmos.validation import study
    from pingmos.validation.paths import probe_rtts

    count = len(doc["conditions"])
    conditions = study.conditions(doc["seed"], count)
    seeds = np.random.SeedSequence(doc["seed"]).generate_state(count).tolist()
    slots = study.PATH_S * study.SLOTS_PER_S
    out = []
    for condition, seed, saved in zip(conditions, seeds, doc["conditions"], strict=True):
        rng = np.random.default_rng(seed)  # simulate() draws the path first, from the condition's own seed
        path = condition.draw(slots, rng)
        each = [
            probe_rtts({k: v[study.VIEW_STEP_SLOTS * view :] for k, v in path.items()}, study.PROBES)
            for view in range(views)
        ]
        first = [None if v is None else round(v, 3) for v in each[0]]
        if condition.name != saved["name"] or first != saved["probe_rtts_ms"]:
            raise ValueError(f"condition {saved['name']!r} does not redraw as the study drew it")
        out.append((each, probe_rtts(path, slots, interval_packets=1), path))  # every slot's round trip
    return out


# The whole path's window and g107-jb's inputs from it, per path drawn: 15 000 round trips each, the same for every
# mix, every --denser spacing and both sets, so computed once (keyed by the round trips' list, which is kept alive
# here so its id is never reused; the inputs also by the settings and NEAR_MIN they were taken with).
_WHOLE_WINDOWS: dict[int, tuple[list, HopWindow]] = {}
_WHOLE_INPUTS: dict[tuple, tuple[tuple, float]] = {}


def whole_window(whole: list[float | None]) -> HopWindow:
    """The window of the whole path's round trips ``whole``, built once."""
    if id(whole) not in _WHOLE_WINDOWS:
        _WHOLE_WINDOWS[id(whole)] = (whole, HopWindow.from_rtts(whole))
    return _WHOLE_WINDOWS[id(whole)][1]


def whole_inputs(whole: list[float | None], settings: dict) -> tuple[tuple, float]:
    """(``rtt_excess_gamma``, round-trip loss %) of the whole path's round trips ``whole`` seen with ``settings``."""
    key = (id(whole), tuple(sorted(settings.items())), jb.NEAR_MIN, jb.MIN_VARIATION_MS)
    if key not in _WHOLE_INPUTS:
        hop = whole_window(whole).for_model(settings)
        _WHOLE_INPUTS[key] = (jb.rtt_excess_gamma(hop), hop.loss_pct)
    return _WHOLE_INPUTS[key]


def score(hop, gamma, loss_pct: float) -> float:
    """g107-jb's MOS of ``hop`` with ``rtt_excess_gamma`` giving ``gamma`` and the round-trip loss ``loss_pct``."""
    own = jb.rtt_excess_gamma
    jb.rtt_excess_gamma = lambda _hop: gamma
    try:
        return jb.score_hop(dataclasses.replace(hop, loss_pct=loss_pct))[1]
    finally:
        jb.rtt_excess_gamma = own


def mixed(view_gamma, whole_gamma, taken: tuple[str, ...]):
    """(k_r, theta, n, base) with the spread, directions and base from the view where ``taken`` says so."""
    k_r, theta = view_gamma[:2] if "spread" in taken else whole_gamma[:2]
    # a view that saw no variation has no n to give: the whole path's stands
    n = view_gamma[2] if "directions" in taken and view_gamma[0] > 0.0 else whole_gamma[2]
    base = view_gamma[3] if "base" in taken else whole_gamma[3]
    return k_r, theta, n, base


@dataclasses.dataclass(frozen=True)
class Row:
    """One mix of one buffer and set: Spearman of each view (the study's first view first), MAE over the views, and the
    standard deviation of a condition's MOS over the views (mean over the conditions)."""

    buffer: str
    split: str
    label: str
    rhos: list[float]
    mae: float
    sd: float


def decompose(doc: dict, drawn, mixes=MIXES) -> list[Row]:
    """Every mix of ``mixes`` for both buffers, training and held-out conditions of the study's ``doc``, whose
    paths ``paths`` drew."""
    from scipy.stats import spearmanr

    views = len(drawn[0][0])
    rows = []
    for buffer in BUFFERS:
        settings = {"buffer": buffer, "buffer_ms": float(doc.get("fixed_depth_ms", 60.0))}
        for split in ("training", "held-out"):
            chosen = [i for i, c in enumerate(doc["conditions"]) if c["set"] == split]
            truth = np.array([doc["conditions"][i]["truth_mos"][buffer] for i in chosen])
            inputs = []  # per condition: [(hop, its gamma, its loss) per view], the whole path's gamma and loss
            for i in chosen:
                each, whole, _ = drawn[i]
                hops = [HopWindow.from_rtts(v).for_model(settings) for v in each]
                per_view = [(h, jb.rtt_excess_gamma(h), h.loss_pct) for h in hops]
                inputs.append((per_view, *whole_inputs(whole, settings)))
            for label, taken in mixes:
                mos = np.array(
                    [
                        [
                            score(hop, mixed(gamma, whole_gamma, taken), loss if "loss" in taken else whole_loss)
                            for hop, gamma, loss in per_view
                        ]
                        for per_view, whole_gamma, whole_loss in inputs
                    ]
                )  # conditions x views
                rows.append(
                    Row(
                        buffer=buffer,
                        split=split,
                        label=label,
                        rhos=[float(spearmanr(mos[:, v], truth).statistic) for v in range(views)],
                        mae=float(np.mean(np.abs(mos - truth[:, None]))),
                        sd=float(np.mean(mos.std(axis=1, ddof=1))),
                    )
                )
    return rows


def input_spread(doc: dict, drawn) -> str:
    """How much each input moves from one view to the next: standard deviations over the views, mean over the
    conditions (the loss's beside the binomial one of the probe count at the whole path's loss; k_r and theta
    relative to their mean, n over the conditions whose round trips vary)."""
    lines = ["the inputs over the views (standard deviation, mean over the conditions):"]
    for split in ("training", "held-out"):
        loss_sd, binomial_sd, n_sd, k_sd, theta_sd, base_sd = [], [], [], [], [], []
        for i, c in enumerate(doc["conditions"]):
            if c["set"] != split:
                continue
            each, whole, _ = drawn[i]
            hops = [HopWindow.from_rtts(v).for_model({}) for v in each]
            whole_hop = whole_window(whole)
            gammas = np.array([jb.rtt_excess_gamma(h) for h in hops])  # views x (k_r, theta, n, base)
            base_sd.append(gammas[:, 3].std(ddof=1))
            p = whole_hop.loss_pct / 100.0
            if p > 0.0:
                loss_sd.append(np.std([h.loss_pct for h in hops], ddof=1))
                binomial_sd.append(100.0 * math.sqrt(p * (1.0 - p) / len(each[0])))
            if (gammas[:, 0] > 0.0).all():
                n_sd.append(gammas[:, 2].std(ddof=1))
                k_sd.append(gammas[:, 0].std(ddof=1) / gammas[:, 0].mean())
                theta_sd.append(gammas[:, 1].std(ddof=1) / gammas[:, 1].mean())
        lines.append(
            f"  {split}: round-trip loss {np.mean(loss_sd):.2f} % (binomial: {np.mean(binomial_sd):.2f} %; "
            f"{len(loss_sd)} lossy paths); n {np.mean(n_sd):.3f}, k_r {100 * np.mean(k_sd):.1f} %, theta "
            f"{100 * np.mean(theta_sd):.1f} % ({len(n_sd)} varying paths); base one-way delay "
            f"{np.mean(base_sd):.2f} ms"
        )
    return "\n".join(lines)


def denser(doc: dict, drawn, interval_slots: int, views: int) -> list[Row]:
    """The study's mix (every input from the view) on ``views`` views of the same paths with a round trip every
    ``interval_slots`` 20 ms slots (the study: 50, one a second; 300 s of path then holds 15 000 / interval_slots
    of them), the views' starts spread over one interval (so at most ``interval_slots`` views)."""
    from pingmos.validation.paths import probe_rtts

    slots = len(drawn[0][1])
    step = max(1, interval_slots // views)
    starts = [step * v for v in range(views)][:interval_slots]
    dense = [
        ([probe_rtts({k: v[o:] for k, v in path.items()}, slots // interval_slots, interval_slots) for o in starts],
         whole, path)
        for _, whole, path in drawn
    ]  # fmt: skip
    return decompose(doc, dense, [(f"every input, a round trip every {interval_slots * 20} ms", INPUTS)])


def format_rows(rows: list[Row], drawn) -> str:
    """The rows as text, one block per buffer and set."""
    lines = [
        f"g107-jb over {len(rows[0].rhos)} probe views of each of {len(drawn)} paths ({len(drawn[0][1])} round "
        "trips per path for 'the whole path'); Spearman per view: mean (least-most), the first view's (the "
        "study's table); MAE per view, mean; a condition's MOS over the views: standard deviation, mean"
    ]
    head = None
    for r in rows:
        if (r.buffer, r.split) != head:
            head = (r.buffer, r.split)
            lines.append(f"{r.buffer} buffer, {r.split}:")
        lines.append(
            f"  {r.label:<58} {np.mean(r.rhos):.3f} ({min(r.rhos):.3f}-{max(r.rhos):.3f}) first {r.rhos[0]:.3f}  "
            f"MAE {r.mae:.3f}  sd {r.sd:.3f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=REPO_ROOT / "resources" / "validation" / "results.json")
    parser.add_argument("--views", type=int, default=10, help="probe views per path, 2-10 (the study's: 10)")
    parser.add_argument(
        "--denser",
        type=int,
        nargs="*",
        default=[],
        metavar="SLOTS",
        help="also score views with a round trip every SLOTS x 20 ms (2-49; the study's: 50), more of them",
    )
    parser.add_argument(
        "--near-min",
        type=float,
        nargs="*",
        default=[],
        metavar="SHARE",
        help="also score every view with g107_jb.NEAR_MIN at each of these values (0-1)",
    )
    args = parser.parse_args(argv)
    if not 2 <= args.views <= 10:  # 10 views 100 ms apart are what 300 s of path hold in full
        print(f"validate_mos_noise: --views must be within 2 and 10, not {args.views}", file=sys.stderr)
        return 2
    for share in args.near_min:
        if not 0.0 < share < 1.0:
            print(f"validate_mos_noise: --near-min must be within 0 and 1, not {share:g}", file=sys.stderr)
            return 2
    for slots in args.denser:
        if not 2 <= slots <= 49:  # two views at least
            print(f"validate_mos_noise: --denser must be within 2 and 49 slots, not {slots}", file=sys.stderr)
            return 2
    try:
        doc = json.loads(args.results.read_text())
        drawn = paths(doc, args.views)
        rows = decompose(doc, drawn)
    except ImportError as exc:
        print(f"validate_mos_noise: {exc.name} is missing: run 'bash scripts/setup_env'", file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"validate_mos_noise: cannot use {args.results} as the study's results.json: {exc}", file=sys.stderr)
        return 2
    print(format_rows(rows, drawn))
    print(input_spread(doc, drawn))
    for slots in args.denser:
        rows = denser(doc, drawn, slots, args.views)
        print("\n".join(format_rows(rows, drawn).splitlines()[1:]))
    own = jb.NEAR_MIN
    for share in args.near_min:
        jb.NEAR_MIN = share
        try:
            rows = decompose(doc, drawn, [(f"NEAR_MIN {share:g} (now {own:g}), every input from the view", INPUTS)])
        finally:
            jb.NEAR_MIN = own
        print("\n".join(format_rows(rows, drawn).splitlines()[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
