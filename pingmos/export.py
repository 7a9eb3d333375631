"""Export: the hop table (the report's CSV/JSON, same field names), the raw samples of one hop or all, and the
event log, each a pure function to text; the raw samples also written a row at a time to a file-like object
(``write_samples_csv``/``write_samples_json``: a long session's export in bounded memory).

Raw samples keep what was measured: a lost probe has an empty ``rtt_ms`` cell in CSV and ``null`` in JSON (never
0), and send times are wall-clock seconds since the epoch plus an ISO 8601 UTC form for people. Both forms open
again as a session (``report --session``; ``pingmos.session.samples_import``).

Every CSV cell goes through ``report.formats.csv_safe`` (text that a spreadsheet would take for a formula is
prefixed with ``'``), and JSON is always valid (``allow_nan=False``; a non-finite number becomes null).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol

from pingmos.engine import Sample
from pingmos.hop_report import TraceSnapshot
from pingmos.input_files import finite_json
from pingmos.report.formats import csv_row
from pingmos.report.formats import to_csv as hops_to_csv
from pingmos.report.formats import to_json as hops_to_json
from pingmos.session.model import SessionEvent
from pingmos.session.samples_import import CONTEXT_FIELDS, SAMPLE_FIELDS  # the columns the reader takes back

EVENT_FIELDS = ("at", "at_utc", "kind", "data")


class Writable(Protocol):
    """Where a ``write_*`` function puts its text: a file, ``io.StringIO``, the CLI's output."""

    def write(self, text: str, /) -> object: ...


__all__ = [
    "EVENT_FIELDS",
    "SAMPLE_FIELDS",
    "events_to_csv",
    "events_to_json",
    "hop_table",
    "sample_context",
    "samples_to_csv",
    "samples_to_json",
    "write_samples_csv",
    "write_samples_json",
]


def _utc(t: float) -> str | None:
    try:
        return datetime.fromtimestamp(t, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return None  # not a time a calendar holds (a damaged file); the seconds stay in the other column


def _json(doc: object) -> str:
    return json.dumps(finite_json(doc, {}), indent=1, allow_nan=False) + "\n"


def hop_table(snap: TraceSnapshot, fmt: str) -> str:
    """The hop table as ``pingmos report --format csv|json`` writes it (the same function)."""
    if fmt == "csv":
        return hops_to_csv(snap)
    if fmt == "json":
        return hops_to_json(snap)
    raise ValueError(f"format must be csv or json, not {fmt!r}")


def _probe_row(s: Sample) -> dict:
    """One sample's own cells (every column but the run's)."""
    return {
        "round": s.round,
        "ttl": s.ttl,
        "seq": s.seq,
        "sent_at": s.sent_at,
        "sent_at_utc": _utc(s.sent_at),
        "rtt_ms": s.rtt_ms,
        "lost": s.rtt_ms is None,
        "responder": s.responder,
        "reached": s.reached,
        "reply": s.reply,  # the kind of answer (engine.REPLY_KINDS): a re-score's diagnosis needs it
        "icmp_code": s.icmp_code,
    }


def _sample_row(s: Sample, context: dict | None = None) -> dict:
    """One sample as the export's row; ``context``: the run's ``target``, ``address`` and ``protocol``
    (``samples_import.CONTEXT_FIELDS``), the same on every row, None (empty) where unknown."""
    context = context or {}
    return {**_probe_row(s), **{f: context.get(f) for f in CONTEXT_FIELDS}}


def sample_context(info: object) -> dict:
    """The context columns of a session's samples export from its SessionInfo (target, address, protocol), so
    that the export opens again with them (a run whose destination never answered keeps its target)."""
    return {k: getattr(info, k, None) or None for k in ("target", "address", "protocol")}


_RUN_FIELDS = CONTEXT_FIELDS
_PROBE_FIELDS = tuple(f for f in SAMPLE_FIELDS if f not in _RUN_FIELDS)
_NO_SAMPLE = Sample(0, 1, 0, 0.0, None, None, False)  # a row's run cells are made from it
# The run's columns come last (the writers append them to a sample's own, in _probe_row's order).
assert SAMPLE_FIELDS == _PROBE_FIELDS + _RUN_FIELDS == tuple(_probe_row(_NO_SAMPLE)) + _RUN_FIELDS


def _select(samples: Iterable[Sample], ttl: int | None) -> Iterable[Sample]:
    return samples if ttl is None else (s for s in samples if s.ttl == ttl)


# Rows made into one piece of text before ``out.write``: a write call per row would cost more than the row.
_ROWS_PER_WRITE = 2048
# A sample's row as ``json.dumps(row, indent=1)`` writes it, without the braces' lines, by the C encoder (it is one
# level of scalars: the item separator is the newline and indent); about a third of the time of the indenting one.
_SAMPLE_JSON = json.JSONEncoder(separators=(",\n  ", ": "), allow_nan=False)


def write_samples_csv(
    samples: Iterable[Sample], out: Writable, ttl: int | None = None, context: dict | None = None
) -> int:
    """Raw samples (of hop ``ttl`` only, if given) as CSV with a header, written to ``out`` as ``samples`` yields
    them (a few thousand rows a write: memory does not grow with their number); empty cells where JSON has null.
    ``context``: the run's columns (``sample_context``). Returns how many rows were written (the header not
    counted)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SAMPLE_FIELDS)
    # The run's cells are the same on every row: made safe once, not per row.
    run_cells = csv_row(_sample_row(_NO_SAMPLE, context)[f] for f in _RUN_FIELDS)
    n = 0
    for s in _select(samples, ttl):
        w.writerow(csv_row(_probe_row(s).values()) + run_cells)
        n += 1
        if n % _ROWS_PER_WRITE == 0:
            out.write(buf.getvalue())
            buf.seek(0)
            buf.truncate()
    out.write(buf.getvalue())
    return n


def _sample_json(s: Sample, context: dict | None = None, run_text: str | None = None) -> str:
    """One sample's object as ``json.dumps(..., indent=1)`` writes it in the list; ``run_text``: its run's members
    (``_run_json``) made once for all rows, else from ``context``."""
    row = _probe_row(s)
    try:
        text = _SAMPLE_JSON.encode(row)
    except ValueError:  # a non-finite number (a damaged file's time): null, as _json writes it
        text = _SAMPLE_JSON.encode(finite_json(row, {}))
    return f" {{\n  {text[1:-1]},\n  {_run_json(context) if run_text is None else run_text}\n }}"


def _run_json(context: dict | None) -> str:
    """The run's members of every sample's object (target, address, protocol), as the encoder writes them."""
    row = _sample_row(_NO_SAMPLE, context)
    return _SAMPLE_JSON.encode({f: row[f] for f in _RUN_FIELDS})[1:-1]


def write_samples_json(
    samples: Iterable[Sample], out: Writable, ttl: int | None = None, context: dict | None = None
) -> int:
    """Raw samples (of hop ``ttl`` only, if given) as a JSON list of objects, lost RTTs as null, written to ``out``
    as ``samples`` yields them (a few thousand objects a write): the same text as ``json.dumps`` of the whole list
    with ``indent=1``. Returns how many objects were written."""
    n = 0
    items: list[str] = []
    run_text = _run_json(context)
    for s in _select(samples, ttl):
        items.append(_sample_json(s, run_text=run_text))
        n += 1
        if len(items) == _ROWS_PER_WRITE:
            out.write(("[\n" if n == len(items) else ",\n") + ",\n".join(items))
            items.clear()
    if items:
        out.write(("[\n" if n == len(items) else ",\n") + ",\n".join(items))
    out.write("\n]\n" if n else "[]\n")
    return n


def samples_to_csv(samples: Iterable[Sample], ttl: int | None = None, context: dict | None = None) -> str:
    """``write_samples_csv`` as one string."""
    buf = io.StringIO()
    write_samples_csv(samples, buf, ttl, context)
    return buf.getvalue()


def samples_to_json(samples: Iterable[Sample], ttl: int | None = None, context: dict | None = None) -> str:
    """``write_samples_json`` as one string."""
    buf = io.StringIO()
    write_samples_json(samples, buf, ttl, context)
    return buf.getvalue()


def events_to_csv(events: Iterable[SessionEvent]) -> str:
    """The event log as CSV: time, kind, and the values as a JSON object in one cell."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(EVENT_FIELDS)
    for e in events:
        data = json.dumps(finite_json(e.data, {}), sort_keys=True, allow_nan=False)
        w.writerow(csv_row([e.at, _utc(e.at), e.kind, data]))
    return buf.getvalue()


def events_to_json(events: Iterable[SessionEvent]) -> str:
    return _json([{"at": e.at, "at_utc": _utc(e.at), "kind": e.kind, "data": e.data} for e in events])
