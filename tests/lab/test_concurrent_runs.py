"""Two pingmos runs at once against the same lab: each counts only its own replies."""

from __future__ import annotations

import pytest

from tests.lab.run_report import by_ttl, finish, hops_by_ttl, parse_report, start_report
from tests.netlab import LinkSpec, uniform_chain

pytestmark = pytest.mark.lab

ROUNDS = 20


def test_concurrent_runs_count_only_their_own_replies(lab_factory):
    lab = lab_factory(*uniform_chain(5, LinkSpec.symmetric(1.0)))
    options = ("-c", str(ROUNDS), "-i", "0.1", "--timeout", "0.5", "--no-dns")
    with lab.capture() as cap:
        runs = [start_report(lab, lab.target_addr, *options) for _ in range(2)]
        docs = [parse_report(finish(run), f"run {i}") for i, run in enumerate(runs)]

    for doc in docs:
        hops = hops_by_ttl(doc)
        assert doc["destination_reached"] and sorted(hops) == list(range(1, 7))
        # A lossless path: exactly one reply per probe, none of the other run's on top.
        for ttl, hop in hops.items():
            assert (hop["sent"], hop["received"]) == (ROUNDS, ROUNDS), hop
            assert hop["responders"] == {lab.hop_addrs[ttl - 1]: ROUNDS}
    # Both raw sockets see every ICMP message of the namespace, so the other run's replies did reach each
    # engine, and were set aside as not ours.
    assert any(doc["unmatched_replies"] > 0 for doc in docs), [doc["unmatched_replies"] for doc in docs]

    # On the wire: two identifiers, one per run, each with as many probes as that run says it sent.
    probes = cap.probes()
    by_ident = by_ttl(probes, ttl_of=lambda p: p.key[:2])
    assert len(by_ident) == 2, sorted(by_ident)
    assert sorted(len(v) for v in by_ident.values()) == sorted(doc["probes_sent"] for doc in docs)
    assert all(p.rx_ns is not None for p in probes if p.ttl <= 6)
