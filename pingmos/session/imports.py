"""Files made by other tools, recognised by their content and opened as sessions.

mtr ``--json`` reports and ``--raw`` logs (``mtr_import``), Trippy JSON reports (``trippy_import``), RIPE Atlas
traceroute results (``atlas_import``) and pingmos's own ``report --format json`` (``report_import``). Every file
is read through ``pingmos.input_files`` (regular files only, bounded size, strict UTF-8 and JSON), and every fault
is a SessionError of one line naming the file.
"""

from __future__ import annotations

import os

from pingmos.input_files import InputError, loads_json, read_text
from pingmos.session.atlas_import import looks_like_atlas, parse_atlas_json
from pingmos.session.model import SessionError
from pingmos.session.mtr_import import MAX_IMPORT_BYTES, looks_like_mtr_raw, mtr_json_from_doc, parse_mtr_raw
from pingmos.session.replay import MemorySession
from pingmos.session.report_import import looks_like_pingmos_report, pingmos_report_from_doc
from pingmos.session.trippy_import import looks_like_trippy, parse_trippy_json

KINDS = (
    "a pingmos session or JSON report, an mtr --json report or --raw log, a Trippy JSON report or RIPE Atlas "
    "traceroute results"
)


# The first columns of pingmos's own CSV: the hop table (report --format csv, export), raw samples, the event log.
PINGMOS_CSV_HEADERS = ("ttl,address,name,responders,", "round,ttl,seq,sent_at,", "at,at_utc,kind,data")


def read_import(
    path: str | os.PathLike, interval_s: float = 1.0, target: str | None = None, probe: int | None = None
) -> MemorySession:
    """Open another tool's file as a session (see the module docstring); SessionError when it is none we read.

    ``interval_s`` and ``target`` apply to an mtr --raw log only (it records neither); ``probe`` to RIPE Atlas
    results only (which probe's runs to open; ``atlas_import.SeveralProbes`` when several and it is None)."""
    p = os.fspath(path)
    try:
        text = read_text(p, MAX_IMPORT_BYTES, "report or log")
        mtime = os.path.getmtime(p)
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
            raise SessionError(f"{p}: a JSON report names its target; a TARGET is only for an mtr --raw log")
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
        if isinstance(doc, list) and doc and isinstance(doc[0], dict) and {"round", "sent_at"} <= doc[0].keys():
            raise SessionError(
                f"{p}: raw samples pingmos exported (export --what samples): they are not read back; the session "
                "they came from opens, or record a run with --record FILE"
            )
        raise SessionError(f"{p}: JSON, but not {KINDS}")
    if probe is not None:
        raise SessionError(f"{p}: a PROBE is only for RIPE Atlas results, and this file is none")
    if looks_like_mtr_raw(text):
        # Place the run so it ends at the file's modification time (when mtr finished writing it).
        return parse_mtr_raw(text, p, interval_s=interval_s, started_at=None, target=target, ended_at=mtime)
    if text.startswith(PINGMOS_CSV_HEADERS):
        raise SessionError(
            f"{p}: a CSV table pingmos wrote, for spreadsheets: it is not read back; write the report with "
            "--format json (or record it with --record FILE) to open it again"
        )
    raise SessionError(f"{p}: not {KINDS}")
