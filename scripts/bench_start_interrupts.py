#!/usr/bin/env python3
"""Ctrl+C during start-up: `.venv/bin/python scripts/bench_start_interrupts.py [--repo DIR] [--repeat N]`.

Not a test: it prints figures (the issue's target: no traceback, whatever the moment of the Ctrl+C). Starts
`pingmos score --latency 80` and `pingmos report --session <a small mtr --raw log>` (neither sends a packet nor asks
a resolver) through the entry point as pip installs it (a script calling ``pingmos.__main__:run``, written to a
temporary folder) and through `python -m pingmos`, sends SIGINT after 0, 10, ... 300 ms, and counts how each run
ended:

- ``traceback``: a Python traceback on stderr (the target: none);
- ``one line``: exit 130 and `pingmos: interrupted` (or the command's own interrupted line), nothing else;
- ``killed``: ended by the signal itself before Python handled it (exit -2; the shell shows nothing more);
- ``finished``: the command had ended before the signal;
- ``other``: anything else (printed).

Each traceback is counted by where it was raised: in the interpreter's own start-up (``site``, a .pth file,
frozen importlib before any pingmos code: out of pingmos's reach) or later. ``--repo`` runs another checkout
with this interpreter (before/after: a worktree of the old commit). Delays are a floor: on a loaded machine
the process is further along when the signal lands, so compare runs made back to back.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# pip's console-script template (pyproject: pingmos = "pingmos.__main__:run").
ENTRY_SCRIPT = """# -*- coding: utf-8 -*-
import re
import sys
from pingmos.__main__ import run
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(run())
"""
OUT_OF_REACH = ("interpreter start-up", "before pingmos's code")
ENTRY_IMPORT_LINE = 4  # the line of the template's `from pingmos.__main__ import run`
ONE_LINE = {"pingmos: interrupted"}


def guard_line(repo: Path) -> int:
    """The line of pingmos/__main__.py from which a Ctrl+C is pingmos's to handle (0 in a tree without it)."""
    for number, text in enumerate((repo / "pingmos" / "__main__.py").read_text().splitlines(), 1):
        if "the start of pingmos's reach" in text:
            return number
    return 0


FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+), in (\S+)')


IMPORT_TIME = re.compile(r"^import time:.*\|\s*(\S+)$")


def classify(returncode: int, err: str, repo: Path, guard: int) -> tuple[str, str]:
    """(kind, where) of one interrupted run, from its exit status and stderr (``-X importtime`` lines included).

    For a traceback (or an exception Python "ignored": printed, and the Ctrl+C lost), ``where`` says whether
    pingmos's code could have caught it: "interpreter start-up" (site, .pth files), "before pingmos's code"
    (no frame of pingmos's own code below its handler: runpy finding and compiling the module, the console
    script's import line, the package's __init__; an ignored one before __main__ imported signal), else where
    pingmos could have caught it (its innermost pingmos frame, "the console script:LINE", "an import callback")."""
    lines = err.splitlines()
    if "Traceback (most recent call last)" not in err and "Exception ignored" not in err:
        if returncode == -signal.SIGINT:
            return "killed", ""
        if returncode == 0:
            return "finished", ""
        said = {line for line in lines if line and not line.startswith("import time:")}
        if returncode == 130 and said and said <= ONE_LINE:
            return "one line", ""
        if "KeyboardInterrupt" in said:  # raised where no Python frame ran (reading the script): said bare
            imported = any((m := IMPORT_TIME.match(line)) and m[1] == "pingmos" for line in lines)
            return "traceback", "a bare KeyboardInterrupt" if imported else "interpreter start-up"
        return "other", f"exit {returncode}: {err.strip()[-200:]!r}"
    if "init_import_site" in err or '"<frozen site>"' in err:
        return "traceback", "interpreter start-up"
    first = next(i for i, line in enumerate(lines) if "Traceback (most recent" in line or "Exception ignored" in line)
    if "Exception ignored" in lines[first]:
        # Raised in a callback (the import system's module lock): no frame says when. pingmos's reach begins when
        # __main__ has imported signal, just before its handler (a tree without one: once the package is imported).
        marker = "signal" if guard else "pingmos"
        reached = next((i for i, line in enumerate(lines) if (m := IMPORT_TIME.match(line)) and m[1] == marker), None)
        return "traceback", "an import callback" if reached is not None and reached < first else "before pingmos's code"
    package = str(repo / "pingmos") + "/"
    reachable = None
    for line in lines[first:]:
        m = FRAME.match(line)
        if m is None:
            continue
        file, number = m.group(1), int(m.group(2))
        if file.startswith(package):
            name = file[len(package) :]
            if name == "__init__.py" or (name == "__main__.py" and number <= guard):
                return "traceback", "before pingmos's code"
            reachable = f"{name}:{number}"
        elif os.path.basename(file) == "pingmos" and number > ENTRY_IMPORT_LINE:
            reachable = f"the console script:{number}"
    return "traceback", reachable or "before pingmos's code"


def run_once(argv: list[str], repo: Path, delay_s: float, guard: int) -> tuple[str, str]:
    env = dict(os.environ, PYTHONPATH=str(repo))
    proc = subprocess.Popen(
        [argv[0], "-X", "importtime", *argv[1:]],  # the import of the package pingmos marks when pingmos's code starts
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal, never inherited ignored
    )
    time.sleep(delay_s)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return classify(proc.returncode, err, repo, guard)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repo", type=Path, default=REPO_ROOT, help="the checkout to run (default: this one)")
    p.add_argument("--repeat", type=int, default=1, help="runs per delay and way of starting (default 1)")
    p.add_argument("--max-delay-ms", type=int, default=300)
    p.add_argument("--step-ms", type=int, default=10)
    args = p.parse_args(argv)
    repo = args.repo.resolve()
    guard = guard_line(repo)
    raw_log = REPO_ROOT / "tests" / "session" / "data" / "lab3.mtr.raw"
    commands = {"score": ["score", "--latency", "80"], "report --session": ["report", "--session", str(raw_log)]}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "pingmos"
        script.write_text(ENTRY_SCRIPT)
        starts = {"entry point": [sys.executable, str(script)], "python -m": [sys.executable, "-m", "pingmos"]}
        counts: collections.Counter = collections.Counter()
        places: collections.Counter = collections.Counter()
        total = 0
        t0 = time.process_time()
        for delay_ms in range(0, args.max_delay_ms + 1, args.step_ms):
            for _ in range(args.repeat):
                for start in starts.values():
                    for command in commands.values():
                        kind, where = run_once([*start, *command], repo, delay_ms / 1000.0, guard)
                        counts[kind] += 1
                        total += 1
                        if kind == "traceback":
                            places[where] += 1
                        elif kind == "other":
                            print(f"  other at {delay_ms} ms: {where}")
    print(f"bench_start_interrupts: {repo}, {total} runs (SIGINT after 0-{args.max_delay_ms} ms, every "
          f"{args.step_ms} ms, x{args.repeat}; {', '.join(starts)}; {', '.join(commands)})")  # fmt: skip
    for kind in ("traceback", "one line", "killed", "finished", "other"):
        print(f"  {kind:<10} {counts[kind]:4d}")
    for where, n in places.most_common():
        print(f"    traceback raised in {where}: {n}")
    reach = sum(n for where, n in places.items() if where not in OUT_OF_REACH)
    print(f"  tracebacks within pingmos's reach (the target: 0): {reach}")
    print(f"  (this script's own CPU time {time.process_time() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
