"""The destination is detected, and TTLs beyond it are probed only in the round that found it.

What the engine promises (pingmos/engine/scheduler.py, tracer.py): a round spreads its TTLs across the
interval, 1 .. max-ttl until the destination has answered, 1 .. the destination's TTL from the next round on;
probes that went beyond the destination before it answered are neither hops nor losses. On a path whose round
trip is well inside one interval, the destination answers during the first round, so: every TTL beyond it is
sent at most once, all of them in the first round, and no later round sends any.
"""

from __future__ import annotations

import pytest

from tests.lab.run_report import by_ttl, hops_by_ttl, run_report
from tests.netlab import LinkSpec, uniform_chain

pytestmark = pytest.mark.lab

ROUTERS = 5
ROUNDS = 20
MAX_TTL = 30


def test_destination_detected_and_no_ttl_beyond_it_after_the_first_round(lab_factory):
    lab = lab_factory(*uniform_chain(ROUTERS, LinkSpec.symmetric(2.0)))
    dest_ttl = ROUTERS + 1
    lab.reset_relay_stats()
    with lab.capture() as cap:
        doc = run_report(lab, lab.target_addr, "-c", str(ROUNDS), "-i", "0.1", "--timeout", "0.5", "--no-dns")
    probes = cap.probes()
    wire = by_ttl(probes)
    hops = hops_by_ttl(doc)

    # The report: destination found, exactly the hops up to it, each probed once per round, nothing lost.
    assert doc["destination_reached"] is True
    assert sorted(hops) == list(range(1, dest_ttl + 1))
    assert hops[dest_ttl]["address"] == lab.target_addr
    assert all((h["sent"], h["received"]) == (ROUNDS, ROUNDS) for h in hops.values()), doc["hops"]

    # The engine's own count of what it sent agrees with the wire and with the relay's counters.
    relay = lab.relay_stats()
    assert doc["probes_sent"] == len(probes) == relay[0]["fwd"]["packets_in"]
    beyond = [p for p in probes if p.ttl > dest_ttl]
    assert doc["probes_sent"] == ROUNDS * dest_ttl + len(beyond)
    # Everything from the destination's TTL up reaches the target: one probe per round plus those beyond it.
    assert relay[-1]["fwd"]["packets_in"] == ROUNDS + len(beyond)

    # Beyond the destination: each TTL at most once, in ascending order, all sent before round 2 started
    # (the second TTL-1 probe), and never more than a round's worth.
    assert all(len(wire[ttl]) == 1 for ttl in wire if ttl > dest_ttl), {t: len(v) for t, v in wire.items()}
    assert [p.ttl for p in beyond] == list(range(dest_ttl + 1, dest_ttl + 1 + len(beyond)))
    round2_start_ns = wire[1][1].tx_ns
    assert all(p.tx_ns < round2_start_ns for p in beyond)
    assert len(beyond) < MAX_TTL - dest_ttl
    # And they stopped promptly once the destination's first reply was in (kernel stamp), long before the
    # round would have reached max-ttl (~97 ms after it started, against ~40 ms for that reply).
    first_dest_reply_ns = min(p.rx_ns for p in probes if p.responder == lab.target_addr)
    assert max(p.tx_ns for p in beyond) < first_dest_reply_ns + 0.05e9
