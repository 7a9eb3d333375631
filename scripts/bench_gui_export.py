#!/usr/bin/env python3
"""Benchmark the window's raw-samples export (File > Export > raw samples): `.venv/bin/python
scripts/bench_gui_export.py [--probes N] [--repo OLD] [--format csv|json ...]`.

Not a test: it prints figures. A pingmos session of ``--probes`` probes (250,000 by default: 10 hops, 3 % lost,
loopback addresses only; written with SessionRecorder, nothing is sent) is opened in the window (offscreen
``MainWindow``, ``SessionActions.open_path``) in a fresh interpreter per checkout and format; then the window
exports its raw samples (``SessionActions.export("samples", ...)``, the File menu's path, in its worker thread)
and the script prints:

- ``export peak``: how far the process's peak resident set rose above what it held before the export (MB; the
  peak is reset just before it through /proc/self/clear_refs, so the replay of the session does not hide it);
- ``traced peak``: the peak of Python's allocations during the export (tracemalloc, MB; a second run, since
  tracing costs memory and time of its own);
- ``CPU``: the process's user + system time during the export (s; the GUI thread idles meanwhile);
- ``same as CLI``: whether the file is byte for byte what `pingmos export SESSION --what samples --format F` of the
  same checkout prints (run as a command, its stdout hashed).

The issue's target (gui-misc item 1): the window's export streams as the CLI's does, so its peak does not grow
with the session (the ``export peak``/``traced peak`` columns, before and after with ``--repo``), and the file is
the CLI's. ``--repo OLD`` runs the same session with another checkout too (``git worktree add /tmp/old-X
<commit>``; the interpreter stays this one), back to back, so the figures compare on a shared machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
HOPS = 10


def write_session(path: Path, probes: int, seed: int = 1) -> Path:
    """A pingmos session of ``probes`` probes over HOPS hops to 127.0.0.1, as SessionRecorder writes one."""
    sys.path.insert(0, str(REPO_ROOT))
    from pingmos.engine import Sample
    from pingmos.session import SessionRecorder
    from pingmos.session.evidence import session_info

    rng = random.Random(seed)
    t0 = 1_700_000_000.0
    info = session_info("127.0.0.1", address="127.0.0.1", protocol="icmp", interval_s=1.0, max_ttl=HOPS,
                        started_at=t0)  # fmt: skip
    rec = SessionRecorder(path, info, flush_interval_s=0)
    for n in range(probes):
        rnd, ttl = divmod(n, HOPS)
        ttl += 1
        lost = rng.random() < 0.03
        last = ttl == HOPS
        responder = None if lost else ("127.0.0.1" if last else f"127.0.{ttl}.1")
        rtt = None if lost else 1.0 + 2.0 * ttl + rng.random() * 3.0
        reply = None if lost else ("echo_reply" if last else "time_exceeded")
        rec.record(Sample(rnd, ttl, n % 65536, t0 + rnd + ttl * 0.001, rtt, responder, last and not lost, reply))
        if n % 50_000 == 49_999:
            rec.flush()
    rec.close()
    if rec.error:
        raise SystemExit(rec.error)
    return path


def _status(field: str) -> int:
    """A /proc/self/status figure in kB."""
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def child(checkout: Path, session: Path, fmt: str, measure: str, out: Path) -> None:
    """In a fresh interpreter with ``checkout`` first on sys.path: open ``session`` in the window, export its raw
    samples to ``out`` and print the figures as one JSON line."""
    sys.path.insert(0, str(checkout))
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from pingmos.gui.main_window import MainWindow
    from pingmos.gui.settings_store import SettingsStore

    app = QApplication([])
    store = SettingsStore(QSettings(str(out.parent / "bench.ini"), QSettings.Format.IniFormat))
    window = MainWindow(store, refresh_ms=50)
    sessions = window.evidence.sessions

    def wait(done, timeout_s: float = 600.0) -> None:
        end = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > end:
                raise SystemExit(f"timed out; last message: {sessions.last_message}")
            app.processEvents()
            time.sleep(0.005)

    sessions.open_path(str(session), confirmed=True)
    wait(lambda: sessions.worker.pending == 0)
    if sessions.opened is None:
        raise SystemExit(f"not opened: {sessions.last_message}")
    wait(lambda: window.last_update is not None and window.quiet)
    # The shown session is recomputed every 2 s (names may still arrive): not during the export, whose memory alone
    # is measured (tracemalloc sees every thread).
    window.timer.stop()
    wait(lambda: window.quiet)
    if measure == "tracemalloc":
        import tracemalloc

        tracemalloc.start()
    rss_before = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # the peak resident set starts again from now
    cpu = os.times()
    sessions.export("samples", str(out), fmt)
    wait(lambda: sessions.worker.pending == 0)
    cpu_s = sum(os.times()[:2]) - sum(cpu[:2])
    result = {"export_peak_mb": (_status("VmHWM") - rss_before) / 1024, "cpu_s": cpu_s,
              "message": sessions.last_message}  # fmt: skip
    if measure == "tracemalloc":
        result["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    window.close()
    print(json.dumps(result))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def cli_sha256(checkout: Path, session: Path, fmt: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(checkout), HOME=tempfile.gettempdir())
    argv = [sys.executable, "-m", "pingmos", "export", str(session), "--what", "samples", "--format", fmt]
    proc = subprocess.Popen(argv, cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    h = hashlib.sha256()
    while chunk := proc.stdout.read(1 << 20) if proc.stdout else b"":
        h.update(chunk)
    if proc.wait():
        return f"CLI failed (exit {proc.returncode})"
    return h.hexdigest()


def run_child(checkout: Path, session: Path, fmt: str, measure: str, tmp: Path) -> dict:
    out = tmp / f"export-{measure}.{fmt}"
    env = dict(os.environ, PINGMOS_DATA_DIR=str(tmp / "data"), PINGMOS_CONFIG_DIR=str(tmp / "config"))
    argv = [sys.executable, __file__, "--child", str(checkout), str(session), fmt, measure, str(out)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
    if done.returncode or not lines:
        raise SystemExit(f"{checkout} {fmt} {measure}: exit {done.returncode}: {done.stderr.strip()[-2000:]}")
    result = json.loads(lines[-1])
    result["sha256"] = sha256(out) if out.exists() else "no file"
    result["bytes"] = out.stat().st_size if out.exists() else 0
    out.unlink(missing_ok=True)
    return result


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], sys.argv[5], Path(sys.argv[6]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--probes", type=int, default=250_000, help="probes in the session (250000)")
    ap.add_argument("--repo", type=Path, help="another checkout to compare with (e.g. main before the change)")
    ap.add_argument("--format", action="append", choices=("csv", "json"), default=[], help="csv and json")
    args = ap.parse_args()
    checkouts = [("this", REPO_ROOT)] + ([("old", args.repo.resolve())] if args.repo else [])
    with tempfile.TemporaryDirectory(prefix="pingmos-bench-export-") as tmpdir:
        tmp = Path(tmpdir)
        session = write_session(tmp / "bench.pingmos", args.probes)
        print(f"session: {args.probes} probes over {HOPS} hops, {session.stat().st_size / 2**20:.1f} MB on disk")
        print(f"{'tree':5} {'fmt':4} {'export peak':>12} {'traced peak':>12} {'CPU':>7} {'written':>9}  same as CLI")
        for fmt in args.format or ["csv", "json"]:
            for name, checkout in checkouts:
                rss = run_child(checkout, session, fmt, "rss", tmp)
                traced = run_child(checkout, session, fmt, "tracemalloc", tmp)
                same = rss["sha256"] == cli_sha256(checkout, session, fmt) == traced["sha256"]
                print(f"{name:5} {fmt:4} {rss['export_peak_mb']:9.1f} MB {traced['traced_peak_mb']:9.1f} MB "
                      f"{rss['cpu_s']:5.2f} s {rss['bytes'] / 2**20:6.1f} MB  {same}  ({rss['message']})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
