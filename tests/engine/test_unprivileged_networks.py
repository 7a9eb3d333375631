"""The unprivileged networks on loopback (no lab, no root needed): a whole trace to 127.0.0.1 through ordinary UDP
sockets, and through ping sockets where this network namespace allows them."""

import socket

import pytest

from pingmos.engine.mode import ping_sockets_allowed
from pingmos.engine.ping_socket_network import PingSocketNetwork
from pingmos.engine.tracer import Tracer, TraceSettings
from pingmos.engine.udp_socket_network import UdpSocketNetwork


def trace(network, protocol, rounds=3):
    samples = []
    try:
        Tracer(TraceSettings("127.0.0.1", protocol, 0.1, 4, 1.0, rounds), network, samples.append).run()
    finally:
        network.close()
    return samples


def test_udp_sockets_reach_loopback_by_its_port_unreachable():
    samples = trace(UdpSocketNetwork(socket.AF_INET), "udp")
    assert len(samples) == 3
    assert all(s.ttl == 1 and s.reached and s.responder == "127.0.0.1" for s in samples)
    assert all(0 < s.rtt_ms < 100 for s in samples)


def test_udp_socket_network_refuses_other_protocols():
    from pingmos.engine.packets import IcmpEchoTemplate

    net = UdpSocketNetwork(socket.AF_INET)
    try:
        with pytest.raises(ValueError):
            net.send(IcmpEchoTemplate("127.0.0.1", "127.0.0.1", 1).packet(1, 1), "127.0.0.1")
    finally:
        net.close()


@pytest.mark.skipif(not ping_sockets_allowed(), reason="net.ipv4.ping_group_range excludes our groups here")
def test_ping_sockets_reach_loopback_with_the_kernels_identifier():
    net = PingSocketNetwork(socket.AF_INET)
    ident = net.icmp_ident
    samples = trace(net, "icmp")
    assert ident > 0 and len(samples) == 3
    assert all(s.ttl == 1 and s.reached and s.responder == "127.0.0.1" for s in samples)
