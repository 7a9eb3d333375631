"""The MOS interval: a bootstrap of the window through the model (pingmos.scoring.interval)."""

import numpy as np
import pytest

from pingmos.engine.events import Sample
from pingmos.report.formats import to_json, to_table
from pingmos.scoring import load_model
from pingmos.scoring.interval import (
    MIN_SAMPLES,
    MosIntervals,
    bound_interval,
    mos_interval,
    mos_intervals,
    resampled_windows,
)
from pingmos.state import TraceState


def path_rtts(n, seed=1, loss=0.03):
    rng = np.random.default_rng(seed)
    x = 30.0 + rng.exponential(8.0, n)
    x[rng.random(n) < loss] = np.nan
    return x


def test_interval_holds_the_score_and_narrows_as_samples_accumulate():
    model = load_model("pingplotter")
    widths = []
    for n in (30, 300):
        x = path_rtts(n)
        low, high = mos_interval(model, x)
        from pingmos.scoring import HopWindow

        mos = model.score(HopWindow.from_rtts(x.tolist())).mos
        assert low <= mos <= high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2  # ten times the samples: about a third of the width


def test_no_loss_seen_still_admits_some():
    # 60 replies, none lost: the plain bootstrap would say exactly 0 % loss; the Jeffreys draw admits a little,
    # so the interval reaches below the score (pingplotter takes 2.5 R points per % of loss)
    model = load_model("pingplotter")
    x = np.full(60, 20.0)
    low, high = mos_interval(model, x)
    assert high == pytest.approx(model.score_many([_stats(x)])[0].mos)
    assert low < high - 0.02
    lost = [int(np.isnan(np.array([np.nan if v is None else v for v in w.rtts_ms])).sum()) for w in
            resampled_windows(x)]  # fmt: skip
    assert max(lost) >= 1 and np.mean(lost) < 3


def _stats(x):
    from pingmos.scoring import HopWindow

    return HopWindow.from_rtts([None if np.isnan(v) else float(v) for v in x])


def test_small_windows_get_the_bounds_and_determinism():
    model = load_model("g107-jb")
    small = path_rtts(MIN_SAMPLES - 1)
    assert mos_interval(model, small) == bound_interval(model.score_many, small)
    # One reply in 21: nothing to resample; the variation is unknown (lower end the floor), the loss's lower
    # bound caps the upper end.
    low, high = mos_interval(model, [None] * 20 + [30.0])
    assert low == 1.0 and 1.0 < high < 2.0
    assert mos_interval(model, [None] * 20) is None  # nothing received: no interval (the hop's MOS is the floor)
    x = path_rtts(100)
    assert mos_interval(model, x) == mos_interval(model, x)
    assert mos_intervals(model.score_many, [None, x])[0] is None


def test_live_cache_bounds_the_work_and_refreshes():
    calls = []
    model = load_model("pingplotter")

    def batch(windows):
        calls.append(len(windows))
        return model.score_many(windows)

    now = [0.0]
    cache = MosIntervals(resamples=50, refresh_s=10.0, budget=100, clock=lambda: now[0])
    hops = [(ttl, path_rtts(100, seed=ttl)) for ttl in range(1, 6)]
    first = cache.update(batch, "m", hops)
    assert calls == [8, 42, 8, 42]  # two hops per update within the budget, the others wait their turn
    assert sum(ci is not None for ci in first) == 2
    cache.update(batch, "m", hops)
    cache.update(batch, "m", hops)
    assert all(ci is not None for ci in cache.update(batch, "m", hops))
    calls.clear()
    now[0] = 5.0
    cache.update(batch, "m", hops)  # nothing stale: nothing computed
    assert calls == []
    now[0] = 11.0
    assert None not in cache.update(batch, "m", hops)  # all stale: the old ones shown while two are redone
    assert calls == [8, 42, 8, 42]
    assert cache.update(batch, "other", hops).count(None) == 3  # another model: the old intervals are void


def test_a_filling_window_gets_its_interval_from_the_first_sample_then_every_ten_more():
    """A live window filling at one sample a second: its interval from the first sample on, the small-window
    bounds at each new sample below 10, then the bootstrap at 10, 20, ... 100, narrowing as they accumulate;
    then on the refresh period."""
    model = load_model("pingplotter")
    now = [0.0]
    cache = MosIntervals(refresh_s=30.0, clock=lambda: now[0])
    x = path_rtts(100, seed=4)
    computed, shown = [], {}
    for size in range(1, 101):
        now[0] = float(size)
        calls = []

        def batch(windows, calls=calls):
            calls.append(len(windows))
            return model.score_many(windows)

        (ci,) = cache.update(batch, "m", [(1, x[:size])])
        if calls:
            computed.append(size)
            assert ci == mos_interval(model, x[:size])  # computed from the samples it has
        shown[size] = ci
    # The bounds at every new sample while the window is small (three evaluations each), then the bootstrap at
    # 10, 20, ... samples.
    assert computed == list(range(1, 10)) + list(range(10, 101, 10))
    assert shown[9] == bound_interval(model.score_many, x[:9]) and shown[15] == shown[10]
    assert shown[100][1] - shown[100][0] < shown[10][1] - shown[10][0]  # narrower with ten times the samples
    calls = []
    now[0] = 100.0 + 31.0
    cache.update(lambda w: calls.append(len(w)) or model.score_many(w), "m", [(1, x)])
    assert sum(calls) == 200  # full: the refresh period, as before


def test_snapshot_table_and_json_carry_the_interval():
    st = TraceState("t", "198.18.0.9", "icmp", 1.0)
    for r, rtt in enumerate(path_rtts(40).tolist()):
        rtt = None if rtt != rtt else rtt
        st.apply(Sample(r, 1, r, 1700000000.0 + r, rtt, None if rtt is None else "198.18.0.9", rtt is not None))
    snap = st.snapshot(None, load_model("g107-jb"), "g107-jb")
    hop = snap.hops[0]
    assert hop.mos_ci is not None and hop.mos_ci[0] <= hop.mos <= hop.mos_ci[1]
    assert f"{hop.mos:.2f} ({hop.mos_ci[0]:.2f}-{hop.mos_ci[1]:.2f})" in to_table(snap)
    assert '"mos_ci": [' in to_json(snap)


def test_long_windows_get_fewer_resamples_and_a_slow_scorer_is_cut_off_by_the_budget():
    from pingmos.scoring.interval import MAX_RESAMPLED_VALUES, MIN_RESAMPLES, RESAMPLES, resamples_for

    assert resamples_for(300) == RESAMPLES
    assert resamples_for(86_400) == MIN_RESAMPLES  # 24 h at 1 s: at most MAX_RESAMPLED_VALUES values held
    assert resamples_for(20_000) * 20_000 <= MAX_RESAMPLED_VALUES
    model = load_model("pingplotter")
    now = [0.0]

    def slow_batch(windows):
        now[0] += 0.01 * len(windows)  # each evaluation "takes" 10 ms of the clock: 2 s a hop
        return model.score_many(windows)

    hops = [path_rtts(100, seed=s) for s in range(4)]
    got = mos_intervals(slow_batch, hops, budget_s=5.0, clock=lambda: now[0])
    # Hops 1, 2 and 3 start within the 5 s budget (at 0, 2 and 4 s); hop 4 would start at 6 s: no interval.
    assert [ci is not None for ci in got] == [True, True, True, False]
    assert now[0] == pytest.approx(6.0)
    assert all(ci is not None for ci in mos_intervals(slow_batch, hops, budget_s=None, clock=lambda: now[0]))


def test_a_formula_slow_per_call_overruns_the_budget_by_one_small_batch_not_by_a_whole_hop():
    """0.3 s a call (issue 15's slow formula): 200 resamples of one hop would take 60 s in one batch."""
    model = load_model("pingplotter")
    now = [0.0]
    calls = []

    def slow_batch(windows):
        calls.append(len(windows))
        now[0] += 0.3 * len(windows)
        return model.score_many(windows)

    got = mos_intervals(slow_batch, [path_rtts(100, seed=1)], budget_s=5.0, clock=lambda: now[0])
    assert got == [None] and calls == [8] and now[0] == pytest.approx(2.4)


def test_a_long_window_is_refreshed_less_often():
    model = load_model("pingplotter")
    now = [0.0]
    cache = MosIntervals(refresh_s=30.0, clock=lambda: now[0])
    calls = []

    def batch(windows):
        calls.append(len(windows))
        return model.score_many(windows)

    day, short = path_rtts(3000, seed=2), path_rtts(300, seed=3)
    cache.update(batch, "m", [("day", day), ("short", short)])
    calls.clear()
    now[0] = 31.0  # the 300-sample window is due again; the 3000-sample one only after 300 s
    cache.update(batch, "m", [("day", day[:-1]), ("short", short)])
    assert sum(calls) == 200  # one hop's resamples: the short one
    calls.clear()
    now[0] = 301.0
    cache.update(batch, "m", [("day", day[:-1]), ("short", short)])
    assert sum(calls) == 400  # both: the short one again (30 s passed), the long one at last


def per_resample_interval(model, rtts, resamples=200):
    """The interval the way it was first computed: each resampled window built on its own with
    HopWindow.from_rtts, scored one at a time through the formula file, the percentiles of their MOS."""
    from pingmos.scoring import HopWindow
    from pingmos.scoring.interval import CONFIDENCE

    mos = []
    for w in resampled_windows(rtts, resamples):
        row = HopWindow.from_rtts(w.rtts_array.copy())
        assert row == w  # every number of the window the same (equality compares all fields)
        assert row.received_ms == w.received_ms and row.jitter_ms == w.jitter_ms
        result = model.score(row)
        mos.append(result.mos)
    tail = 100.0 * (1.0 - CONFIDENCE) / 2.0  # 2.5000000000000022: interval.py's own percentiles
    return tuple(float(v) for v in np.percentile(mos, [tail, 100.0 - tail]))


@pytest.mark.parametrize(
    "rtts",
    [
        path_rtts(100, seed=4),
        path_rtts(30, seed=5, loss=0.4),
        np.array([np.nan] * 12 + [30.0, 31.5]),  # resamples with 0, 1 and 2 received
        np.array([np.nan] * 9 + [30.0] + [np.nan] * 5 + [44.0]),
        np.full(15, 12.5),  # no variation, nothing lost
    ],
)
def test_the_vectorised_windows_and_model_give_the_per_resample_interval(rtts):
    counts = {w.received for w in resampled_windows(rtts)}
    assert len(counts) > 1 or not np.isnan(rtts).any()
    for name in ("g107-jb", "pingplotter"):
        model = load_model(name)
        assert mos_interval(model, rtts) == per_resample_interval(model, rtts)


def test_the_edge_cases_of_the_resamples_are_those_of_from_rtts():
    from pingmos.scoring import HopWindow

    rows = np.array([[np.nan] * 4, [np.nan, 3.0, np.nan, np.nan], [2.0, np.nan, 5.0, 1.0], [1.0, 2.0, 3.0, 4.5]])
    from pingmos.scoring.interval import _windows

    for got, row in zip(_windows(rows), rows, strict=True):
        want = HopWindow.from_rtts(row)
        assert got == want
        assert (got.avg_ms, got.stdev_ms, got.last_ms, got.loss_ci_pct) == (
            want.avg_ms,
            want.stdev_ms,
            want.last_ms,
            want.loss_ci_pct,
        )


# -- memory: the resamples made and scored a chunk at a time ---------------------------------------------------------


def test_chunking_changes_no_resample_and_no_digit_of_the_interval(monkeypatch):
    """The same window in chunks of 1, 7 and all resamples: the same windows in the same order, and the same
    interval to the last digit (the draws that do not depend on a row are made up front, the rest row by row)."""
    from pingmos.scoring import interval
    from pingmos.scoring.interval import resampled_chunks

    x = path_rtts(2_000, seed=6, loss=0.05)
    whole = [w.rtts_array for w in resampled_windows(x, 30)]
    for sizes in ([1] * 30, [7, 7, 7, 7, 2], [8, 22]):
        chunked = [w.rtts_array for chunk in resampled_chunks(x, sizes) for w in chunk]
        assert len(chunked) == 30
        for got, want in zip(chunked, whole, strict=True):
            np.testing.assert_array_equal(got, want)  # NaN where NaN, every value the same
    model = load_model("g107-jb")
    long = path_rtts(30_000, seed=8)  # resamples_for: 66, by default 16 a chunk
    intervals = []
    for rows_per_chunk in (1, 7, None):
        monkeypatch.setattr(interval, "MAX_CHUNK_VALUES", 10**9 if rows_per_chunk is None else rows_per_chunk * 30_000)
        calls = []

        def batch(windows, calls=calls):
            calls.append(len(windows))
            return model.score_many(windows)

        intervals.append(mos_intervals(batch, [long], budget_s=None)[0])
        assert max(calls) == (66 if rows_per_chunk is None else rows_per_chunk) and sum(calls) == 66
    assert intervals[0] == intervals[1] == intervals[2]
    # The interval the code gave when it made every resample at once (d734ee9), to the last digit: (4.02905888212611,
    # 4.065612352145855) with g107-jb's loss split before 2026-12-01; (3.989932216149327, 4.0338981676217) with its
    # constant split; this with its per-buffer late-loss weights (2026-12-02: the model moved, not the resamples: the
    # chunk sizes above agree with each other to the digit).
    assert intervals[2] == (3.9726301336126757, 4.017407819223989)


def test_a_long_windows_interval_takes_one_chunks_memory_whatever_its_resamples():
    """100,000 samples, 50 resamples: 274 MB at the peak when they were made and scored at once (d734ee9), about
    30 MB a chunk at a time (MAX_CHUNK_VALUES). Measured with tracemalloc (numpy's buffers are traced): the
    allocations of this computation alone, whatever else the process or the machine holds."""
    import tracemalloc

    from pingmos.scoring.interval import resamples_for

    model = load_model("g107-jb")
    model.score_many([])
    peaks = {}
    for n in (10_000, 100_000):
        x = path_rtts(n, seed=9)
        tracemalloc.start()
        try:
            ci = mos_intervals(model.score_many, [x], budget_s=None)[0]
            peaks[n] = tracemalloc.get_traced_memory()[1] / 1e6
        finally:
            tracemalloc.stop()
        assert ci is not None and ci[0] < ci[1]
    assert (resamples_for(10_000), resamples_for(100_000)) == (200, 50)  # 2 M and 5 M resampled values
    assert peaks[100_000] < 80, peaks  # d734ee9: 274 MB
    assert peaks[100_000] < 2 * peaks[10_000], peaks  # bounded by the chunk, not by the window's resamples


def test_a_kept_interval_that_no_longer_holds_its_point_is_redone_first_and_hidden_until_then():
    """The window showed MOS 1.00 beside "MOS 95 %" 1.45-1.63: the interval kept from half a minute before, when
    the destination still answered, beside a point from samples where it no longer did."""
    model = load_model("pingplotter")
    calls = []

    def batch(windows):
        calls.append(len(windows))
        return model.score_many(windows)

    now = [0.0]
    cache = MosIntervals(resamples=50, refresh_s=30.0, budget=50, clock=lambda: now[0])  # one hop per update
    a, b = path_rtts(100, seed=1), path_rtts(100, seed=2)
    cache.update(batch, "m", [(1, a, None), (2, b, None)])
    kept = cache.update(batch, "m", [(1, a, None), (2, b, None)])
    assert None not in kept
    # Both points move out of their intervals (the same number of samples: no refresh by size or by age).
    silent = np.full(100, np.nan)
    silent[:20] = 30.0
    now[0] = 1.0
    calls.clear()
    shown = cache.update(batch, "m", [(1, silent, 1.0), (2, silent, 1.0)])
    assert calls  # redone at once, ahead of the refresh period
    assert shown[1] is None  # the other waits its turn: hidden, not the old interval beside the new point
    assert shown[0] == mos_intervals(model.score_many, [silent], 50)[0]  # computed from the samples shown
    # A point still inside its kept interval keeps it (no work).
    calls.clear()
    lo, hi = kept[1]
    assert cache.update(batch, "m", [(2, b, (lo + hi) / 2)]) == [kept[1]] and calls == []
