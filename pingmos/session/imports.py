"""Files made by other tools, recognised by their content and opened as sessions.

mtr ``--json`` reports and ``--raw`` logs (``mtr_import``), Trippy JSON reports (``trippy_import``), RIPE Atlas
traceroute results (``atlas_import``), pingmos's own ``report --format json`` (``report_import``) and its raw
samples, ``export --what samples`` in CSV or JSON (``samples_import``). Every file
is read through ``pingmos.input_files`` (regular files only, bounded size, strict UTF-8 and JSON), and every fault
is a SessionError of one line naming the file.
"""

from __future__ import annotations

import os

from pingmos.input_files import InputError, loads_json, read_head, read_text, text_lines
from pingmos.session.atlas_import import looks_like_atlas, parse_atlas_json
from pingmos.session.damaged_import import looks_like_damaged_session, open_damaged_session
from pingmos.session.model import SessionError
from pingmos.session.mtr_import import (
    MAX_IMPORT_BYTES,
    MAX_RAW_LINE_BYTES,
    looks_like_mtr_raw,
    mtr_json_from_doc,
    parse_mtr_raw,
    parse_mtr_raw_lines,
)
from pingmos.session.replay import MemorySession
from pingmos.session.report_import import looks_like_pingmos_report, pingmos_report_from_doc
from pingmos.session.samples_import import (
    CSV_HEADER_START,
    looks_like_samples_json,
    samples_from_csv,
    samples_from_json,
)
from pingmos.session.trippy_import import looks_like_trippy, parse_trippy_json


def decode_head(head: bytes) -> str:
    """The start of a file as text, to tell what it is: a UTF-8 byte-order mark dropped, a character cut at the
    end or bytes that are not UTF-8 replaced (the whole file is decoded strictly later)."""
    return head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")


KINDS = (
    "a pingmos session, JSON report or samples export, an mtr --json report or --raw log, a Trippy JSON report or "
    "RIPE Atlas traceroute results"
)


# The first columns of pingmos's own CSV that hold no samples: the hop table (report --format csv, export) and the
# event log. (Raw samples, CSV_HEADER_START, are read.)
HOP_TABLE_CSV = "ttl,address,name,responders,"
EVENTS_CSV = "at,at_utc,kind,data"


def read_import(
    path: str | os.PathLike, interval_s: float = 1.0, target: str | None = None, probe: int | None = None
) -> MemorySession:
    """Open another tool's file as a session (see the module docstring); SessionError when it is none we read.

    ``interval_s`` and ``target`` apply to an mtr --raw log only (it records neither); ``probe`` to RIPE Atlas
    results only (which probe's runs to open; ``atlas_import.SeveralProbes`` when several and it is None)."""
    p = os.fspath(path)
    try:
        # A session is any size (session.MAX_SESSION_BYTES): the limit of other files applies after this check.
        head = read_head(p, 2**63, "report or log")
        if looks_like_damaged_session(p, head):
            return open_damaged_session(p, head)
        head = read_head(p, MAX_IMPORT_BYTES, "report or log")
        mtime = os.path.getmtime(p)
        # An mtr --raw log is read a line at a time (its probes kept compact), never whole: see mtr_import.
        if probe is None and looks_like_mtr_raw(decode_head(head)):
            # Place the run so it ends at the file's modification time (when mtr finished writing it).
            lines = text_lines(p, MAX_IMPORT_BYTES, "report or log", MAX_RAW_LINE_BYTES)
            return parse_mtr_raw_lines(lines, p, interval_s=interval_s, started_at=None, target=target, ended_at=mtime)
        text = read_text(p, MAX_IMPORT_BYTES, "report or log")
    except InputError as exc:
        raise SessionError(str(exc)) from None
    except OSError as exc:
        raise SessionError(f"{p}: cannot read the file: {exc.strerror or exc}") from None
    if text.lstrip().startswith(("{", "[")):
        try:
            doc = loads_json(text, p)
        except InputError as exc:
            raise SessionError(str(exc)) from None
        if target is not None:
            raise SessionError(f"{p}: a TARGET is only for an mtr --raw log; this JSON file does not take one")
        if probe is not None and not looks_like_atlas(doc):
            raise SessionError(f"{p}: a PROBE is only for RIPE Atlas results, and this file is none")
        if looks_like_trippy(doc):
            return parse_trippy_json(doc, p)
        if looks_like_atlas(doc):
            return parse_atlas_json(doc, p, probe)
        if looks_like_pingmos_report(doc):
            return pingmos_report_from_doc(doc, p)
        if isinstance(doc, dict) and "report" in doc:
            return mtr_json_from_doc(doc, p)
        if looks_like_samples_json(doc):
            return samples_from_json(doc, p)
        if isinstance(doc, list) and doc and isinstance(doc[0], dict) and {"at", "kind"} <= doc[0].keys():
            raise SessionError(f"{p}: {_EVENT_LOG}")
        raise SessionError(f"{p}: JSON, but not {KINDS}")
    if probe is not None:
        raise SessionError(f"{p}: a PROBE is only for RIPE Atlas results, and this file is none")
    if looks_like_mtr_raw(text):
        return parse_mtr_raw(text, p, interval_s=interval_s, started_at=None, target=target, ended_at=mtime)
    if text.startswith(CSV_HEADER_START):
        if target is not None:
            raise SessionError(f"{p}: a TARGET is only for an mtr --raw log; a samples export does not take one")
        return samples_from_csv(text, p)
    if text.startswith(HOP_TABLE_CSV):
        raise SessionError(
            f"{p}: a hop table pingmos wrote as CSV, for spreadsheets: it is not read back; export the samples "
            "(export --what samples) or write the report with --format json to open it again"
        )
    if text.startswith(EVENTS_CSV):
        raise SessionError(f"{p}: {_EVENT_LOG}")
    raise SessionError(f"{p}: not {KINDS}")


_EVENT_LOG = (
    "an event log pingmos exported (export --what events): alerts, no samples to score; open the session it came "
    "from, or its samples export (export --what samples)"
)
