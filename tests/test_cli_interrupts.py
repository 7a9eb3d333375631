"""Ctrl+C once a live report's samples are measured: the report is still printed (exit 130) and the recording
complete; a second Ctrl+C aborts the report, never the recording. The moment is made known by the test hook
``$PINGMOS_TEST_HOLD_REPORT`` (the command says on stderr that it holds the report), not by a race of sleeps."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest

from pingmos.session import open_session

ROOT = os.geteuid() == 0
HELD = "pingmos report: test hook: the samples are measured, holding the report"
SAID = "pingmos report: interrupted: printing the report of what was measured (Ctrl+C again to abort)"


def _start(tmp_path, holds: int) -> tuple[subprocess.Popen, str]:
    record = str(tmp_path / "run.pingmos")
    # loopback only, no reverse DNS (BRIEF: network safety)
    argv = [sys.executable, "-m", "pingmos", "report", "127.0.0.1", "--no-dns", "-c", "3", "-i", "0.2",
            "--record", record]  # fmt: skip
    proc = subprocess.Popen(
        argv,
        env=dict(os.environ, PINGMOS_TEST_HOLD_REPORT=str(holds)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # not ignored as in a background job
    )
    return proc, record


def _wait_for_line(proc: subprocess.Popen, line: str, seen: list[str], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if ready:
            got = proc.stderr.readline()
            if got == "":
                break
            seen.append(got.rstrip("\n"))
            if seen[-1] == line:
                return
    proc.kill()
    pytest.fail(f"no {line!r} on stderr: {seen}")


def _samples(path: str) -> int:
    with open_session(path) as session:
        return sum(1 for _ in session.samples())


SAID_TERM = "pingmos report: terminated: printing the report of what was measured (signal again to abort)"


@pytest.mark.skipif(not ROOT, reason="raw sockets need root")
@pytest.mark.parametrize(
    ("signum", "said", "status"), [(signal.SIGINT, SAID, 130), (signal.SIGTERM, SAID_TERM, 143)], ids=["int", "term"]
)
def test_a_signal_once_measured_still_prints_the_report_and_completes_the_recording(tmp_path, signum, said, status):
    """Before: Ctrl+C gave "pingmos: interrupted", no report, and the recording without its last unwritten samples;
    SIGTERM while the report was made (after probing) killed the process: exit -15, no report, the recording short."""
    proc, record = _start(tmp_path, holds=1)
    err: list[str] = []
    _wait_for_line(proc, HELD, err)
    proc.send_signal(signum)
    out, rest = proc.communicate(timeout=60)
    err += rest.splitlines()
    assert proc.returncode == status, err
    assert said in err and not any("Traceback" in line for line in err), err
    hops = [line for line in out.splitlines() if "127.0.0.1" in line]
    assert hops, out  # the report of the three rounds, its one hop
    assert _samples(record) == 3


@pytest.mark.skipif(not ROOT, reason="raw sockets need root")
@pytest.mark.parametrize(
    ("second", "status", "last"),
    [(signal.SIGINT, 130, "pingmos: interrupted"), (signal.SIGTERM, 143, "pingmos: terminated")],
    ids=["int", "term"],
)
def test_a_second_signal_aborts_the_report_not_the_recording(tmp_path, second, status, last):
    proc, record = _start(tmp_path, holds=2)
    err: list[str] = []
    _wait_for_line(proc, HELD, err)
    proc.send_signal(signal.SIGINT)
    _wait_for_line(proc, SAID, err)
    proc.send_signal(second)
    out, rest = proc.communicate(timeout=60)
    err += rest.splitlines()
    assert proc.returncode == status and out == "", (out, err)
    kept = f"pingmos report: the report was not printed; the 3 samples measured are in {record}"
    assert err[-2:] == [kept, last], err
    assert _samples(record) == 3
