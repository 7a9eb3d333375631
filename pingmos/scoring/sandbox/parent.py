"""Models whose formula is a file pingmos does not ship (the user's scoring folder, installed packages): run in a
sandboxed worker process (``worker``) with a deadline, reloaded when the file changes.

- Each ``score_many`` first re-reads the file (a few kB; comparing the text, not the mtime, so two saves within
  the file system's timestamp granularity are never missed). A changed text is declared again (``scoring.declared``,
  without running it), its settings resolved, and loaded into the worker: the next update uses it.
- The worker: its own session and process group (killed as a group: nothing it started survives it), never root
  (``privileges.untrusted_account``), resource limits set before any formula runs (no processes or threads, an
  address-space ceiling, few files, CPU time; see ``worker``), stdin ``/dev/null``. It talks to this
  process over a socket pair this process made for it alone, and its stdout/stderr go to a pipe drained by the
  same loop: nothing here blocks on a read or a write, and no thread reads while another closes.
- Deadlines count the worker's CPU time (``timeout_s``, default 1 s, per window: a busy machine does not make a
  formula late), with a wall-clock ceiling (``wall_limit_s``, default 3 s) for a formula that waits instead (a
  sleep, a lock); time the worker spent queued for a CPU is not counted against the ceiling (the kernel's
  scheduler statistics say how long), up to ``HARD_WALL_FACTOR`` times it. The message says which limit it hit.
- Every failure becomes a ModelError for the hop (file, line, message): a syntax error, no ``score_hop``, an
  exception, a NaN, infinite, out-of-range or wrongly typed result, ``sys.exit``, ``os._exit``, a worker killed by
  a signal, an overrun. A version that overran or killed its worker sits out for as long as that failure cost
  (the deadline and the worker's restart: its wall-clock time), then twice as long after each further failure in
  a row, up to ``MAX_BACKOFF_S``: meanwhile every call answers its error at once without running it. Time, not a
  count of calls: one update of the window scores several batches (the table, the timeline, the MOS interval) and
  the monitor one batch per target, and each of those used to pay the deadline again. So a loop costs a deadline
  now and then, never one per caller. For a hop the current version fails on, the last earlier version that
  scores that hop gives its result as ``ModelError.fallback`` (shown marked, never as the score).
- Calls block for up to the deadlines per window (the first call also waits for the worker to start, about
  0.1-0.5 s): front ends call from a worker thread. The model is thread-safe (one lock); ``close`` from another
  thread kills the worker at once, never waits for a running call (that call returns its errors within a poll
  interval and starts no new worker), and the model scores again, with a new worker, on the next call.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path

from pingmos.privileges import PrivilegeError, untrusted_account
from pingmos.scoring.declared import read_declared, read_formula_text
from pingmos.scoring.model import Model, ModelError, ModelInfo, check_result
from pingmos.scoring.sandbox.worker import SINGLE_THREAD_ENV
from pingmos.scoring.score import Score
from pingmos.scoring.settings import resolve_settings
from pingmos.scoring.window import HopWindow

SCRIPT_TIMEOUT_S = 1.0
# CPU time the parent allows beyond the deadline before it kills the worker (the worker's own timer stops a
# Python loop at the deadline and says where; this is for a formula stuck in C or one that ignores the timer).
KILL_GRACE_S = 0.2
# However busy the machine, a formula is stopped after this many times its wall-clock ceiling.
HARD_WALL_FACTOR = 4.0
# Starting a Python process can take seconds on a loaded machine; that is not the formula's fault.
STARTUP_TIMEOUT_S = 30.0
# Back-off for a version that overran or killed its worker: after its n-th failure in a row it sits out 2**(n-1)
# times what the failure cost (wall clock, at least MIN_BACKOFF_S), at most MAX_BACKOFF_S.
MIN_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
# Earlier versions that scored, kept to fall back on.
KEEP_GOOD_VERSIONS = 3
# A worker that has used this much CPU time is replaced (its lifetime RLIMIT_CPU is worker.LIFETIME_CPU_S).
WORKER_CPU_RETIRE_S = 1800.0
# An answer line longer than this is not the protocol: the worker is killed.
MAX_ANSWER_BYTES = 8 << 20
STDERR_TAIL_BYTES = 64 << 10
_POLL_S = 0.05
# How long an overrunning worker may take to write where it waits (faulthandler, after SIGUSR2) before it is
# killed: its frames arrive a line at a time, slowly on a loaded machine; only the overrun path ever waits.
_DUMP_WAIT_S = 1.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = (
    "import sys; sys.path[:] = {path!r}\n"
    "from pingmos.scoring.sandbox.worker import main\nmain(*(int(a) for a in sys.argv[1:4]))\n"
)
_DUMP_LINE = re.compile(r'File "(?P<file>.*)", line (?P<line>\d+)')
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _boot() -> str:
    """The worker's start: this process's import path (the same numpy, the same pingmos; -I keeps the environment
    out of it), pingmos's own folder first."""
    return _BOOT.format(path=[_PACKAGE_ROOT, *(p for p in sys.path if p and p != _PACKAGE_ROOT)])


def wall_limit_for(timeout_s: float) -> float:
    """The wall-clock ceiling that goes with a CPU-time deadline: three times it (a formula on a busy machine
    gets a fraction of a core), at least one second more."""
    return max(3.0 * timeout_s, timeout_s + 1.0)


class _WorkerGone(Exception):
    """The worker did not answer in time or died; ``error`` says which, for the hops."""

    def __init__(self, error: ModelError, overrun: bool = False, closed: bool = False) -> None:
        super().__init__(str(error))
        self.error = error
        self.overrun = overrun  # the formula's doing (an overrun, a death while it ran): the version backs off
        self.closed = closed  # the model was closed from another thread


class _Worker:
    """One sandboxed worker process and the two descriptors this process keeps for it (see the module docstring)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        diag_r, diag_w = os.pipe()
        # Started by root, the worker gives up root itself before it reads a request (worker.become): as
        # another user it might not even reach the interpreter (one under /root), nor the modules it preloads.
        account = untrusted_account()
        env = dict(os.environ)
        if account is not None:
            env.update(HOME=account.home, USER=account.name, LOGNAME=account.name)
        env.update(SINGLE_THREAD_ENV)
        ids = [str(account.uid), str(account.gid)] if account is not None else []
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-c", _boot(), str(theirs.fileno()), *ids],
                stdin=subprocess.DEVNULL,
                stdout=diag_w,
                stderr=diag_w,
                pass_fds=(theirs.fileno(),),
                close_fds=True,
                start_new_session=True,  # its own session and process group: killed as a group
                cwd="/",
                env=env,
            )
        except BaseException:
            for fd in (diag_r,):
                os.close(fd)
            ours.close()
            raise
        finally:
            theirs.close()
            os.close(diag_w)
        self.sock = ours
        self.sock.setblocking(False)
        self.diag = diag_r
        self._diag_open = True  # until the worker closes its end (it may close its stdout/stderr)
        os.set_blocking(diag_r, False)
        self.stderr_tail = bytearray()
        self.loaded: set[str] = set()
        self.closed_by_owner = False
        self._inbox = bytearray()
        self._outbox = bytearray()
        self._eof = False
        self._killed = False
        self._reap_lock = threading.Lock()
        self._reaped = False
        self._finalizer = weakref.finalize(self, _release, self.proc, self.sock, self.diag, self._reap_lock)

    # -- the process ---------------------------------------------------------------------------------------
    def sched_s(self) -> tuple[float, float] | None:
        """CPU time the worker has used and time it spent ready to run but waiting for a CPU (s), from the
        kernel's scheduler statistics; None when they cannot be read (no schedstat, not Linux, gone)."""
        try:
            with open(f"/proc/{self.proc.pid}/schedstat", "rb") as f:
                cpu_ns, delay_ns = f.read().split()[:2]
            return int(cpu_ns) / 1e9, int(delay_ns) / 1e9
        except (OSError, ValueError):
            return None

    def cpu_s(self) -> float | None:
        """CPU time the worker has used (user + system, s); None when it cannot be read (not Linux, gone)."""
        sched = self.sched_s()
        if sched is not None:
            return sched[0]
        try:
            with open(f"/proc/{self.proc.pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
        except (OSError, IndexError, ValueError):
            return None

    def alive(self) -> bool:
        return not self._eof and not self._killed and self.proc.poll() is None

    def terminate(self) -> None:
        """Kill the worker's process group now (any thread); the descriptors stay until ``release``."""
        self._killed = True
        _kill_group(self.proc, self._reap_lock)

    def release(self) -> None:
        """Kill, reap and close everything (only the thread that uses the worker calls this)."""
        self._finalizer()

    # -- talking -------------------------------------------------------------------------------------------
    def send(self, msg: Mapping[str, object]) -> None:
        """Queue a request; it is written while waiting for the answers (``receive``), never blocking."""
        self._outbox += json.dumps(msg).encode() + b"\n"

    def _pump(self, wait_s: float) -> None:
        poller = select.poll()
        poller.register(self.sock, select.POLLIN | (select.POLLOUT if self._outbox else 0))
        if self._diag_open:
            poller.register(self.diag, select.POLLIN)
        for fd, events in poller.poll(max(0.0, wait_s) * 1000):
            if fd == self.diag:
                self._drain_diag()
            elif events & (select.POLLIN | select.POLLHUP | select.POLLERR):
                try:
                    data = self.sock.recv(1 << 16)
                except BlockingIOError:
                    data = None
                except OSError:
                    data = b""
                if data == b"":
                    self._eof = True
                elif data:
                    self._inbox += data
            if self._outbox and events & select.POLLOUT:
                try:
                    sent = self.sock.send(self._outbox)
                    del self._outbox[:sent]
                except BlockingIOError:
                    pass
                except OSError:
                    self._eof = True

    def _drain_diag(self) -> None:
        while True:
            try:
                data = os.read(self.diag, 1 << 16)
            except (BlockingIOError, OSError):
                return
            if not data:
                self._diag_open = False
                return
            self.stderr_tail += data
            del self.stderr_tail[:-STDERR_TAIL_BYTES]

    def receive(self, cpu_limit_s: float, wall_limit_s: float, path: str, what: str) -> dict[str, object]:
        """The next answer. Raises _WorkerGone (and kills the worker) when it has used ``cpu_limit_s`` of CPU
        time or ``wall_limit_s`` of wall-clock time without answering, died, or broke the protocol."""
        start_wall = time.monotonic()
        start = self.sched_s()
        start_cpu = start[0] if start is not None else self.cpu_s()
        while True:
            end = self._inbox.find(b"\n")
            if end >= 0:
                line = bytes(self._inbox[:end])
                del self._inbox[: end + 1]
                try:
                    answer = json.loads(line)
                except ValueError:
                    answer = None
                if isinstance(answer, dict):
                    return answer
                raise self._gone(path, f"the scoring process broke its protocol during {what} ({line[:60]!r})")
            if len(self._inbox) > MAX_ANSWER_BYTES:
                raise self._gone(path, f"the scoring process sent a line of over {MAX_ANSWER_BYTES} bytes")
            if self._eof or self.proc.poll() is not None:
                raise self._died(path, what)
            waited = time.monotonic() - start_wall
            sched = self.sched_s()
            cpu = sched[0] if sched is not None else self.cpu_s()
            used = cpu - start_cpu if cpu is not None and start_cpu is not None else waited
            # Time spent queued for a CPU (a busy machine) is nobody's fault: the ceiling counts the rest, up to
            # an absolute ceiling of HARD_WALL_FACTOR times it.
            queued = sched[1] - start[1] if sched is not None and start is not None else 0.0
            if used > cpu_limit_s:
                raise self._overrun(path, what, cpu_limit_s - KILL_GRACE_S, "CPU time")
            if waited - queued > wall_limit_s or waited > HARD_WALL_FACTOR * wall_limit_s:
                limit = wall_limit_s if waited - queued > wall_limit_s else HARD_WALL_FACTOR * wall_limit_s
                if used < 0.5 * (cpu_limit_s - KILL_GRACE_S):
                    detail = f"wall clock; it used {used:.2f} s of CPU: it was waiting, e.g. a sleep or a lock"
                else:
                    detail = f"wall clock; it used {used:.2f} s of CPU: a slow formula on a busy machine"
                raise self._overrun(path, what, limit, detail)
            self._pump(min(_POLL_S, wall_limit_s - waited))

    def _gone(self, path: str, message: str) -> _WorkerGone:
        """The worker broke the protocol: something in it wrote on the socket (a formula can reach it)."""
        self.terminate()
        return _WorkerGone(ModelError(path, None, message), overrun=True)

    def _tail(self) -> str:
        self._drain_diag()
        return bytes(self.stderr_tail).decode("utf-8", "replace")

    def _dumped_line_of(self, path: str) -> bool:
        tail = bytes(self.stderr_tail)
        return b"most recent call first" in tail and _dump_line(tail.decode("utf-8", "replace"), path) is not None

    def _overrun(self, path: str, what: str, limit_s: float, kind: str) -> _WorkerGone:
        if kind != "CPU time":  # ask where it waits (the worker registers faulthandler for SIGUSR2)
            with contextlib.suppress(OSError):
                os.kill(self.proc.pid, signal.SIGUSR2)
            # faulthandler writes the dump a line at a time: wait for the formula's own frame, not only the
            # header (a loaded machine left the frames unread when the worker was killed right after it).
            end = time.monotonic() + _DUMP_WAIT_S
            while self._diag_open and time.monotonic() < end and not self._dumped_line_of(path):
                self._pump(0.02)
        self.terminate()
        self.proc.wait()
        text = self._tail()
        line = _dump_line(text, path)
        message = f"{what} ran longer than {limit_s:g} s ({kind}) and was stopped"
        if kind == "CPU time":
            message += " (an endless loop?)"
        return _WorkerGone(ModelError(path, line, message), overrun=True)

    def _died(self, path: str, what: str) -> _WorkerGone:
        if self.closed_by_owner:
            self.terminate()
            return _WorkerGone(ModelError(path, None, "the model was closed while it scored"), closed=True)
        try:
            code = self.proc.wait(0.5)
        except subprocess.TimeoutExpired:  # it closed the socket but lives on: end it
            self.terminate()
            code = self.proc.wait()
        self.terminate()  # whatever it may have left in its group
        text = self._tail()
        if code is not None and code < 0:
            how = f"was killed by signal {signal.Signals(-code).name}" if -code in signal.valid_signals() else ""
            how = how or f"was killed by signal {-code}"
            if -code == signal.SIGXCPU:
                how += " (its CPU-time limit)"
        else:
            how = f"ended (exit status {code})"
        last = (text.strip().splitlines() or [""])[-1][:200]
        message = f"the scoring process {how} during {what} {last}".rstrip()
        return _WorkerGone(ModelError(path, _dump_line(text, path), message), overrun=True)


def _dump_line(text: str, path: str) -> int | None:
    """The line of ``path`` in the last traceback dump in ``text`` (faulthandler: innermost frame first)."""
    start = max(text.rfind("Current thread"), text.rfind("Stack (most recent call first)"), 0)
    for match in _DUMP_LINE.finditer(text[start:]):
        if match["file"] == path:
            return int(match["line"])
    return None


def _kill_group(proc: subprocess.Popen, reap_lock: threading.Lock) -> None:
    with reap_lock:
        if proc.returncode is not None:
            return  # reaped: its pid (and group id) may belong to someone else by now
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _release(proc: subprocess.Popen, sock: socket.socket, diag: int, reap_lock: threading.Lock) -> None:
    _kill_group(proc, reap_lock)
    with reap_lock:
        proc.wait()
    sock.close()
    with contextlib.suppress(OSError):
        os.close(diag)


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclasses.dataclass
class _Version:
    """What is known of one text of the file: how often in a row it overran or killed its worker, and until when
    (``ScriptModel.clock``, s) it sits out."""

    failures: int = 0
    retry_at: float = 0.0
    error: ModelError | None = None

    def waiting(self, now: float) -> bool:
        return self.error is not None and now < self.retry_at


@dataclasses.dataclass(frozen=True)
class _Good:
    key: str
    text: str
    settings: dict[str, object]


class ScriptModel(Model):
    """A formula file run in a worker process. See the module docstring."""

    def __init__(
        self,
        info: ModelInfo,
        settings: Mapping[str, object] | None = None,
        raising: bool = False,
        timeout_s: float = SCRIPT_TIMEOUT_S,
        wall_limit_s: float | None = None,
    ) -> None:
        super().__init__(info, {}, raising)
        assert info.path is not None
        self.path = info.path
        self.timeout_s = timeout_s
        self.wall_limit_s = wall_limit_for(timeout_s) if wall_limit_s is None else wall_limit_s
        self._given = dict(settings or {})
        self._lock = threading.RLock()
        self._worker: _Worker | None = None
        self._text: str | None = None
        self._error: ModelError | None = None  # why the current text cannot score (declare/settings/load)
        self._versions: dict[str, _Version] = {}
        self._good: list[_Good] = []  # versions that scored, newest first
        # close() counts up; a call that began before a close starts no worker after it (see _ensure_worker).
        self._closes = 0
        self._call_closes = 0
        self.clock = time.monotonic  # the back-off's clock (tests move it)
        self._refresh()

    # -- the file ------------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        """Re-read the file; on a change, declare it again and resolve the settings (never runs it)."""
        try:
            text = read_formula_text(self.path)
        except ValueError as exc:  # InputError: a FIFO, a device, too large, unreadable, not UTF-8
            if self._text is not None or self._error is None:
                self._text = None
                self._error = ModelError(self.path, None, str(exc).removeprefix(f"{self.path}: "))
            return
        if text == self._text:
            return
        self._text = text
        self._error = None
        self._versions.pop(_key(text), None)  # an old text saved again gets a fresh start
        declared = read_declared(self.path, text)
        if isinstance(declared, ModelError):
            self._error = declared
            self.info = dataclasses.replace(self.info, error=declared)
            return
        self.info = dataclasses.replace(
            self.info, title=declared.title, description=declared.description, settings=declared.settings, error=None
        )
        try:
            self.settings = resolve_settings(self.name, declared.settings, self._given)
        except ValueError as exc:
            self._error = ModelError(self.path, None, str(exc))

    def check(self) -> ModelError | None:
        """Re-read the file (updating ``info``: title, settings) and say why it cannot score, as far as known
        without running it or from its last run (None: it may be fine). Cheap: no worker round trip."""
        with self._lock:
            self._refresh()
            if self._error is None and self._text is not None:
                version = self._versions.get(_key(self._text))
                if version is not None and version.waiting(self.clock()):
                    return version.error
            return self._error

    # -- the worker ----------------------------------------------------------------------------------------
    def _closed_error(self) -> _WorkerGone:
        return _WorkerGone(ModelError(self.path, None, "the model was closed while it scored"), closed=True)

    def _ensure_worker(self) -> _Worker:
        worker = self._worker
        if worker is not None and worker.alive():
            cpu = worker.cpu_s()
            if cpu is None or cpu < WORKER_CPU_RETIRE_S:
                return worker
        if worker is not None:
            worker.release()
            self._worker = None
        if self._closes != self._call_closes:  # closed during this call: its caller has moved on
            raise self._closed_error()
        try:
            worker = _Worker()
        except (OSError, PrivilegeError, subprocess.SubprocessError) as exc:
            raise _WorkerGone(ModelError(self.path, None, f"cannot start the scoring process: {exc}")) from None
        self._worker = worker
        if self._closes != self._call_closes:  # close() ran meanwhile and may not have seen this worker
            worker.closed_by_owner = True
            worker.terminate()
            raise self._closed_error()
        try:
            hello = worker.receive(STARTUP_TIMEOUT_S, STARTUP_TIMEOUT_S, self.path, "starting")
        except _WorkerGone as gone:  # not the formula's fault: nothing of it has run yet
            raise _WorkerGone(gone.error, closed=gone.closed) from None
        if not hello.get("ready"):
            raise worker._gone(self.path, f"the scoring process said {hello!r:.80}")
        return worker

    def _receive(self, worker: _Worker, what: str) -> dict[str, object]:
        return worker.receive(self.timeout_s + KILL_GRACE_S, self.wall_limit_s, self.path, what)

    def _load(self, worker: _Worker, key: str, text: str) -> ModelError | None:
        """Load ``text`` into the worker; a ModelError when it does not load. _WorkerGone when it overran."""
        if key in worker.loaded:
            return None
        module = self.info.module if self.info.origin.startswith("entry point") else None
        msg = {"op": "load", "key": key, "path": self.path, "source": text, "module": module}
        worker.send({**msg, "timeout_s": self.timeout_s})
        answer = self._receive(worker, "loading the formula")
        if "overrun" in answer:
            raise _WorkerGone(self._overrun_error(answer, "loading the formula"), overrun=True)
        if "error" in answer:
            return _answer_error(answer, self.path)
        worker.loaded.add(key)
        return None

    def _overrun_error(self, answer: Mapping[str, object], what: str) -> ModelError:
        info = answer.get("overrun")
        line = info.get("line") if isinstance(info, dict) else None
        line = line if isinstance(line, int) and not isinstance(line, bool) else None
        return ModelError(self.path, line, f"{what} ran longer than {self.timeout_s:g} s (CPU time) and was stopped "
                          "(an endless loop?)")  # fmt: skip

    def _run(
        self, key: str, settings: Mapping[str, object], windows: Sequence[HopWindow]
    ) -> tuple[list[Score | ModelError], bool]:
        """Score ``windows`` with the loaded version ``key``: the results, and whether the version overran or
        killed its worker (then the window it happened on has that error and the later ones were not run)."""
        worker = self._ensure_worker()
        request = {
            "op": "score",
            "key": key,
            "path": self.path,
            "settings": dict(settings),
            "windows": [w.to_dict() for w in windows],
            "timeout_s": self.timeout_s,
        }
        worker.send(request)
        # Reading a big request (a day of samples per hop) is the worker's own work, not the formula's.
        size_s = 1.0 + len(worker._outbox) / 5e6
        results: list[Score | ModelError] = []
        try:
            begin = worker.receive(size_s, 3 * size_s + self.wall_limit_s, self.path, "reading the windows")
            if begin.get("begin") != len(windows):
                raise worker._gone(self.path, f"the scoring process said {begin!r:.80}")
            for _ in windows:
                answer = self._receive(worker, "score_hop()")
                if "overrun" in answer:
                    raise _WorkerGone(self._overrun_error(answer, "score_hop()"), overrun=True)
                if "error" in answer:
                    results.append(_answer_error(answer, self.path))
                else:
                    raw = (answer.get("r"), answer.get("mos"), answer.get("detail", {}))
                    results.append(check_result(raw, self.path, None))
        except _WorkerGone as gone:
            if not gone.overrun:
                raise
            results.append(gone.error)
            results += [gone.error] * (len(windows) - len(results))
            return results, True
        return results, False

    def _score_hops(self, windows: Sequence[HopWindow]) -> list[Score | ModelError]:
        with self._lock:
            self._call_closes = self._closes
            try:
                return self._score_hops_locked(windows)
            finally:
                worker = self._worker
                if worker is not None and worker.closed_by_owner:  # close() killed it: reap it here
                    worker.release()
                    self._worker = None

    def _score_hops_locked(self, windows: Sequence[HopWindow]) -> list[Score | ModelError]:
        self._refresh()
        if self._error is not None or self._text is None:
            assert self._error is not None
            return self._with_fallback(windows, [self._error] * len(windows), None)
        key = _key(self._text)
        version = self._versions.setdefault(key, _Version())
        if version.waiting(self.clock()):  # overran lately: answers its error without running (back-off)
            assert version.error is not None
            return self._with_fallback(windows, [version.error] * len(windows), key)
        started = self.clock()
        try:
            worker = self._ensure_worker()
            load_error = self._load(worker, key, self._text)
            if load_error is not None:
                self._error = load_error  # deterministic: not loaded again until the file changes
                return self._with_fallback(windows, [load_error] * len(windows), key)
            results, failed = self._run(key, self.settings, windows)
        except _WorkerGone as gone:
            if gone.closed:
                return [gone.error] * len(windows)
            if not gone.overrun:  # the worker could not start or broke the protocol: try again next time
                return self._with_fallback(windows, [gone.error] * len(windows), key)
            results, failed = [gone.error] * len(windows), True
        if self._closes != self._call_closes:  # killed by close(), whatever it looked like: not the version's fault
            return [self._closed_error().error] * len(windows)
        if failed:
            version.failures += 1
            now = self.clock()
            cost_s = max(MIN_BACKOFF_S, now - started)
            version.retry_at = now + min(MAX_BACKOFF_S, cost_s * 2 ** min(version.failures - 1, 16))
            version.error = next(r for r in results if isinstance(r, ModelError))
        else:
            version.failures, version.retry_at, version.error = 0, 0.0, None
        if any(isinstance(r, Score) for r in results):
            good = _Good(key, self._text, dict(self.settings))
            self._good = [good] + [g for g in self._good if g.key != key][: KEEP_GOOD_VERSIONS - 1]
        return self._with_fallback(windows, results, key)

    def _with_fallback(
        self, windows: Sequence[HopWindow], results: list[Score | ModelError], current: str | None
    ) -> list[Score | ModelError]:
        """``results`` with, for each error, the result of the newest earlier version that scores that window."""
        out = list(results)
        for good in list(self._good):
            todo = [i for i, r in enumerate(out) if isinstance(r, ModelError) and r.fallback is None]
            if not todo:
                break
            if good.key == current:
                continue
            try:
                worker = self._ensure_worker()
                if self._load(worker, good.key, good.text) is not None:
                    raise _WorkerGone(ModelError(self.path, None, "no longer loads"))
                old, failed = self._run(good.key, good.settings, [windows[i] for i in todo])
            except _WorkerGone as gone:
                if gone.closed:  # closed meanwhile: nothing more is run, and the version is not to blame
                    break
                failed, old = True, []
            if failed:
                self._good.remove(good)  # it fails too now: stop offering it
                continue
            for i, o in zip(todo, old, strict=True):
                if isinstance(o, Score):
                    out[i] = dataclasses.replace(out[i], fallback=o)  # type: ignore[arg-type]
        return out

    def close(self) -> None:
        """End the worker; never waits (a window switching models calls this from its GUI thread). From another
        thread while a call runs, the worker is killed at once, that call returns its errors ("closed while it
        scored") without starting another worker, and reaps the killed one; scoring again later starts a new
        worker."""
        self._closes += 1
        worker = self._worker
        if worker is not None:
            worker.closed_by_owner = True
            worker.terminate()
        if self._lock.acquire(blocking=False):
            try:
                if self._worker is not None:
                    self._worker.release()
                    self._worker = None
            finally:
                self._lock.release()


def _answer_error(answer: Mapping[str, object], path: str) -> ModelError:
    """The ModelError in an ``{"error": {...}}`` answer; a malformed one is an error too."""
    error = answer.get("error")
    if isinstance(error, dict):
        file, line, message = error.get("file"), error.get("line"), error.get("message")
        if isinstance(file, str) and isinstance(message, str) and (line is None or type(line) is int):
            return ModelError(file, line, message)
    return ModelError(path, None, f"the scoring process sent a malformed error {answer!r:.80}")


def worker_pid(model: ScriptModel) -> int | None:
    """The worker's process id (tests check it is gone after close); None when none runs."""
    worker = model._worker
    return worker.proc.pid if worker is not None and worker.alive() else None
