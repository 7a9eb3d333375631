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
the times of a hop that never answered: those are unknown (None), never 0. Whether the destination was reached is
decided from ``info.target.ip`` against the addresses the hops list. A loss_pct that does not follow from sent and
recv (within its two decimals, or with one probe in flight) and best <= avg <= worst broken are refused with one
line, as for mtr (``mtr_import.check_loss``, ``check_order``).

Jitter: no Trippy field is pingmos's jitter, so it is imported as unknown (None) and a note says so, as for mtr's
Javg where the conversion is impossible. pingmos's JITTER is the mean |D| of consecutive replies (PingPlotter's;
``scoring.jitter`` also offers RFC 3550's J += (|D| - J)/16 from J = 0 over the steps between replies). Trippy's
fields (trippy-core ``state.rs``, ``update_from_probe``; the previous RTT starts at 0, so the first reply's |D|
is its whole RTT):

    jitter  the latest |D| only: one step, not a figure of the window
    javg    (RTT_1 + sum of |D| over the later replies) / n: would be PingPlotter's mean |D| as
            (n javg - RTT_1) / (n - 1), but RTT_1 (the first reply's RTT) is not in the report
    jmax    max(RTT_1, max |D|): a maximum, and seeded with RTT_1
    jinta   RFC 1889 A.8's integer estimator, J scaled by 16 (``J += |D| - ((J + 8) >> 4)``), run on floating
            milliseconds with |D| floored at 0.5 ms: jinta / 16 follows RFC 3550's J of max(|D|, 0.5) - 0.5 ms
            from RTT_1 on, so it reads up to 0.5 ms low (more below 0.5 ms steps) and carries RTT_1; not
            RFC 3550's J, and not convertible to it

``tests/session/test_trippy_jitter.py`` checks these against Trippy's own test vector and a fixture.
"""

from __future__ import annotations

from pingmos.session.model import HopSummary, SessionError, SessionInfo
from pingmos.session.mtr_import import (
    MAX_RTT_MS,
    MAX_TTL,
    OneFamily,
    check_loss,
    check_order,
    clean_text,
    count_field,
    is_ip,
    number_field,
)
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
    else:
        check_loss(loss_pct, hop.get("loss_pct"), sent, received, ("loss_pct", "sent", "recv"))
    times = {k: number_field(hop, k, 0.0, MAX_RTT_MS) for k in ("last", "avg", "best", "worst", "stddev")}
    if not received:
        times = dict.fromkeys(times)
    check_order(times, hop, "best", "avg", "worst", "last")
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
    family = OneFamily()
    family.check(dst, "the target")
    for i, hop in enumerate(doc["hops"]):
        try:
            s = _hop(hop)
            for host in hop["hosts"]:  # every address that answered, not only the first the hop shows
                family.check(str(host["ip"]), f"ttl {s.ttl}'s host")
        except ValueError as exc:
            raise SessionError(f"{path}: hop {i + 1} of the Trippy report is unreadable: {exc}") from None
        if s.ttl in summaries:
            raise SessionError(f"{path}: hop {i + 1} of the Trippy report repeats ttl {s.ttl}")
        summaries[s.ttl] = s
    ordered = tuple(summaries[t] for t in sorted(summaries))
    reached = any(s.received and s.address == dst for s in ordered)
    notes = [
        "Trippy's jitter figures are other definitions than pingmos's (jitter: the latest step only; javg and "
        "jmax: seeded with the first reply's whole RTT; jinta: RFC 1889's scaled integer estimator with a 0.5 ms "
        "floor and offset): jitter unknown, so a model takes it as 0 ms"
    ]
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
