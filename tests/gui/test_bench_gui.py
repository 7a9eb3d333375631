"""scripts/bench_gui.py ends cleanly: exit status 0 after its figures, and an error in a part shows its traceback
and exits 1, never a crash at exit (SIGSEGV, 139) that hid both."""

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_gui.py"
TIMEOUT_S = 300  # part 1 of a few minutes of trace: seconds on a quiet machine, more on a loaded CI


def run_bench(code: str, tmp_path) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PINGMOS_CONFIG_DIR=str(tmp_path / "config"))
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=tmp_path
    )


def bench(body: str) -> str:
    return (
        "import runpy, sys\n"
        f"sys.argv = [{str(SCRIPT)!r}, '--only', '1', '--hours', '0.02']\n"
        f"bench = runpy.run_path({str(SCRIPT)!r}, run_name='bench_gui')\n"
        f"{body}\n"
        "raise SystemExit(bench['main']())\n"
    )


def test_part_1_exits_0_after_its_figures(tmp_path):
    done = run_bench(bench(""), tmp_path)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "GUI thread redraw, 3 hops in the timeline" in done.stdout and "process RSS after drawing" in done.stdout


def test_an_error_in_a_part_shows_its_traceback_and_exits_1(tmp_path):
    # A part that fails half-way (the window shown, the long trace drawn into it): its error is what the user sees.
    failing = (
        "def failing(app, window, hours):\n"
        "    raise RuntimeError('part 1 failed on purpose')\n"
        "bench['main'].__globals__['long_trace'] = failing\n"
    )
    done = run_bench(bench(failing), tmp_path)
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert "RuntimeError: part 1 failed on purpose" in done.stderr


def test_a_length_of_0_is_refused_in_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--hours", "0"],
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 2 and "must be above 0" in done.stderr and "Traceback" not in done.stderr
