"""Recording every live trace into a session file, without the GUI thread touching the disk.

Recording is on by default, into ``<user data dir>/sessions`` (``$PINGMOS_DATA_DIR/sessions`` when set). A
network engineer reaches for the history after the fact: the complaint arrives an hour after the bad call, and
an alert fires while nobody watches. A trace that was not recorded cannot be proved afterwards, so the default
keeps it. A sample costs about 40 bytes on disk (30 hops at one round a second: about 100 MB a day).

``Recording`` collects what the trace and the window hand it (samples from the engine thread, events and names
from the GUI thread) in memory; its ``open`` and ``close`` run in a worker, and SessionRecorder's writer thread
writes.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TextIO

from pingmos.engine import Sample
from pingmos.paths import sessions_dir  # noqa: F401 (where recordings go; imported from here by the window)
from pingmos.session import SessionError, SessionEvent, SessionInfo, SessionRecorder

SESSION_SUFFIX = ".pingmos"


def session_file_name(target: str, started_at: float) -> str:
    """``<target>-YYYYmmdd-HHMMSS.pingmos`` in local time; characters a file name should not hold become '_'."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", target).strip("._") or "trace"
    return f"{safe[:60]}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(started_at))}{SESSION_SUFFIX}"


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` atomically (a reader sees the old file or the new one, never half). OSError when it cannot;
    the ``.partial`` file it was writing is then removed."""
    with replaced_when_written(path) as f:
        f.write(text)


@contextmanager
def replaced_when_written(path: str | os.PathLike) -> Iterator[TextIO]:
    """A UTF-8 text file (no newline translation) to write in the block, which becomes ``path`` when the block
    ends: it is ``path`` + ``.partial`` beside it, renamed over ``path`` once written whole, so a reader sees the
    old file or the new one, never half. When the block raises (OSError: a full disk, a denied folder; or any
    error of what writes) the ``.partial`` file is removed and the exception goes on."""
    p = os.fspath(path)
    tmp = p + ".partial"
    with removed_on_failure(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            yield f
        os.replace(tmp, p)


@contextmanager
def removed_on_failure(tmp: str | os.PathLike) -> Iterator[None]:
    """Remove ``tmp`` (a half-written ``.partial`` file) when the block raises, then re-raise: a full disk or a
    denied rename must not leave an empty or truncated file beside the one the user asked for."""
    try:
        yield
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


class KnownNames:
    """Reverse-DNS names recorded with a session, in the shape LiveTrace asks names of (no lookups are made)."""

    def __init__(self, names: dict[str, str]):
        self._names = dict(names)

    def name(self, address: str) -> str | None:
        return self._names.get(address)

    def close(self) -> None:
        pass


class Recording:
    """One live trace's session file. ``record`` (the trace's observer, engine thread), ``record_event``,
    ``record_name`` and ``set_info`` only append to memory; ``open`` creates the file and ``close`` finishes
    it, both in a worker. Samples that arrive before the file exists wait here and are written first."""

    def __init__(self, path: Path, info: SessionInfo):
        self.path = path
        self.info = info
        self.recorder: SessionRecorder | None = None
        self.error: str | None = None
        self.closed = False
        self.opening = False  # ``open`` was handed to a worker (the owner sets it: see has_samples)
        self._lock = threading.Lock()
        self._samples: list[Sample] = []
        self._events: list[SessionEvent] = []
        self._names: dict[str, str] = {}

    def open(self) -> None:
        """Create the file (worker thread). A failure is kept in ``error``; the trace goes on unrecorded."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            n = 1
            stem = self.path.stem
            while self.path.exists():  # two traces started within one second
                n += 1
                self.path = self.path.with_name(f"{stem}-{n}{self.path.suffix}")
            rec = SessionRecorder(self.path, self.info)
        except (SessionError, OSError) as exc:
            with self._lock:
                self.error = f"cannot record the session: {exc}"
                self._samples, self._events, self._names = [], [], {}
            return
        with self._lock:
            for s in self._samples:
                rec.record(s)
            for e in self._events:
                rec.record_event(e)
            for address, name in self._names.items():
                rec.record_name(address, name)
            rec.set_info(self.info)
            self._samples, self._events, self._names = [], [], {}
            self.recorder = rec
            closed = self.closed
        if closed:
            rec.close()

    def has_samples(self) -> bool:
        """Samples wait to be written (the trace has measured): the file is worth creating. A refused target (a
        malformed host, one that does not resolve) measures nothing, and then no empty session file is left to
        show up in File > Open."""
        with self._lock:
            return bool(self._samples)

    def record(self, sample: Sample) -> None:
        rec = self.recorder
        if rec is not None:
            rec.record(sample)
            return
        with self._lock:
            if self.recorder is not None:
                self.recorder.record(sample)
            elif self.error is None and not self.closed:
                self._samples.append(sample)

    def record_event(self, event: SessionEvent) -> None:
        with self._lock:
            if self.recorder is not None:
                self.recorder.record_event(event)
            elif self.error is None:
                self._events.append(event)

    def record_name(self, address: str, name: str) -> None:
        with self._lock:
            if self.recorder is not None:
                self.recorder.record_name(address, name)
            elif self.error is None:
                self._names[address] = name

    def set_info(self, info: SessionInfo) -> None:
        with self._lock:
            self.info = info
            if self.recorder is not None:
                self.recorder.set_info(info)

    @property
    def problem(self) -> str | None:
        """Why recording stopped or never started (None while all is well)."""
        rec = self.recorder
        return self.error or (rec.error if rec is not None else None)

    def close(self) -> None:
        """Write what is left and close the file (worker thread; after ``open``). Idempotent."""
        with self._lock:
            self.closed = True
            rec = self.recorder
        if rec is not None:
            rec.close()

    def flush(self) -> None:
        rec = self.recorder
        if rec is not None:
            rec.flush()
