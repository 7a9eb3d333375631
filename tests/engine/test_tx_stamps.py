"""The unprivileged networks (UDP sockets, ping sockets) take each probe's send time from the kernel
(SO_TIMESTAMPING on the socket's error queue), not from a time.time() read before sendto().

Loopback only. UDP sockets need nothing; ping sockets need net.ipv4.ping_group_range, so their tests run in a
network namespace of their own (root, ``unshare``) where the sysctl is set, and are skipped otherwise."""

import os
import select
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import types

import pytest

from pingmos.engine import ping_socket_network, tx_stamps
from pingmos.engine.packets import UdpTemplate
from pingmos.engine.tracer import Tracer, TraceSettings
from pingmos.engine.tx_stamps import SO_EE_ORIGIN_TIMESTAMPING, SendKeys, enable_send_stamps
from pingmos.engine.udp_socket_network import UdpSocketNetwork

DELAY_S = 0.2  # between the Python stamp and sendto(): far above any loopback RTT, even on a loaded machine


def closed_udp_port(host: str) -> int:
    """A loopback UDP port nobody listens on (bound, then released): it answers with a port unreachable."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def delayed_python_stamp(monkeypatch):
    """Make the networks' time.time() return the time, then sleep DELAY_S before going on to sendto(): what a
    thread switch between the two does on a starved machine."""

    def slow_time() -> float:
        now = time.time()
        time.sleep(DELAY_S)
        return now

    monkeypatch.setattr(ping_socket_network, "time", types.SimpleNamespace(time=slow_time))


def udp_trace(host: str, rounds: int = 3):
    net = UdpSocketNetwork(socket.AF_INET6 if ":" in host else socket.AF_INET)
    samples = []
    try:
        settings = TraceSettings(host, "udp", 0.1, 2, 2.0, rounds, port=closed_udp_port(host))
        Tracer(settings, net, samples.append).run()
    finally:
        net.close()
    return net, samples


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_udp_send_time_is_the_kernels_stamp_inside_the_sendto_call(host):
    net = UdpSocketNetwork(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        template = UdpTemplate(host, host, 40000, closed_udp_port(host))
        for seq in range(20):
            before = time.time()
            sent_at = net.send(template.packet(64, seq), host)
            after = time.time()
            assert before <= sent_at <= after  # the wall clock of the receive stamps, inside the call
        assert (net.kernel_send_stamps, net.python_send_stamps) == (20, 0)
    finally:
        net.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_a_delay_before_sendto_does_not_lengthen_the_rtt(monkeypatch, host):
    delayed_python_stamp(monkeypatch)
    net, samples = udp_trace(host)
    assert len(samples) == 3 and all(s.reached for s in samples)
    assert net.kernel_send_stamps >= 3 and net.python_send_stamps == 0
    # Kernel stamp to kernel stamp: a loopback round trip, nothing of the 200 ms spent before sendto().
    assert all(s.rtt_ms < DELAY_S * 1000 / 4 for s in samples), [s.rtt_ms for s in samples]


def test_without_kernel_stamps_the_python_stamp_is_used_and_counted(monkeypatch):
    # A kernel that refuses SO_TIMESTAMPING (here: an option number no kernel knows): the fallback is the stamp
    # read before sendto(), and the same delay then shows in every RTT. This is what the test above rules out.
    monkeypatch.setattr(tx_stamps, "SO_TIMESTAMPING", 0x7FFF)
    delayed_python_stamp(monkeypatch)
    net, samples = udp_trace("127.0.0.1")
    assert len(samples) == 3 and all(s.reached for s in samples)
    assert net.kernel_send_stamps == 0 and net.python_send_stamps >= 3
    assert all(s.rtt_ms >= DELAY_S * 1000 for s in samples), [s.rtt_ms for s in samples]


def test_a_late_stamp_is_never_paired_with_the_wrong_send():
    net = UdpSocketNetwork(socket.AF_INET)
    try:
        port = closed_udp_port("127.0.0.1")
        template = UdpTemplate("127.0.0.1", "127.0.0.1", 40001, port)
        net.send(template.packet(64, 0), "127.0.0.1")
        probe = net._socks[40001]
        # Two sends whose stamps stay unread, as if they had come back after send() returned.
        for _ in range(2):
            while True:
                try:
                    probe.sock.sendto(b"\0\0late", ("127.0.0.1", port))
                    break
                except ConnectionRefusedError:
                    pass  # the pending error of the previous probe's port unreachable: refused, not sent
            probe._keys.sent()
        time.sleep(0.05)
        before = time.time()
        sent_at = net.send(template.packet(64, 1), "127.0.0.1")
        assert sent_at >= before  # the two older stamps were drained, not used
        assert (net.kernel_send_stamps, net.python_send_stamps) == (2, 0)
    finally:
        net.close()


def test_icmp_errors_read_while_looking_for_a_stamp_wake_the_caller():
    net = UdpSocketNetwork(socket.AF_INET)
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # takes probe 2 and answers nothing
    try:
        listener.bind(("127.0.0.1", 0))
        closed, open_port = closed_udp_port("127.0.0.1"), listener.getsockname()[1]
        net.send(UdpTemplate("127.0.0.1", "127.0.0.1", 40002, closed).packet(64, 1), "127.0.0.1")
        time.sleep(0.05)  # probe 1's port unreachable is queued behind its send stamp
        # Probe 2's stamp comes after that error: send() reads the error on the way and keeps it.
        net.send(UdpTemplate("127.0.0.1", "127.0.0.1", 40002, open_port).packet(64, 2), "127.0.0.1")
        probe = net._socks[40002]
        assert len(probe._early) == 1
        # The socket has nothing left to read, yet a poll over the network's descriptors wakes at once.
        poller = select.poll()
        for fd in net.poll_fds():
            poller.register(fd, select.POLLIN)
        ready = [fd for fd, _ in poller.poll(0)]
        assert ready == [net._wake.fd]
        got = net.recv(0.0)
        assert len(got) == 1
        assert net.recv(0.0) == [] and poller.poll(0) == []  # read once, and the wake is cleared
    finally:
        listener.close()
        net.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_the_kernel_counts_only_successful_sends(host):
    # What SendKeys relies on: a send refused by the pending error of an earlier port unreachable takes no
    # OPT_ID key, so the keys of the sends that went out are consecutive.
    v6 = ":" in host
    level, ctype = (ping_socket_network.SOL_IPV6, 25) if v6 else (ping_socket_network.SOL_IP, 11)
    with socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM) as sock:
        ping_socket_network.enable_error_queue(sock, v6)
        assert enable_send_stamps(sock)
        port = closed_udp_port(host)
        sent = refused = 0
        while sent < 6:
            try:
                sock.sendto(b"x", (host, port))
                sent += 1
            except ConnectionRefusedError:
                refused += 1
            time.sleep(0.005)
        assert refused > 0  # the test needs refused sends to mean anything
        keys = []
        deadline = time.monotonic() + 2
        while len(keys) < sent and time.monotonic() < deadline:
            try:
                _data, ancdata, _flags, _addr = sock.recvmsg(0, 1024, ping_socket_network.MSG_ERRQUEUE)
            except BlockingIOError:
                time.sleep(0.01)
                continue
            for lvl, typ, cdata in ancdata:
                if (lvl, typ) == (level, ctype):
                    ee = ping_socket_network._EXTENDED_ERR.unpack_from(cdata)
                    if ee[1] == SO_EE_ORIGIN_TIMESTAMPING:
                        keys.append(ee[6])
        assert keys == list(range(sent))


def test_send_keys_tell_this_send_from_stale_ones_and_resync_when_ahead():
    keys = SendKeys()
    assert keys.whose(0) == "stale"  # nothing sent yet
    assert keys.sent() == 0 and keys.whose(0) == "this"
    assert keys.sent() == 1 and keys.whose(0) == "stale"
    # The kernel counted a send we saw fail: the stamp right after this send carries 2, not 1, and is ours.
    assert keys.whose(2) == "this" and keys.sent() == 3
    keys._next = 0xFFFFFFFF
    assert keys.sent() == 0xFFFFFFFF and keys.sent() == 0  # ee_data is a u32: it wraps
    assert keys.whose(0xFFFFFFFF) == "stale" and keys.whose(0) == "this"


PING_SOCKET_SCRIPT = textwrap.dedent(
    """
    import socket, subprocess, sys, time, types
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    with open("/proc/sys/net/ipv4/ping_group_range", "w") as f:  # this namespace only
        f.write("0 2147483647")
    from pingmos.engine import ping_socket_network
    from pingmos.engine.ping_socket_network import PingSocketNetwork
    from pingmos.engine.tracer import Tracer, TraceSettings

    def slow_time():
        now = time.time()
        time.sleep(0.2)
        return now

    ping_socket_network.time = types.SimpleNamespace(time=slow_time)
    for host, family in (("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)):
        net = PingSocketNetwork(family)
        samples = []
        Tracer(TraceSettings(host, "icmp", 0.1, 2, 2.0, 3), net, samples.append).run()
        net.close()
        print(host, net.kernel_send_stamps, net.python_send_stamps, [round(s.rtt_ms, 3) for s in samples])
    """
)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root to make a namespace")
def test_ping_sockets_use_the_kernels_send_stamp_in_a_namespace_that_allows_them():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = subprocess.run(
        ["unshare", "--net", sys.executable, "-c", PING_SOCKET_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
        env={**os.environ, "PYTHONPATH": root},
    )
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert [line.split(" ")[0] for line in lines] == ["127.0.0.1", "::1"], r.stdout
    for line in lines:
        _host, kernel, python, rtts = line.split(" ", 3)
        assert int(kernel) >= 3 and int(python) == 0, line
        rtts_ms = [float(x) for x in rtts.strip("[]").split(",")]
        assert len(rtts_ms) == 3 and all(x < DELAY_S * 1000 / 4 for x in rtts_ms), line


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_a_reply_read_late_keeps_its_kernel_receive_time(host):
    # What ``stamps_replies = True`` promises the tracer (it then sleeps until the next probe and reads
    # everything that came meanwhile): an ICMP error on the UDP socket's error queue carries the kernel's receive
    # time, so reading it 300 ms late changes no RTT.
    # One caveat, the kernel's: the first socket that asks for receive stamps turns them on system-wide through a
    # deferred work item (net_enable_timestamp -> netstamp_work); a packet received before that runs is stamped
    # when it is read. Under load that took long enough to fail this test once, so one probe read late is allowed
    # to show it, and a second one must not.
    net = UdpSocketNetwork(socket.AF_INET6 if ":" in host else socket.AF_INET)
    assert net.stamps_replies
    try:
        template = UdpTemplate(host, host, 40000, closed_udp_port(host))
        seen = []
        for seq in (1, 2):
            sent_at = net.send(template.packet(64, seq), host)
            time.sleep(0.3)
            packets = net.recv(0.0)
            assert packets, "no port unreachable came back"
            seen.append([received_at - sent_at for _, received_at in packets])
            if all(0.0 <= rtt_s < 0.05 for rtt_s in seen[-1]):
                break
        assert all(0.0 <= rtt_s < 0.05 for rtt_s in seen[-1]), seen
    finally:
        net.close()
