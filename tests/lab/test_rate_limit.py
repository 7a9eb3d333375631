"""A router that rate-limits its ICMP errors shows loss at its hop, while the hops behind it show none.

The kernel's limit (net.ipv4.icmp_ratelimit, per destination) is a token bucket: one time-exceeded per
RATELIMIT_MS on average, with a burst of at most 6 (XRLIM_BURST_FACTOR in net/ipv4/inetpeer.c). Probes sent
*through* the router are forwarded, not answered by it, so they are not limited.
"""

from __future__ import annotations

import time

import pytest

from tests.lab.run_report import hops_by_ttl, run_report
from tests.netlab import LinkSpec, RouterSpec

pytestmark = pytest.mark.lab

ROUNDS = 30
INTERVAL_S = 0.1
LIMITED_HOP = 2
RATELIMIT_MS = 500
BURST = 6


def test_rate_limited_router_loses_replies_and_later_hops_do_not(lab_factory):
    routers = [RouterSpec(icmp_ratelimit_ms=RATELIMIT_MS if k == LIMITED_HOP else None) for k in range(1, 6)]
    lab = lab_factory(routers, [LinkSpec.symmetric(1.0)] * 6)
    started = time.monotonic()
    doc = run_report(lab, lab.target_addr, "-c", str(ROUNDS), "-i", str(INTERVAL_S), "--timeout", "0.5", "--no-dns")
    elapsed_s = time.monotonic() - started
    hops = hops_by_ttl(doc)

    assert doc["destination_reached"] and sorted(hops) == list(range(1, 7))
    limited = hops[LIMITED_HOP]
    # At 10 probes/s against one answer per 0.5 s, most go unanswered; the bucket allows at most its burst
    # plus one token per RATELIMIT_MS of the whole run.
    most_allowed = BURST + int(elapsed_s * 1000 / RATELIMIT_MS) + 1
    assert limited["sent"] == ROUNDS
    assert 1 <= limited["received"] <= most_allowed, limited
    assert limited["address"] == lab.hop_addrs[LIMITED_HOP - 1]
    assert limited["loss_pct"] >= 100.0 * (ROUNDS - most_allowed) / ROUNDS
    for ttl in (1, 3, 4, 5, 6):
        assert (hops[ttl]["sent"], hops[ttl]["received"]) == (ROUNDS, ROUNDS), hops[ttl]
