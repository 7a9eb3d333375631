"""Open a Trippy JSON report (``trip --mode json``) as a session of per-hop totals.

The layout (Trippy's ``report/types.rs``; numbers with decimals are written as strings with two decimals):

    {"info": {"target": {"ip": "198.18.4.2", "hostname": "target.lab.test"}},
     "hops": [{"ttl": 1,
               "hosts": [{"ip": "198.18.0.2", "hostname": "r1.lab.test"}],   # every address seen at this TTL
               "extensions": [...],                                          # ICMP extensions (MPLS): ignored
               "loss_pct": "0.00", "sent": 10, "recv": 10,
               "last": "2.31", "avg": "2.40", "best": "2.20", "worst": "2.71", "stddev": "0.15",
               "jitter": "0.10", "javg": "0.80", "jmax": "0.40", "jinta": "1.20",
               "nat": null}, ...]}

Like an mtr --json report it holds totals only (HopSummary rows, no window or time range). Trippy writes 0.00 for
the times of a hop that never answered: those are unknown (None), never 0. Trippy's jitter fields are not
pingmos's jitter: ``jitter`` is the latest |difference| only, and ``javg`` averages with the first reply's whole
RTT counted as its jitter (Trippy's ``state.rs``: the previous RTT starts at 0), which cannot be undone without
that first RTT; so jitter is unknown (None) and a note says so. Whether the destination was reached is decided
from ``info.target.ip`` against the addresses the hops list.
"""

from __future__ import annotations

from pingmos.session.model import HopSummary, SessionError, SessionInfo
from pingmos.session.mtr_import import MAX_RTT_MS, MAX_TTL, clean_text, count_field, is_ip, number_field
from pingmos.session.replay import MemorySession


def looks_like_trippy(doc: object) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("info"), dict) and isinstance(doc.get("hops"), list)


def _hop(hop: object) -> HopSummary:
    if not isinstance(hop, dict):
        raise ValueError("the hop is not an object")
    ttl = count_field(hop, "ttl")
    if ttl is None or not 1 <= ttl <= MAX_TTL:
        raise ValueError(f"ttl {ttl} is not a hop number (1 to {MAX_TTL})")
    sent, received = count_field(hop, "sent"), count_field(hop, "recv")
    if sent is None or received is None:
        raise ValueError("sent and recv are needed")
    if received > sent:
        raise ValueError(f"recv {received} is more than sent {sent}")
    hosts = hop.get("hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, dict) and is_ip(str(h.get("ip", ""))) for h in hosts):
        raise ValueError("hosts is not a list of {ip, hostname}")
    if received and not hosts:
        raise ValueError(f"recv {received} but no host")
    address = str(hosts[0]["ip"]) if hosts else None
    name = hosts[0].get("hostname") if hosts else None
    name = clean_text(name) if isinstance(name, str) and name and name != address else None
    loss_pct = number_field(hop, "loss_pct", 0.0, 100.0)
    if loss_pct is None:
        loss_pct = 100.0 * (sent - received) / sent if sent else None
    times = {k: number_field(hop, k, 0.0, MAX_RTT_MS) for k in ("last", "avg", "best", "worst", "stddev")}
    if not received:
        times = dict.fromkeys(times)
    return HopSummary(
        ttl=ttl,
        address=address,
        name=name,
        sent=sent,
        received=received,
        loss_pct=loss_pct,
        last_ms=times["last"],
        avg_ms=times["avg"],
        min_ms=times["best"],
        max_ms=times["worst"],
        stdev_ms=times["stddev"] if received >= 2 else None,
        jitter_ms=None,
    )


def parse_trippy_json(doc: dict, path: str) -> MemorySession:
    """A parsed Trippy JSON report as a session of per-hop totals; SessionError (one line) when it is not one."""
    target = doc["info"].get("target")
    if not isinstance(target, dict) or not is_ip(str(target.get("ip", ""))):
        raise SessionError(f"{path}: not a Trippy report (info.target.ip is not an IP address)")
    dst = str(target["ip"])
    typed = target.get("hostname")
    summaries: dict[int, HopSummary] = {}
    for i, hop in enumerate(doc["hops"]):
        try:
            s = _hop(hop)
        except ValueError as exc:
            raise SessionError(f"{path}: hop {i + 1} of the Trippy report is unreadable: {exc}") from None
        if s.ttl in summaries:
            raise SessionError(f"{path}: hop {i + 1} of the Trippy report repeats ttl {s.ttl}")
        summaries[s.ttl] = s
    ordered = tuple(summaries[t] for t in sorted(summaries))
    reached = any(s.received and s.address == dst for s in ordered)
    notes = ["Trippy's jitter fields (jitter, javg) are other definitions than pingmos's: jitter unknown"]
    for hop in doc["hops"]:
        if len(hop.get("hosts", [])) > 1:
            ips = ", ".join(str(h.get("ip")) for h in hop["hosts"][:4])
            notes.append(f"hop {hop['ttl']}: several addresses answered ({ips}); Trippy gives no count per address, "
                         "so the hop shows the first")  # fmt: skip
    info = SessionInfo(
        target=clean_text(typed) if isinstance(typed, str) and typed else dst,
        address=dst,
        protocol="icmp",  # the report does not say
        interval_s=1.0,  # nor this: Trippy's default
        source="trippy --mode json",
        extra={
            "destination_reached": reached,
            "notes": notes,
        },
    )
    return MemorySession(path, info, summaries=ordered)
