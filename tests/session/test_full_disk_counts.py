"""The message of a recording stopped by a full disk names what a reopen of the file shows, in its units: a batch
committed before folding it into the main file failed is in the file (its write-ahead log), so it is counted, and
rounds are not samples (a trace of two hops writes two samples a round)."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time

from pingmos.engine.events import Sample
from pingmos.scoring.formulas import pingplotter
from pingmos.session import SessionInfo, SessionRecorder, open_session
from tests.session.test_recording_failures import ROOT, fill, recorded, small_disk  # noqa: F401 (a fixture)


class _FullWhenFolding:
    """A connection whose every fold of the log after the first fails as on a full disk (the commit before it
    worked: the batch is in the log)."""

    def __init__(self, conn):
        self._conn = conn
        self.folds = 0

    def execute(self, sql, *args):
        if sql.startswith("PRAGMA wal_checkpoint(PASSIVE)"):
            self.folds += 1
            if self.folds > 1:
                raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def _scorer(w):
    return pingplotter.score(w.avg_ms, w.jitter_ms, w.loss_pct)


def _round(r: int) -> list[Sample]:
    t = 1_700_000_000.0 + r
    return [
        Sample(r, 1, 2 * r, t, 1.0, "198.18.0.2", False, "time_exceeded"),
        Sample(r, 2, 2 * r + 1, t, 2.0, "198.18.1.2", True, "echo_reply"),
    ]


def test_the_full_disk_message_counts_what_a_reopen_shows(tmp_path):
    path = tmp_path / "run.pingmos"
    rec = SessionRecorder(path, SessionInfo("198.18.1.2", "198.18.1.2", "icmp", 1.0, 30, 1_700_000_000.0),
                          flush_interval_s=0)  # fmt: skip
    rec._writer.conn = _FullWhenFolding(rec._writer.conn)
    for r in range(5):
        for s in _round(r):
            rec.record(s)
    rec.flush()
    for r in range(5, 9):
        for s in _round(r):
            rec.record(s)
    rec.flush()  # committed, then folding fails: recording stops
    for s in _round(9):
        rec.record(s)
    rec.flush()  # not written: the recording stopped
    rec.close()
    with open_session(path) as session:
        snap = session.snapshot(None, _scorer, "pp")
        samples = session.sample_count()
    assert (snap.rounds, samples) == (9, 18)
    assert rec.error.endswith("; the 9 rounds (18 samples) recorded before are kept in the file"), rec.error


def test_a_live_report_stopped_by_a_full_disk_names_the_rounds_a_reopen_shows(small_disk):  # noqa: F811
    out = small_disk / "run.pingmos"
    # loopback only, no reverse DNS (BRIEF: network safety)
    args = ["report", "127.0.0.1", "--count", "300", "--interval", "0.1", "--no-dns", "--record", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "pingmos", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 60
    while recorded(out) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    filler = fill(small_disk)
    _, stderr = proc.communicate(timeout=120)
    filler.unlink()
    said = re.search(r"the (\d+) rounds? \((\d+) samples?\) recorded before are kept in the file", stderr)
    assert proc.returncode == 1 and said, stderr
    with open_session(out) as session:
        snap = session.snapshot(None, _scorer, "pp")
        assert (snap.rounds, session.sample_count()) == (int(said.group(1)), int(said.group(2)))
