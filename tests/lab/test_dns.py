"""Names come from the lab's DNS server; --no-dns asks nothing; an unknown name is a one-line error.

Every lookup here runs inside the lab's client namespace, whose resolv.conf points at the lab's own DNS
server (tests/netlab/dns.py), which answers NXDOMAIN for anything outside lab.test: the machine's resolver
is never asked.
"""

from __future__ import annotations

import pytest

from tests.lab.run_report import hops_by_ttl, report_argv, run_report
from tests.netlab import LinkSpec, uniform_chain

pytestmark = pytest.mark.lab


def test_names_come_from_the_lab_dns_and_no_dns_sends_no_query(lab_factory):
    lab = lab_factory(*uniform_chain(5, LinkSpec.symmetric(0.5)))
    lab.dns_queries(clear=True)

    doc = run_report(lab, "target.lab.test", "-c", "3", "-i", "0.1", "--timeout", "0.5")
    assert doc["address"] == lab.target_addr and doc["destination_reached"]
    hops = hops_by_ttl(doc)
    assert [hops[t]["name"] for t in sorted(hops)] == lab.hop_names
    asked = {(q["type"], q["name"]) for q in lab.dns_queries(clear=True)}
    assert ("A", "target.lab.test") in asked
    assert {f"{a.split('.')[3]}.{a.split('.')[2]}.18.198.in-addr.arpa" for a in lab.hop_addrs} <= {
        name for kind, name in asked if kind == "PTR"
    }

    doc = run_report(lab, lab.target_addr, "-c", "3", "-i", "0.1", "--timeout", "0.5", "--no-dns")
    assert doc["destination_reached"] and all(hop["name"] is None for hop in doc["hops"])
    assert [h["address"] for h in doc["hops"]] == lab.hop_addrs
    assert lab.dns_queries() == []


def test_unresolvable_name_exits_2_with_one_line(lab_factory):
    lab = lab_factory(*uniform_chain(1, LinkSpec()))
    lab.dns_queries(clear=True)
    proc = lab.run(report_argv("no-such-host.lab.test", "-c", "1"), timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("pingmos report: error: cannot resolve")
    assert "no-such-host.lab.test" in proc.stderr
    # The question went to the lab's server (which said NXDOMAIN), nowhere else.
    assert "no-such-host.lab.test" in {q["name"] for q in lab.dns_queries()}


@pytest.mark.parametrize(
    "name", ["bad_label.lab.test", "target.lab.test/24", "a b.lab.test", "x" * 64 + ".lab.test", "target.lab.999"]
)
def test_a_malformed_name_is_refused_in_one_line_and_never_asked(lab_factory, name):
    """The syntax check runs before any lookup: the lab's DNS server sees no query for a malformed name."""
    lab = lab_factory(*uniform_chain(1, LinkSpec()))
    lab.dns_queries(clear=True)
    proc = lab.run(report_argv(name, "-c", "1"), timeout=30)
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("pingmos report: error: ")
    assert "cannot resolve" not in proc.stderr
    assert lab.dns_queries() == []
