"""Ctrl+C at any moment of the command's start and end that pingmos's code can reach is exit 130 with one line,
never a traceback: from the import of pingmos.__main__ (the console script's first line of pingmos) to the
interpreter's exit. What comes before (the interpreter's own start-up, runpy finding the module) is out of reach
and counted apart by scripts/bench_start_interrupts.py, whose classification this test uses."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "scripts" / "bench_start_interrupts.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_start_interrupts", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_script(tmp_path, body: str) -> subprocess.CompletedProcess:
    """``body`` as a console script named pingmos (pip's template, with a Ctrl+C sent to itself at a known line)."""
    script = tmp_path / "pingmos"
    script.write_text(body)
    return subprocess.run(
        [sys.executable, str(script), "score", "--latency", "80"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal
    )


def test_ctrl_c_between_the_console_scripts_import_and_run_is_one_line(tmp_path):
    """Before: a KeyboardInterrupt traceback from the console script's own line (its argv[0] fix-up)."""
    done = _run_script(
        tmp_path,
        "import os, signal, sys\nfrom pingmos.__main__ import run\n"
        "os.kill(os.getpid(), signal.SIGINT)  # Ctrl+C on the line after the import\n"
        "sys.exit(run())\n",
    )
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "pingmos: interrupted\n")


def test_ctrl_c_once_the_command_has_returned_is_no_traceback(tmp_path):
    """Before: a KeyboardInterrupt traceback (exit -2) after the command's whole output."""
    done = _run_script(
        tmp_path,
        "import os, signal, sys\nfrom pingmos.__main__ import run\nstatus = run()\n"
        "os.kill(os.getpid(), signal.SIGINT)  # Ctrl+C while the interpreter exits\n"
        "sys.exit(status)\n",
    )
    assert done.returncode == 0 and done.stderr == "" and "MOS" in done.stdout, done


def test_a_program_importing_the_entry_module_keeps_its_own_ctrl_c():
    code = "import signal, pingmos.__main__; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal
    )
    assert done.stdout == "True\n", done


def test_ctrl_c_at_increasing_moments_of_the_start_is_never_a_traceback_pingmos_could_catch():
    """SIGINT 0, 20, ... 300 ms after the start, through the entry point and python -m: every traceback is one
    the interpreter printed before any pingmos code ran."""
    bench = _bench()
    guard = bench.guard_line(ROOT)
    assert guard > 0
    places = []
    with bench.tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "pingmos"
        script.write_text(bench.ENTRY_SCRIPT)
        for delay_ms in range(0, 301, 20):
            for start in ([sys.executable, str(script)], [sys.executable, "-m", "pingmos"]):
                kind, where = bench.run_once([*start, "score", "--latency", "80"], ROOT, delay_ms / 1000.0, guard)
                assert kind != "other", where
                if kind == "traceback":
                    places.append((delay_ms, where))
    assert all(where in bench.OUT_OF_REACH for _, where in places), places


def test_ctrl_c_wrapped_by_a_class_creation_during_the_imports_is_one_line(monkeypatch, capsys):
    """Python 3.11 wraps a KeyboardInterrupt raised in a dataclass field's __set_name__ in a RuntimeError: it
    went past ``except KeyboardInterrupt`` as a traceback (1 in about 340 starts interrupted at 0-400 ms)."""
    import importlib.abc

    import pingmos.__main__ as entry

    class CtrlCInAClass(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "pingmos.cli":
                try:
                    raise KeyboardInterrupt
                except KeyboardInterrupt as exc:
                    raise RuntimeError("Error calling __set_name__ on 'Field' instance") from exc
            return None

    monkeypatch.delitem(sys.modules, "pingmos.cli", raising=False)
    monkeypatch.setattr(sys, "meta_path", [CtrlCInAClass(), *sys.meta_path])
    assert entry.run() == 130
    assert capsys.readouterr().err == "pingmos: interrupted\n"


def test_ctrl_c_in_the_import_systems_callback_comes_again_out_of_it(monkeypatch):
    """There an exception is "ignored": Python printed its traceback and the command went on (exit 0; 1 in about
    230 starts interrupted at 0-400 ms). It is held back 5 ms (SIGALRM) and then given to the SIGINT handler."""
    import types

    import pingmos.__main__ as entry

    armed = []
    monkeypatch.setattr(signal, "setitimer", lambda which, seconds: armed.append((which, seconds)))

    def frame(filename, name, back=None):
        return types.SimpleNamespace(f_code=types.SimpleNamespace(co_filename=filename, co_name=name), f_back=back)

    callback = frame("<frozen importlib._bootstrap>", "cb")
    try:
        entry._ctrl_c(signal.SIGINT, frame(entry.__file__, "_ctrl_c", back=callback))  # no KeyboardInterrupt here
        assert armed == [(signal.ITIMER_REAL, 0.005)] and signal.getsignal(signal.SIGALRM) == entry._held_back
        entry._held_back(signal.SIGALRM, callback)  # still in the callback: once more
        assert len(armed) == 2
        monkeypatch.setattr(signal, "getsignal", lambda number: signal.default_int_handler)
        with pytest.raises(KeyboardInterrupt):
            entry._held_back(signal.SIGALRM, frame(__file__, "elsewhere"))
    finally:
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
    assert len(armed) == 2
