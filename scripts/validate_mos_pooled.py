#!/usr/bin/env python3
"""Agreement of every model with the calls over conditions pooled from several studies (README, "Does the MOS
predict a call?", the replication on fresh conditions).

    .venv/bin/python scripts/validate_mos_pooled.py RESULTS_JSON[:SET] [RESULTS_JSON[:SET] ...] [--model NAME]
        [--rescore]

Each argument is a study's ``results.json`` (``scripts/validate_mos --out DIR`` writes one) and which of its
conditions to take: ``training``, ``held-out`` or ``all`` (the default). The conditions of every argument are
pooled, and for each model and buffer it prints what the study's own table prints (Spearman's rho with its 95 %
interval over the conditions, ``study.spearman_interval``; Pearson's r; mean and largest absolute error, MOS) and
the Spearman over the probe views (mean, least, most; ``study.view_table``'s definition) when every file saved
them. Why pool: one study's 30 held-out conditions give an interval about 0.2 wide at rho 0.9; the conditions a
model's constants were never fitted on (another seed's, all of them) estimate the same figure more closely. No
call is simulated: it reads the saved truths and predictions. With ``--rescore`` the predictions are made again by
the models as they are now (every model ``pingmos.scoring`` offers, ``study.predict``, from each condition's saved
probe view ``probe_rtts_ms``: the table's view only, so no view figures), e.g. a study saved before a model changed.

Exit 2 with one line for a file that is not a study's results (with ``--rescore``: without the saved probe views)
or a set name that is not one of the three.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

SETS = ("training", "held-out", "all")
BUFFERS = ("fixed", "adaptive")


def chosen_conditions(arg: str) -> list[dict]:
    """The conditions ``FILE[:SET]`` names; ValueError with the reason when the file or the set is wrong."""
    from pingmos.input_files import read_text  # bounded, regular files only

    path, _, which = arg.rpartition(":") if arg.rpartition(":")[2] in SETS else (arg, "", "all")
    try:
        doc = json.loads(read_text(Path(path), 64 * 1024 * 1024, "study results"))
        conditions = doc["conditions"]
        if not isinstance(conditions, list) or not all("truth_mos" in c and "predicted_mos" in c for c in conditions):
            raise KeyError("conditions")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"cannot read {path} as a study's results.json: {exc}") from exc
    return [c for c in conditions if which == "all" or c.get("set") == which]


def rescored(conditions: list[dict]) -> list[dict]:
    """The conditions with ``predicted_mos`` made again from their saved probe view by every model as it is now
    (``study.predict``) and no view predictions; ValueError when a condition has no saved probe view."""
    from pingmos.validation import study

    try:
        outcomes = study.from_json({"conditions": conditions})
    except (KeyError, TypeError) as exc:
        raise ValueError(f"a condition lacks what --rescore needs (its probe view, truth, delay): {exc}") from exc
    study.predict(outcomes, study.model_names())
    return [
        {**{k: v for k, v in c.items() if k != "probe_views_predicted_mos"}, "predicted_mos": o.predicted}
        for c, o in zip(conditions, outcomes, strict=True)
    ]


def pooled_rows(conditions: list[dict], models: list[str]) -> list[tuple[str, str, object, tuple | None]]:
    """(model, buffer, study.Agreement with its Spearman interval, (views, rho mean, least, most) or None)."""
    from dataclasses import replace

    from pingmos.validation import study

    rows = []
    for name in models:
        for buffer in BUFFERS:
            predicted = [c["predicted_mos"][name][buffer] for c in conditions]
            actual = [c["truth_mos"][buffer] for c in conditions]
            found = replace(
                study.agreement(predicted, actual), spearman_ci95=study.spearman_interval(predicted, actual)
            )
            views = None
            each = [c.get("probe_views_predicted_mos", {}).get(name, {}).get(buffer) for c in conditions]
            if each and all(v is not None and len(v) >= 2 for v in each):
                count = min(len(v) for v in each)
                rhos = [study.agreement([v[i] for v in each], actual).spearman for i in range(count)]
                views = (count, float(np.mean(rhos)), float(np.min(rhos)), float(np.max(rhos)))
            rows.append((name, buffer, found, views))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="validate_mos_pooled", description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", help="a study's results.json, optionally :training, :held-out or :all")
    parser.add_argument("--model", action="append", help="only this model (repeatable; default: every model)")
    parser.add_argument(
        "--rescore", action="store_true", help="predict again from the saved probe views with the models of now"
    )
    args = parser.parse_args(argv)
    conditions: list[dict] = []
    try:
        for arg in args.results:
            conditions += chosen_conditions(arg)
        if args.rescore and conditions:
            conditions = rescored(conditions)
    except ValueError as exc:
        print(f"validate_mos_pooled: {exc}", file=sys.stderr)
        return 2
    if len(conditions) < 5:
        print(f"validate_mos_pooled: {len(conditions)} conditions chosen; a rank correlation needs 5 or more",
              file=sys.stderr)  # fmt: skip
        return 2
    common = set.intersection(*(set(c["predicted_mos"]) for c in conditions))
    models = args.model or [m for m in conditions[0]["predicted_mos"] if m in common]
    missing = [m for m in models if m not in common]
    if missing:
        print(f"validate_mos_pooled: no prediction of {missing[0]!r} in every file; models: {sorted(common)}",
              file=sys.stderr)  # fmt: skip
        return 2
    how = ", predictions made again by the models as they are now" if args.rescore else ""
    print(f"{len(conditions)} conditions pooled from {len(args.results)} file(s){how}")
    print(f"{'model':<14} {'buffer':<9} {'n':>4} {'spearman':>8} {'(95 % CI)':<13} {'pearson':>8} {'MAE':>6} "
          f"{'max err':>7}  views: rho mean (least-most)")  # fmt: skip
    for name, buffer, a, views in pooled_rows(conditions, models):
        ci = "" if a.spearman_ci95 is None else f"({a.spearman_ci95[0]:.3f}-{a.spearman_ci95[1]:.3f})"
        seen = "" if views is None else f"  {views[1]:.3f} ({views[2]:.3f}-{views[3]:.3f}) over {views[0]}"
        print(f"{name:<14} {buffer:<9} {a.n:>4} {a.spearman:>8.3f} {ci:<13} {a.pearson:>8.3f} {a.mae:>6.3f} "
              f"{a.max_error:>7.3f}{seen}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
