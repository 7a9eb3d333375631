"""pingmos's own JSON report opened again: ``pingmos report --format json`` (and ``export --format json``, the same
document) saved by a script, then re-scored with another model or read by the window, as an mtr --json report is.

The report holds per-hop totals, not samples (``--record FILE`` keeps those): the session carries HopSummary rows
(sent, received, loss, last/avg/min/max/stdev, jitter as PingPlotter's mean absolute difference, the responders
and a hop's ICMP destination-unreachable), scored as summary windows; no window or time range applies, and a note
says so. Numbers are those printed (rounded to 0.001 ms and 0.001 %).

So that export -> import -> export gives the same figures back, what the report computed from its samples and a
summary cannot recompute is kept beside the totals (``extra["recorded"]``, used by ``replay.summary_snapshot``):
the probe counts (``probes_sent``: every probe, those beyond the destination too; ``unmatched_replies``,
``suspicious_replies``) always, and, when the file is re-scored with the same model and settings (``model``,
``model_settings``), each hop's R, MOS and MOS interval and the diagnosis (with its per-round judgement) as written:
recomputed from rounded totals they moved in the third decimal (92.887 -> 92.886), g107-jb's by several points
(it reads the samples' loss bursts: 56.909 -> 52.689), and the MOS interval and the per-round diagnosis need the
samples. Another model, other settings or a hop the file could not score: all are recomputed from the totals (no
MOS interval, the diagnosis from loss counts), and a note says which.

Reading is strict (the file went through a shell, an editor, a ticket): a schema_version other than the one this
pingmos writes, a missing or mistyped field, a count or time out of range, a hop number twice, received above
sent, a loss that does not follow from sent and received, min > avg or avg > max: each is one SessionError naming
the file, the hop and the field. Nothing in the file runs.
"""

from __future__ import annotations

import math

from pingmos.diagnosis import NO_PROBLEM, PROBLEM, UNDECIDED
from pingmos.engine import PROTOCOLS
from pingmos.scoring.model import MOS_MAX, MOS_MIN, R_MAX, R_MIN
from pingmos.session.model import HopSummary, SessionError, SessionInfo
from pingmos.session.mtr_import import MAX_COUNT, MAX_RTT_MS, MAX_TTL, OneFamily, clean_text, is_ip
from pingmos.session.replay import MemorySession

# The report's JSON version this reader knows (pingmos.report.formats.SCHEMA_VERSION; a test keeps them equal:
# the session layer sits below the report's).
SCHEMA_VERSION = 1
SOURCE = "pingmos report"
# The report rounds to 0.001: a loss, a time or a mean may be off by that much from the unrounded value.
_ROUNDING = 0.0011
_MAX_INTERVAL_S = 86_400.0
_MAX_TIME_S = 253_402_300_799.0  # 9999-12-31: as the session store's settings record

_TIMES = ("last_ms", "avg_ms", "min_ms", "max_ms", "stdev_ms", "jitter_ms")


def looks_like_pingmos_report(doc: object) -> bool:
    """A pingmos report's JSON: its schema_version and hops list (mtr's has report.mtr, Trippy's hops beside an
    info object, RIPE Atlas a list)."""
    return isinstance(doc, dict) and "schema_version" in doc and isinstance(doc.get("hops"), list)


def _number(obj: dict, key: str, lo: float, hi: float, where: str, required: bool = False) -> float | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise SessionError(f"{where}: {key} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SessionError(f"{where}: {key} is {clean_text(repr(value), 40)}, not a number")
    value = float(value)
    if not math.isfinite(value) or not lo <= value <= hi:
        raise SessionError(f"{where}: {key} {value:g} is out of range ({lo:g} to {hi:g})")
    return value


def _count(obj: dict, key: str, where: str, lo: int = 0, hi: int = MAX_COUNT) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SessionError(f"{where}: {key} is {clean_text(repr(value), 40)}, not a whole number")
    if not lo <= value <= hi:
        raise SessionError(f"{where}: {key} {value} is out of range ({lo} to {hi})")
    return value


def _text(obj: dict, key: str, where: str, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise SessionError(f"{where}: {key} is {clean_text(repr(value), 40)}, not text")
    return clean_text(value.strip())


def _host(text: object) -> bool:
    """An address, or the name an mtr report showed in its place (a report of an mtr --json session)."""
    return isinstance(text, str) and 0 < len(text) <= 255 and (is_ip(text) or not any(c.isspace() for c in text))


def _address(obj: dict, key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not _host(value):
        raise SessionError(f"{where}: {key} {clean_text(repr(value), 60)} is not an address")
    return clean_text(value)


def _hop(raw: object, where: str) -> HopSummary:
    if not isinstance(raw, dict):
        raise SessionError(f"{where}: not an object")
    ttl = _count(raw, "ttl", where, 1, MAX_TTL)
    where = f"{where} (ttl {ttl})"
    address = _address(raw, "address", where)
    sent = _count(raw, "sent", where)
    received = _count(raw, "received", where)
    if received > sent:
        raise SessionError(f"{where}: received {received} is more than sent {sent}")
    loss_pct = _number(raw, "loss_pct", 0.0, 100.0, where)
    if sent and loss_pct is None:
        raise SessionError(f"{where}: loss_pct is missing for {sent} probes sent")
    if loss_pct is not None and sent and abs(loss_pct - 100.0 * (sent - received) / sent) > _ROUNDING:
        raise SessionError(f"{where}: loss_pct {loss_pct:g} does not follow from sent {sent} and received {received}")
    times = {k: _number(raw, k, 0.0, MAX_RTT_MS, where) for k in _TIMES}
    if received == 0 and any(v is not None for v in times.values()):
        raise SessionError(f"{where}: times given for a hop that received nothing")
    if received and times["avg_ms"] is None:
        raise SessionError(f"{where}: avg_ms is missing for {received} replies")
    lo, avg, hi = times["min_ms"], times["avg_ms"], times["max_ms"]
    if None not in (lo, avg, hi) and not lo - _ROUNDING <= avg <= hi + _ROUNDING:  # type: ignore[operator]
        raise SessionError(f"{where}: min_ms {lo:g}, avg_ms {avg:g} and max_ms {hi:g} are not in order")
    responders = raw.get("responders") or {}
    if not isinstance(responders, dict):
        raise SessionError(f"{where}: responders is not an object of address to replies")
    counted: list[tuple[str, int]] = []
    for addr, n in responders.items():
        if not _host(addr) or isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= received:
            raise SessionError(f"{where}: responders holds {clean_text(repr(addr), 60)}: {clean_text(repr(n), 20)}")
        counted.append((clean_text(addr), n))
    if sum(n for _, n in counted) > received:
        raise SessionError(f"{where}: responders answered more often than the {received} replies received")
    if received and address is None:
        raise SessionError(f"{where}: {received} replies but no address")
    return HopSummary(
        ttl=ttl,
        address=address,
        name=_text(raw, "name", where),
        sent=sent,
        received=received,
        loss_pct=loss_pct if sent else None,
        last_ms=times["last_ms"],
        avg_ms=avg,
        min_ms=lo,
        max_ms=hi,
        stdev_ms=times["stdev_ms"],
        jitter_ms=times["jitter_ms"],
        responders=tuple(counted),
        unreachable=_text(raw, "unreachable", where),
    )


def pingmos_report_from_doc(doc: dict, path: str) -> MemorySession:
    """A pingmos report's JSON (``looks_like_pingmos_report``) as a session of per-hop totals; SessionError (one
    line naming ``path``, the hop and the field) when it is damaged or of another schema version."""
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise SessionError(
            f"{path}: a pingmos report of schema_version {clean_text(repr(version), 20)}; this pingmos reads "
            f"version {SCHEMA_VERSION}"
        )
    target = _text(doc, "target", path, required=True)
    address = _address(doc, "address", path) or ""
    protocol = doc.get("protocol")
    if protocol not in PROTOCOLS:
        raise SessionError(f"{path}: protocol is {clean_text(repr(protocol), 20)}, not one of {', '.join(PROTOCOLS)}")
    interval_s = _number(doc, "interval_s", 1e-3, _MAX_INTERVAL_S, path, required=True)
    reached = doc.get("destination_reached")
    if reached is not None and not isinstance(reached, bool):
        raise SessionError(f"{path}: destination_reached is {clean_text(repr(reached), 20)}, not true or false")
    window = doc.get("window")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
        raise SessionError(f"{path}: window is {clean_text(repr(window), 20)}, not a sample count")
    started_at = None
    measured: list[float] | None = None  # when the report's probes were sent: first and last, s since the epoch
    span = doc.get("time_range")
    if span is not None:
        if not isinstance(span, dict):
            raise SessionError(f"{path}: time_range is not an object")
        started_at = _number(span, "from", 0.0, _MAX_TIME_S, f"{path}: time_range", required=True)
        ended_at = _number(span, "to", 0.0, _MAX_TIME_S, f"{path}: time_range", required=True)
        if ended_at < started_at:  # type: ignore[operator]
            raise SessionError(f"{path}: time_range ends ({ended_at:g}) before it starts ({started_at:g})")
        measured = [started_at, ended_at]  # type: ignore[list-item]
    summaries: dict[int, HopSummary] = {}
    family = OneFamily()
    if address:
        family.check(address, "the target's address")
    for i, raw in enumerate(doc["hops"]):
        hop = _hop(raw, f"{path}: hops[{i}]")
        if hop.ttl in summaries:
            raise SessionError(f"{path}: hops[{i}] repeats ttl {hop.ttl}")
        summaries[hop.ttl] = hop
        try:
            for responder in [hop.address or ""] + [a for a, _ in hop.responders]:
                if is_ip(responder):
                    family.check(responder, f"hops[{i}]'s responder")
        except ValueError as exc:
            raise SessionError(f"{path}: {exc}") from None
    recorded = _recorded(doc, path)
    notes = [
        f"a pingmos report holds each hop's totals: with its own model and settings ({recorded['model'][:30]}) R, "
        "MOS, their intervals and the diagnosis are the report's own; another model or setting scores the totals, "
        "with no MOS interval and loss judged from counts (--record FILE keeps every sample)"
        if "model" in recorded
        else "a pingmos report holds each hop's totals, not its samples: scored from the totals (a model that reads "
        "the samples, as g107-jb does, may score them otherwise), with no per-round diagnosis (pingmos report "
        "--record FILE keeps every sample)"
    ]
    if window is not None:
        notes.append(f"the report's numbers are over the last {window} samples of each hop (--window {window})")
    info = SessionInfo(
        target=target or address,
        address=address,
        protocol=str(protocol),
        interval_s=float(interval_s),  # type: ignore[arg-type]
        started_at=started_at,
        source=SOURCE,
        extra={
            "destination_reached": reached,
            "window": window,
            "notes": notes,
            "time_range": measured,
            "recorded": recorded,
        },
    )
    return MemorySession(path, info, summaries=tuple(summaries[t] for t in sorted(summaries)))


_DIAGNOSIS_STATUSES = (PROBLEM, NO_PROBLEM, UNDECIDED)


def _recorded(doc: dict, path: str) -> dict:
    """What the report computed from its samples and its totals cannot give again (see the module docstring):
    ``probes_sent``, ``unmatched_replies``, ``suspicious_replies`` (counts, when written) and, when the model's
    figures are complete (a model name and settings, every hop's r, mos and mos_ci written and none failed, a
    diagnosis), ``model``, ``model_settings``, ``scores`` (ttl -> (r, mos, mos_ci, mos_ci_few_samples)) and
    ``diagnosis`` (its JSON).
    SessionError when one of them is written but malformed: the file is strict like the rest."""
    out: dict = {}
    for key in ("probes_sent", "unmatched_replies", "suspicious_replies"):
        if doc.get(key) is not None:
            out[key] = _count(doc, key, path)
    model, settings, diagnosis = doc.get("model"), doc.get("model_settings"), doc.get("diagnosis")
    if not isinstance(model, str) or not isinstance(settings, dict) or not isinstance(diagnosis, dict):
        return out
    scores: dict[int, tuple] = {}
    for i, raw in enumerate(doc["hops"]):
        if not isinstance(raw, dict) or not all(k in raw for k in ("r", "mos", "mos_ci")):
            return out
        if raw.get("score_error") or raw.get("score_fallback"):
            return out  # the model failed there: nothing of its own to give back
        where = f"{path}: hops[{i}]"
        # The ranges every model's result is held to (scoring.model.check_result): an R or MOS outside them is
        # no model's, and would be shown as the file's own (R 1000 was, beside MOS 4.40).
        r = _number(raw, "r", R_MIN, R_MAX, where)
        mos = _number(raw, "mos", MOS_MIN, MOS_MAX, where)
        ci = raw.get("mos_ci")
        if ci is not None:
            if not isinstance(ci, list) or len(ci) != 2:
                raise SessionError(f"{where}: mos_ci is {clean_text(repr(ci), 40)}, not [low, high]")
            ci = tuple(_number({"mos_ci": v}, "mos_ci", MOS_MIN, MOS_MAX, where, required=True) for v in ci)
            if mos is None or not ci[0] - _ROUNDING <= mos <= ci[1] + _ROUNDING:
                raise SessionError(f"{where}: mos_ci {list(ci)} does not hold mos {mos}")
        few = raw.get("mos_ci_few_samples", False)  # the interval is from too few samples (older files: absent)
        if not isinstance(few, bool):
            raise SessionError(f"{where}: mos_ci_few_samples is {clean_text(repr(few), 20)}, not true or false")
        scores[raw.get("ttl")] = (r, mos, ci, few and ci is not None)  # ttl checked by _hop
    where = f"{path}: diagnosis"
    status, per_round, verdict = diagnosis.get("status"), diagnosis.get("per_round"), diagnosis.get("verdict")
    if status not in _DIAGNOSIS_STATUSES or not isinstance(per_round, bool) or not isinstance(verdict, str):
        raise SessionError(f"{where}: status, per_round or verdict is missing or mistyped")
    ttls = {}
    for key in ("deteriorates_at_ttl", "rounds_needed"):
        value = diagnosis.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise SessionError(f"{where}: {key} is {clean_text(repr(value), 20)}, not a whole number")
        ttls[key] = value
    for key in ("location_ttls", "rate_limited_ttls"):
        value = diagnosis.get(key)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in value)
        ):
            raise SessionError(f"{where}: {key} is {clean_text(repr(value), 40)}, not a list of hop numbers")
        ttls[key] = value
    if ttls["location_ttls"] is not None and len(ttls["location_ttls"]) != 2:
        raise SessionError(f"{where}: location_ttls is not [first, last]")
    out.update(
        model=clean_text(model),
        model_settings=settings,
        scores=scores,
        diagnosis={"status": status, "per_round": per_round, "verdict": clean_text(verdict, 4000), **ttls},
    )
    return out
