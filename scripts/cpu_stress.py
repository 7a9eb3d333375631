"""``stress_ng(n, script)``: run ``stress-ng --cpu n`` for the length of a ``with`` block (the benchmarks' ``--stress
N``), so a figure can be measured on a machine as busy as CI's shared cores. Not a benchmark itself."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator


class StressUnavailable(RuntimeError):
    """stress-ng is not installed; the message says what to install."""


@contextlib.contextmanager
def stress_ng(cpus: int, script: str) -> Iterator[None]:
    """``stress-ng --cpu cpus`` while the block runs (nothing when ``cpus`` is 0), given a second to start; stopped
    by SIGINT, killed after 10 s. StressUnavailable naming ``script`` when stress-ng is not installed."""
    if not cpus:
        yield
        return
    if shutil.which("stress-ng") is None:
        raise StressUnavailable(f"{script}: stress-ng is not installed (apt-get install stress-ng)")
    stress = subprocess.Popen(["stress-ng", "--cpu", str(cpus), "--quiet"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(1.0)
    try:
        yield
    finally:
        stress.send_signal(signal.SIGINT)
        try:
            stress.wait(timeout=10)
        except subprocess.TimeoutExpired:
            stress.kill()
            stress.wait()
