"""Output formats: each a pure function from a TraceSnapshot to text. Field names are stable: scripts read them."""

from __future__ import annotations

import csv
import io
import json

from pingmos.diagnosis import Diagnosis, diagnose
from pingmos.hop_report import HopReport, TraceSnapshot

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
)
# Numbers are rounded for output only; microseconds and thousandths of a MOS point are below any honest precision.
_DECIMALS = 3


def _diagnosis(snap: TraceSnapshot) -> Diagnosis:
    """The producer's diagnosis (it may hold echo-witness evidence), else one derived from the hops."""
    return snap.diagnosis if snap.diagnosis is not None else diagnose(snap)


def _num(value: float | None) -> float | None:
    return None if value is None else round(value, _DECIMALS)


def hop_dict(hop: HopReport) -> dict:
    """One hop as the JSON object of ``pingmos report --format json``."""
    out = {}
    for name in HOP_FIELDS:
        value = getattr(hop, name)
        if name in ("loss_ci_pct", "mos_ci"):
            value = None if value is None else [_num(value[0]), _num(value[1])]
        elif isinstance(value, float):
            value = _num(value)
        out[name] = value
    if hop.score_error:
        out["score_error"] = hop.score_error
    if hop.score_fallback is not None:
        # The last working version's numbers beside the error; "r" and "mos" stay null: they are not this
        # formula's score.
        out["score_fallback"] = {"r": _num(hop.score_fallback.r), "mos": _num(hop.score_fallback.mos)}
    return out


def to_json(snap: TraceSnapshot) -> str:
    doc = {
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
    return json.dumps(doc, indent=2) + "\n"


CSV_FIELDS = tuple(f for f in HOP_FIELDS if f not in ("loss_ci_pct", "mos_ci")) + (
    "loss_ci_low_pct",
    "loss_ci_high_pct",
    "mos_ci_low",
    "mos_ci_high",
)


def to_csv(snap: TraceSnapshot) -> str:
    """One line per hop with a header; responders as ``addr:count`` joined by ``;``, the loss interval as two
    columns, empty cells where JSON has null."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for hop in snap.hops:
        row = hop_dict(hop)
        ci = row.pop("loss_ci_pct")
        row["responders"] = ";".join(f"{a}:{n}" for a, n in row["responders"].items())
        row["loss_ci_low_pct"], row["loss_ci_high_pct"] = ci if ci else (None, None)
        mos_ci = row.pop("mos_ci")
        row["mos_ci_low"], row["mos_ci_high"] = mos_ci if mos_ci else (None, None)
        writer.writerow(["" if row[f] is None else row[f] for f in CSV_FIELDS])
    return buf.getvalue()


def _cell(value: float | None, decimals: int = 1) -> str:
    return "-" if value is None else f"{value:.{decimals}f}"


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


def _row_cells(hop: HopReport) -> list[str]:
    ci = "-" if hop.loss_ci_pct is None else f"{hop.loss_ci_pct[0]:.0f}-{hop.loss_ci_pct[1]:.0f}"
    address = hop.address or "???"
    if len(hop.responders) > 1:
        address += f" +{len(hop.responders) - 1}"
    r, mos = _cell(hop.r), _cell(hop.mos, 2)
    if hop.mos is not None and hop.mos_ci is not None:  # the MOS's 95 % interval beside it: "3.92 (3.61-4.08)"
        mos += f" ({hop.mos_ci[0]:.2f}-{hop.mos_ci[1]:.2f})"
    if hop.score_error:
        fallback = hop.score_fallback
        r = _cell(fallback.r) + FALLBACK_MARK if fallback else "-"
        mos = _cell(fallback.mos, 2) + FALLBACK_MARK if fallback else "ERR"
    return [
        str(hop.ttl),
        address,
        hop.name or "",
        str(hop.sent),
        str(hop.received),
        _cell(hop.loss_pct),
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
    lines = [
        f"pingmos report: {snap.target} ({snap.address}), {snap.protocol}, {snap.rounds} rounds every "
        f"{snap.interval_s:g} s, window {window}, model {snap.model}"
        + (f" (assumed {_settings_text(snap.model_settings)})" if snap.model_settings else "")
        + ("" if snap.mode is None else f", via {snap.mode}")
        + ("" if snap.destination_reached else ", destination not reached"),
    ]
    lines += _aligned([[header for header, _, _ in _COLUMNS]] + [_row_cells(hop) for hop in snap.hops])
    for hop in snap.hops:
        if len(hop.responders) > 1:  # the "+N" of the table, spelled out: each address with its share of replies
            total = sum(hop.responders.values())
            shares = sorted(hop.responders.items(), key=lambda kv: -kv[1])
            lines.append(f"hop {hop.ttl} responders: " + ", ".join(f"{a} {100.0 * n / total:.0f}%" for a, n in shares))
    if snap.route_changes:
        moves = [f"hop {c.ttl} round {c.round}: {c.old} -> {c.new}" for c in snap.route_changes]
        lines.append(f"route changes ({len(moves)}): " + "; ".join(moves[:10]) + ("; ..." if len(moves) > 10 else ""))
    lines += _scoring_errors(snap.hops)
    lines.append("diagnosis: " + _diagnosis(snap).verdict)
    return "\n".join(lines) + "\n"


FORMATTERS = {"table": to_table, "json": to_json, "csv": to_csv}
