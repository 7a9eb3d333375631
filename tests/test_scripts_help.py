"""The scripts that build a network lab answer ``--help`` and build nothing: ``scripts/screenshot --help`` once took
"--help" for its output folder, built a lab (as root) and wrote seven PNGs into ``./--help``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.mark.parametrize("script", ["screenshot", "lab.py"])
def test_help_is_answered_and_writes_nothing(script, tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / script), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage:"), proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_screenshot_refuses_an_unknown_option(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "screenshot"), "-o", "shots"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "unrecognized arguments: -o" in proc.stderr
    assert list(tmp_path.iterdir()) == []
