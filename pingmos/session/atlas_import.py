"""Open RIPE Atlas traceroute results as a session of raw samples.

RIPE Atlas publishes results as JSON (https://atlas.ripe.net/doc/data_struct, traceroute, firmware 4400 on): a
list of results, one per probe run, or one such object. The fields read here:

    {"type": "traceroute", "prb_id": 1001, "msm_id": 5001, "fw": 5080,
     "dst_addr": "198.18.4.2", "dst_name": "target.lab.test", "src_addr": "198.18.0.1", "proto": "ICMP", "af": 4,
     "timestamp": 1700000000,                  # when the run started (s since the epoch)
     "result": [{"hop": 1,                      # the TTL
                 "result": [{"from": "198.18.0.2", "rtt": 2.31, "size": 28, "ttl": 255},   # a reply, rtt in ms
                            {"x": "*"},                                                    # no reply: lost
                            {"from": "198.18.0.2", "rtt": 2.4, "dup": true},               # a duplicate: ignored
                            {"late": 1},                                                   # a late packet: ignored
                            {"error": "sendto failed"}]},                                  # not sent: ignored
                {"hop": 2, "error": "..."}, ...]}

Every packet of a run is one sample: round = run x packets per hop + packet index, sent at the run's timestamp
(the packets of a run follow each other within seconds; Atlas records no time per packet). A reply counts as the
destination's when it comes from ``dst_addr``. The results hold no totals (no loss, average or count of their own),
so unlike mtr's and Trippy's reports they cannot contradict themselves: pingmos computes every figure.

Several probes: a measurement's results hold one entry per probe and per run, and each probe (``prb_id``) is its
own vantage point with its own path, so their runs are never pooled into one trace. ``probe`` picks one
(``pingmos report --session FILE --probe ID``; the window asks which); without it, a file of several probes is
refused with one line naming each probe id and its runs (``SeveralProbes``, which carries them for a front end to
offer). One probe's runs to several targets (files joined by hand) are refused, naming the targets.
"""

from __future__ import annotations

import ipaddress
import json

from pingmos.engine import Sample
from pingmos.session.model import SessionError, SessionInfo
from pingmos.session.mtr_import import MAX_RTT_MS, MAX_TTL, OneFamily, clean_text, is_ip
from pingmos.session.replay import MemorySession

MAX_TIME_S = 253_402_300_799  # year 9999


def looks_like_atlas(doc: object) -> bool:
    runs = doc if isinstance(doc, list) else [doc]
    return bool(runs) and all(isinstance(r, dict) and r.get("type") == "traceroute" for r in runs)


def _int(value: object, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        # As the file has it (JSON): the text "1" shows quoted, true as true.
        shown = clean_text(json.dumps(value), 40)
        raise ValueError(f"{what} {shown} is not a whole number within {lo} and {hi}")
    return value


class SeveralProbes(SessionError):
    """The results hold several probes' traceroutes and none was chosen. ``probes``: (prb_id, runs) in id order."""

    def __init__(self, message: str, probes: tuple[tuple[int, int], ...]):
        super().__init__(message)
        self.probes = probes


def probe_ids(runs: list) -> dict[int, int]:
    """prb_id -> how many runs of it the results hold; ValueError naming the run whose prb_id is no whole number."""
    counts: dict[int, int] = {}
    for i, run in enumerate(runs):
        try:
            prb = _int(run.get("prb_id"), "prb_id", 0, 2**31 - 1)
        except ValueError as exc:
            raise ValueError(f"run {i + 1}: {exc}") from None
        counts[prb] = counts.get(prb, 0) + 1
    return dict(sorted(counts.items()))


def _runs_text(counts: dict[int, int], limit: int = 12) -> str:
    parts = [f"{p} ({n} run{'s' if n != 1 else ''})" for p, n in list(counts.items())[:limit]]
    more = len(counts) - limit
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def select_probe(runs: list, path: str, probe: int | None) -> list:
    """The runs of ``probe``, or of the only probe there is; SeveralProbes when several and none chosen."""
    try:
        counts = probe_ids(runs)
    except ValueError as exc:
        raise SessionError(f"{path}: the RIPE Atlas results are unreadable: {exc}") from None
    if probe is not None:
        if probe not in counts:
            raise SessionError(
                f"{path}: the RIPE Atlas results hold no run of probe {probe}; they hold probes {_runs_text(counts)}"
            )
        return [r for r in runs if r.get("prb_id") == probe]
    if len(counts) > 1:
        raise SeveralProbes(
            f"{path}: RIPE Atlas results of {len(counts)} probes, each its own path: {_runs_text(counts)}; choose "
            "one with --probe ID",
            tuple(counts.items()),
        )
    return runs


def parse_atlas_json(doc: object, path: str, probe: int | None = None) -> MemorySession:
    """RIPE Atlas traceroute results (parsed JSON) as a session of one probe's runs (``probe``, or the only one);
    SessionError (one line) when unreadable, SeveralProbes when several probes are there and none is chosen."""
    runs = select_probe(doc if isinstance(doc, list) else [doc], path, probe)
    targets = sorted({str(r.get("dst_addr")) for r in runs})
    if len(targets) > 1:
        raise SessionError(
            f"{path}: the runs of probe {runs[0].get('prb_id')} go to {len(targets)} targets "
            f"({', '.join(clean_text(t, 60) for t in targets[:5])}); pingmos opens one probe's runs to one target: "
            "split the file by dst_addr"
        )
    dst = runs[0].get("dst_addr")
    if not isinstance(dst, str) or not is_ip(dst):
        raise SessionError(f"{path}: run 1 of the RIPE Atlas results has no dst_addr IP address")
    family = OneFamily()
    family.check(dst, "dst_addr")
    dst_version = ipaddress.ip_address(dst).version
    samples: list[Sample] = []
    skipped = 0
    round_base = 0
    stamps = []
    ordered = sorted(enumerate(runs), key=lambda ir: ir[1].get("timestamp") if isinstance(
        ir[1].get("timestamp"), int) else 0)  # fmt: skip
    for i, run in ordered:
        try:
            started = _int(run.get("timestamp"), "timestamp", 0, MAX_TIME_S)
            af = run.get("af")  # the address family Atlas probed with: 4 or 6
            if af is not None and af != dst_version:
                raise ValueError(f"af {clean_text(json.dumps(af), 20)} but dst_addr {dst} is IPv{dst_version}")
            hops = run.get("result")
            if not isinstance(hops, list):
                raise ValueError("result is not a list of hops")
            width = 0
            seen_ttls: set[int] = set()
            for hop in hops:
                if not isinstance(hop, dict):
                    raise ValueError("a hop is not an object")
                ttl = _int(hop.get("hop"), "hop", 1, MAX_TTL)
                if ttl in seen_ttls:
                    # Atlas writes each hop of a run once; its packets twice would count each probe twice.
                    raise ValueError(f"hop {ttl} is listed twice (the run was edited or joined)")
                seen_ttls.add(ttl)
                packets = hop.get("result", [])
                if not isinstance(packets, list):
                    raise ValueError(f"hop {ttl}: result is not a list")
                k = 0
                for packet in packets:
                    if not isinstance(packet, dict):
                        raise ValueError(f"hop {ttl}: a packet is not an object")
                    if packet.get("x") == "*":
                        rtt, responder = None, None
                    elif "rtt" in packet and not packet.get("dup") and not packet.get("late"):
                        rtt = packet["rtt"]
                        if isinstance(rtt, bool) or not isinstance(rtt, int | float) or not 0 <= rtt <= MAX_RTT_MS:
                            raise ValueError(f"hop {ttl}: rtt {clean_text(str(rtt), 40)!r} is not a time in ms")
                        responder = packet.get("from")
                        if not isinstance(responder, str) or not is_ip(responder):
                            raise ValueError(f"hop {ttl}: from {clean_text(str(responder), 40)!r} is not an address")
                        family.check(responder, f"hop {ttl}: from")
                        rtt = float(rtt)
                    else:
                        skipped += 1  # a duplicate, a late packet, an error (not sent), an unknown entry
                        continue
                    samples.append(Sample(round_base + k, ttl, k, float(started), rtt, responder, responder == dst))
                    k += 1
                width = max(width, k)
        except ValueError as exc:
            raise SessionError(f"{path}: run {i + 1} of the RIPE Atlas results is unreadable: {exc}") from None
        round_base += max(width, 1)
        stamps.append(started)
    if not samples:
        raise SessionError(f"{path}: the RIPE Atlas results hold no probe results")
    first = runs[0]
    notes = ["RIPE Atlas records no time per packet: each run's packets are placed at the run's start"]
    if skipped:
        notes.append(f"{skipped} packet entries (duplicates, late packets, errors) were not counted")
    span = stamps[-1] - stamps[0]
    interval_s = max(1.0, span / max(1, round_base - 1)) if len(stamps) > 1 else 1.0
    name = first.get("dst_name")
    info = SessionInfo(
        target=clean_text(name) if isinstance(name, str) and name else dst,
        address=dst,
        protocol=str(first.get("proto", "icmp")).lower()[:8],
        interval_s=interval_s,
        started_at=float(stamps[0]),
        source="RIPE Atlas",
        extra={
            "prb_id": clean_text(str(first.get("prb_id")), 40),
            "msm_id": clean_text(str(first.get("msm_id")), 40),
            "runs": len(runs),
            "notes": notes,
        },
    )
    return MemorySession(path, info, samples=sorted(samples, key=lambda s: (s.round, s.ttl)))
