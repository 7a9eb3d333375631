"""Direct echo probes on the simulated path: every probe accounted for, lost ones as None, RTTs exact."""

import pytest

from pingmos.engine.echo_witness import ECHO_TTL, echo_probe
from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork


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
