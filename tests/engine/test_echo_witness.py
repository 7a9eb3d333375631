"""Direct echo probes on the simulated path: every probe accounted for, lost ones as None, RTTs exact."""

import pytest

from pingmos.engine.echo_witness import ECHO_TTL, echo_probe
from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork
from pingmos.engine.matcher import OWN_ECHOES, Matcher
from pingmos.engine.packets import IcmpEchoTemplate
from pingmos.engine.wire import parse_reply


def test_echo_probes_give_one_result_per_probe_with_losses_as_none():
    clock = FakeClock()
    net = FakeNetwork([FakeHop("198.18.0.2", 2.0), FakeHop("198.18.1.2", 7.0, loss_pct=30.0)], clock, seed=4)
    out = echo_probe(
        ["198.18.1.2", "198.18.0.9"], net, count=40, interval_s=0.05, timeout_s=0.5, clock=clock, source="198.18.0.1"
    )
    assert set(out) == {"198.18.1.2", "198.18.0.9"}
    for rtts in out.values():
        assert len(rtts) == 40
        got = [r for r in rtts if r is not None]
        assert got and all(r == pytest.approx(7.0, abs=1e-3) for r in got)
        assert 0 < rtts.count(None) < 30  # ~30 % lost
    assert {p[8] for _, p in net.sent} == {ECHO_TTL} and len(net.sent) == 80
    # 40 rounds 50 ms apart, then the last replies or timeouts: well under 3 s of virtual time.
    assert clock.now - 1000.0 < 2.6


def test_a_reply_from_someone_else_does_not_count():
    clock = FakeClock()
    # TTL 64 > path length: the fake's last hop answers, from the probe's own destination address. A silent
    # destination answers nothing: every probe is lost.
    net = FakeNetwork([FakeHop("198.18.0.2", 2.0), FakeHop(None, 0.0)], clock)
    out = echo_probe(["198.18.1.2"], net, count=5, interval_s=0.1, timeout_s=0.2, clock=clock, source="198.18.0.1")
    assert out == {"198.18.1.2": [None] * 5}


def test_bad_arguments():
    with pytest.raises(ValueError):
        echo_probe(["198.18.0.2"], None, count=0)


class _Tap:
    """The echo witness's network, with every packet it receives shown to a trace's matcher as well: a trace's raw
    ICMP socket receives every ICMP packet of the host, the witness's echo replies among them."""

    def __init__(self, net, trace_matcher):
        self.net, self.matcher, self.seen = net, trace_matcher, 0

    def send(self, packet, dst):
        return self.net.send(packet, dst)

    def recv(self, timeout_s):
        packets = self.net.recv(timeout_s)
        for data, received_at in packets:
            reply = parse_reply(data)
            if reply is not None:
                self.seen += 1
                assert self.matcher.match(reply, received_at) is None  # no probe of the trace's
        return packets


def test_the_witness_own_echo_replies_are_not_other_programs_replies_of_a_trace():
    clock = FakeClock()
    net = FakeNetwork([FakeHop("198.18.0.2", 2.0), FakeHop("198.18.1.2", 7.0)], clock, seed=4)
    trace = Matcher("198.18.1.2", "198.18.0.1")
    tap = _Tap(net, trace)
    out = echo_probe(["198.18.1.2"], tap, count=10, interval_s=0.05, timeout_s=0.5, clock=clock, source="198.18.0.1")
    assert sum(r is not None for r in out["198.18.1.2"]) == 10
    assert tap.seen == 10
    # Counted apart, never as another program's reply (before: unmatched 10).
    assert trace.own_echo_replies == 10 and trace.unmatched == 0
    # Another program's echo reply (another identifier) still counts as unmatched.
    other = IcmpEchoTemplate("198.18.1.2", "198.18.0.1", 4242)
    reply = parse_reply(_echo_reply_of(other.packet(64, 7)))
    assert reply is not None and reply.key[1] not in OWN_ECHOES
    assert trace.match(reply, 1.0) is None and trace.unmatched == 1


def test_a_witness_identifier_stays_ours_for_its_timeout_only(monkeypatch):
    now = [100.0]
    monkeypatch.setattr("pingmos.engine.matcher.time.monotonic", lambda: now[0])
    OWN_ECHOES.add(0xBEEF)
    now[0] += 3600.0
    assert 0xBEEF in OWN_ECHOES  # in use: however long it runs
    OWN_ECHOES.release(0xBEEF, 1.0)
    now[0] += 0.9
    assert 0xBEEF in OWN_ECHOES  # a late reply within the witness's timeout
    now[0] += 0.2
    assert 0xBEEF not in OWN_ECHOES


def _echo_reply_of(request: bytes) -> bytes:
    """The echo reply a host sends to the IPv4 echo request ``request`` (addresses swapped, type 0)."""
    from scapy.layers.inet import ICMP, IP

    pkt = IP(request)
    return bytes(IP(src=pkt.dst, dst=pkt.src, ttl=64) / ICMP(type=0, id=pkt[ICMP].id, seq=pkt[ICMP].seq))
