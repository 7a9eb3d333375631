"""scripts/lab.py, the lab by hand: Ctrl-C (SIGINT) tears it down even when it was started where SIGINT is
ignored (a shell script's background job inherits SIG_IGN for SIGINT), so `kill -INT` ends it as Ctrl-C would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.netlab import lab_unavailable_reason

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]


def _namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout


def test_sigint_tears_the_lab_down_even_when_inherited_as_ignored():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "lab.py"), "--routers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # as `cmd &` in a script
    )
    try:
        first = proc.stdout.readline()  # "lab NAME: client ..., target ..."
        assert first.startswith("lab "), first + proc.stderr.read()
        name = first.split()[1].rstrip(":")
        for line in proc.stdout:
            if line.startswith("Ctrl-C tears the lab down"):
                break
        assert name in _namespaces()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert name not in _namespaces()
    finally:
        if proc.poll() is None:
            proc.terminate()  # SIGTERM tears it down either way
            proc.wait(timeout=60)
