"""A long report keeps a bounded number of samples per hop in memory and the whole run's numbers exact: samples
let go are folded into running sums (state/summary.py)."""

import numpy as np
import pytest

from pingmos.engine.events import Sample
from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork
from pingmos.engine.tracer import Tracer, TraceSettings
from pingmos.report import runner
from pingmos.scoring import HopWindow, load_model
from pingmos.state import TraceState
from pingmos.state.summary import RunningSummary

FIELDS = ("sent", "received", "loss_pct", "last_ms", "avg_ms", "min_ms", "max_ms", "stdev_ms", "jitter_ms")


def assert_same_stats(got, expected):
    for name in FIELDS:
        a, b = getattr(got, name), getattr(expected, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert a == pytest.approx(b, rel=1e-9, abs=1e-9), name
    assert got.loss_ci_pct == pytest.approx(expected.loss_ci_pct)


@pytest.mark.parametrize("seed", range(6))
def test_running_sums_of_any_batches_give_the_statistics_of_every_sample(seed):
    rng = np.random.default_rng(seed)
    rtts = rng.gamma(2.0, 10.0, rng.integers(1, 3000)) + 100.0 * rng.integers(0, 2)
    rtts[rng.random(len(rtts)) < rng.choice([0.0, 0.1, 0.9, 1.0])] = np.nan
    cuts = np.sort(rng.integers(0, len(rtts) + 1, rng.integers(0, 8)))
    summary = RunningSummary()
    start = 0
    for cut in cuts:
        summary.add(rtts[start:cut])
        start = cut
    assert_same_stats(summary.combined(HopWindow.from_rtts(rtts[start:])), HopWindow.from_rtts(rtts))


def samples(rounds: int, rng: np.random.Generator, path=("198.18.0.2", "198.18.0.5", "198.18.0.9")):
    for r in range(rounds):
        route = path if r % 700 < 600 else (path[0], "198.18.0.6", path[2])  # the route changes now and then
        for ttl, who in enumerate(route, 1):
            lost = rng.random() < 0.05 * ttl
            yield Sample(r, ttl, r * 3 + ttl, 1e9 + r, None if lost else float(rng.gamma(2.0, 5.0 * ttl)),
                         None if lost else who, reached=ttl == 3 and not lost,
                         reply=None if lost else ("echo_reply" if ttl == 3 else "time_exceeded"))  # fmt: skip


def test_a_summarised_history_reports_what_the_full_history_reports():
    """Every number of the whole run, route changes included, from 300 samples a hop in memory instead of 5000."""
    full, kept = (TraceState("t", "198.18.0.9", "icmp", 1.0, 1, keep) for keep in (None, 300))
    for s in samples(5000, np.random.default_rng(7)):
        full.apply(s)
        kept.apply(s)
    assert max(len(h) for h in kept.history.hops.values()) <= 300 + 64
    with load_model("pingplotter") as model:
        a, b = (st.snapshot(None, model, model.name) for st in (full, kept))
    assert a.rounds == b.rounds == 5000
    assert [h.address for h in a.hops] == [h.address for h in b.hops]
    assert [h.responders for h in a.hops] == [h.responders for h in b.hops]
    for ha, hb in zip(a.hops, b.hops, strict=True):
        assert_same_stats(hb, ha)
        assert hb.mos == pytest.approx(ha.mos, abs=1e-9)  # pingplotter scores from the summary numbers
    assert a.route_changes == b.route_changes and len(a.route_changes) == 14


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


def test_the_fold_does_not_grow_per_sample_beyond_what_it_keeps():
    """Resident memory from 5,000 to 20,000 rounds (45,000 samples) with 500 samples a hop kept: every sample
    kept would add 24-48 bytes each (1-2 MB); flat, it adds next to nothing."""
    state = TraceState("t", "198.18.0.9", "icmp", 1.0, 1, keep_samples=500)
    feed = samples(20_000, np.random.default_rng(1))
    for _ in range(5_000 * 3):
        state.apply(next(feed))
    before = rss_bytes()
    for s in feed:
        state.apply(s)
    per_sample = (rss_bytes() - before) / 45_000
    assert per_sample < 4.0, per_sample
    assert all(len(h.rounds) <= 2 * (500 + 64) for h in state.history.hops.values())  # array capacity


def test_a_long_report_keeps_its_samples_per_hop_bounded_and_reports_the_whole_run(monkeypatch):
    """``pingmos report -c N``'s own fold (run_report) through a fake network, 200 samples a hop kept."""
    clock = FakeClock()
    path = [FakeHop("198.18.0.2", 2.0, 1.0), FakeHop("198.18.0.5", 5.0, 2.0, 3.0), FakeHop("198.18.0.9", 9.0, 3.0)]
    monkeypatch.setattr("pingmos.run.Tracer", lambda s, n, cb, **kw: Tracer(s, n, cb, clock, "198.18.0.1"))
    monkeypatch.setattr(runner, "KEEP_SAMPLES", 200)
    states = []

    class Recorded(TraceState):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            states.append(self)

    monkeypatch.setattr(runner, "TraceState", Recorded)
    full = TraceState("t", "198.18.0.9", "icmp", 0.1)
    with load_model("pingplotter") as model:
        snap, _ = runner.run_report("t", TraceSettings("198.18.0.9", rounds=700, interval_s=0.1, max_ttl=3), None,
                                    model, model.name, use_dns=False, observer=full.apply,
                                    network_factory=lambda: FakeNetwork(path, clock))  # fmt: skip
        whole = full.snapshot(None, model, model.name)
    assert all(len(h) <= 200 + 64 for h in states[0].history.hops.values())
    assert snap.rounds == 700 and [h.sent for h in snap.hops] == [700, 700, 700]
    for got, expected in zip(snap.hops, whole.hops, strict=True):
        assert_same_stats(got, expected)


def test_the_time_span_starts_at_the_first_sample_let_go():
    state = TraceState("t", "198.18.0.9", "icmp", 1.0, 1, keep_samples=100)
    for s in samples(1000, np.random.default_rng(3)):
        state.apply(s)
    assert state.history.time_span() == (1e9, 1e9 + 999)
