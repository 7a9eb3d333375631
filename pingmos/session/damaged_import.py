"""A pingmos session whose first bytes were overwritten: recognised as one, and read where SQLite still can.

A session is an SQLite file (``store``) that starts with SQLite's 16 bytes ``SQLite format 3\\0``, and
``open_session`` tells a session by them. When they are overwritten (a tool writing into the wrong file, a bad
copy) the rest of SQLite's 100-byte header usually survives, and with it what only a pingmos session holds there:
the payload fractions SQLite always writes (64, 32, 32 at bytes 21-23) and pingmos's application id "pmos" at
byte 68 (``store.APPLICATION_ID``). Such a file, or a file named ``*.pingmos`` that is not text, is called a
damaged pingmos session, never "not UTF-8 text ... not a report or log".

Salvage: a temporary copy with SQLite's 16 bytes written back (and the journal-mode bytes 18-19 set to rollback
when they are damaged too) is opened as any session is (``StoredSession``: format, version, ``quick_check``).
When SQLite reads it whole, the session opens from the copy with a note naming what was repaired and how many
rounds and samples it holds; the copy is removed when the session is closed (or at exit). When it does not, one
line says the session is damaged beyond what pingmos can read. Nothing is ever written to the damaged file.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import tempfile
import weakref

from pingmos.session.model import SessionError
from pingmos.session.store import APPLICATION_ID, SQLITE_MAGIC, StoredSession

SESSION_SUFFIX = ".pingmos"
_HEADER_BYTES = 100


def header_is_a_sessions(head: bytes) -> bool:
    """Whether bytes 16-100 of ``head`` are those of a pingmos session's SQLite header (its first 16 may be
    anything)."""
    return len(head) >= _HEADER_BYTES and head[21:24] == b"\x40\x20\x20" and head[68:72] == APPLICATION_ID.to_bytes(4)


def looks_like_damaged_session(path: str, head: bytes) -> bool:
    """Whether ``head`` (a file's first bytes; it does not start with SQLite's magic) is the rest of a pingmos
    session's header, or ``path`` is named like a session and ``head`` is not UTF-8 text."""
    if head.startswith(SQLITE_MAGIC):
        return False
    if header_is_a_sessions(head):
        return True
    if not path.lower().endswith(SESSION_SUFFIX):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 3  # not a character cut at the end of the head: binary
    return False


class SalvagedSession(StoredSession):
    """A damaged session opened from a repaired temporary copy (see the module docstring); ``path`` is the
    damaged file's, the copy is removed by ``close`` or at exit."""

    def __init__(self, path: str, copy: str, cleanup: weakref.finalize):
        super().__init__(copy)
        self.path = path
        self._cleanup = cleanup

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._cleanup()


def open_damaged_session(path: str, head: bytes) -> SalvagedSession:
    """The damaged pingmos session at ``path`` (see ``looks_like_damaged_session``; ``head``: its first bytes)
    read from a repaired copy; SessionError of one line when nothing in it can be read."""
    if header_is_a_sessions(head):
        damaged = f"{path}: a damaged pingmos session (its first 16 bytes, SQLite's signature, are overwritten)"
    else:
        damaged = f"{path}: a damaged pingmos session (named as one, but its first bytes are not SQLite's header)"
    workdir = tempfile.mkdtemp(prefix="pingmos-salvage-")
    cleanup = weakref.finalize(SalvagedSession, shutil.rmtree, workdir, True)
    copy = os.path.join(workdir, "repaired.pingmos")
    try:
        shutil.copyfile(path, copy)
        with open(copy, "r+b") as f:
            header = bytearray(f.read(_HEADER_BYTES))
            if len(header) < _HEADER_BYTES:
                raise SessionError(f"{damaged}, and it is too short to hold anything: nothing can be read from it")
            header[:16] = SQLITE_MAGIC
            if header[18] not in (1, 2) or header[19] not in (1, 2) or not os.path.exists(path + "-wal"):
                header[18:20] = b"\x01\x01"  # rollback journal: a copy without its -wal file reads as one
            else:
                shutil.copyfile(path + "-wal", copy + "-wal")
            f.seek(0)
            f.write(header)
        try:
            session = SalvagedSession(path, copy, cleanup)
        except SessionError as exc:
            why = str(exc).removeprefix(f"{copy}: ")
            raise SessionError(
                f"{damaged}; even with its signature written back it {why}: nothing in it can be read (only a copy "
                "you kept can help)"
            ) from None
        try:
            rounds, samples = session._conn.execute("SELECT count(DISTINCT round), count(*) FROM samples").fetchone()
        except sqlite3.DatabaseError as exc:
            session.close()
            raise SessionError(
                f"{damaged}; with the header repaired its samples still cannot be read ({exc})"
            ) from None
    except OSError as exc:
        cleanup()
        raise SessionError(f"{damaged}; repairing a copy of it failed: {exc.strerror or exc}") from None
    except BaseException:
        cleanup()
        raise
    weakref.finalize(session, cleanup)  # and when the session is dropped without close()
    extra = dict(session.info.extra) if isinstance(session.info.extra, dict) else {}
    notes = [str(n) for n in extra["notes"]] if isinstance(extra.get("notes"), list) else []
    notes.append(
        f"the session's first bytes were overwritten (SQLite's header): read from a repaired copy, {rounds} rounds "
        f"({samples} samples), every one SQLite finds; save it again (the window's Save As) to keep a sound file"
    )
    extra["notes"] = notes
    session.info = dataclasses.replace(session.info, extra=extra)
    return session
