#!/usr/bin/env python3
"""Benchmark the command line's start-up: `.venv/bin/python scripts/bench_cli.py [--runs 20]`.

Not a test: it prints figures. Runs `pingmos score --latency 80` (the calculator: no network, a built-in model)
``--runs`` times, each a fresh interpreter, and prints its wall time and CPU time (user + system, from wait4()), the
fastest run and the median, and how many modules it imported. For scale, the same for a bare interpreter
(`python -c pass`) and for `python -c "import numpy"` (pingmos's statistics run on numpy, so every command pays
for it). On a machine shared with other work the fastest run is the figure to compare (load only adds to it);
``--repo`` measures another checkout (the interpreter stays this one), to compare before and after a change.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(wall s, CPU s) of one run of ``argv``; its output is discarded, a failure stops the benchmark."""
    env = dict(os.environ, PYTHONPATH=str(cwd))
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"bench_cli: {' '.join(argv)} failed ({proc.returncode}): {err.strip()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime


def modules_loaded(argv_tail: list[str], cwd: Path) -> int:
    """How many modules ``python -X importtime ARGV_TAIL`` imported."""
    env = dict(os.environ, PYTHONPATH=str(cwd))
    out = subprocess.run(
        [sys.executable, "-X", "importtime", *argv_tail], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return sum(1 for line in out.stderr.splitlines() if line.startswith("import time:") and "|" in line) - 1


def line(label: str, runs: list[tuple[float, float]]) -> str:
    walls = [w * 1000.0 for w, _ in runs]
    cpus = [c * 1000.0 for _, c in runs]
    return (
        f"  {label:<34} wall fastest {min(walls):6.0f} ms, median {statistics.median(walls):6.0f} ms;  "
        f"CPU fastest {min(cpus):6.0f} ms, median {statistics.median(cpus):6.0f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20, help="runs of each command (20)")
    p.add_argument("--repo", type=Path, default=REPO_ROOT, help="the checkout to measure (this one)")
    args = p.parse_args(argv)
    repo = args.repo.resolve()
    commands = {
        "python -c pass": ["-c", "pass"],
        'python -c "import numpy"': ["-c", "import numpy"],
        "pingmos score --latency 80": ["-m", "pingmos", "score", "--latency", "80"],
    }
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load}; {args.runs} runs each, interleaved; checkout {repo}")
    results: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
    for _ in range(args.runs):  # interleaved, so a burst of load from elsewhere hits every command alike
        for label, tail in commands.items():
            results[label].append(timed([sys.executable, *tail], repo))
    for label, runs in results.items():
        print(line(label, runs))
    score = results["pingmos score --latency 80"]
    bare = results["python -c pass"]
    print(
        f"  pingmos score beyond a bare interpreter: {1000 * (min(w for w, _ in score) - min(w for w, _ in bare)):.0f} "
        f"ms (fastest runs); modules imported: {modules_loaded(commands['pingmos score --latency 80'], repo)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
