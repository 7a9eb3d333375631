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
        if name == "loss_ci_pct":
            value = None if value is None else [_num(value[0]), _num(value[1])]
        elif isinstance(value, float):
            value = _num(value)
        out[name] = value
    if hop.score_error:
        out["score_error"] = hop.score_error
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


CSV_FIELDS = tuple(f for f in HOP_FIELDS if f != "loss_ci_pct") + ("loss_ci_low_pct", "loss_ci_high_pct")


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
        writer.writerow(["" if row[f] is None else row[f] for f in CSV_FIELDS])
    return buf.getvalue()


def _cell(value: float | None, decimals: int = 1) -> str:
    return "-" if value is None else f"{value:.{decimals}f}"


def to_table(snap: TraceSnapshot) -> str:
    """An mtr --report style table, one row per hop, with a header line saying what was measured."""
    window = "all samples" if snap.window is None else f"last {snap.window} samples"
    lines = [
        f"pingmos report: {snap.target} ({snap.address}), {snap.protocol}, {snap.rounds} rounds every "
        f"{snap.interval_s:g} s, window {window}, model {snap.model}"
        + ("" if snap.mode is None else f", via {snap.mode}")
        + ("" if snap.destination_reached else ", destination not reached"),
    ]
    header = (
        f"{'HOP':>3}  {'ADDRESS':<15} {'NAME':<24} {'SENT':>4} {'RECV':>4} {'LOSS%':>5} {'LOSS CI95':>11} "
        f"{'LAST':>7} {'AVG':>7} {'MIN':>7} {'MAX':>7} {'STDEV':>6} {'JITTER':>6} {'R':>5} {'MOS':>4}"
    )
    lines.append(header)
    for hop in snap.hops:
        ci = "-" if hop.loss_ci_pct is None else f"{hop.loss_ci_pct[0]:.0f}-{hop.loss_ci_pct[1]:.0f}"
        address = hop.address or "???"
        if len(hop.responders) > 1:
            address += f" +{len(hop.responders) - 1}"
        name = (hop.name or "")[:24]
        mos = _cell(hop.mos, 2) if not hop.score_error else "ERR"
        lines.append(
            f"{hop.ttl:>3}  {address:<15} {name:<24} {hop.sent:>4} {hop.received:>4} {_cell(hop.loss_pct):>5} "
            f"{ci:>11} {_cell(hop.last_ms):>7} {_cell(hop.avg_ms):>7} {_cell(hop.min_ms):>7} "
            f"{_cell(hop.max_ms):>7} {_cell(hop.stdev_ms):>6} {_cell(hop.jitter_ms):>6} {_cell(hop.r):>5} {mos:>4}"
        )
    for hop in snap.hops:
        if len(hop.responders) > 1:  # the "+N" of the table, spelled out: each address with its share of replies
            total = sum(hop.responders.values())
            shares = sorted(hop.responders.items(), key=lambda kv: -kv[1])
            lines.append(f"hop {hop.ttl} responders: " + ", ".join(f"{a} {100.0 * n / total:.0f}%" for a, n in shares))
    if snap.route_changes:
        moves = [f"hop {c.ttl} round {c.round}: {c.old} -> {c.new}" for c in snap.route_changes]
        lines.append(f"route changes ({len(moves)}): " + "; ".join(moves[:10]) + ("; ..." if len(moves) > 10 else ""))
    errors = [f"hop {h.ttl}: {h.score_error}" for h in snap.hops if h.score_error]
    if errors:
        lines.append("scoring failed: " + "; ".join(errors))
    lines.append("diagnosis: " + _diagnosis(snap).verdict)
    return "\n".join(lines) + "\n"


FORMATTERS = {"table": to_table, "json": to_json, "csv": to_csv}
