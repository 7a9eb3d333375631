"""The tracer with TCP SYN probes, IPv6, several flows and a ping-socket style identifier, on the simulated path."""

from collections import Counter

import pytest

from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork
from pingmos.engine.packets import probe_fields
from pingmos.engine.tracer import Tracer, TraceSettings

PATHS = {
    4: ("198.18.0.1", [FakeHop("198.18.0.2", 2.0), FakeHop("198.18.1.2", 4.0), FakeHop("198.18.2.2", 6.0)]),
    6: ("2001:db8::1", [FakeHop("2001:db8::2", 2.0), FakeHop("2001:db8:1::2", 4.0), FakeHop("2001:db8:2::2", 6.0)]),
}


def trace(version, protocol, rounds=5, network_ident=None, **kw):
    src, hops = PATHS[version]
    clock = FakeClock()
    net = FakeNetwork(hops, clock)
    if network_ident is not None:
        net.icmp_ident = network_ident
    samples = []
    settings = TraceSettings(hops[-1].address, protocol, 1.0, 30, None, rounds, **kw)
    Tracer(settings, net, samples.append, clock=clock, source=src).run()
    return net, samples


@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize("protocol", ["icmp", "udp", "tcp"])
def test_every_protocol_and_family_finds_every_hop_and_reaches_the_destination(version, protocol):
    _, hops = PATHS[version]
    net, samples = trace(version, protocol)
    assert len(samples) == 5 * 3
    for s in samples:
        assert s.responder == hops[s.ttl - 1].address
        assert s.rtt_ms == pytest.approx(hops[s.ttl - 1].rtt_ms, abs=1e-3)
        assert s.reached is (s.ttl == 3)
    sent_ttls = [ttl for ttl, _ in net.sent]
    assert max(sent_ttls) == 4 and sent_ttls.count(4) == 1  # one probe beyond proves the first "reached"


def test_tcp_goes_to_port_80_by_default_and_to_the_chosen_port():
    net, _ = trace(4, "tcp", rounds=1)
    assert {probe_fields(p)["dport"] for _, p in net.sent} == {80}
    net, _ = trace(6, "udp", rounds=1, port=5060)
    assert {probe_fields(p)["dport"] for _, p in net.sent} == {5060}


def test_one_flow_keeps_every_header_a_load_balancer_hashes_on():
    net, _ = trace(4, "udp", rounds=6)
    assert len({(f["sport"], f["dport"]) for f in (probe_fields(p) for _, p in net.sent)}) == 1


def test_several_flows_cycle_round_by_round():
    net, samples = trace(4, "udp", rounds=6, flows=3)
    sports = Counter(probe_fields(p)["sport"] for _, p in net.sent)
    # 6 rounds x 3 TTLs over 3 flows, and the first round's one probe beyond the destination
    assert len(sports) == 3 and sorted(sports.values()) == [6, 6, 7]
    assert len(samples) == 18 and all(s.rtt_ms is not None for s in samples)
    net, _ = trace(4, "icmp", rounds=4, flows=2)
    assert Counter(probe_fields(p)["flow"] for _, p in net.sent) == {0: 7, 1: 6}


def test_the_networks_icmp_identifier_is_used_when_it_has_one():
    # Ping sockets: the kernel puts the socket's port in the identifier; the tracer must expect it.
    net, samples = trace(4, "icmp", rounds=2, network_ident=4321)
    assert {probe_fields(p)["ident"] for _, p in net.sent} == {4321}
    assert len(samples) == 6 and all(s.rtt_ms is not None for s in samples)


@pytest.mark.parametrize("kwargs", [{"port": 0}, {"port": 65536}, {"flows": 0}, {"flows": 17}])
def test_reach_settings_out_of_range_are_refused(kwargs):
    with pytest.raises(ValueError):
        TraceSettings("198.18.0.9", "udp", **kwargs).validate()
