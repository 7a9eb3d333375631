"""An independent measuring stick: mtr in the same client namespace, over the same path, at the same time.

mtr-packet stamps replies in user space (gettimeofday right after recvfrom, packet/probe_unix.c), pingmos
with the kernel's receive stamp; both ride the same relay at the same moment. On a busy 2-core machine mtr's
stamps lag the kernel's by up to a few milliseconds (seen with a capture on the client link: mtr's own probes
took no longer on the wire than pingmos's), so mtr runs under SCHED_FIFO (`chrt -f`) to make it as good a
reference as it can be. The lab's relay is a user-space process too: under load it can hold one tool's packets
longer than the other's (a run beside other test suites saw mtr's probes to hop 6 take 0.80 ms longer on the
wire than pingmos's, and the tools' averages differ by 0.91 ms). So the tools are compared after taking out what
the wire shows the lab did differently to each: a capture on the client link gives each tool's own wire round
trips (mtr-packet sends with its process id as the ICMP identifier, packet/construct_unix.c; pingmos's is the
other one). Jitter is left out here: with it, the two tools' averages differ by the sampling noise of different
packets; the engine's handling of jitter is
checked probe by probe against a capture in test_accuracy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from tests.lab.run_report import by_ttl, finish, hops_by_ttl, parse_report, start_report
from tests.netlab import LinkSpec, uniform_chain
from tests.netlab.bounds import binomial_interval, path_loss_prob

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(shutil.which("mtr") is None, reason="mtr (Debian package mtr-tiny) is not installed"),
    pytest.mark.skipif(shutil.which("chrt") is None, reason="chrt (Debian package util-linux) is not installed"),
]

ROUTERS = 5
DELAY_MS, LOSS_PCT = 2.0, 1.0
ROUNDS = 25
TOLERANCE_MS = 0.5  # what the issue asks for


def test_mtr_and_pingmos_agree_on_latency_and_loss(lab_factory):
    lab = lab_factory(*uniform_chain(ROUTERS, LinkSpec.symmetric(DELAY_MS, 0.0, LOSS_PCT)))
    mtr_argv = ["chrt", "-f", "5", "mtr", "-n", "--json", "-c", str(ROUNDS), "-i", "0.2", "-G", "1", lab.target_addr]
    with lab.capture() as cap:
        mtr = lab.popen(mtr_argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        mtr_packet_pids = _children_of(mtr.pid)
        pm = start_report(lab, lab.target_addr, "-c", str(ROUNDS), "-i", "0.2", "--timeout", "1", "--no-dns")
        doc = parse_report(finish(pm))
        mtr_rc, mtr_out, mtr_err = finish(mtr)
    assert mtr_rc == 0, mtr_err
    mtr_hops = {i: hub for i, hub in enumerate(json.loads(mtr_out)["report"]["hubs"], start=1)}
    hops = hops_by_ttl(doc)
    assert sorted(hops) == sorted(mtr_hops) == list(range(1, ROUTERS + 2))
    assert mtr_packet_pids, "mtr-packet (mtr's prober, a child of mtr) was not seen while mtr ran"
    mtr_idents = {pid & 0xFFFF for pid in mtr_packet_pids}
    probes = cap.probes()

    for ttl, hop in hops.items():
        m = mtr_hops[ttl]
        assert m["host"] == hop["address"] == lab.hop_addrs[ttl - 1]
        wire = _wire_avgs(probes, ttl)
        mtr_wire = [avg for ident, avg in wire.items() if ident in mtr_idents]
        pm_wire = [avg for ident, avg in wire.items() if ident not in mtr_idents]
        assert len(mtr_wire) == len(pm_wire) == 1, f"hop {ttl}: wire averages by ICMP id {wire}, mtr's {mtr_idents}"
        # What the lab did differently to the two tools' packets is not a disagreement between the tools.
        lab_diff_ms = pm_wire[0] - mtr_wire[0]
        diff_ms = (hop["avg_ms"] - m["Avg"]) - lab_diff_ms
        assert abs(diff_ms) <= TOLERANCE_MS, (
            f"hop {ttl}: pingmos avg {hop['avg_ms']} ms, mtr {m['Avg']} ms; on the wire pingmos's probes took "
            f"{pm_wire[0]} ms, mtr's {mtr_wire[0]} ms"
        )
        lo, hi = binomial_interval(ROUNDS, path_loss_prob(LOSS_PCT, ttl), 0.999)
        mtr_lost = round(m["Snt"] * m["Loss%"] / 100.0)
        assert m["Snt"] == hop["sent"] == ROUNDS
        assert lo <= mtr_lost <= hi, f"hop {ttl}: mtr lost {mtr_lost} of {ROUNDS}, 99.9 % interval {lo}..{hi}"
        assert lo <= hop["sent"] - hop["received"] <= hi, f"hop {ttl}: pingmos {hop}, interval {lo}..{hi}"


def _children_of(pid: int, timeout_s: float = 3.0) -> set[int]:
    """Process ids whose parent is `pid`, polled until one appears (mtr starts mtr-packet at once) or timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            # The fields after the command name (which may hold spaces) start with state, then the parent's pid.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
        if found:
            return found
        time.sleep(0.01)
    return set()


def _wire_avgs(probes, ttl: int) -> dict[int, float]:
    """Mean wire round trip (ms) of each ICMP identifier's probes to `ttl`: who really took longer."""
    out = {}
    for ident, ps in by_ttl(probes, ttl_of=lambda p: p.key[1]).items():
        rtts = [p.rtt_ms for p in ps if p.ttl == ttl and p.rtt_ms is not None]
        if rtts:
            out[ident] = round(sum(rtts) / len(rtts), 3)
    return out
