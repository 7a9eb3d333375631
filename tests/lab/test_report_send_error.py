"""A firewall rule that appears on the client in the middle of a trace makes the kernel refuse sends (EPERM):
`pingmos report` prints what it measured until then, one error line saying what happened, and exits 1."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from tests.lab.run_report import finish, start_report
from tests.netlab import LinkSpec, uniform_chain

pytestmark = pytest.mark.lab

# Output ICMP dropped in the client namespace only (nftables drop on the output hook: sendto() gets EPERM).
BLOCK_ICMP = "table ip pmlab_block {\n  chain output {\n    type filter hook output priority 0; policy accept;\n" \
             "    ip protocol icmp drop\n  }\n}\n"  # fmt: skip


def _echoes_sent(lab) -> int:
    """ICMP echo requests the client namespace has sent so far (/proc/net/snmp, per network namespace)."""
    lines = [ln.split() for ln in lab.run(["cat", "/proc/net/snmp"]).stdout.splitlines()]
    icmp = [ln for ln in lines if ln and ln[0] == "Icmp:"]
    return int(icmp[1][icmp[0].index("OutEchos")])


@pytest.mark.skipif(shutil.which("nft") is None, reason="needs nftables (nft)")
def test_a_firewall_rule_mid_trace_ends_with_the_partial_report_and_one_error_line(lab_factory):
    lab = lab_factory(*uniform_chain(2, LinkSpec.symmetric(1.0)))
    run = start_report(lab, lab.target_addr, "-c", "100", "-i", "0.1", "--timeout", "0.3", "--no-dns")
    # The rule goes in once several rounds are out (the client namespace's ICMP OutEchos counter), not after a
    # fixed sleep: on a loaded machine the report's first probe can leave more than a second after the start.
    # 20 echoes are at least 4 rounds: the first round sends up to ~8 (its TTLs due within 20 ms leave together,
    # before the destination at TTL 3 has answered; engine/tracer.py SEND_AHEAD_S), later ones 3-4.
    # On a loaded machine (CI at load 10) the first round can send more TTLs than that before the destination's
    # answer is read, and 20 echoes were 2 rounds once: so also 0.6 s (6 rounds' time) since the first echo left.
    deadline = time.monotonic() + 30.0
    first_out = None
    while time.monotonic() < deadline:
        sent = _echoes_sent(lab)
        if sent and first_out is None:
            first_out = time.monotonic()
        if sent >= 20 and first_out is not None and time.monotonic() - first_out >= 0.6:
            break
        time.sleep(0.05)
    lab.run(["nft", "-f", "-"], input=BLOCK_ICMP, text=True, check=True, capture_output=True)
    rc, out, err = finish(run, timeout_s=30.0)
    assert rc == 1, err
    assert "Traceback" not in err and err.count("\n") == 1
    assert err.startswith("pingmos report: error: the trace stopped after ")
    assert "(Operation not permitted): a firewall rule on this host may drop" in err
    doc = json.loads(out)
    assert 2 <= doc["rounds"] < 100 and doc["destination_reached"], doc["rounds"]
    assert [h["received"] for h in doc["hops"]] == [h["sent"] for h in doc["hops"]]  # nothing lost before the rule
