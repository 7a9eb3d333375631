"""A live view's snapshots of every sample, built incrementally with a cache (rows extended by the samples added
since the last snapshot), are the snapshots built from nothing: the same numbers to the last bit, the same
per-round data, whatever the stream does (late answers, route changes, the destination moving, samples let go)."""

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingmos import stats
from pingmos.engine.events import Sample
from pingmos.scoring import HopWindow, load_model
from pingmos.scoring.jitter import jitter_mean_abs_diff
from pingmos.state import TraceHistory, snapshot_of
from pingmos.state import snapshot as snapshot_module
from pingmos.stats import sample_stdev

MODEL = load_model("pingplotter")
FIELDS = dict(target="t", address="198.18.9.9", protocol="icmp", interval_s=1.0, model_name="pingplotter")


def stream(seed, rounds, late=0.0, changes=True):
    """Samples of a 6-hop path whose hops 3 and the path's length change now and then, 5 % loss, and (``late``)
    answers that settle after later rounds of their TTL."""
    rng = random.Random(seed)
    length, third = 5, "198.18.3.1"
    held = []
    for rnd in range(rounds):
        if changes and rng.random() < 0.03:
            length = rng.choice((4, 5, 6))
        if changes and rng.random() < 0.03:
            third = rng.choice(("198.18.3.1", "198.18.3.2"))
        out = []
        for ttl in range(1, 7):
            sent_at = 1000.0 + rnd + ttl / 100
            if rng.random() < 0.05:
                out.append(Sample(rnd, ttl, rnd, sent_at, None, None))
                continue
            rtt = 2.0 * ttl + rng.random() * ttl
            if ttl >= length:
                out.append(Sample(rnd, ttl, rnd, sent_at, rtt, "198.18.9.9", True, "echo_reply"))
            else:
                who = third if ttl == 3 else f"198.18.{ttl}.1"
                out.append(Sample(rnd, ttl, rnd, sent_at, rtt, who, False, "time_exceeded"))
        for s in out:
            if rng.random() < late:
                held.append(s)  # settles a few rounds later
            else:
                yield s
        if held and rng.random() < 0.3:
            yield from held
            held.clear()
    yield from held


@pytest.fixture(autouse=True)
def no_mos_intervals(monkeypatch):
    """The MOS interval aside (with a cache it is a live view's, a few hops per update; and it takes time)."""
    monkeypatch.setattr(snapshot_module, "snapshot_intervals", lambda _batch, keys, *rest, **kw: [None] * len(keys))
    # Rows of a few hundred samples climb numpy's pairwise tree as a day's do (stats.pairwise_sum's blocks).
    monkeypatch.setattr(stats, "PAIRWISE_LEAF", 128)


def same(a, b):
    assert a.hops == b.hops and a.route_changes == b.route_changes and a.rounds == b.rounds
    for x, y in zip(a.hops, b.hops, strict=True):
        assert (x.avg_ms, x.stdev_ms, x.jitter_ms, x.mos) == (y.avg_ms, y.stdev_ms, y.jitter_ms, y.mos)  # bits
        assert x.window_rounds.dtype == np.int64 and x.window_rounds.tolist() == y.window_rounds.tolist()
        assert np.array_equal(x.window_rtts_ms, y.window_rtts_ms, equal_nan=True)


@pytest.mark.parametrize(("seed", "late", "keep"), [(1, 0.0, None), (2, 0.05, None), (3, 0.0, 150), (4, 0.05, 150)])
def test_incremental_snapshots_of_every_sample_are_the_snapshots_built_from_nothing(seed, late, keep):
    history = TraceHistory(keep_samples=keep, summarise=keep is not None)
    cache: dict = {}
    earlier = []
    for i, sample in enumerate(stream(seed, 300, late)):
        history.apply(sample)
        if i % 7 == 0:
            live = snapshot_of(history, MODEL, window=None, cache=cache, **FIELDS)
            same(live, snapshot_of(history, MODEL, window=None, **FIELDS))
            earlier.append((live, snapshot_of(history, MODEL, window=None, **FIELDS)))
        if i % 50 == 0:  # another window in between: the kept rows start again
            snapshot_of(history, MODEL, window=20, cache=cache, **FIELDS)
    for live, fresh in earlier[-5:]:  # a snapshot handed out earlier still shows what it showed
        same(live, fresh)


def test_a_day_of_samples_grows_by_the_new_round_only():
    history = TraceHistory()
    for s in stream(5, 300, changes=False):
        history.apply(s)
    cache: dict = {}
    snapshot_of(history, MODEL, window=None, cache=cache, **FIELDS)
    for s in stream(6, 301, changes=False):
        if s.round == 300:
            history.apply(s)
    selection = history.select(None, None, None, {t: g.lineage for t, g in cache["grown_rows"].items()})
    assert [len(r.rounds) for r in selection.rows] == [1] * len(selection.rows)  # one round copied, not 301
    assert all(r.extends is not None for r in selection.rows)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 1e4, allow_nan=False), max_size=300), st.integers(0, 7))
def test_stdev_and_jitter_are_numpys_to_the_bit(values, offset):
    # At any alignment: the snapshot builder's received values are a view into a longer buffer.
    x = np.concatenate([np.zeros(offset), np.array(values, dtype=np.float64)])[offset:]
    want = float(np.std(x, ddof=1)) if len(x) >= 2 else None
    assert sample_stdev(x) == want and sample_stdev(list(values)) == want
    steps = np.abs(np.diff(x))
    assert jitter_mean_abs_diff(x) == (float(steps.mean()) if len(x) >= 2 else None)


def test_from_arrays_is_from_rtts():
    rng = np.random.default_rng(3)
    x = 20.0 + rng.exponential(5.0, 1000)
    x[rng.random(1000) < 0.1] = np.nan
    buf = np.empty(1003)
    buf[3:] = x[~np.isnan(x)].tolist() + [0.0] * (1000 - int((~np.isnan(x)).sum()))
    a = HopWindow.from_rtts(x)
    b = HopWindow.from_arrays(x, buf[3 : 3 + a.received])
    assert a == b and a.jitter_ms == b.jitter_ms and a.median_ms == b.median_ms
