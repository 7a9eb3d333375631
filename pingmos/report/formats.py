"""Output formats: each a pure function from a TraceSnapshot to text. Field names are stable: scripts read them.

- JSON carries ``schema_version`` (raised when a field changes meaning or goes away; new fields may appear within
  a version) and is always valid JSON: a non-finite number is written as null and the reason is listed under
  ``null_reasons`` by its path (``hops[2].avg_ms``).
- CSV: one line per hop; the columns after the hop's own say which run the row belongs to (``CSV_CONTEXT_FIELDS``:
  target, address, first and last send time in UTC, model, its assumed settings, window, destination reached),
  repeated on every row so a row pasted elsewhere still says what it measured. Every text cell is neutralised
  against spreadsheet formula injection (OWASP "CSV Injection"): a cell starting with ``=``, ``+``, ``-``, ``@``, a
  tab or a carriage return is prefixed with a single quote ``'``, so a spreadsheet shows it as text and runs
  nothing. Numbers are written as numbers (a negative number is no formula).
- The table shows loss and its interval as the verdict, the window and the alerts do (``display_text.loss_text``,
  ``loss_ci_text``): with as many decimals as it takes for a non-zero loss never to read 0.0 (nor a partial loss
  100.0), and the interval with at least one, more where its upper end would read 0 (0 lost of 1000: 0.0-0.4). Text from
  files and the network (targets, names, addresses) has its control characters replaced, so nothing a PTR record
  or a crafted file holds can move the cursor or ring the terminal.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import UTC, datetime

from pingmos.diagnosis import Diagnosis, diagnose, hop_mark, rounds_words
from pingmos.display_text import display_text, loss_ci_text, loss_text
from pingmos.hop_report import ASSUMED_MARK, ASSUMED_WORDS, FEW_SAMPLES_WORDS, HopReport, TraceSnapshot, assumed_inputs
from pingmos.input_files import finite_json
from pingmos.scoring.interval import MIN_SAMPLES

SCHEMA_VERSION = 1

HOP_FIELDS = (
    "ttl",
    "address",
    "name",
    "responders",
    "sent",
    "received",
    "loss_pct",
    "loss_ci_pct",
    "last_ms",
    "avg_ms",
    "min_ms",
    "max_ms",
    "stdev_ms",
    "jitter_ms",
    "r",
    "mos",
    "mos_ci",
    # The inputs the MOS took a value for because the data has none (hop_report.assumed_inputs: ["jitter_ms"],
    # jitter taken as 0 ms, e.g. an mtr --json report without its jitter fields); [] when none. The table marks
    # such a MOS with ASSUMED_MARK, as the window does; CSV joins them with ";".
    "assumed",
)
# Numbers are rounded for output only; microseconds and thousandths of a MOS point are below any honest precision.
_DECIMALS = 3


def _diagnosis(snap: TraceSnapshot) -> Diagnosis:
    """The producer's diagnosis (it may hold echo-witness evidence), else one derived from the hops."""
    return snap.diagnosis if snap.diagnosis is not None else diagnose(snap)


def _num(value: float | None) -> float | None:
    return None if value is None else round(value, _DECIMALS)


def _num_nonzero(value: float | None) -> float | None:
    """As ``_num``, but a non-zero value keeps three significant digits rather than rounding to 0 (a loss of 1 in
    a million is 0.0001 %, not 0.0)."""
    if value is None or value == 0 or not math.isfinite(value) or round(value, _DECIMALS) != 0:
        return _num(value)
    return float(f"{value:.3g}")


def hop_dict(hop: HopReport) -> dict:
    """One hop as the JSON object of ``pingmos report --format json``."""
    out = {}
    for name in HOP_FIELDS:
        if name == "assumed":
            out[name] = list(assumed_inputs(hop))
            continue
        value = getattr(hop, name)
        if name == "mos_ci":
            value = None if value is None else [_num(value[0]), _num(value[1])]
        elif name == "loss_ci_pct":
            value = None if value is None else [_num_nonzero(value[0]), _num_nonzero(value[1])]
        elif name == "loss_pct":
            value = _num_nonzero(value)
        elif isinstance(value, float):
            value = _num(value)
        out[name] = value
    if hop.mos_ci_few_samples and out["mos_ci"] is not None:  # that interval is bounds from too few samples
        out["mos_ci_few_samples"] = True
    if hop.unreachable:  # the path ends here: a router's ICMP destination-unreachable, in words
        out["unreachable"] = hop.unreachable
    if hop.score_error:
        out["score_error"] = hop.score_error
    if hop.score_fallback is not None:
        # The last working version's numbers beside the error; "r" and "mos" stay null: they are not this
        # formula's score.
        out["score_fallback"] = {"r": _num(hop.score_fallback.r), "mos": _num(hop.score_fallback.mos)}
    return out


def utc_text(t: float | None) -> str | None:
    """Seconds since the epoch as ISO 8601 UTC (``2026-11-30T21:00:00.000Z``); None for None or an impossible time."""
    if t is None or not math.isfinite(t):
        return None
    try:
        return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return None


def to_json(snap: TraceSnapshot) -> str:
    """The snapshot as a JSON document (see the module docstring: schema_version, nulls for non-finite values)."""
    doc = {
        "schema_version": SCHEMA_VERSION,
        "target": snap.target,
        "address": snap.address,
        "protocol": snap.protocol,
        "interval_s": snap.interval_s,
        "window": snap.window,
        "rounds": snap.rounds,
        "model": snap.model,
        "model_settings": dict(snap.model_settings),
        "destination_reached": snap.destination_reached,
        "probes_sent": snap.probes_sent,
        "unmatched_replies": snap.unmatched_replies,
        "suspicious_replies": snap.suspicious_replies,
        "time_range": None
        if snap.time_range is None
        else {
            "from": snap.time_range[0],
            "to": snap.time_range[1],
            "from_utc": utc_text(snap.time_range[0]),
            "to_utc": utc_text(snap.time_range[1]),
        },
        "hops": [hop_dict(h) for h in snap.hops],
    }
    if snap.mode is not None:
        doc["mode"] = snap.mode
    if snap.route_changes:
        doc["route_changes"] = [
            {"ttl": c.ttl, "round": c.round, "sent_at": c.sent_at, "flow": c.flow, "from": c.old, "to": c.new}
            for c in snap.route_changes
        ]
    doc["diagnosis"] = _diagnosis(snap).to_json()
    reasons: dict[str, str] = {}
    doc = finite_json(doc, reasons)
    if reasons:
        doc["null_reasons"] = reasons
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


CSV_HOP_FIELDS = tuple(f for f in HOP_FIELDS if f not in ("loss_ci_pct", "mos_ci")) + (
    "loss_ci_low_pct",
    "loss_ci_high_pct",
    "mos_ci_low",
    "mos_ci_high",
    "mos_ci_few_samples",  # true where the MOS interval is from too few samples (HopReport.mos_ci_few_samples)
    "unreachable",  # the path ends at this hop: a router's ICMP destination-unreachable, in words; else empty
    "score_error",  # the model failed at this hop: file:line: message, as JSON's score_error; else empty
    # Beside score_error: the formula's last working version's R and MOS (JSON's score_fallback), which the window
    # shows marked *; r and mos stay empty (they are not this model's).
    "score_fallback_r",
    "score_fallback_mos",
    # The diagnosis at this hop (pingmos.diagnosis.hop_mark): on each hop where the problem can start, the words the
    # window's graph title says ("problem starts at hop 4"; "problem between hop 2 and hop 5" on hops 3, 4 and 5);
    # "rate-limited (does not carry on)"; else empty. The whole verdict is in JSON's diagnosis.
    "diagnosis",
)
# Which run every row belongs to (the same on every row; see the module docstring).
CSV_CONTEXT_FIELDS = (
    "target",
    "target_address",
    "from_utc",
    "to_utc",
    "model",
    "model_settings",  # what the MOS assumed (codec, jitter buffer, ...): ITU-T P.564 asks for it beside the score
    "window",
    "destination_reached",
)
CSV_FIELDS = CSV_HOP_FIELDS + CSV_CONTEXT_FIELDS


def terminal_safe(text: str) -> str:
    """``text`` with every control character (ESC sequences, BEL, newlines, C1 codes, bidirectional overrides)
    replaced by '?': ``pingmos.display_text.display_text``, the one rule the window's views follow too."""
    return display_text(text)


# OWASP's list of cell starts a spreadsheet may take for a formula (or a DDE command).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """A CSV cell value that a spreadsheet shows as written: text starting like a formula gets a leading ``'``
    (OWASP CSV injection advice); None becomes an empty cell; numbers and booleans pass as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        if value.startswith(_FORMULA_START):
            value = "'" + value
        return terminal_safe(value)  # CSV lands on terminals too: no escape sequences, one line per row
    return value


def csv_row(values) -> list:
    return [csv_safe(v) for v in values]


def csv_context(snap: TraceSnapshot) -> dict:
    span = snap.time_range or (None, None)
    return {
        "target": snap.target,
        "target_address": snap.address,
        "from_utc": utc_text(span[0]),
        "to_utc": utc_text(span[1]),
        "model": snap.model,
        "model_settings": _settings_text(snap.model_settings).replace(", ", ";"),
        "window": "all" if snap.window is None else snap.window,
        "destination_reached": "unknown" if snap.destination_reached is None else snap.destination_reached,
    }


def to_csv(snap: TraceSnapshot) -> str:
    """One line per hop with a header; responders as ``addr:count`` joined by ``;`` (``[addr]:count`` for IPv6:
    ``responders_csv``), the inputs the MOS assumed joined by ``;``, the loss interval as two
    columns, empty cells where JSON has null, the diagnosis at the hop (``diagnosis.hop_mark``), then the run's
    context columns; every cell ``csv_safe``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    context = csv_context(snap)
    d = _diagnosis(snap)
    for hop in snap.hops:
        row = hop_dict(hop)
        ci = row.pop("loss_ci_pct")
        row["responders"] = responders_csv(row["responders"])
        row["assumed"] = ";".join(row["assumed"])
        row["loss_ci_low_pct"], row["loss_ci_high_pct"] = ci if ci else (None, None)
        mos_ci = row.pop("mos_ci")
        row["mos_ci_low"], row["mos_ci_high"] = mos_ci if mos_ci else (None, None)
        row.setdefault("mos_ci_few_samples", None)  # "true" where the MOS interval is from too few samples
        row.setdefault("unreachable", None)
        row.setdefault("score_error", None)
        fallback = row.pop("score_fallback", None) or {}
        row["score_fallback_r"], row["score_fallback_mos"] = fallback.get("r"), fallback.get("mos")
        row["diagnosis"] = hop_mark(d, hop.ttl)
        row.update(context)
        writer.writerow(csv_row(_finite_or_none(row[f]) for f in CSV_FIELDS))
    return buf.getvalue()


def responders_csv(responders: dict[str, int]) -> str:
    """The CSV ``responders`` cell: ``addr:count`` joined by ``;``, an IPv6 address in brackets (``[::1]:3``, as
    RFC 3986 writes a host with a port): ``::1:3`` would itself be an address. ``parse_responders_csv`` reads it."""
    return ";".join(f"[{a}]:{n}" if ":" in a else f"{a}:{n}" for a, n in responders.items())


def parse_responders_csv(text: str) -> dict[str, int]:
    """A CSV ``responders`` cell back to address -> count: ``[::1]:3`` (this writer's form for IPv6) and the older
    ``::1:3`` (split at the last colon) alike. ValueError (one line) for a part without a count."""
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        if part.startswith("["):
            address, sep, count = part[1:].partition("]:")
        else:
            address, sep, count = part.rpartition(":")
        if not sep or not address or not count.strip().isdigit():
            raise ValueError(f"responders: {part!r} is not address:count")
        out[address] = out.get(address, 0) + int(count)
    return out


def _finite_or_none(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def lost_count(hop: HopReport) -> int | None:
    """Probes lost, None where a count is unknown (another tool's report without Snt or Rcv)."""
    return None if hop.sent is None or hop.received is None else hop.sent - hop.received


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def _cell(value: float | None, decimals: int = 1) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{decimals}f}"


# The table's columns: header, alignment, and the least width (what an IPv4 trace needs, so that its layout stays
# put from run to run); a column grows to its longest cell (IPv6 addresses, long names, latencies of 10 s).
_COLUMNS = (
    ("HOP", ">", 3),
    ("ADDRESS", "<", 15),
    ("NAME", "<", 24),
    ("SENT", ">", 4),
    ("RECV", ">", 4),
    ("LOSS%", ">", 5),
    ("LOSS CI95", ">", 11),
    ("LAST", ">", 7),
    ("AVG", ">", 7),
    ("MIN", ">", 7),
    ("MAX", ">", 7),
    ("STDEV", ">", 6),
    ("JITTER", ">", 6),
    ("R", ">", 5),
    ("MOS", ">", 4),
)
# Marks R and MOS taken from the last working version of a broken formula (HopReport.score_fallback).
FALLBACK_MARK = "*"
# Marks a MOS interval from too few samples (HopReport.mos_ci_few_samples): "4.40 (1.00-4.40)?", said below the table.
FEW_SAMPLES_MARK = "?"


def few_samples_note(hops) -> str | None:
    """The line below a table that says what ``FEW_SAMPLES_MARK`` means, when a hop's MOS interval has it."""
    if not any(h.mos_ci_few_samples and h.mos is not None and h.mos_ci is not None for h in hops):
        return None
    return (
        f"MOS intervals marked {FEW_SAMPLES_MARK}: {FEW_SAMPLES_WORDS} (fewer than {MIN_SAMPLES}, or one reply): "
        "bounds from the loss's and the delay variation's intervals, wide on purpose"
    )


def _row_cells(hop: HopReport) -> list[str]:
    lost = lost_count(hop)
    ci = loss_ci_text(hop.loss_ci_pct, lost, hop.sent) if lost is not None else "-"
    address = hop.address or "???"
    if len(hop.responders) > 1:
        address += f" +{len(hop.responders) - 1}"
    r, mos = _cell(hop.r), _cell(hop.mos, 2)
    if hop.mos is not None and hop.mos_ci is not None:  # the MOS's 95 % interval beside it: "3.92 (3.61-4.08)"
        mos += f" ({hop.mos_ci[0]:.2f}-{hop.mos_ci[1]:.2f})" + (FEW_SAMPLES_MARK if hop.mos_ci_few_samples else "")
    if hop.mos is not None and assumed_inputs(hop):  # as the window's cell: "4.40† (3.61-4.40)"
        mos = mos.replace(_cell(hop.mos, 2), _cell(hop.mos, 2) + ASSUMED_MARK, 1)
    if hop.score_error:
        fallback = hop.score_fallback
        r = _cell(fallback.r) + FALLBACK_MARK if fallback else "-"
        mos = _cell(fallback.mos, 2) + FALLBACK_MARK if fallback else "ERR"
    return [
        str(hop.ttl),
        address,
        hop.name or "",
        _count(hop.sent),
        _count(hop.received),
        loss_text(hop.loss_pct, lost, hop.sent),
        ci,
        _cell(hop.last_ms),
        _cell(hop.avg_ms),
        _cell(hop.min_ms),
        _cell(hop.max_ms),
        _cell(hop.stdev_ms),
        _cell(hop.jitter_ms),
        r,
        mos,
    ]


def _aligned(rows: list[list[str]]) -> list[str]:
    """Rows of cells as text lines, every column as wide as its widest cell (at least its least width)."""
    widths = [max([least] + [len(row[i]) for row in rows]) for i, (_, _, least) in enumerate(_COLUMNS)]
    lines = []
    for row in rows:
        cells = [f"{cell:{align}{width}}" for cell, (_, align, _), width in zip(row, _COLUMNS, widths, strict=True)]
        lines.append(cells[0] + "  " + " ".join(cells[1:]))  # two spaces after HOP, as mtr --report
    return lines


def _ttl_ranges(ttls: list[int]) -> str:
    """``[1, 2, 3, 5]`` -> ``1-3, 5``."""
    parts: list[str] = []
    start = prev = ttls[0]
    for ttl in ttls[1:] + [None]:
        if ttl is not None and ttl == prev + 1:
            prev = ttl
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if ttl is not None:
            start = prev = ttl
    return ", ".join(parts)


def _scoring_errors(hops: tuple[HopReport, ...]) -> list[str]:
    """One line per distinct error (a broken formula fails every hop alike), naming its hops."""
    by_error: dict[str, list[int]] = {}
    for hop in hops:
        if hop.score_error:
            by_error.setdefault(hop.score_error, []).append(hop.ttl)
    lines = []
    for error, ttls in by_error.items():
        hop_word = "hop" if len(ttls) == 1 else "hops"
        lines.append(f"scoring failed at {hop_word} {_ttl_ranges(ttls)}: {error}")
    if any(h.score_error and h.score_fallback is not None for h in hops):
        lines.append(
            f"R and MOS marked {FALLBACK_MARK} are from the last version of the formula that worked, "
            "until the error above is fixed"
        )
    return lines


def scoring_failure(snap: TraceSnapshot) -> str | None:
    """One line naming the model and its error when it failed to score any hop, for stderr beside any format (the
    table also says it below its rows, CSV and JSON in each hop's ``score_error``); None when every hop scored.
    A formula failing alike at every hop (the usual case) is said once with the hops it failed at."""
    by_error: dict[str, list[int]] = {}
    for hop in snap.hops:
        if hop.score_error:
            by_error.setdefault(hop.score_error, []).append(hop.ttl)
    if not by_error:
        return None
    error, ttls = next(iter(by_error.items()))
    hop_word = "hop" if len(ttls) == 1 else "hops"
    others = len(by_error) - 1
    more = f" (and {others} other error{'s' if others > 1 else ''}: see each hop's score_error)" if others else ""
    return terminal_safe(f"model {snap.model} failed to score {hop_word} {_ttl_ranges(ttls)}: {error}{more}")


def _settings_text(settings: tuple) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in settings)


def to_table(snap: TraceSnapshot) -> str:
    """An mtr --report style table, one row per hop, with a header line saying what was measured.

    Columns are as wide as their widest cell (an IPv6 address, a long name), never narrower than an IPv4 trace
    needs. A hop the model could not score shows ``ERR`` as its MOS, or, while the user's formula file is
    broken, the last working version's R and MOS marked ``*``; lines below the table say why. The MOS cell holds
    the 95 % interval in brackets where there is one; the header names the model's assumed settings.
    """
    window = "all samples" if snap.window is None else f"last {snap.window} samples"
    if not snap.target:
        who = "target unknown"
    else:
        who = f"{snap.target} ({snap.address})" if snap.address else snap.target
    reached = {True: "", False: ", destination not reached", None: ", destination reached: unknown"}
    lines = [
        f"pingmos report: {who}, {snap.protocol}, "
        + ("rounds unknown" if snap.rounds is None else rounds_words(snap.rounds))
        + f" every "
        f"{snap.interval_s:g} s, window {window}, model {snap.model}"
        + (f" (assumed {_settings_text(snap.model_settings)})" if snap.model_settings else "")
        + ("" if snap.mode is None else f", via {snap.mode}")
        + reached[snap.destination_reached],
    ]
    lines += _aligned([[header for header, _, _ in _COLUMNS]] + [_row_cells(hop) for hop in snap.hops])
    for hop in snap.hops:
        if len(hop.responders) > 1:  # the "+N" of the table, spelled out: each address with its share of replies
            total = sum(hop.responders.values())
            shares = sorted(hop.responders.items(), key=lambda kv: -kv[1])
            lines.append(f"hop {hop.ttl} responders: " + ", ".join(f"{a} {100.0 * n / total:.0f}%" for a, n in shares))
    lines += [f"hop {hop.ttl} unreachable: {hop.unreachable}" for hop in snap.hops if hop.unreachable]
    if snap.route_changes:
        moves = [f"hop {c.ttl} round {c.round}: {c.old} -> {c.new}" for c in snap.route_changes]
        lines.append(f"route changes ({len(moves)}): " + "; ".join(moves[:10]) + ("; ..." if len(moves) > 10 else ""))
    lines += _scoring_errors(snap.hops)
    note = few_samples_note(snap.hops)
    if note:
        lines.append(note)
    assumed = [h.ttl for h in snap.hops if assumed_inputs(h)]
    if assumed:
        hop_word = "hop" if len(assumed) == 1 else "hops"
        lines.append(f"MOS marked {ASSUMED_MARK} ({hop_word} {_ttl_ranges(assumed)}): {ASSUMED_WORDS}")
    d = _diagnosis(snap)
    lines.append(f"diagnosis ({d.status}): {d.verdict}")
    return "\n".join(terminal_safe(line) for line in lines) + "\n"


FORMATTERS = {"table": to_table, "json": to_json, "csv": to_csv}
