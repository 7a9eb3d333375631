"""``python -m pingmos.validation`` (``bash scripts/validate_mos``): run the MOS validation study and print the
table; writes ``results.json``, ``scatter.png`` and ``per_factor.png`` to ``--out`` (resources/validation/)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "resources" / "validation"


def _missing(exc: ImportError) -> int:
    """One line for a study package that is not installed (the validate extra); exit 2."""
    print(f"validate_mos: {exc.name} is missing: run 'bash scripts/setup_env' (installs the validate extra)",
          file=sys.stderr)  # fmt: skip
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="validate_mos", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few conditions, one call each (the test suite's)")
    parser.add_argument("--seed", type=int, default=10, help="random seed (default 10)")
    parser.add_argument("--conditions", type=int, default=None, help="number of path conditions (default 90)")
    parser.add_argument(
        "--calls", type=int, default=None, help="calls per condition, each heard both ways (default 16)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--out", type=Path, default=None, help="folder for results and plots")
    parser.add_argument("--fit", action="store_true", help="also fit g107-jb's constants on the training set")
    parser.add_argument(
        "--rescore", type=Path, metavar="RESULTS_JSON", help="score a saved study's probe views again (no simulation)"
    )
    parser.add_argument(
        "--lab",
        action="store_true",
        help="as root: real calls through the network lab (20 ms UDP stream) while pingmos probes the same path",
    )
    parser.add_argument("--lab-seconds", type=float, default=90.0, help="stream length per lab condition, s (90)")
    args = parser.parse_args(argv)
    for what in ("conditions", "calls", "jobs"):
        value = getattr(args, what)
        if value is not None and value < 1:
            print(f"validate_mos: --{what} must be at least 1, not {value}", file=sys.stderr)
            return 2
    if args.lab:
        return _lab(args)
    count = args.conditions or (6 if args.quick else 90)
    calls = args.calls or (1 if args.quick else 16)
    out = args.out or DEFAULT_OUT
    try:
        from pingmos.validation import plots, speech, study
    except ImportError as exc:
        return _missing(exc)
    started = time.monotonic()
    if args.rescore is not None:
        try:
            from pingmos.input_files import read_text  # bounded, regular files only: never a FIFO's endless wait

            doc = json.loads(read_text(args.rescore, 64 * 1024 * 1024, "study results"))
            outcomes = study.from_json(doc)
            args.seed, calls, count = doc["seed"], doc["calls_per_condition"], len(outcomes)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"validate_mos: cannot read {args.rescore} as a study's results.json: {exc}", file=sys.stderr)
            return 2
    else:
        try:
            refs = [study.Reference(label, pcm) for label, pcm in speech.references(2 if args.quick else 5)]
        except speech.SpeechError as exc:
            print(f"validate_mos: {exc}", file=sys.stderr)
            return 2
        outcomes = study.run(args.seed, count, calls, refs, jobs=args.jobs)
    assumed = study.predict(outcomes, study.model_names())
    rows = study.table(outcomes)
    reliable = study.reliabilities(outcomes)
    viewed = study.view_table(outcomes)
    elapsed = time.monotonic() - started
    print(f"validate_mos: {count} conditions x {calls} calls, seed {args.seed}, {elapsed:.0f} s")
    print(study.format_table(rows))
    print(study.format_reliability(reliable))
    print(study.format_view_table(viewed))
    print(study.assumptions_text(assumed))
    if args.fit:
        from pingmos.validation import fit

        print(fit.report(outcomes))
    try:
        out.mkdir(parents=True, exist_ok=True)
        suffix = "_quick" if args.quick else ""
        results = out / f"results{suffix}.json"
        doc = study.to_json(outcomes, rows, args.seed, calls, assumed, reliable, viewed)
        results.write_text(study.dumps(doc) + "\n")
        caption = study.assumptions_text(assumed)
        written = [results, plots.scatter(outcomes, out / f"scatter{suffix}.png", caption)]
        written.append(plots.per_factor(outcomes, out / f"per_factor{suffix}.png", caption))
    except OSError as exc:
        print(f"validate_mos: cannot write to {out}: {exc.strerror}", file=sys.stderr)
        return 1
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _lab(args) -> int:
    """``--lab``: the lab conditions (``lab_calls``), their table, results_lab.json."""
    if args.lab_seconds < 30.0:
        print(
            f"validate_mos: --lab-seconds must be at least 30 (20 s of warm-up and a call), not {args.lab_seconds:g}",
            file=sys.stderr,
        )
        return 2
    try:
        from pingmos.validation import lab_calls, speech, study
    except ImportError as exc:
        return _missing(exc)
    reason = lab_calls.lab_reason()
    if reason:
        print(f"validate_mos: --lab: {reason}", file=sys.stderr)
        return 77 if "root" in reason else 2
    try:
        refs = [study.Reference(label, pcm) for label, pcm in speech.references(5)]
    except speech.SpeechError as exc:
        print(f"validate_mos: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        outcomes, assumed = lab_calls.run(refs, stream_s=args.lab_seconds, seed=args.seed, progress=print)
    except (RuntimeError, OSError, ValueError) as exc:  # LabError is a RuntimeError
        print(f"validate_mos: --lab: {exc}", file=sys.stderr)
        return 1
    print(
        f"validate_mos --lab: {len(outcomes)} lab conditions, {args.lab_seconds:g} s of stream each, "
        f"{time.monotonic() - started:.0f} s"
    )
    print(lab_calls.format_table(outcomes))
    print(study.assumptions_text(assumed).replace(f"{study.PROBES} round trips", "pingmos's round trips"))
    out = args.out or DEFAULT_OUT
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "results_lab.json").write_text(json.dumps(lab_calls.to_json(outcomes, assumed), indent=1) + "\n")
    except OSError as exc:
        print(f"validate_mos: cannot write to {out}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"wrote {out / 'results_lab.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
