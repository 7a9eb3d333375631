"""Where the path ends, on the real lab: a router's destination unreachable ends it (every probe mode keeps the
reply's kind and code), a route that gets longer or shorter is followed (cases icmp-unreachable-not-terminal and
reroute-dest-dropped in ../shared/cases), and forged replies do not cut the trace short (issue 15)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

import pytest

from tests.lab.test_reach_lab import AS_NOBODY, HELPER_ARGV, _env
from tests.netlab import LinkSpec, uniform_chain

pytestmark = pytest.mark.lab

FAST = ("-i", "0.1", "--timeout", "1", "--no-dns", "--format", "json")
# Router 3 refuses every probe it would forward to the target (the case's admin_prohibited_r3.nft).
ADMIN_PROHIBITED = """table inet pmrej {
  chain fw {
    type filter hook forward priority 0; policy accept;
    ip daddr TARGET reject with icmp type admin-prohibited
  }
}"""
# Router 2 raises the TTL of probes to the target by one: it disappears from the path, 5 hops become 4
# (the case's hide_r2.nft).
HIDE_R2 = """table ip pmttl {
  chain pre {
    type filter hook prerouting priority -150; policy accept;
    ip daddr TARGET ip ttl 4 ip ttl set 5
    ip daddr TARGET ip ttl 3 ip ttl set 4
    ip daddr TARGET ip ttl 2 ip ttl set 3
    ip daddr TARGET ip ttl 1 ip ttl set 2
  }
}"""


def nft(lab, router: int, text: str | None, table: str) -> None:
    """Load ``text`` into router ``router``'s namespace (1-based), or delete ``table`` when text is None."""
    ns = lab.router_ns[router - 1]
    if text is None:
        r = lab.run(["nft", "delete", "table", *table.split()], ns=ns)
    else:
        r = lab.run(["nft", "-f", "-"], ns=ns, input=text.replace("TARGET", lab.target_addr))
    assert r.returncode == 0, r.stderr


def report(lab, *options, as_nobody=False, background=False):
    argv = [sys.executable, "-m", "pingmos", "report", lab.target_addr, *FAST, *options]
    if as_nobody:
        argv = AS_NOBODY + argv
    env = _env(PINGMOS_PROBE=HELPER_ARGV)
    if background:
        return lab.popen(argv, cwd="/", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    r = lab.run(argv, cwd="/", env=env, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


def recorded(path) -> list[tuple]:
    """(round, ttl, responder, reply, icmp_code, reached) of every answered sample in a session file."""
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT round, ttl, a.address, reply, icmp_code, reached FROM samples s "
            "JOIN addresses a ON a.id = s.responder ORDER BY s.id"
        ).fetchall()


@pytest.mark.parametrize(
    ("mode", "protocol", "as_nobody"),
    [("raw", "icmp", False), ("raw", "tcp", False), ("helper", "udp", False), ("unprivileged", "icmp", True),
     ("unprivileged", "udp", True)],
)  # fmt: skip
def test_an_admin_prohibited_router_ends_the_path_in_every_mode(lab_factory, tmp_path, mode, protocol, as_nobody):
    lab = lab_factory(*uniform_chain(4, LinkSpec.symmetric(1.0)))
    nft(lab, 3, ADMIN_PROHIBITED, "inet pmrej")
    shared = tempfile.mkdtemp(prefix="pingmos-lab-")  # not under tmp_path: its parents are root's alone
    os.chmod(shared, 0o777)  # a plain user records there too
    session = os.path.join(shared, "s.pmsession")
    try:
        _check_refusal(lab, session, mode, protocol, as_nobody)
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def _check_refusal(lab, session, mode, protocol, as_nobody):
    doc = report(lab, "-c", "5", "--mode", mode, "--protocol", protocol, "--record", str(session), as_nobody=as_nobody)
    # The trace ends at hop 4, where router 3 (198.18.2.2) refuses; not 30 rows of 198.18.2.2.
    assert [h["address"] for h in doc["hops"]] == [*lab.hop_addrs[:3], "198.18.2.2"], doc["hops"]
    assert doc["destination_reached"] is False
    rows = recorded(session)
    refused = {(r[2], r[3], r[4], r[5]) for r in rows if r[1] == 4}
    assert refused == {("198.18.2.2", "dest_unreachable", 13, 0)}, refused
    assert {r[3] for r in rows if r[1] < 4} == {"time_exceeded"}
    # Probing beyond hop 4 stops once the refusal is proved (it used to go on to TTL 30: 150 probes).
    assert doc["probes_sent"] <= 5 * 4 + 26


def _wait_for(session, sql: str, timeout_s: float = 20.0):
    """Poll the session file being recorded until ``sql`` gives a true first value; returns it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(f"file:{session}?mode=ro", uri=True) as conn:
                value = conn.execute(sql).fetchone()[0]
            if value:
                return value
        except sqlite3.Error:
            pass  # not created yet
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {sql!r}")


def test_a_route_that_shortens_and_grows_again_is_followed(lab_factory, tmp_path):
    # reroute-dest-dropped, scenario A: 5 hops, then 4 for a while, then 5 again. The changes follow what the
    # recording shows (the machine may be slow to start the report), not the clock.
    lab = lab_factory(*uniform_chain(4, LinkSpec.symmetric(1.0)))
    session = tmp_path / "s.pmsession"
    proc = report(lab, "-c", "150", "--mode", "raw", "--record", str(session), background=True)
    try:
        _wait_for(session, "SELECT max(round) >= 5 FROM samples WHERE reached AND ttl = 5")
        nft(lab, 2, HIDE_R2, "ip pmttl")
        shortened = _wait_for(session, "SELECT min(round) FROM samples WHERE reached AND ttl = 4")
        _wait_for(session, f"SELECT count(*) >= 5 FROM samples WHERE reached AND ttl = 4 AND round > {shortened}")
        nft(lab, 2, None, "ip pmttl")
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    doc = json.loads(out)
    reached = {}
    for round_no, ttl, addr, _reply, _code, was_reached in recorded(session):
        if was_reached:
            assert addr == lab.target_addr
            reached.setdefault(round_no, set()).add(ttl)
    rounds = sorted(reached)
    assert reached[rounds[0]] == {5} and reached[rounds[-1]] == {5}
    last_short = max(r for r in rounds if reached[r] == {4})
    after = [r for r in rounds if r > last_short]
    # The real destination is found again at once (at most a round or two after the change) and kept.
    assert len(after) >= 20 and all(reached[r] == {5} for r in after), reached
    assert after[0] <= last_short + 3 and rounds[-1] == 149
    # The report ends at the destination, at hop 5 where it is at the end of the run (mtr -r: hop 5 = target).
    assert doc["destination_reached"] and [h["address"] for h in doc["hops"]] == lab.hop_addrs, doc["hops"]


@pytest.mark.parametrize(
    ("kind", "ttl", "protocol"),
    [("echo-from-other", 1, "icmp"), ("port-unreach", 2, "udp"), ("syn-ack", 1, "tcp"), ("rst", 2, "tcp"),
     ("quote-src", 2, "udp"), ("quote-dst", 1, "icmp")],
)  # fmt: skip
def test_a_forged_reply_leaves_the_trace_intact(lab_factory, kind, ttl, protocol):
    lab = lab_factory(*uniform_chain(4, LinkSpec.symmetric(2.0)))
    forger = lab.popen(
        [sys.executable, "-m", "tests.lab.forger", kind, str(ttl)], cwd=os.getcwd(), stdout=subprocess.PIPE, text=True
    )
    try:
        assert forger.stdout.readline().strip() == "READY"
        doc = report(lab, "-c", "10", "--mode", "raw", "--protocol", protocol)
    finally:
        forger.terminate()
        forged = forger.communicate(timeout=10)[0]
    forged = int(forged.split()[-1])
    assert forged >= 10
    # All 5 hops, each its own router, the destination at hop 5 (mtr keeps them all too).
    assert [h["address"] for h in doc["hops"]] == lab.hop_addrs, doc["hops"]
    assert doc["destination_reached"] is True
    assert all(h["received"] >= 9 for h in doc["hops"]), doc["hops"]
    # Each forgery was refused as unproved, or (when the genuine answer had come first) matched nothing.
    assert doc["suspicious_replies"] >= 5, doc["suspicious_replies"]
    assert doc["suspicious_replies"] + doc["unmatched_replies"] >= forged


@pytest.mark.parametrize("mode", ["raw", "unprivileged"])
def test_a_port_unreachable_from_another_address_of_the_target_is_reached(lab_factory, tmp_path, mode):
    # icmp-unreachable-not-terminal: the target has a second address; probed there, its errors leave from its
    # main address (as from a host whose errors take the outgoing interface's address).
    lab = lab_factory(*uniform_chain(4, LinkSpec.symmetric(1.0)))
    second = "198.18.4.3"
    for argv, ns in (
        (["ip", "addr", "add", f"{second}/32", "dev", "link4"], lab.target_ns),
        (["ip", "route", "add", second, "dev", "link4"], lab.router_ns[3]),
    ):
        r = lab.run(argv, ns=ns)
        assert r.returncode == 0, r.stderr
    rule = (
        "table ip pmsrc {\n chain out {\n  type filter hook output priority -150; policy accept;\n"
        f"  ip protocol icmp ip saddr {second} ip saddr set {lab.target_addr}\n }}\n}}\n"
    )
    r = lab.run(["nft", "-f", "-"], ns=lab.target_ns, input=rule)
    assert r.returncode == 0, r.stderr
    session = tmp_path / "s.pmsession"
    argv = [sys.executable, "-m", "pingmos", "report", second, *FAST, "-c", "4", "--protocol", "udp"]
    r = lab.run([*argv, "--mode", mode, "--record", str(session)], cwd="/", env=_env(), timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads(r.stdout)
    assert doc["destination_reached"] is True and len(doc["hops"]) == 5, doc["hops"]
    last = {(row[2], row[3], row[4], row[5]) for row in recorded(session) if row[1] == 5}
    assert last == {(lab.target_addr, "dest_unreachable", 3, 1)}, last
