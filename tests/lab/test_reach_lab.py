"""Reach on the lab: unprivileged ICMP as a non-root user, the probe helper, TCP SYN and UDP port probes, IPv6,
and stable versus flow-varying probes through an ECMP router.

Every test runs `pingmos report` in the lab's client namespace (interval 0.1 s, a few rounds) and reads its JSON.
The non-root runs use `setpriv --reuid=nobody` inside `ip netns exec`; the lab enables
net.ipv4.ping_group_range in its client namespace (the sysctl is per network namespace and covers ICMPv6 too).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence

import pytest

from tests.netlab import LinkSpec, uniform_chain
from tests.netlab.lab import REPO_ROOT

pytestmark = pytest.mark.lab

AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all"]
FAST = ("-c", "4", "-i", "0.1", "--timeout", "1", "--no-dns", "--format", "json")
HELPER_ARGV = f"{sys.executable} -m pingmos.engine.probe_helper"


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "PINGMOS_PROBE")}
    env.update(extra)
    return env


def report(lab, target: str, *options: str, as_nobody=False, env=None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "pingmos", "report", target, *FAST, *options]
    if as_nobody:
        argv = AS_NOBODY + argv
    # cwd "/" so that a user who may not enter the checkout's working directory can still run it.
    return lab.run(argv, cwd="/", env=env or _env(), timeout=60)


def doc_of(r: subprocess.CompletedProcess) -> dict:
    assert r.returncode == 0, f"report exited {r.returncode}: {r.stderr.strip()[-2000:]}"
    return json.loads(r.stdout)


def assert_clean_path(doc: dict, hop_addrs: Sequence[str]) -> None:
    """Every hop answered by exactly its router, every probe answered, the destination reached."""
    assert doc["destination_reached"] is True, doc
    assert [h["address"] for h in doc["hops"]] == list(hop_addrs), doc["hops"]
    for hop in doc["hops"]:
        assert (hop["sent"], hop["received"]) == (4, 4), hop
        assert hop["loss_pct"] == 0.0 and hop["avg_ms"] > 0, hop
        assert list(hop["responders"]) == [hop["address"]], hop


@pytest.fixture
def nobody_can_run():
    """Skip (with the reason) when user nobody cannot read this checkout or run its interpreter."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed: cannot run as a non-root user")
    r = subprocess.run(
        [*AS_NOBODY, sys.executable, "-c", "import pingmos.engine.ping_socket_network, scapy"],
        cwd="/",
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    if r.returncode != 0:
        pytest.skip(f"user nobody cannot read the checkout or its interpreter: {r.stderr.strip()[-300:]}")


def test_unprivileged_icmp_as_a_plain_user(lab_factory, nobody_can_run):
    lab = lab_factory(*uniform_chain(2, LinkSpec.symmetric(1.0)))
    doc = doc_of(report(lab, lab.target_addr, "--mode", "unprivileged", as_nobody=True))
    assert doc["mode"] == "unprivileged ICMP sockets"
    assert_clean_path(doc, lab.hop_addrs)
    # RTTs are the links' delays (2 x 1 ms per link), not a number from nowhere.
    avg = [h["avg_ms"] for h in doc["hops"]]
    assert avg[0] >= 2.0 and avg[-1] >= 6.0 and avg == sorted(avg), avg
    # auto picks the same for a plain user: raw sockets are refused, ping sockets allowed.
    assert doc_of(report(lab, lab.target_addr, as_nobody=True))["mode"] == "unprivileged ICMP sockets"


@pytest.mark.parametrize("ipv6", [False, True], ids=["ipv4", "ipv6"])
def test_unprivileged_udp_as_a_plain_user_even_without_ping_sockets(lab_factory, nobody_can_run, ipv6):
    lab = lab_factory(*uniform_chain(2, LinkSpec.symmetric(1.0)), ipv6=ipv6)
    lab.run(["sysctl", "-q", "-w", "net.ipv4.ping_group_range=1 0"])  # UDP sockets need no sysctl
    target, hops = (lab.target_addr6, lab.hop_addrs6) if ipv6 else (lab.target_addr, lab.hop_addrs)
    doc = doc_of(report(lab, target, "--protocol", "udp", as_nobody=True))
    assert doc["mode"] == "unprivileged UDP sockets"
    assert_clean_path(doc, hops)


def test_unprivileged_udp_flows_through_an_ecmp_router(lab_factory, nobody_can_run):
    lab = lab_factory(*uniform_chain(3, LinkSpec.symmetric(0.5)), ecmp_router=1)
    options = ("--protocol", "udp", "--mode", "unprivileged", "-c", "16")
    stable = doc_of(report(lab, lab.target_addr, *options, as_nobody=True))
    assert all(len(hop["responders"]) == 1 and hop["received"] == 16 for hop in stable["hops"]), stable["hops"]
    varied = doc_of(report(lab, lab.target_addr, *options, "--flows", "16", as_nobody=True))
    assert set(varied["hops"][1]["responders"]) == set(lab.ecmp_addrs), varied["hops"][1]
    assert "route_changes" not in stable and "route_changes" not in varied


def test_a_plain_user_without_any_way_is_told_what_to_do(lab_factory, nobody_can_run):
    lab = lab_factory(*uniform_chain(1, LinkSpec.symmetric(1.0)))
    lab.run(["sysctl", "-q", "-w", "net.ipv4.ping_group_range=1 0"])
    r = report(lab, lab.target_addr, as_nobody=True)
    assert r.returncode == 77 and r.stdout == ""
    assert "ping_group_range" in r.stderr and "setcap cap_net_raw+ep" in r.stderr
    # TCP never works unprivileged: asking for it says so.
    r = report(lab, lab.target_addr, "--protocol", "tcp", "--mode", "unprivileged", as_nobody=True)
    assert r.returncode == 77 and "ICMP and UDP only" in r.stderr


@pytest.mark.parametrize(
    ("protocol", "options"),
    [("udp", ()), ("tcp", ()), ("tcp", ("--port", "8080"))],
    ids=["udp-port-unreachable", "tcp-closed-port-rst", "tcp-listener-syn-ack"],
)
def test_udp_and_tcp_probes_find_every_hop_and_reach_the_target(lab_factory, protocol, options):
    lab = lab_factory(*uniform_chain(2, LinkSpec.symmetric(1.0)))
    listener = None
    if "8080" in options:
        code = "import socket,time\ns=socket.socket()\ns.bind(('0.0.0.0',8080))\ns.listen()\nprint(1,flush=True)\n"
        listener = lab.popen([sys.executable, "-c", code + "time.sleep(60)"], ns=lab.target_ns, stdout=subprocess.PIPE)
        assert listener.stdout.readline().strip() == b"1"
    try:
        doc = doc_of(report(lab, lab.target_addr, "--protocol", protocol, "--mode", "raw", *options))
    finally:
        if listener is not None:
            listener.kill()
            listener.wait()
    assert doc["protocol"] == protocol and doc["mode"] == "raw sockets"
    assert_clean_path(doc, lab.hop_addrs)


def test_a_trace_through_the_probe_helper(lab_factory):
    lab = lab_factory(*uniform_chain(2, LinkSpec.symmetric(1.0)))
    for protocol in ("icmp", "tcp"):
        env = _env(PINGMOS_PROBE=HELPER_ARGV)
        doc = doc_of(report(lab, lab.target_addr, "--protocol", protocol, "--mode", "helper", env=env))
        assert doc["mode"].startswith("helper process")
        assert_clean_path(doc, lab.hop_addrs)


@pytest.mark.parametrize("protocol", ["icmp", "udp", "tcp"])
def test_ipv6_every_protocol(lab_factory, protocol):
    lab = lab_factory(*uniform_chain(2, LinkSpec.symmetric(1.0)), ipv6=True)
    doc = doc_of(report(lab, lab.target_addr6, "-6", "--protocol", protocol, "--mode", "raw"))
    assert doc["address"] == lab.target_addr6
    assert_clean_path(doc, lab.hop_addrs6)


def test_ipv6_unprivileged_as_a_plain_user(lab_factory, nobody_can_run):
    lab = lab_factory(*uniform_chain(2, LinkSpec.symmetric(1.0)), ipv6=True)
    doc = doc_of(report(lab, lab.target_addr6, "--mode", "unprivileged", as_nobody=True))
    assert doc["mode"] == "unprivileged ICMP sockets"
    assert_clean_path(doc, lab.hop_addrs6)


def test_ecmp_stable_flow_sees_one_router_per_hop_and_varying_flows_see_both(lab_factory):
    # Router 1 has two equal-cost next hops to router 2, hashed on the 5-tuple; router 2 answers from the
    # address of the link a probe came in on.
    lab = lab_factory(*uniform_chain(3, LinkSpec.symmetric(0.5)), ecmp_router=1)
    stable = doc_of(report(lab, lab.target_addr, "--protocol", "udp", "--mode", "raw", "-c", "16"))
    assert stable["destination_reached"] is True
    for hop in stable["hops"]:
        assert len(hop["responders"]) == 1 and hop["received"] == 16, hop
    assert stable["hops"][1]["address"] in lab.ecmp_addrs

    # 16 flows (source ports), one per round: the chance that all hash onto one link is 2 / 2^16.
    varied = doc_of(report(lab, lab.target_addr, "--protocol", "udp", "--mode", "raw", "-c", "16", "--flows", "16"))
    hop2 = varied["hops"][1]
    assert set(hop2["responders"]) == set(lab.ecmp_addrs), hop2
    assert sum(hop2["responders"].values()) == hop2["received"] == 16
    for hop in (varied["hops"][0], varied["hops"][2], varied["hops"][3]):
        assert len(hop["responders"]) == 1, hop
    # Each flow kept its path: load balancing is not reported as a route change.
    assert "route_changes" not in stable and "route_changes" not in varied


def time_exceeded_sent(lab, ns: str) -> int:
    """ICMP time-exceeded messages the router in ``ns`` has sent (its kernel's counter, /proc/net/snmp)."""
    lines = [line.split() for line in lab.run(["cat", "/proc/net/snmp"], ns=ns).stdout.splitlines()]
    names, values = [row for row in lines if row and row[0] == "Icmp:"][:2]
    return int(values[names.index("OutTimeExcds")])


def wait_for_time_exceeded(lab, ns: str, at_least: int, proc: subprocess.Popen, wait_s: float = 60.0) -> None:
    deadline = time.monotonic() + wait_s
    while time_exceeded_sent(lab, ns) < at_least:
        assert proc.poll() is None, "the report ended before hop 2 answered"
        assert time.monotonic() < deadline, f"hop 2 sent fewer than {at_least} time-exceeded in {wait_s} s"
        time.sleep(0.05)


def test_a_route_change_during_a_trace_is_recorded_not_mixed_silently(lab_factory):
    lab = lab_factory(*uniform_chain(3, LinkSpec.symmetric(0.5)), ecmp_router=1)
    r1 = lab.router_ns[0]

    def route_via(link: str, gateway: str) -> None:
        for j in (2, 3):
            r = lab.run(["ip", "route", "replace", f"198.18.{j}.0/24", "via", gateway, "dev", link], ns=r1)
            assert r.returncode == 0, r.stderr

    route_via("link1", "198.18.1.2")  # one path to begin with: hop 2 answers from 198.18.1.2
    argv = [sys.executable, "-m", "pingmos", "report", lab.target_addr, *FAST, "-c", "30", "--mode", "raw"]
    proc = lab.popen(argv, cwd="/", env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Move the route once hop 2 has answered a few rounds (counted by its kernel), not after a fixed sleep: a
        # loaded machine can take seconds to start the report, and a route moved before the first round is no move.
        wait_for_time_exceeded(lab, lab.router_ns[1], at_least=5, proc=proc)
        route_via("link1b", "198.19.1.2")  # the route moves to the parallel link
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    doc = doc_of(subprocess.CompletedProcess(argv, proc.returncode, out, err))
    assert doc["destination_reached"] is True
    hop2 = doc["hops"][1]
    # Both responders are kept with their counts, and the move is an event, once, at hop 2 only.
    assert set(hop2["responders"]) == {"198.18.1.2", "198.19.1.2"}, hop2
    assert sum(hop2["responders"].values()) == hop2["received"] == 30
    changes = doc["route_changes"]
    assert [(c["ttl"], c["from"], c["to"]) for c in changes] == [(2, "198.18.1.2", "198.19.1.2")], changes
    assert 0 < changes[0]["round"] < 30
    assert hop2["responders"]["198.18.1.2"] == changes[0]["round"]  # every round before the move, none after


PENDING_ERROR_SCRIPT = """
import socket, sys, time
from pingmos.engine.packets import IcmpEchoTemplate, ReplyKind, parse_reply
from pingmos.engine.ping_socket_network import PingSocketNetwork
dst, src = sys.argv[1], sys.argv[2]
net = PingSocketNetwork(socket.AF_INET)
t = IcmpEchoTemplate(src, dst, net.icmp_ident)
net.send(t.packet(1, 1), dst)
time.sleep(0.3)  # the time-exceeded arrives and leaves an error pending on the socket: nothing reads it yet
net.send(t.packet(1, 2), dst)  # must be sent, not fail with that pending error
got, deadline = [], time.monotonic() + 2
while len(got) < 2 and time.monotonic() < deadline:
    got += [parse_reply(p) for p, _ in net.recv(0.2)]
print(sorted((r.kind.value, r.key[2]) for r in got if r is not None))
"""


def test_a_pending_icmp_error_does_not_fail_the_next_unprivileged_send(lab_factory, nobody_can_run):
    lab = lab_factory(*uniform_chain(1, LinkSpec.symmetric(1.0)))
    r = lab.run([*AS_NOBODY, sys.executable, "-c", PENDING_ERROR_SCRIPT, lab.target_addr, lab.client_addr], cwd="/")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "[('time_exceeded', 1), ('time_exceeded', 2)]"


def test_ipv6_on_a_host_without_ipv6_is_one_clear_line(lab_factory):
    lab = lab_factory(*uniform_chain(1, LinkSpec.symmetric(1.0)))  # IPv6 is disabled in this lab
    r = report(lab, "2001:db8:5::2", "--mode", "raw")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("pingmos report: error: no route to 2001:db8:5::2 from this host"), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = report(lab, lab.target_addr, "-6")
    assert r.returncode == 2 and "is an IPv4 address, but IPv6 was asked for" in r.stderr
