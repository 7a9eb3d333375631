"""Where is the problem, on a real (emulated) network: bursty loss on one link is named at the hop after it; a
router that rate-limits its ICMP errors is never named; direct echo to it (not rate-limited by the kernel:
icmp_ratemask covers errors like time-exceeded, not echo replies) is evidence weighed with the per-round data.

Link i joins hop i and hop i+1 (link 0: client - r1), so loss on link i first shows at hop i+1. The lossy link is
down in bursts of about one round (congestion loss): the diagnosis judges carry-on by the same rounds lost further
on (pingmos/diagnosis.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.lab.run_report import hops_by_ttl, run_report
from tests.netlab import LinkSpec, RouterSpec
from tests.netlab.lab import Direction

pytestmark = pytest.mark.lab

ROUNDS, INTERVAL_S = "60", "0.1"
CLEAN = LinkSpec.symmetric(1.0)
LOSSY = LinkSpec(fwd=Direction(1.0, 0.0, 20.0, burst_ms=100.0), rev=Direction(1.0))  # down 20 % of the time
LIMIT_MS = 500  # one time-exceeded per 0.5 s at most: ~80 % of 10 probes/s go unanswered


def report(lab, *extra):
    return run_report(lab, lab.target_addr, "-c", ROUNDS, "-i", INTERVAL_S, "--timeout", "0.5", "--no-dns", *extra)


def test_real_loss_on_one_link_names_the_hop_after_it(lab_factory):
    lab = lab_factory([RouterSpec()] * 3, [CLEAN, CLEAN, LOSSY, CLEAN])
    doc = report(lab)
    d = doc["diagnosis"]
    assert d["status"] == "problem" and d["deteriorates_at_ttl"] == 3 and d["rate_limited_ttls"] == [], d
    assert f"hop 3 ({lab.hop_addrs[2]})" in d["verdict"] and f"between hop 2 ({lab.hop_addrs[1]})" in d["verdict"]
    hops = hops_by_ttl(doc)
    assert hops[2]["loss_pct"] == 0.0 and hops[3]["loss_pct"] > 5.0 and hops[4]["loss_pct"] > 5.0


def test_a_rate_limiting_router_is_never_named(lab_factory):
    lab = lab_factory([RouterSpec(), RouterSpec(icmp_ratelimit_ms=LIMIT_MS), RouterSpec()], [CLEAN] * 4)
    doc = report(lab, "--witness", "auto")
    d = doc["diagnosis"]
    assert hops_by_ttl(doc)[2]["loss_pct"] > 50.0  # what the eye sees in the table
    # 60 clean rounds cannot rule out 1 % loss at the destination (that takes 381): undecided, never hop 2.
    assert d["status"] in ("undecided", "no-problem") and d["deteriorates_at_ttl"] is None, d
    assert "confirms" not in d["verdict"]


def test_mixed_rate_limiting_before_real_loss_further_on(lab_factory):
    lab = lab_factory([RouterSpec(), RouterSpec(icmp_ratelimit_ms=LIMIT_MS), RouterSpec(), RouterSpec()],
                      [CLEAN, CLEAN, CLEAN, LOSSY, CLEAN])  # fmt: skip
    d = report(lab)["diagnosis"]
    assert d["status"] == "problem" and d["deteriorates_at_ttl"] == 4 and d["rate_limited_ttls"] == [2], d


def test_echo_is_weighed_with_the_rounds_right_in_front_of_real_loss(lab_factory):
    # r2 rate-limits and the link right behind it loses. Hop 2 answers too few rounds for its silence in the
    # destination's lost rounds to say anything; echo to r2 crosses links 0 and 1 only and comes back clean:
    # the loss starts at hop 3, and hop 2 is only rate limiting.
    lab = lab_factory(
        [RouterSpec(), RouterSpec(icmp_ratelimit_ms=LIMIT_MS), RouterSpec()], [CLEAN, CLEAN, LOSSY, CLEAN]
    )
    d = report(lab, "--witness", "auto")["diagnosis"]
    assert d["status"] == "problem" and d["deteriorates_at_ttl"] == 3 and d["rate_limited_ttls"] == [2], d
    assert "direct echo to hop 2" in d["verdict"] and "confirms" not in d["verdict"]


@pytest.mark.skipif(shutil.which("mtr") is None, reason="mtr (Debian package mtr-tiny) is not installed")
def test_an_mtr_raw_log_of_the_lossy_path_gets_the_same_verdict(lab_factory, tmp_path):
    lab = lab_factory([RouterSpec()] * 3, [CLEAN, CLEAN, LOSSY, CLEAN])
    raw = lab.run(["mtr", "-n", "--raw", "-c", ROUNDS, "-i", INTERVAL_S, "-G", "1", lab.target_addr])
    assert raw.returncode == 0, raw.stderr
    path = tmp_path / "path.mtr.raw"
    path.write_text(raw.stdout)
    argv = [sys.executable, "-m", "pingmos", "report", "--session", str(path), lab.target_addr]
    r = subprocess.run(
        [*argv, "--interval", INTERVAL_S, "--format", "json"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)["diagnosis"]
    assert d["status"] in ("problem", "undecided") and d["deteriorates_at_ttl"] in (3, None), d
