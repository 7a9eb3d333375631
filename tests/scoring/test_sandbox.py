"""The formula sandbox against hostile formulas (issue 15: 42 kinds of bad formula).

Each case replaces a formula that worked with a hostile one and scores a batch of hops: every hop gets an error
(or, for abuse the sandbox shrugs off, the formula's own score) within a bound of a few seconds, the error
carries the last working version's score as its fallback, the calling process keeps answering meanwhile (a
heartbeat in the main thread), and no process of the worker's session is left afterwards.
"""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pingmos.scoring import HopWindow, ModelError, Score, load_model, user_scoring_dir
from pingmos.scoring.sandbox.parent import ScriptModel, worker_pid

HEADER = '"""A test formula."""\nimport math, os, signal, sys, time\n\n'
GOOD = "def score_hop(hop):\n    return 80.0, 4.0\n"
GOOD_SCORE = Score(80.0, 4.0, {})
OWN = Score(61.0, 3.1, {})  # what a formula whose abuse is harmless returns
WINDOWS = [HopWindow.from_rtts([20.0, 30.0, None, 25.0]), HopWindow.from_rtts([40.0, 45.0]), HopWindow.from_rtts([9.0])]
TIMEOUT_S = 0.3  # CPU-time deadline for these tests; the wall-clock ceiling is then 1.3 s
# Deadline + worker restart + the fallback's run, on a machine where other tests run too.
BOUND_S = 6.0


def body(code: str) -> str:
    return "def score_hop(hop):\n" + "".join("    " + line + "\n" for line in code.splitlines())


ERR, OWN_SCORE = "error", "own score"
CASES = {
    # exceptions and exits
    "exception": (body("raise ValueError('bad')"), ERR, "ValueError: bad"),
    "zero division": (body("return 1 / 0, 2.0"), ERR, "ZeroDivisionError"),
    "missing setting": (body("return hop.settings['nope'], 2.0"), ERR, "KeyError"),
    "missing attribute": (body("return hop.nope, 2.0"), ERR, "AttributeError"),
    "keyboard interrupt": (body("raise KeyboardInterrupt"), ERR, "KeyboardInterrupt"),
    "base exception": (body("raise BaseException('deep')"), ERR, "BaseException: deep"),
    "recursion": (body("return score_hop(hop)"), ERR, "RecursionError"),
    "sys.exit(3)": (body("sys.exit(3)"), ERR, "sys.exit(3)"),
    "sys.exit(0)": (body("sys.exit(0)"), ERR, "sys.exit(0)"),
    "raise SystemExit": (body("raise SystemExit"), ERR, "sys.exit(None)"),
    # results that are not a score
    "NaN": (body("return math.nan, 2.0"), ERR, "not a number"),
    "inf": (body("return 50.0, math.inf"), ERR, "not a number"),
    "-inf": (body("return -math.inf, 2.0"), ERR, "not a number"),
    "None": (body("return None"), ERR, "returned nothing"),
    "a string": (body("return 'good'"), ERR, "must return"),
    "string R": (body("return 'fifty', 2.0"), ERR, "must be numbers"),
    "booleans": (body("return True, False"), ERR, "must be numbers"),
    "NaN detail": (body("return 50.0, 2.0, {'a': math.nan}"), ERR, "detail 'a'"),
    "detail not a dict": (body("return 50.0, 2.0, 'detail'"), ERR, "detail must be"),
    "R out of range": (body("return 200.0, 2.0"), ERR, "out of range"),
    "MOS out of range": (body("return 50.0, 0.5"), ERR, "out of range"),
    "huge result": (body("return list(range(10 ** 6))"), ERR, "must return"),
    "__float__ loops": (
        "class Slow:\n    def __float__(self):\n        while True:\n            pass\n\n" + body("return Slow(), 2.0"),
        ERR,
        "ran longer than",
    ),
    # endless loops and waits
    "endless loop": (body("while True:\n    pass"), ERR, "ran longer than"),
    "loop that catches everything": (
        body("while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass"),
        ERR,
        "ran longer than",
    ),
    "stuck in C": (body("return 10 ** 10 ** 10, 2.0"), ERR, "ran longer than"),
    "sleep": (body("time.sleep(60)"), ERR, "(wall clock"),
    "deadlock": (body("import threading\nlock = threading.Lock()\nlock.acquire()\nlock.acquire()"), ERR, "(wall clock"),
    "signals blocked, loop": (
        body("signal.pthread_sigmask(signal.SIG_BLOCK, range(1, 65))\nwhile True:\n    pass"),
        ERR,
        "ran longer than",
    ),  # fmt: skip
    "timer signal ignored, loop": (
        body(
            "signal.signal(signal.SIGPROF, signal.SIG_IGN)\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass"
        ),
        ERR,
        "ran longer than",
    ),  # fmt: skip
    "alarm kills the worker": (body("signal.setitimer(signal.ITIMER_REAL, 0.01)\ntime.sleep(5)"), ERR, "SIGALRM"),
    # processes
    "fork": (body("os.fork()\nreturn 61.0, 3.1"), ERR, "BlockingIOError"),
    "fork bomb": (body("while True:\n    os.fork()"), ERR, "BlockingIOError"),
    "child left behind": (
        body("import subprocess\nsubprocess.Popen(['sleep', '1000'])\nreturn 61.0, 3.1"),
        ERR,
        "Resource temporarily unavailable",
    ),  # fmt: skip
    "thread": (
        body("import threading\nthreading.Thread(target=time.sleep, args=(100,)).start()"),
        ERR,
        "can't start new thread",
    ),  # fmt: skip
    "os._exit": (body("os._exit(7)"), ERR, "exit status 7"),
    "kill itself": (body("os.kill(os.getpid(), signal.SIGKILL)"), ERR, "SIGKILL"),
    "abort": (body("os.abort()"), ERR, "SIGABRT"),
    "kill its group": (body("os.killpg(0, signal.SIGKILL)"), ERR, "SIGKILL"),
    # memory
    "memory bomb": (body("return len(bytearray(10 ** 11)), 2.0"), ERR, "MemoryError"),
    "growing memory": (
        body("x = []\nwhile True:\n    x.append(bytearray(10 ** 8))"),
        ERR,
        ("MemoryError", "ran longer than"),
    ),
    # stdout/stdin abuse
    "input()": (body("return float(input('R? ')), 3.0"), ERR, "EOFError"),
    "reads stdin": (body("return float(sys.stdin.read() or 'nan'), 3.0"), ERR, "not a number"),
    "floods stdout": (body("print('x' * 10 ** 7)\nreturn 61.0, 3.1"), OWN_SCORE, None),
    "forges an answer on stdout": (
        body('os.write(1, b\'{"r": 1.0, "mos": 1.0, "detail": {}}\\n\')\nreturn 61.0, 3.1'),
        OWN_SCORE,
        None,
    ),  # fmt: skip
    "closes stdout and stderr": (
        body("try:\n    os.close(1)\n    os.close(2)\nexcept OSError:\n    pass\nreturn 61.0, 3.1"),
        OWN_SCORE,
        None,
    ),
    "writes garbage on every descriptor": (
        body(
            "for fd in range(3, 32):\n    try:\n        os.write(fd, b'garbage\\n')\n    except OSError:\n"
            "        pass\nreturn 61.0, 3.1"
        ),
        ERR,
        "protocol",
    ),  # fmt: skip
    # privileges and limits
    "raises its process limit": (
        body("import resource\nresource.setrlimit(resource.RLIMIT_NPROC, (99, 99))"),
        ERR,
        "ValueError",
    ),  # fmt: skip
    "too many files": (body("fs = [open(os.devnull) for _ in range(100)]"), ERR, "Too many open files"),
}
if os.geteuid() == 0:  # as another user than pingmos's, a formula cannot touch pingmos or root's files
    CASES["signals pingmos"] = (body("os.kill(os.getppid(), signal.SIGKILL)"), ERR, "PermissionError")
    CASES["becomes root"] = (body("os.setuid(0)"), ERR, "PermissionError")
    CASES["reads root's files"] = (body("open('/root/.bashrc').read()\nreturn 61.0, 3.1"), ERR, "PermissionError")
CASES["top level: endless loop"] = ("while True:\n    pass\n\n" + GOOD, ERR, "loading the formula")
CASES["top level: os._exit"] = ("os._exit(3)\n\n" + GOOD, ERR, "exit status 3")


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PINGMOS_CONFIG_DIR", str(tmp_path / "config"))
    folder = user_scoring_dir()
    folder.mkdir(parents=True)
    return folder


def session_members(sid: int) -> list[int]:
    """Processes whose session id is ``sid`` (the worker's session: itself and anything it started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != b"Z":
                found.append(int(entry.name))
    return found


def heartbeat_while(work):
    """Run ``work()`` in a thread; return its result, the time it took and the longest gap of a 20 ms heartbeat
    in this (the main) thread meanwhile."""
    out = []
    thread = threading.Thread(target=lambda: out.append(work()))
    t0 = time.monotonic()
    thread.start()
    gap, last = 0.0, time.monotonic()
    while thread.is_alive():
        time.sleep(0.02)
        now = time.monotonic()
        gap, last = max(gap, now - last), now
    thread.join()
    return out[0], time.monotonic() - t0, gap


def test_there_are_42_kinds_at_least():
    assert len(CASES) >= 42


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_formula(case, config_dir):
    text, expect, words = CASES[case]
    path = config_dir / "hostile.py"
    path.write_text(HEADER + GOOD)
    model = load_model("hostile", timeout_s=TIMEOUT_S)
    assert isinstance(model, ScriptModel)
    try:
        t0 = time.monotonic()
        assert model.score_many(WINDOWS) == [GOOD_SCORE] * 3
        start_s = time.monotonic() - t0  # a worker start and a run, on this machine now
        first = worker_pid(model)
        path.write_text(HEADER + text)
        results, took, gap = heartbeat_while(lambda: model.score_many(WINDOWS))
        # Within the bound, plus what a worker start costs right now (twice: the failing run's worker and the
        # fallback's; a loaded 2-core machine took 7.3 s at load 17 where a quiet one takes 2).
        assert took < BOUND_S + 2 * start_s, (case, took, start_s)
        assert gap < 0.5, (case, gap)  # the calling process kept answering
        if expect == OWN_SCORE:
            assert results == [OWN] * 3, results
        else:
            for result in results:
                assert isinstance(result, ModelError), (case, result)
                assert any(w in result.message for w in ((words,) if isinstance(words, str) else words)), case
                assert result.file == str(path)
                assert result.fallback == GOOD_SCORE, (case, result)  # the last version that scored the hop
        assert not [p for p in session_members(first) if p != worker_pid(model)], case  # nothing left behind
    finally:
        pid = worker_pid(model)
        model.close()
    if pid is not None:
        assert session_members(pid) == []


def test_close_from_another_thread_does_not_wait_for_a_hung_formula(config_dir):
    (config_dir / "hangs.py").write_text(HEADER + body("time.sleep(60)"))
    model = load_model("hangs", timeout_s=5.0)
    worker = threading.Thread(target=lambda: model.score_many(WINDOWS))
    worker.start()
    deadline = time.monotonic() + 30
    while worker_pid(model) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    pid = worker_pid(model)
    t0 = time.monotonic()
    model.close()  # e.g. the window switching to another model
    # Not waiting for the hung formula: well below its 5 s deadline (and its 60 s sleep). 0.5 s was the bound once;
    # a loaded 2-core machine can take a second to kill and reap a process group, which proves nothing either way.
    assert time.monotonic() - t0 < 3.0
    worker.join(2.0)
    assert not worker.is_alive()
    assert pid is not None and session_members(pid) == []


def test_the_worker_never_runs_as_root_and_has_no_capabilities(config_dir, tmp_path):
    (config_dir / "who.py").write_text(
        HEADER + body("st = open('/proc/self/status').read()\n"
                      "caps = [int(l.split()[1], 16) for l in st.splitlines() if l.startswith(('CapEff', 'CapPrm'))]\n"
                      "return 10.0 + os.getuid() % 100, 1.0 + (sum(caps) > 0), {'uid': os.getuid(), "
                      "'euid': os.geteuid(), 'sid': os.getsid(0), 'pgid': os.getpgid(0), 'pid': os.getpid()}")
    )  # fmt: skip
    with load_model("who") as model:
        result = model.score(WINDOWS[0])
    assert isinstance(result, Score), result
    assert result.detail["uid"] != 0 and result.detail["euid"] != 0
    assert result.mos == 1.0  # no capability
    assert result.detail["sid"] == result.detail["pgid"] == result.detail["pid"]  # its own session and group


def test_a_runtime_failure_falls_back_per_hop(config_dir):
    """A formula that fails on some hops only: those hops get the previous version's score, the others the new
    version's own."""
    path = config_dir / "picky.py"
    path.write_text(HEADER + GOOD)
    with load_model("picky") as model:
        assert model.score_many(WINDOWS) == [GOOD_SCORE] * 3
        path.write_text(HEADER + body("return 100 / (hop.received - 1), 3.0"))  # fails with one sample
        results = model.score_many(WINDOWS)
    assert results[0] == Score(100 / 2, 3.0, {}) and results[1] == Score(100.0, 3.0, {})
    assert isinstance(results[2], ModelError) and results[2].fallback == GOOD_SCORE


@pytest.mark.parametrize("body_code", ["time.sleep(60)", "os.fork()\nwhile True:\n    os.fork()", "os._exit(1)"])
def test_the_score_command_exits_cleanly(config_dir, body_code):
    (config_dir / "bad.py").write_text(HEADER + body(body_code))
    env = {**os.environ, "PINGMOS_CONFIG_DIR": str(config_dir.parent)}

    def score(model: str) -> tuple[subprocess.CompletedProcess, float]:
        t0 = time.monotonic()
        argv = [sys.executable, "-m", "pingmos", "score", "--model", model, "--latency", "20", "--jitter", "2"]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
        return r, time.monotonic() - t0

    # What a start costs on this machine now: the same command with a built-in model (no worker). At load 12 a
    # start took 5-10 s and a fixed "3 s + 5 s" failed; the bound grows with the measured start instead, and stays
    # far below the formula's 60 s, so a ceiling that was not enforced still fails.
    _, start_s = score("g107")
    r, took = score("bad")
    assert r.returncode == 1, r
    assert "Traceback" not in r.stderr + r.stdout
    assert "bad.py" in r.stdout + r.stderr
    # The 3 s wall-clock ceiling, the command's own start and the worker's (a second Python start), with slack.
    assert took < min(3.0 + 3 * start_s + 2.0, 40.0), (took, start_s)


def test_close_while_the_worker_starts_ends_the_call_and_starts_no_other(config_dir):
    """The window supersedes an update at any moment, also while the worker is still starting: close() returns
    at once, the call ends with "closed" errors instead of going on to a new worker and the formula's deadline,
    and nothing is left running."""
    (config_dir / "hangs.py").write_text(HEADER + body("time.sleep(60)"))
    model = load_model("hangs", timeout_s=5.0)
    out = []
    worker = threading.Thread(target=lambda: out.append(model.score_many(WINDOWS)))
    worker.start()
    t0 = time.monotonic()
    model.close()  # the call has just begun: its worker is starting, or not even that
    assert time.monotonic() - t0 < 2.0  # never waits for the call (the lock is not awaited)
    worker.join(30.0)
    assert not worker.is_alive()
    assert worker_pid(model) is None
    results = out[0]
    # Either it was cut short ("closed"), or close() came before the call took the lock and it ran (then the
    # formula's 5 s deadline stopped it): never a worker kept past the call.
    assert all(isinstance(r, ModelError) for r in results), results
    model.close()
