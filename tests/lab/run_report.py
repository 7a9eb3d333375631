"""Run `python -m pingmos report ... --format json` inside a lab's client namespace and read its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

from tests.netlab import Lab


def report_argv(target: str, *options: str, fmt: str = "json") -> list[str]:
    """argv of `pingmos report TARGET OPTIONS --format FMT` run by this interpreter (the repo's venv)."""
    return [sys.executable, "-m", "pingmos", "report", target, *options, "--format", fmt]


def parse_report(proc: subprocess.CompletedProcess | tuple[int, str, str], what: str = "pingmos report") -> dict:
    """The JSON document of a finished report run; fails the test with its stderr if it did not succeed."""
    rc, out, err = (proc.returncode, proc.stdout, proc.stderr) if hasattr(proc, "returncode") else proc
    assert rc == 0, f"{what} exited {rc}: {err.strip()[-2000:]}"
    return json.loads(out)


def run_report(lab: Lab, target: str, *options: str, timeout_s: float = 60.0) -> dict:
    """Run one report to completion in the client namespace and return its JSON document."""
    return parse_report(lab.run(report_argv(target, *options), timeout=timeout_s))


def start_report(lab: Lab, target: str, *options: str, fmt: str = "json") -> subprocess.Popen:
    """Start a report in the background (finish it with `finish`)."""
    return lab.popen(
        report_argv(target, *options, fmt=fmt),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout_s: float = 60.0) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout_s)
    return proc.returncode, out, err


def hops_by_ttl(doc: dict) -> dict[int, dict]:
    return {hop["ttl"]: hop for hop in doc["hops"]}


def by_ttl(items: Sequence, ttl_of=lambda p: p.ttl) -> dict[int, list]:
    out: dict[int, list] = {}
    for item in items:
        out.setdefault(ttl_of(item), []).append(item)
    return out
