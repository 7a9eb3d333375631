"""Sessions on disk: one SQLite file per trace, written incrementally while the trace runs, read back as events.

Why SQLite: one self-contained file, transactions, and WAL mode, in which a commit is one append to the
write-ahead log. The recorder batches the samples of about a second into one transaction from a thread of its
own, so the engine never waits on the disk, a crash or a killed process loses at most the last batch, and memory
stays flat however long the trace runs (the disk holds the history).

What is stored are events, never aggregates: the settings, every raw Sample (a lost one with rtt_ms NULL,
never 0), the reverse-DNS names, the route (which responder answered at which TTL, first and last seen) and an
event log (alerts fired and cleared). Reading a session never runs code from the file: only our own SELECTs on
our own tables, on a read-only connection with ``trusted_schema`` off, so a crafted file's views or triggers do
nothing; a damaged, truncated or foreign file raises SessionError with a message for the user.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from pingmos.engine import REPLY_KINDS, Sample
from pingmos.input_files import loads_json
from pingmos.session.legacy_kinds import infer_reply_kinds
from pingmos.session.model import RouteEntry, SessionError, SessionEvent, SessionInfo
from pingmos.session.replay import Session, TimeRange

FORMAT_NAME = "pingmos-session"
FORMAT_VERSION = 1
APPLICATION_ID = 0x706D6F73  # "pmos": lets `file` and we ourselves tell a pingmos session from other SQLite files
SQLITE_MAGIC = b"SQLite format 3\x00"
DEFAULT_FLUSH_INTERVAL_S = 1.0
MAX_EVENT_BYTES = 1024 * 1024  # one event's data or the settings record: JSON text of at most this size

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE addresses (id INTEGER PRIMARY KEY, address TEXT NOT NULL UNIQUE, name TEXT);
CREATE TABLE samples (
    id INTEGER PRIMARY KEY,
    round INTEGER NOT NULL,
    ttl INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    sent_at REAL NOT NULL,
    rtt_ms REAL,
    responder INTEGER REFERENCES addresses(id),
    reached INTEGER NOT NULL,
    reply TEXT,  -- events.REPLY_KINDS, NULL when lost (and in files written before it was kept)
    icmp_code INTEGER  -- a destination unreachable's ICMP code
);
CREATE INDEX samples_by_time ON samples(sent_at);
CREATE TABLE route (
    ttl INTEGER NOT NULL,
    responder INTEGER NOT NULL REFERENCES addresses(id),
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    replies INTEGER NOT NULL,
    PRIMARY KEY (ttl, responder)
);
CREATE TABLE events (id INTEGER PRIMARY KEY, at REAL NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL);
"""


def write_error_text(exc: sqlite3.Error) -> str:
    """What a failed write means, naming SQLite's cause (``SQLITE_FULL``: the disk is full)."""
    name = getattr(exc, "sqlite_errorname", None)
    text = f"{exc} ({name})" if name else str(exc)
    if name == "SQLITE_FULL":
        text += ": free some space on that disk, or record elsewhere"
    elif name in ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM"):
        text += ": check the permissions of the file and its folder"
    return text


def _connect_new(path: Path, overwrite: bool) -> sqlite3.Connection:
    # lexists, not Path.exists: that raised OSError (File name too long) as a traceback; os.open below says why.
    if os.path.lexists(path):
        if not overwrite:
            raise SessionError(f"{path}: the file exists already; choose another name")
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    try:
        # Private from the start (0600): a session shows where and when someone's traffic went. SQLite gives its
        # -wal and -shm files the same permissions.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise SessionError(f"{path}: cannot create the session file: {exc.strerror or exc}") from exc
    try:
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        # A reader of the file being recorded (a copy, a viewer, a test polling it) holds a read lock for a moment:
        # the closing checkpoint waits for it rather than failing at once with "database is locked".
        conn.execute("PRAGMA busy_timeout=5000")
        # NORMAL in WAL mode: a commit survives the process being killed; only a power cut can cost the last ones.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        # A recorder appends; SQLite's default page cache (2 MB) would only grow with the file. A monitoring agent
        # holds one recorder per target, so this keeps its memory flat (~256 KiB each instead of 2 MB).
        conn.execute("PRAGMA cache_size=-256")
        conn.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
    except sqlite3.Error as exc:
        with contextlib.suppress(NameError, sqlite3.Error):
            conn.close()
        for suffix in ("", "-wal", "-shm"):  # ours, made just now: no half-made session left behind
            Path(str(path) + suffix).unlink(missing_ok=True)
        raise SessionError(f"{path}: cannot create the session file: {write_error_text(exc)}") from exc
    return conn


class _Writer:
    """The SQL side of writing a session; used by one thread at a time (the recorder holds a lock)."""

    def __init__(self, conn: sqlite3.Connection, info: SessionInfo):
        self.conn = conn
        self._address_ids: dict[str, int] = {}
        self._route: dict[tuple[int, int], list] = {}
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO meta(key, value) VALUES (?, ?)",
            [("format", FORMAT_NAME), ("version", str(FORMAT_VERSION)), ("info", json.dumps(info.to_json()))],
        )
        conn.execute("COMMIT")

    def set_info(self, info: SessionInfo) -> None:
        self.conn.execute("UPDATE meta SET value = ? WHERE key = 'info'", (json.dumps(info.to_json()),))

    def address_id(self, address: str) -> int:
        i = self._address_ids.get(address)
        if i is None:
            self.conn.execute("INSERT OR IGNORE INTO addresses(address) VALUES (?)", (address,))
            (i,) = self.conn.execute("SELECT id FROM addresses WHERE address = ?", (address,)).fetchone()
            self._address_ids[address] = i
        return i

    def write(self, samples: list[Sample], events: list[SessionEvent], names: dict[str, str]) -> None:
        """One transaction for one batch."""
        conn = self.conn
        conn.execute("BEGIN")
        try:
            rows = []
            route: dict[tuple[int, int], list] = {}
            for s in samples:
                rid = None if s.responder is None else self.address_id(s.responder)
                rows.append((s.round, s.ttl, s.seq, s.sent_at, s.rtt_ms, rid, int(s.reached), s.reply, s.icmp_code))
                if rid is not None:
                    r = route.get((s.ttl, rid))
                    if r is None:
                        route[(s.ttl, rid)] = [s.sent_at, s.sent_at, 1]
                    else:
                        r[0], r[1], r[2] = min(r[0], s.sent_at), max(r[1], s.sent_at), r[2] + 1
            conn.executemany(
                "INSERT INTO samples(round, ttl, seq, sent_at, rtt_ms, responder, reached, reply, icmp_code) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                rows,
            )
            conn.executemany(
                "INSERT INTO route(ttl, responder, first_seen, last_seen, replies) VALUES (?,?,?,?,?) "
                "ON CONFLICT(ttl, responder) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), "
                "last_seen = max(last_seen, excluded.last_seen), replies = replies + excluded.replies",
                [(ttl, rid, f, la, n) for (ttl, rid), (f, la, n) in route.items()],
            )
            conn.executemany(
                "INSERT INTO events(at, kind, data) VALUES (?, ?, ?)",
                [(e.at, e.kind, json.dumps(e.data)) for e in events],
            )
            for address, name in names.items():
                rid = self.address_id(address)
                conn.execute("UPDATE addresses SET name = ? WHERE id = ?", (name, rid))
            conn.execute("COMMIT")
        except BaseException:
            # SQLite may have rolled back already (SQLITE_FULL does): a failing ROLLBACK ("no transaction is
            # active") must not replace the error that says what happened.
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def fold(self) -> None:
        """Fold the log into the main file after every batch (about once a second): after a crash, or for a copy
        taken while recording, the .pmos file alone is a valid session missing at most the last batch. PASSIVE
        never waits for readers; what it cannot fold now, the next batch's checkpoint does. Apart from ``write``:
        a batch committed is in the file (its log) even when folding it fails (a full disk)."""
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        # Fold the log into the main file so a closed session is one self-contained file. A reader that still
        # holds the file after busy_timeout only stops that folding: every sample is committed already (the file
        # and its -wal are a valid session), so that is not a recording failure; any other error is.
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.conn.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
        finally:
            self.conn.close()


class SessionRecorder:
    """Records a trace to a new session file while it runs.

    ``record(sample)``, ``record_event(event)`` and ``record_name(address, name)`` are cheap and safe from any
    thread (the engine thread, the GUI thread): they append to a buffer. A writer thread commits the buffer every
    ``flush_interval_s`` (0 = no thread: the caller calls ``flush()``). ``close()`` writes what is left and
    makes the file self-contained. A write failure (disk full, file removed) stops recording and is kept in
    ``error`` as a sentence for the user; the trace itself goes on and nothing in memory is lost.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        info: SessionInfo,
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
        overwrite: bool = False,
    ):
        self.path = Path(path)
        self._lock = threading.Lock()  # guards the buffers
        self._write_lock = threading.Lock()  # one batch at a time
        self._samples: list[Sample] = []
        self._events: list[SessionEvent] = []
        self._names: dict[str, str] = {}
        self._info: SessionInfo | None = None
        self.error: str | None = None
        self.samples_written = 0
        self._written_per_ttl: dict[int, int] = {}  # samples committed per TTL: the rounds a reopen shows
        self._closed = False
        self._writer = _Writer(_connect_new(self.path, overwrite), info)
        self._stop = threading.Event()
        self._thread = None
        if flush_interval_s > 0:
            self._interval_s = flush_interval_s
            self._thread = threading.Thread(target=self._run, name="pingmos-session-writer", daemon=True)
            self._thread.start()

    def record(self, sample: Sample) -> None:
        with self._lock:
            if not self._closed:
                self._samples.append(sample)

    __call__ = record  # a recorder can be passed wherever an on_sample callback is expected

    def record_event(self, event: SessionEvent) -> None:
        with self._lock:
            if not self._closed:
                self._events.append(event)

    def record_name(self, address: str, name: str) -> None:
        with self._lock:
            if not self._closed:
                self._names[address] = name

    def set_info(self, info: SessionInfo) -> None:
        """Replace the settings record (the address is known only once the target is resolved)."""
        with self._lock:
            self._info = info

    def flush(self) -> None:
        """Write everything recorded so far in one transaction (called by the writer thread every interval)."""
        with self._write_lock:
            with self._lock:
                samples, self._samples = self._samples, []
                events, self._events = self._events, []
                names, self._names = self._names, {}
                info, self._info = self._info, None
            if self.error is not None or not (samples or events or names or info):
                return
            try:
                if info is not None:
                    self._writer.set_info(info)
                self._writer.write(samples, events, names)
                self._count(samples)  # committed: a reopen shows them, whether or not folding them in works
                self._writer.fold()
            except sqlite3.Error as exc:
                self.error = f"recording to {self.path} stopped: {write_error_text(exc)}; {self.kept_text()}"

    def _count(self, samples: list[Sample]) -> None:
        self.samples_written += len(samples)
        for sample in samples:
            self._written_per_ttl[sample.ttl] = self._written_per_ttl.get(sample.ttl, 0) + 1

    @property
    def rounds_written(self) -> int:
        """Rounds committed to the file, counted as a reopen counts them (the samples of the busiest TTL)."""
        return max(self._written_per_ttl.values(), default=0)

    def kept_text(self) -> str:
        """What a reopen of the file will show, in its units: "the 98 rounds (98 samples) recorded before are
        kept in the file"."""
        rounds, samples = self.rounds_written, self.samples_written
        if not samples:
            return "no sample had been written to it yet"
        r = "round" if rounds == 1 else "rounds"
        n = "sample" if samples == 1 else "samples"
        return f"the {rounds} {r} ({samples} {n}) recorded before are kept in the file"

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.flush()

    def save_as(self, path: str | os.PathLike, overwrite: bool = False) -> None:
        """Write a consistent copy of everything recorded so far to ``path`` (File > Save As while recording);
        recording goes on into the original file. SessionError when the copy cannot be written."""
        dest = Path(path)
        if dest.exists() and not overwrite:
            raise SessionError(f"{dest}: the file exists already; choose another name")
        self.flush()
        with self._write_lock:
            try:
                tmp = dest.with_name(dest.name + ".partial")
                tmp.unlink(missing_ok=True)
                out = sqlite3.connect(str(tmp))
                try:
                    self._writer.conn.backup(out)
                    out.execute("PRAGMA journal_mode=DELETE")
                finally:
                    out.close()
                os.replace(tmp, dest)
            except (sqlite3.Error, OSError) as exc:
                raise SessionError(f"{dest}: cannot save the session: {exc}") from exc

    def close(self) -> None:
        """Write what is left, stop the writer thread and close the file. Idempotent."""
        if self._closed:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()
        with self._lock:
            self._closed = True
        with self._write_lock:
            try:
                self._writer.close()
            except sqlite3.Error as exc:
                self.error = self.error or f"closing {self.path} failed: {exc}"

    def __enter__(self) -> SessionRecorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def save_session(
    path: str | os.PathLike,
    info: SessionInfo,
    samples: Iterable[Sample],
    events: Iterable[SessionEvent] = (),
    names: dict[str, str] | None = None,
    overwrite: bool = False,
) -> int:
    """Write a whole session at once (Save As, an mtr import kept as a session); returns the samples written."""
    rec = SessionRecorder(path, info, flush_interval_s=0, overwrite=overwrite)
    try:
        batch = []
        for s in samples:
            batch.append(s)
            if len(batch) >= 10_000:
                for b in batch:
                    rec.record(b)
                rec.flush()
                batch = []
        for b in batch:
            rec.record(b)
        for e in events:
            rec.record_event(e)
        for address, name in (names or {}).items():
            rec.record_name(address, name)
    finally:
        rec.close()
    if rec.error:
        raise SessionError(rec.error)
    return rec.samples_written


# Bounds of what a session may hold: a reply later than an hour is damage, not a measurement; times are seconds
# since the epoch within years 1970-9999 (what datetime and the window's clock can show).
MAX_RTT_MS = 3_600_000.0
MAX_TIME_S = 253_402_300_799.0
MAX_ROUND = 2**32 - 1  # the state keeps rounds as uint32: 13 years at 10 rounds a second


_NUMBER = (float, int)


def _is_time(value: object) -> bool:
    return isinstance(value, float | int) and not isinstance(value, bool) and 0.0 <= value <= MAX_TIME_S


def is_sqlite(head: bytes) -> bool:
    return head.startswith(SQLITE_MAGIC)


class StoredSession(Session):
    """A recorded session file, read-only. Opening checks that the file is a pingmos session of a version we
    read and that SQLite finds it intact; every later read error is a SessionError too."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        try:
            conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, check_same_thread=False)
        except sqlite3.Error as exc:
            raise SessionError(f"{self.path}: cannot open the session file: {exc}") from exc
        self._conn = conn
        try:
            self._check()
        except BaseException:
            conn.close()
            raise

    def _fail(self, what: str, exc: Exception | None = None) -> SessionError:
        detail = f" ({exc})" if exc is not None else ""
        return SessionError(f"{self.path}: {what}{detail}")

    def _check(self) -> None:
        conn = self._conn
        try:
            conn.execute("PRAGMA trusted_schema=OFF")
            (app_id,) = conn.execute("PRAGMA application_id").fetchone()
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise self._fail("is not a pingmos session or is damaged beyond reading", exc) from exc
        if app_id != APPLICATION_ID or not {"meta", "samples", "addresses", "events", "route"} <= tables:
            raise self._fail("is an SQLite database, but not a pingmos session")
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            (check,) = conn.execute("PRAGMA quick_check(1)").fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._fail("is damaged (SQLite cannot read it)", exc) from exc
        if check != "ok":
            raise self._fail(f"is damaged, perhaps truncated (SQLite says: {check})")
        if meta.get("format") != FORMAT_NAME:
            raise self._fail("is an SQLite database, but not a pingmos session")
        try:
            version = int(meta.get("version", ""))
        except ValueError:
            raise self._fail(f"has an unreadable format version {meta.get('version')!r}") from None
        if version > FORMAT_VERSION:
            raise self._fail(
                f"was written by a newer pingmos (session format {version}; this one reads up to {FORMAT_VERSION})"
            )
        try:
            info = meta.get("info", "")
            if not isinstance(info, str) or len(info) > MAX_EVENT_BYTES:
                raise ValueError("the settings record is not text of a sensible size")
            self.info = SessionInfo.from_json(loads_json(info, "the settings record"))
        except ValueError as exc:
            raise self._fail(f"has a damaged settings record: {exc}") from None

    def _rows(self, sql: str, args=()) -> Iterator[tuple]:
        try:
            cur = self._conn.execute(sql, args)
            while True:
                rows = cur.fetchmany(4096)
                if not rows:
                    return
                yield from rows
        except sqlite3.DatabaseError as exc:
            raise self._fail("is damaged (reading it failed)", exc) from exc

    def _addresses(self) -> dict[int, str]:
        return {i: a for i, a, _ in self._rows("SELECT id, address, name FROM addresses")}

    def samples(self, time_range: TimeRange | None = None) -> Iterator[Sample]:
        return self._samples_ordered("id", time_range)

    def samples_by_round(self, time_range: TimeRange | None = None) -> Iterator[Sample]:
        """As ``samples`` but ordered by round (SQLite sorts: O(n log n) for rows stored in any order)."""
        return self._samples_ordered("round, id", time_range)

    def _samples_ordered(self, order: str, time_range: TimeRange | None) -> Iterator[Sample]:
        addresses = self._addresses()
        # Files written before reply kinds were kept have no such columns: their samples read with None.
        columns = {r[1] for r in self._rows("PRAGMA table_info(samples)")}
        legacy = not {"reply", "icmp_code"} <= columns
        kinds = "NULL, NULL" if legacy else "reply, icmp_code"
        sql = f"SELECT id, round, ttl, seq, sent_at, rtt_ms, responder, reached, {kinds} FROM samples"
        args: tuple = ()
        if time_range is not None:
            sql += " WHERE sent_at BETWEEN ? AND ?"
            args = (float(time_range[0]), float(time_range[1]))
        inferred = self._legacy_kinds(addresses) if legacy else {}
        for row in self._rows(f"{sql} ORDER BY {order}", args):
            sample = self._sample(row, addresses)
            kind = inferred.get((sample.ttl, sample.responder)) if inferred else None
            yield sample if kind is None else replace(sample, reply=kind)

    def _legacy_kinds(self, addresses: dict[int, str]) -> dict[tuple[int, str], str]:
        """Reply kinds that the whole file shows with certainty (``legacy_kinds``), from one grouped SELECT."""
        answers = [
            (ttl, addresses[rid], bool(reached))
            for ttl, rid, reached in self._rows(
                "SELECT DISTINCT ttl, responder, reached FROM samples WHERE responder IS NOT NULL"
            )
            if isinstance(ttl, int) and rid in addresses
        ]
        return infer_reply_kinds(answers, self.info.address)

    def _sample(self, row: tuple, addresses: dict[int, str]) -> Sample:
        rid, round_no, ttl, seq, sent_at, rtt_ms, responder, reached, reply, icmp_code = row
        # type() tests rather than isinstance: this runs once per stored probe (SQLite returns no bool or subclass).
        ok = (
            type(round_no) is int
            and type(ttl) is int
            and type(seq) is int
            and type(reached) is int
            and 0 <= round_no <= MAX_ROUND
            and type(sent_at) in _NUMBER
            and 0.0 <= sent_at <= MAX_TIME_S
            and 1 <= ttl <= 255
            and (rtt_ms is None or (type(rtt_ms) in _NUMBER and 0 <= rtt_ms <= MAX_RTT_MS))
            and (responder is None or responder in addresses)
            and (rtt_ms is None) == (responder is None)
            and (reply is None or (reply in REPLY_KINDS and rtt_ms is not None))
            and (icmp_code is None or (isinstance(icmp_code, int) and 0 <= icmp_code <= 255))
        )
        if not ok:
            raise self._fail(f"is damaged: sample {rid} is not a valid probe result {row!r:.200}")
        return Sample(
            round_no,
            ttl,
            seq,
            float(sent_at),
            None if rtt_ms is None else float(rtt_ms),
            None if responder is None else addresses[responder],
            bool(reached),
            reply,
            icmp_code,
        )

    def sample_count(self) -> int:
        return next(self._rows("SELECT count(*) FROM samples"))[0]

    def time_span(self) -> TimeRange | None:
        lo, hi = next(self._rows("SELECT min(sent_at), max(sent_at) FROM samples"))
        return None if lo is None else (float(lo), float(hi))

    def events(self) -> list[SessionEvent]:
        """The event log in time order (in the order written, for one time). Written order is not time order:
        alert events are stamped when their evaluation was asked for and written once it is done (a slow formula
        takes seconds), a command's failure when the command ends, each by its own thread."""
        out = []
        for rid, at, kind, data in self._rows("SELECT id, at, kind, data FROM events ORDER BY at, id"):
            try:
                if not _is_time(at):
                    raise ValueError(f"its time {at!r:.40} is not a time")
                if not isinstance(data, str) or not isinstance(kind, str) or len(data) > MAX_EVENT_BYTES:
                    raise ValueError("its kind or data is not text of a sensible size")
                doc = loads_json(data, "event data")
                if not isinstance(doc, dict):
                    raise ValueError("not an object")
                out.append(SessionEvent(float(at), kind, doc))
            except (TypeError, ValueError) as exc:
                raise self._fail(f"is damaged: event {rid} is unreadable", exc) from exc
        return out

    def names(self) -> dict[str, str]:
        return {a: n for _, a, n in self._rows("SELECT id, address, name FROM addresses") if isinstance(n, str)}

    def route(self) -> list[RouteEntry]:
        addresses = self._addresses()
        out = []
        for ttl, rid, first, last, n in self._rows(
            "SELECT ttl, responder, first_seen, last_seen, replies FROM route ORDER BY ttl, first_seen"
        ):
            if rid not in addresses:
                raise self._fail(f"is damaged: the route names an unknown responder {rid!r:.40}")
            if not (_is_time(first) and _is_time(last) and isinstance(ttl, int) and isinstance(n, int)):
                raise self._fail(f"is damaged: a route entry of hop {ttl!r:.20} is not valid")
            out.append(RouteEntry(ttl, addresses[rid], float(first), float(last), n))
        return out

    def close(self) -> None:
        self._conn.close()
