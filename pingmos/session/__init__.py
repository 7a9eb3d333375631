"""Sessions: a trace run kept on disk (SQLite), mtr output opened as one, and replay into a TraceState.

open_session(path)             -> Session (a pingmos session file, an mtr --json report or --raw log, a Trippy JSON
                                  report or RIPE Atlas traceroute results)
SessionRecorder(path, info)    records a running trace: .record(sample), .record_event(e), .close()
save_session(path, info, samples, events, names)   writes a whole session at once (Save As)
session.snapshot(window, scorer, model_name, time_range)  re-scores it without probing
"""

from __future__ import annotations

import os

from pingmos.input_files import InputError, open_regular
from pingmos.session.atlas_import import SeveralProbes
from pingmos.session.imports import read_import
from pingmos.session.model import HopSummary, RouteEntry, SessionError, SessionEvent, SessionInfo
from pingmos.session.replay import MemorySession, Session, TimeRange
from pingmos.session.store import SessionRecorder, StoredSession, is_sqlite, save_session

# A session records about 40 bytes a probe: 8 GiB is a month of a 30-hop trace every 0.1 s.
MAX_SESSION_BYTES = 8 * 1024**3

__all__ = [
    "HopSummary",
    "MemorySession",
    "RouteEntry",
    "Session",
    "SessionError",
    "SessionEvent",
    "SessionInfo",
    "SessionRecorder",
    "SeveralProbes",
    "StoredSession",
    "TimeRange",
    "open_session",
    "save_session",
]


def open_session(
    path: str | os.PathLike, interval_s: float = 1.0, target: str | None = None, probe: int | None = None
) -> Session:
    """Open a session file of any kind we read, recognised by its content, not its name.

    ``interval_s`` and ``target`` only matter for an mtr --raw log, which records neither; ``probe`` only for RIPE
    Atlas results of several probes (which one to open). Raises SessionError (with a message for the user) for a
    missing, unreadable, damaged, truncated or foreign file; its subclass SeveralProbes for RIPE Atlas results of
    several probes when ``probe`` is None (``.probes`` lists them).
    """
    p = os.fspath(path)
    try:
        # Regular files only (a FIFO or /dev/zero is refused at once), of a bounded size.
        fd = open_regular(p, MAX_SESSION_BYTES, "session")
    except InputError as exc:
        raise SessionError(str(exc)) from None
    try:
        with os.fdopen(fd, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise SessionError(f"{p}: cannot open the file: {exc.strerror or exc}") from None
    if not head:
        raise SessionError(f"{p}: the file is empty")
    if is_sqlite(head):
        if target is not None:
            raise SessionError(f"{p}: a pingmos session knows its target; a TARGET is only for an mtr --raw log")
        if probe is not None:
            raise SessionError(f"{p}: a PROBE is only for RIPE Atlas results; this is a pingmos session")
        return StoredSession(p)
    return read_import(p, interval_s=interval_s, target=target, probe=probe)
