"""Kernel send stamps on the unprivileged networks, through lab routers, as a plain user.

User nobody traces the lab's target through UDP sockets and through ping sockets, with 100 ms put between the
stamp Python reads and sendto() (what a thread switch does on a starved machine). With the kernel's send stamps
every hop's RTT is still the configured path (plus the little the lab's relay adds), never the 100 ms; and never
less than the configured path either (a stamp taken after the packet's delay would undercut it).
"""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from tests.lab.test_reach_lab import AS_NOBODY, _env, nobody_can_run  # noqa: F401 - nobody_can_run is a fixture
from tests.netlab import LinkSpec, uniform_chain

pytestmark = pytest.mark.lab

DELAY_MS = 2.0  # each way, per link
PYTHON_DELAY_S = 0.1
RELAY_SLACK_MS = 25.0  # what the user-space relay may add on a loaded machine: far below the 100 ms under test

SCRIPT = textwrap.dedent(
    """
    import json, socket, sys, time, types
    from pingmos.engine import ping_socket_network
    from pingmos.engine.ping_socket_network import PingSocketNetwork
    from pingmos.engine.tracer import Tracer, TraceSettings
    from pingmos.engine.udp_socket_network import UdpSocketNetwork

    def slow_time():
        now = time.time()
        time.sleep(float(sys.argv[2]))
        return now

    ping_socket_network.time = types.SimpleNamespace(time=slow_time)
    out = {}
    for protocol, network in (("udp", UdpSocketNetwork), ("icmp", PingSocketNetwork)):
        net, samples = network(socket.AF_INET), []
        Tracer(TraceSettings(sys.argv[1], protocol, 0.1, 5, 2.0, 3), net, samples.append).run()
        net.close()
        rtts = {}
        for s in samples:
            if s.rtt_ms is not None:
                rtts.setdefault(s.ttl, []).append(s.rtt_ms)
        out[protocol] = {"kernel": net.kernel_send_stamps, "python": net.python_send_stamps, "rtts": rtts}
    print(json.dumps(out))
    """
)


def test_unprivileged_rtts_start_at_the_kernels_send_stamp(lab_factory, nobody_can_run):  # noqa: F811
    lab = lab_factory(*uniform_chain(2, LinkSpec.symmetric(DELAY_MS)))
    argv = [*AS_NOBODY, sys.executable, "-c", SCRIPT, lab.target_addr, str(PYTHON_DELAY_S)]
    r = lab.run(argv, cwd="/", env=_env(), timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads(r.stdout)
    for protocol, got in doc.items():
        assert got["python"] == 0 and got["kernel"] >= 9, (protocol, got)  # 3 hops x 3 rounds, all kernel
        assert sorted(int(t) for t in got["rtts"]) == [1, 2, 3], (protocol, got)
        for ttl, rtts_ms in got["rtts"].items():
            configured_ms = lab.path_rtt_ms(int(ttl))
            assert len(rtts_ms) == 3, (protocol, ttl, rtts_ms)
            for rtt_ms in rtts_ms:
                assert configured_ms - 0.2 <= rtt_ms <= configured_ms + RELAY_SLACK_MS, (protocol, ttl, rtts_ms)
