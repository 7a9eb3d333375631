"""A recording that cannot be written stops the run loudly: disk full (a small tmpfs this test mounts and
removes) and permissions; and session files are private (0600)."""

import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pingmos.engine.events import Sample
from pingmos.engine.tracer import TraceSettings
from pingmos.session import open_session
from pingmos.session.evidence import Evidence, RecordingFailed
from pingmos.session.model import SessionError, SessionInfo
from pingmos.session.store import SessionRecorder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_disk():
    """A 1 MiB tmpfs of our own, unmounted and removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where = Path(tempfile.mkdtemp(prefix="pingmos-full-"))
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0777", "pingmos-test", str(where)],
                       capture_output=True, text=True)  # fmt: skip
    if r.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)
    where.rmdir()


def fill(folder: Path) -> Path:
    """Write a file until the disk is full; returns it (remove it to free the space)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def recorded(path: Path) -> int:
    """Samples committed to a session being recorded so far (0 while it cannot be read yet)."""
    try:
        with open_session(path) as session:
            return session.sample_count()
    except (SessionError, OSError):
        return 0


def test_report_stops_with_the_cause_and_a_non_zero_exit_when_the_disk_fills(small_disk):
    out = small_disk / "run.pmsession"
    args = ["report", "127.0.0.1", "--count", "200", "--interval", "0.1", "--no-dns", "--record", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "pingmos", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 60
    while recorded(out) == 0 and time.monotonic() < deadline:  # a first batch written (slow on a loaded machine)
        time.sleep(0.1)
    filler = fill(small_disk)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1, (stdout, stderr)
    assert "the trace stopped after" in stderr  # instead of running its 200 rounds unrecorded
    assert "SQLITE_FULL" in stderr and "recording to" in stderr and "Traceback" not in stderr
    assert "no transaction is active" not in stderr
    assert "127.0.0.1" in stdout  # the report of what was measured
    filler.unlink()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with open_session(out) as session:  # what was written is kept, and readable
        kept = session.sample_count()
    assert 0 < kept < 200


def test_a_recorder_that_cannot_write_says_why_and_evidence_stops_the_run(tmp_path, monkeypatch):
    settings = TraceSettings("127.0.0.1")
    evidence = Evidence("x", settings, str(tmp_path / "run.pmsession"), None)
    recorder = evidence.recorder
    assert stat.S_IMODE((tmp_path / "run.pmsession").stat().st_mode) == 0o600
    sample = Sample(0, 1, 0, time.time(), 1.0, "127.0.0.1", True)
    evidence.observe(sample)
    recorder.flush()
    (tmp_path / "run.pmsession").chmod(0o400)
    recorder._writer.conn.close()  # as if the file went away under us

    evidence.observe(sample)
    recorder.flush()
    assert recorder.error and "recording to" in recorder.error
    assert "the 1 round (1 sample) recorded before are kept" in recorder.error
    with pytest.raises(RecordingFailed, match="recording to"):
        evidence.observe(sample)


def test_a_session_that_cannot_be_created_says_so_and_leaves_nothing(tmp_path):
    info = SessionInfo(target="x", address="127.0.0.1", protocol="icmp", interval_s=1.0, max_ttl=30, started_at=0.0)
    with pytest.raises(SessionError, match="cannot create the session file: No such file or directory"):
        SessionRecorder(tmp_path / "missing" / "x.pmsession", info)
    assert list(tmp_path.iterdir()) == []


def test_a_recording_killed_with_sigkill_keeps_every_committed_sample(tmp_path):
    """kill -9 in the middle of a recording: the file opens, with at least what was committed before."""
    out = tmp_path / "killed.pmsession"
    args = ["report", "127.0.0.1", "--count", "300", "--interval", "0.1", "--no-dns", "--record", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "pingmos", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while (seen := recorded(out)) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait(10)
    assert seen > 0
    with open_session(out) as session:
        assert session.sample_count() >= seen
        assert len(list(session.samples())) == session.sample_count()
