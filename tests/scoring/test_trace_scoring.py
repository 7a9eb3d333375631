"""From probes to scores without root: the tracer on the simulated path, TraceState, and each model scoring every
hop in one batch (what pingmos report --model does)."""

import pytest

from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork
from pingmos.engine.tracer import Tracer, TraceSettings
from pingmos.scoring import load_model
from pingmos.state import TraceState

SRC, DST = "198.18.0.1", "198.18.0.99"
PATH = [FakeHop("198.18.0.2", 20.0), FakeHop("198.18.0.3", 300.0), FakeHop(DST, 300.0, loss_pct=50.0)]


@pytest.fixture(scope="module")
def state():
    clock = FakeClock()
    settings = TraceSettings(DST, "icmp", 1.0, 8, None, 40)
    st = TraceState("lab", DST, "icmp", 1.0)
    Tracer(settings, FakeNetwork(PATH, clock, seed=3), st.apply, clock=clock, source=SRC).run()
    return st


def test_g107_scores_each_hop_from_its_samples(state):
    snap = state.snapshot(None, load_model("g107"), "g107")
    assert snap.model == "g107" and [h.ttl for h in snap.hops] == [1, 2, 3]
    one, two, three = snap.hops
    # hop 1: RTT 20 ms -> Ta 10 ms, no loss; hop 2: RTT 300 -> Ta 150 ms: the hand-worked R 89.539
    assert one.score_detail["ta_ms"] == pytest.approx(10.0, abs=1e-3)
    assert two.r == pytest.approx(89.539, abs=1e-3)
    # hop 3: the same delay plus the measured loss, G.711 random loss: Ie-eff = 95 Ppl / (Ppl + 25.1)
    ppl = three.loss_pct
    assert 20.0 < ppl < 80.0
    assert three.score_detail["ie_eff"] == pytest.approx(95 * ppl / (ppl + 25.1))
    assert three.r == pytest.approx(89.539 - 95 * ppl / (ppl + 25.1), abs=1e-3)


def test_burst_ratio_auto_reads_the_loss_sequence(state):
    three = state.snapshot(None, load_model("g107", {"burst_r": "auto"}), "g107").hops[2]
    p, q = three.score_detail["markov_p"], three.score_detail["markov_q"]
    assert 0.0 < p < 1.0 and 0.0 < q < 1.0
    assert three.score_detail["burst_r"] == pytest.approx(max(1.0, 1.0 / (p + q)))


def test_every_builtin_scores_the_same_trace(state):
    for name in ("pingplotter", "asterisk", "g107", "g107-playout"):
        snap = state.snapshot(10, load_model(name), name)
        assert all(h.mos is not None and 1.0 <= h.mos <= 4.5 and h.score_error is None for h in snap.hops), name
        # more delay never scores better here: hop 1 (20 ms) over hop 2 (300 ms)
        assert snap.hops[0].mos > snap.hops[1].mos, name
