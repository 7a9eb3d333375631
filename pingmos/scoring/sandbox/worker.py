"""The worker process that runs user and installed formula files (started by ``sandbox.parent.ScriptModel``).

Protocol: one JSON object per line on a socket the parent made for it (its file descriptor is the worker's one
argument); nothing else in the process talks on it. The parent sends ``{"op": "load", "key", "path", "source",
"module", "timeout_s"}`` (answer ``{"ok": true}`` or ``{"error": {...}}``) and ``{"op": "score", "key",
"settings", "windows": [...], "timeout_s"}`` (first ``{"begin": n}`` once the request is read, then one line per
window: ``{"r", "mos", "detail"}``, ``{"error": {"file", "line", "message"}}`` or ``{"overrun": {"line",
"cpu_s"}}``). The worker says ``{"ready": true, "pid"}`` once started, and ends when the socket closes.

Why a process: a formula with an endless loop, a ``10 ** 10 ** 10`` or a call into C that never returns cannot be
stopped from inside a thread of the program that runs it; a process can always be killed. What this process may
do is limited before any formula runs (``limit_resources``): no new process or thread at all (``RLIMIT_NPROC``
0, so no fork, fork bomb or child left behind), a ceiling on address space (a memory bomb gets MemoryError), few
open files, a CPU-time limit re-armed before every call, no core file; it has no capabilities, and stdin is
``/dev/null`` and stdout goes to the same diagnostics pipe as stderr (a ``print`` or ``input`` cannot reach the
protocol). The parent also puts it in a session and process group of its own, as a user that is never root.

Deadlines count CPU time: before each call an ``ITIMER_PROF`` timer is set to the deadline; when it expires,
``faulthandler`` (from its C signal handler, so even inside a C call that never returns) writes where the
formula was to stderr, and the Python handler raises ``Overrun`` (not an ``Exception``: a formula's ``except
Exception`` does not swallow it), so a pure-Python loop is reported with its line and the worker lives on. A
formula stuck in C, or one that catches ``Overrun`` anyway, is killed by the parent a moment later.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import faulthandler
import json
import os
import resource
import signal
import socket
import sys
import traceback
from collections import OrderedDict

# Modules kept loaded: the current version of a file and the last good ones (the fallbacks).
KEEP_LOADED = 4
# Address space allowed beyond what the worker uses once started (Python, numpy and pingmos's scoring code).
ADDRESS_SPACE_HEADROOM_BYTES = 1 << 30
OPEN_FILES = 32
FILE_SIZE_BYTES = 16 << 20
# The whole life of a worker; the parent starts a new one well before (parent.WORKER_CPU_RETIRE_S).
LIFETIME_CPU_S = 3600
# Imported before the worker gives up root (when started by root): afterwards the interpreter's own library may be
# out of its reach (an interpreter under /root), and a formula may use any of these.
PRELOAD = (
    "encodings.ascii", "encodings.latin_1", "encodings.utf_8", "linecache", "tokenize", "math", "cmath",
    "statistics", "decimal", "fractions", "functools", "itertools", "collections", "bisect",
    "heapq", "random", "dataclasses", "typing", "numpy", "pingmos.scoring.formula_api",
    "pingmos.scoring.formulas.g107", "pingmos.scoring.formulas.g107_jb", "pingmos.scoring.formulas.g107_playout",
    "pingmos.scoring.formulas.pingplotter", "pingmos.scoring.formulas.asterisk",
    # the import paths of copies made before the formulas moved (pingmos.scoring.moved)
    "pingmos.scoring.script_api", "pingmos.scoring.g107",
)  # fmt: skip
# Libraries that start thread pools at import must not try: this process may not create threads.
SINGLE_THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}


class Overrun(BaseException):  # noqa: N818 - what the formula sees in its traceback, if it looks
    """Raised in the formula when its CPU-time deadline expires."""


def _vm_size_bytes() -> int:
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def drop_capabilities() -> None:
    """Clear every capability of this process (the interpreter may carry file capabilities, e.g. a Python given
    ``cap_net_raw`` for the probes: a formula must not inherit them). Dropping is always allowed."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    header = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3: two Data structs
    data = (Data * 2)()
    libc.capset(ctypes.byref(header), data)


def limit_resources() -> None:
    """The limits described in the module docstring; each one that the system refuses is skipped."""
    limits = [
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, OPEN_FILES),
        (resource.RLIMIT_FSIZE, FILE_SIZE_BYTES),
        (resource.RLIMIT_NPROC, 0),
    ]
    vm = _vm_size_bytes()
    if vm:
        limits.append((resource.RLIMIT_AS, vm + ADDRESS_SPACE_HEADROOM_BYTES))
    for which, value in limits:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(which, (value, value))
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu_now = int(used.ru_utime + used.ru_stime) + 1
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_now + LIFETIME_CPU_S, cpu_now + LIFETIME_CPU_S))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big file write fails with an error instead of a kill


def _cpu_s() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


class _Deadline:
    """Arms the CPU-time timer around one call; ``expired`` tells afterwards whether it fired."""

    def __init__(self) -> None:
        self.expired = False
        self.armed = False
        signal.signal(signal.SIGPROF, self._fire)
        # chain=True: after the C-level dump, the Python handler above runs too (when the interpreter gets back).
        faulthandler.register(signal.SIGPROF, file=sys.stderr, all_threads=False, chain=True)
        # The parent sends SIGUSR2 before it kills a worker that overran its wall-clock ceiling: where it waited.
        faulthandler.register(signal.SIGUSR2, file=sys.stderr, all_threads=False)

    def _fire(self, signum, frame) -> None:
        if not self.armed:  # delivered just as the call ended: too late to matter
            return
        self.expired = True
        signal.setitimer(signal.ITIMER_PROF, 0.05)  # again and again, should the formula catch it
        raise Overrun

    def __call__(self, timeout_s: float):
        self.expired = False
        # The soft RLIMIT_CPU is the last resort (SIGXCPU ends the process) should the timer be disarmed.
        soft = int(_cpu_s() + timeout_s) + 2
        try:
            hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
            resource.setrlimit(resource.RLIMIT_CPU, (min(soft, hard) if hard >= 0 else soft, hard))
        except (ValueError, OSError):
            pass
        self.armed = True
        signal.setitimer(signal.ITIMER_PROF, max(timeout_s, 0.001))
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.armed = False
        signal.setitimer(signal.ITIMER_PROF, 0)


def _error_dict(file: str, line: int | None, message: str) -> dict[str, object]:
    return {"error": {"file": file, "line": line, "message": message}}


def _line_in(tb, path: str) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == path:
            line = lineno
    return line


def become(uid: int, gid: int) -> None:
    """Give up root for good (the parent was root): no groups, the account's ids, no capabilities; exits when
    root is left in any form (nothing of a formula may ever run as root)."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if 0 in os.getresuid() or 0 in os.getresgid():
        raise SystemExit("the scoring process could not give up root")


def main(fd: int, uid: int = -1, gid: int = -1) -> None:
    """Serve requests on socket ``fd``; started by root, first become ``uid``/``gid`` (never root)."""
    for name, value in SINGLE_THREAD_ENV.items():
        os.environ.setdefault(name, value)
    sock = socket.socket(fileno=fd)
    requests = sock.makefile("rb")
    sys.stdout = sys.stderr  # fd 1 is the diagnostics pipe already; keep Python's print() there too
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - for the life of the process

    import importlib

    from pingmos.scoring.model import ModelError
    from pingmos.scoring.sandbox.loader import load_script
    from pingmos.scoring.window import HopWindow

    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    if os.geteuid() == 0 or uid >= 0:
        if uid <= 0 or gid <= 0:
            raise SystemExit("the scoring process was started as root without a user to run as")
        become(uid, gid)
    drop_capabilities()
    limit_resources()
    deadline = _Deadline()

    def send(obj: object) -> None:
        sock.sendall(json.dumps(obj).encode() + b"\n")

    loaded: OrderedDict[str, object] = OrderedDict()
    send({"ready": True, "pid": os.getpid()})
    for line in requests:
        msg = json.loads(line)
        timeout_s = float(msg.get("timeout_s", 1.0))
        path = str(msg.get("path", "?"))
        if msg["op"] == "load":
            start = _cpu_s()
            try:
                with deadline(timeout_s):
                    result = load_script(path, msg["source"], msg.get("module"))
            except Overrun as exc:
                send({"overrun": {"line": _line_in(exc.__traceback__, path), "cpu_s": _cpu_s() - start}})
                continue
            except BaseException as exc:  # KeyboardInterrupt, GeneratorExit ... raised at the top level
                send(_error_dict(path, _line_in(exc.__traceback__, path), f"{type(exc).__name__}: {exc}"))
                continue
            if isinstance(result, ModelError):
                send(_error_dict(result.file, result.line, result.message))
            else:
                loaded[msg["key"]] = result
                while len(loaded) > KEEP_LOADED:
                    loaded.popitem(last=False)
                send({"ok": True})
        elif msg["op"] == "score":
            script = loaded.get(msg["key"])
            windows = msg["windows"]
            send({"begin": len(windows)})
            for data in windows:  # after an overrun, the rest of the request is not run (the parent knows)
                if script is None:
                    send(_error_dict(path, None, "the formula is not loaded"))
                    continue
                hop = HopWindow.from_dict(data).for_model(msg["settings"])
                start = _cpu_s()
                try:
                    with deadline(timeout_s):
                        result = script.score(hop)  # type: ignore[attr-defined]
                    if deadline.expired:  # the formula caught Overrun and returned anyway
                        raise Overrun
                except Overrun as exc:
                    send({"overrun": {"line": _line_in(exc.__traceback__, path), "cpu_s": _cpu_s() - start}})
                    break
                except BaseException as exc:  # what call_formula does not catch (KeyboardInterrupt, ...)
                    send(_error_dict(path, _line_in(exc.__traceback__, path), f"{type(exc).__name__}: {exc}"))
                    continue
                if isinstance(result, ModelError):
                    send(_error_dict(result.file, result.line, result.message))
                else:
                    send({"r": result.r, "mos": result.mos, "detail": result.detail})


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:4]))
