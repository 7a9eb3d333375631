"""Models whose formula is a file pingmos does not ship (the user's scoring folder, installed packages): run in a
worker process with a deadline, reloaded when the file changes.

- Each ``score_many`` first re-reads the file (a few kB; comparing the text, not the mtime, so two saves within
  the file system's timestamp granularity are never missed). A changed text is declared again (``script_source``,
  without running it), its settings resolved, and loaded into the worker: the next update uses it.
- Every failure becomes a ModelError for the hops (file, line, message): a syntax error, no ``score_hop``, an
  exception, a NaN or out-of-range result, a worker that died, and a formula that runs longer than ``timeout_s``
  (default 1 s), reported from the worker's own traceback dump with the line it was stuck on. A version that
  overran or killed its worker is not run again until the file changes, so a loop costs one deadline, not one
  per update. While the current version fails, the last version that worked still scores, and its result rides
  along as ``ModelError.fallback``.
- Calls block for up to ``timeout_s`` per window (the first call also waits for the worker to start, about
  0.1-0.5 s): front ends call from a worker thread. The model is thread-safe (one lock).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import json
import queue
import re
import subprocess
import sys
import threading
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path

from pingmos.scoring.model import Model, ModelError, ModelInfo, check_result
from pingmos.scoring.score import Score
from pingmos.scoring.script_source import read_declared
from pingmos.scoring.settings import resolve_settings
from pingmos.scoring.window import HopWindow

SCRIPT_TIMEOUT_S = 1.0
# Extra time the parent gives the worker's own watchdog to report before killing it.
KILL_GRACE_S = 0.5
# Starting a Python process can take seconds on a loaded machine; that is not the formula's fault.
STARTUP_TIMEOUT_S = 30.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = f"import sys; sys.path[0] = {_PACKAGE_ROOT!r}\nfrom pingmos.scoring.script_worker import main\nmain()\n"
_DUMP_LINE = re.compile(r'File "(?P<file>.*)", line (?P<line>\d+)')


class _WorkerGone(Exception):
    """The worker did not answer in time or died; ``error`` says which, for the hops."""

    def __init__(self, error: ModelError) -> None:
        super().__init__(str(error))
        self.error = error


class _Worker:
    """One worker process, its pipes, and threads draining them (portable: no select() on pipes)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self.stderr_tail: collections.deque[bytes] = collections.deque(maxlen=200)
        self._out = threading.Thread(target=self._drain_stdout, daemon=True)
        self._err = threading.Thread(target=self._drain_stderr, daemon=True)
        self._out.start()
        self._err.start()
        self.loaded: set[str] = set()
        self._finalizer = weakref.finalize(self, _kill, self.proc)

    def _drain_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_tail.append(line)

    def send(self, msg: Mapping[str, object]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            pass  # it died; the read that follows says so

    def receive(self, timeout_s: float, path: str, what: str, limit_s: float) -> dict[str, object]:
        """The next answer, or _WorkerGone after ``timeout_s`` (the worker is then killed) or when it died.

        ``what`` names the step for the message ("running score_hop()"), ``limit_s`` is the deadline to report.
        """
        try:
            line = self.lines.get(timeout=timeout_s)
        except queue.Empty:
            self.kill()
            raise _WorkerGone(self._failure(path, what, limit_s, died=False)) from None
        try:
            if line is not None:
                answer = json.loads(line)
                if isinstance(answer, dict):
                    return answer
        except ValueError:
            pass
        self.kill()  # it died, or said something that is not the protocol (it was dying): either way, gone
        raise _WorkerGone(self._failure(path, what, limit_s, died=True))

    def _failure(self, path: str, what: str, limit_s: float, died: bool) -> ModelError:
        self._err.join(0.5)  # the watchdog's dump may still be on its way through the pipe
        text = b"".join(self.stderr_tail).decode("utf-8", "replace")
        line = None
        if "Timeout (" in text or not died:
            if "Timeout (" in text:
                # faulthandler lists the innermost frame first: the first frame in the formula is where it was.
                for match in _DUMP_LINE.finditer(text[text.rindex("Timeout (") :]):
                    if match["file"] == path:
                        line = int(match["line"])
                        break
            return ModelError(path, line, f"{what} ran longer than {limit_s:g} s (an endless loop?) and was stopped")
        code = self.proc.wait(5)
        last = (text.strip().splitlines() or [""])[-1][:200]
        return ModelError(path, None, f"the scoring process ended during {what} (exit status {code}) {last}".rstrip())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        self._finalizer()


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class ScriptModel(Model):
    """A formula file run in a worker process. See the module docstring."""

    def __init__(
        self,
        info: ModelInfo,
        settings: Mapping[str, object] | None = None,
        raising: bool = False,
        timeout_s: float = SCRIPT_TIMEOUT_S,
    ) -> None:
        super().__init__(info, {}, raising)
        assert info.path is not None
        self.path = info.path
        self.timeout_s = timeout_s
        self._given = dict(settings or {})
        self._lock = threading.RLock()
        self._worker: _Worker | None = None
        self._text: str | None = None
        self._error: ModelError | None = None  # why the current text cannot score (declare/settings/load/overrun)
        self._good: tuple[str, str, dict[str, object]] | None = None  # (key, text, settings) that last worked
        self._refresh()

    # -- the file ------------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        """Re-read the file; on a change, declare it again and resolve the settings (never runs it)."""
        try:
            text = Path(self.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            if self._text is not None or self._error is None:
                self._text = None
                self._error = ModelError(self.path, None, f"cannot read the formula file: {exc}")
            return
        if text == self._text:
            return
        self._text = text
        self._error = None
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
            return self._error

    # -- the worker ----------------------------------------------------------------------------------------
    def _ensure_worker(self) -> _Worker:
        if self._worker is None or not self._worker.alive():
            if self._worker is not None:
                self._worker.kill()
            worker = _Worker()
            self._worker = worker
            hello = worker.receive(STARTUP_TIMEOUT_S, self.path, "starting", STARTUP_TIMEOUT_S)
            if not hello.get("ready"):
                raise _WorkerGone(ModelError(self.path, None, f"the scoring process said {hello!r:.80}"))
        return self._worker

    def _load(self, worker: _Worker, key: str, text: str) -> ModelError | None:
        if key in worker.loaded:
            return None
        module = self.info.module if self.info.origin.startswith("entry point") else None
        msg = {"op": "load", "key": key, "path": self.path, "source": text, "module": module}
        worker.send({**msg, "timeout_s": self.timeout_s})
        answer = worker.receive(self.timeout_s + KILL_GRACE_S, self.path, "loading the formula", self.timeout_s)
        if "error" in answer:
            return ModelError(**answer["error"])  # type: ignore[arg-type]
        worker.loaded.add(key)
        return None

    def _run(self, key: str, settings: Mapping[str, object], windows: Sequence[HopWindow]) -> list[Score | ModelError]:
        worker = self._ensure_worker()
        worker.send(
            {
                "op": "score",
                "key": key,
                "path": self.path,
                "settings": dict(settings),
                "windows": [w.to_dict() for w in windows],
                "timeout_s": self.timeout_s,
            }
        )
        results: list[Score | ModelError] = []
        for _ in windows:
            answer = worker.receive(self.timeout_s + KILL_GRACE_S, self.path, "score_hop()", self.timeout_s)
            if "error" in answer:
                results.append(ModelError(**answer["error"]))  # type: ignore[arg-type]
            else:
                results.append(check_result((answer["r"], answer["mos"], answer["detail"]), self.path, None))
        return results

    def _score_hops(self, windows: Sequence[HopWindow]) -> list[Score | ModelError]:
        with self._lock:
            self._refresh()
            if self._error is None and self._text is not None:
                key = _key(self._text)
                try:
                    worker = self._ensure_worker()
                    self._error = self._load(worker, key, self._text)
                    if self._error is None:
                        results = self._run(key, self.settings, windows)
                        failed = [isinstance(r, ModelError) for r in results]
                        if not any(failed) and any(isinstance(r, Score) for r in results):
                            self._good = (key, self._text, dict(self.settings))  # a version to fall back to
                        elif any(failed) and self._good is not None and self._good[1] != self._text:
                            # It loads but score_hop raises: the hops it fails for show the last good version's
                            # score beside the error, as for a version that does not load.
                            old = self._fallback(windows, next(r for r in results if isinstance(r, ModelError)))
                            results = [
                                dataclasses.replace(r, fallback=o.fallback)
                                if isinstance(r, ModelError) and isinstance(o, ModelError)
                                else r
                                for r, o in zip(results, old, strict=True)
                            ]
                        return results
                except _WorkerGone as gone:
                    # Not run again until the file changes: one deadline per broken version, not one per update.
                    self._error = gone.error
            assert self._error is not None
            return self._fallback(windows, self._error)

    def _fallback(self, windows: Sequence[HopWindow], error: ModelError) -> list[Score | ModelError]:
        """The error for every hop, with what the last good version gives for it, when there is one."""
        if self._good is None or self._good[1] == self._text:
            return [error] * len(windows)
        key, text, settings = self._good
        try:
            worker = self._ensure_worker()
            if self._load(worker, key, text) is None:
                old = self._run(key, settings, windows)
                return [
                    ModelError(error.file, error.line, error.message, o if isinstance(o, Score) else None) for o in old
                ]
        except _WorkerGone:
            self._good = None  # the old version fails too now: stop offering it
        return [error] * len(windows)

    def close(self) -> None:
        with self._lock:
            if self._worker is not None:
                self._worker.kill()
                self._worker = None


def worker_pid(model: ScriptModel) -> int | None:
    """The worker's process id (tests check it is gone after close); None when none runs."""
    worker = model._worker
    return worker.proc.pid if worker is not None and worker.alive() else None
