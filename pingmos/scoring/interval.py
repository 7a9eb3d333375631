"""A 95 % interval for a hop's MOS from the sampling uncertainty of its window: a bootstrap through the model, or
for a small window bounds from its inputs' intervals.

Whatever the model does with the samples, the interval says how much its MOS could move had the same path been
sampled again. Each of ``RESAMPLES`` resampled windows is the window's samples drawn again:

- delay and jitter: a moving-block bootstrap (Kuensch, "The jackknife and the bootstrap for general stationary
  observations", Annals of Statistics 1989): blocks of about n^(1/3) consecutive samples, so that the
  consecutive-sample jitter and runs of losses keep their structure;
- loss: the number of lost samples is then set to a draw from the Jeffreys posterior of the loss rate,
  Beta(lost + 1/2, received + 1/2) (Brown, Cai, DasGupta, Statistical Science 2001): a window with no loss still
  admits some (a plain bootstrap would say exactly 0 %), as the loss's Wilson interval does.

The model scores the resampled windows in batches of at most ``MAX_CHUNK_VALUES`` resampled values (one round
trip to a user formula's worker process each; a window of up to 2,500 samples: all 200 in one), each batch made
only once the one before has been scored: a hop's memory is one batch's (about 30 MB; at least one resample, so
more only for a window of over 500,000 samples), whatever its window's size and resample count. The batches are
drawn so that the windows are those made at once (``resampled_chunks``). The interval is the 2.5th to 97.5th
percentile of their MOS (a resample in which nothing came back counts as MOS 1). Seeded by the window's size, so
the same window always gives the same interval.

A small window (fewer than ``MIN_SAMPLES`` samples, or a single reply: ``few_samples``) is not resampled: a
bootstrap of 1-9 samples underestimates the spread badly (its resamples never vary more than the few samples did),
and a single reply leaves nothing to resample. Its interval comes from bounds on the model's inputs instead
(``bound_interval``, three model evaluations), for a model whose MOS does not rise with the loss, with the scale
of the delay variation or with the delay (every built-in):

- the lower end is the model's MOS for the window with the loss at the upper end of its Wilson score interval
  (``stats.wilson_interval_pct``; lost samples added) and the round trips' excess over their minimum scaled up by
  the upper confidence bound of its scale (``excess_scale_high``): the excess taken as one exponential queueing
  delay (the shape g107-jb assumes of a direction that queues), its k - 1 excesses over the sample minimum sum to
  gamma(k - 1, theta) (Renyi 1953), an exact pivot for theta: two replies x79.5, three x12.0, five x4.5, nine x2.6.
  With one reply the variation is unknown: the lower end is the scale's floor, MOS 1, said as such.
- the upper end is the model's MOS for the window with the loss at the lower end of its Wilson interval and no
  variation at all, every round trip at a lower bound of the path's least delay (``least_delay_low``; 0 ms with
  one reply). Not the variation's lower bound around the window's own shape: a model's estimate from a few
  samples is biased low (g107-jb's fit of the shape and of the queueing directions: the model scored 5 samples of a
  path lower than the path's 20,000 in 97 % of windows), and an interval scaled around it held the path's MOS in
  20-63 % of windows of 3-9 samples of a 10 ms queue (the first design of this, measured by the same script).
- each bound is taken at 1.25 % on its side (the Wilson interval at 97.5 %, z = 2.24), two behind each end: the
  interval misses the MOS on either side with at most 2.5 % (Bonferroni), at least 95 % in all. Measured
  (scripts/bench_interval_small.py, g107-jb, five paths from a LAN hop to a 40 ms queue with 10 % loss, 200
  windows each): windows of 1, 2, 3, 5 and 9 samples held the path's MOS 99.5-100 % of the time; mean width
  3.40 (one sample: 1.00 to the model's value without loss) falling to 2.1-2.8 at nine, against 1.8-2.2 for the
  bootstrap at ten; 0.1-0.4 ms of CPU per interval against 7-13 ms for a bootstrap.

Both read what the window cannot rule out the same way: a window with no loss seen still admits some. The
bootstrap's Jeffreys draw puts about 1 % in the lowest resamples of 0 lost of 300 (a third of the resamples lose
at least one sample; the lower end 4.33 for a LAN hop whose MOS is 4.40: the model at 1.0 % loss, near Wilson's
95 % bound of 1.26 %, 4.31); the bounds put Wilson's upper bound itself at the lower end.

What neither covers: the model's own error (the MOS a call would get), the path changing within the window, and a
delay variation whose one-way shape is far from exponential with few samples (a heavy tail: the scale bound is
too low).

None: nothing received (the hop's MOS is the floor, with no interval), no raw samples (a summary), the model
failed on more than a tenth of the resamples (on any of a small window's three), or the time budget ran out
before the hop's turn. Cost: ``RESAMPLES`` model
evaluations per hop (built-ins: about 0.1-0.3 ms each), fewer for long windows: the resampled values of one hop are
capped at ``MAX_RESAMPLED_VALUES`` (a 24 h window of 86,400 samples gets ``MIN_RESAMPLES``; its interval is narrow
and the percentiles of 50 resamples place it well enough), and hops are scored one at a time. ``BUDGET_S`` bounds
a whole snapshot's intervals (a slow user formula would otherwise take resamples x hops x its time: 0.3 s per call
made a 10-round report take 130 s), checked between batches of a hop's resamples too (``FIRST_CHUNK``).
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from pingmos import stats
from pingmos.scoring.model import BatchScorer
from pingmos.scoring.score import Score
from pingmos.scoring.window import HopWindow

RESAMPLES = 200
MIN_RESAMPLES = 50
MAX_RESAMPLED_VALUES = 2_000_000  # the CPU time of a hop's interval (memory is bounded by MAX_CHUNK_VALUES)
# The resampled values scored at once (at least one resample): 4 MB of float64, about 15-20 MB with the mask, the
# received values and the model's work. A 250,000-sample hop's 50 resamples took 670 MB at once.
MAX_CHUNK_VALUES = 500_000
BUDGET_S = 5.0
# Under a budget, a hop's first 8 resamples go to the model first (one worker round trip), then the rest in one
# batch only if, at that pace, they take less than the budget: a formula that takes 0.3 s a call is stopped
# after 8 calls, not 200 (60 s, and minutes on a loaded machine). A snapshot's intervals take at most about
# twice the budget.
FIRST_CHUNK = 8
MIN_SAMPLES = 10
CONFIDENCE = 0.95
MAX_FAILED_SHARE = 0.1


def _as_array(rtts_ms: object) -> np.ndarray:
    if isinstance(rtts_ms, np.ndarray):
        return rtts_ms.astype(np.float64, copy=False)
    return np.array([math.nan if v is None else float(v) for v in rtts_ms], dtype=np.float64)  # type: ignore[union-attr]


def resampled_windows(rtts_ms: object, resamples: int = RESAMPLES, seed: int = 0) -> list[HopWindow]:
    """``resamples`` bootstrap windows of the samples ``rtts_ms`` (ms, oldest first, None or NaN = lost): every
    chunk of ``resampled_chunks`` at once (memory: about 30 bytes per resampled value; ``mos_intervals`` takes
    them a chunk at a time)."""
    return [w for chunk in resampled_chunks(rtts_ms, [resamples], seed) for w in chunk]


def resampled_chunks(rtts_ms: object, chunks: Sequence[int], seed: int = 0) -> Iterator[list[HopWindow]]:
    """The bootstrap windows of the samples ``rtts_ms`` (ms, oldest first, None or NaN = lost), ``sum(chunks)``
    of them, made and yielded ``chunks[0]``, ``chunks[1]``, ... at a time: only one chunk's resampled values are
    held while the caller scores it (a list of HopWindows per chunk; drop it before asking for the next).

    The same samples give the same windows, in the same order, however they are chunked: every random draw whose
    size does not depend on a row (the blocks' starts, each row's number of lost samples; a few integers per
    block) is made up front, for all rows, as one call; then the rows are made in order, each row's loss set with
    draws from the same generator in the same order as ever. Vectorised over a chunk's rows: the blocks are copied
    block by block (no index matrix of every value), the lost samples found once for all its rows.
    """
    x = _as_array(rtts_ms)
    n = len(x)
    resamples = int(sum(chunks))
    rng = np.random.default_rng([seed, n])
    block = max(1, round(n ** (1.0 / 3.0)))
    blocks = -(-n // block)
    starts = rng.integers(0, n - block + 1, size=(resamples, blocks))
    lost = int(np.isnan(x).sum())
    targets = rng.binomial(n, rng.beta(lost + 0.5, n - lost + 0.5, resamples)).tolist()
    runs = np.lib.stride_tricks.sliding_window_view(x, block)
    received_values = x[~np.isnan(x)]
    first = 0
    for size in chunks:
        if size <= 0:
            continue
        rows, nan = _resampled_rows(runs, n, block, starts[first : first + size], targets[first : first + size],
                                    received_values, rng)  # fmt: skip
        first += size
        yield _windows(rows, nan)
        del rows, nan


def _resampled_rows(
    runs: np.ndarray, n: int, block: int, starts: np.ndarray, targets: list[int], received_values: np.ndarray, rng
) -> tuple[np.ndarray, np.ndarray]:
    """The rows of one chunk (NaN = lost) and their NaN mask: ``starts`` its rows' block starts, ``targets`` their
    numbers of lost samples; ``rng`` draws which samples change, row after row."""
    m, blocks = starts.shape
    # rows[r] = x[starts[r, 0] : +block] + x[starts[r, 1] : +block] + ..., cut to n samples: the blocks gathered
    # in one copy (no index matrix of every value; np.take would first copy ``runs``, block x n values), each row
    # then a contiguous view of its first n values.
    rows = runs[starts].reshape(m, blocks * block)[:, :n]
    nan = np.isnan(rows)
    missing_counts = np.count_nonzero(nan, axis=1).tolist()
    for i, (target, n_missing) in enumerate(zip(targets, missing_counts, strict=True)):
        if target == n_missing or (target < n_missing and not len(received_values)):
            continue
        missing = np.flatnonzero(nan[i])
        if target > n_missing:
            # Which present samples become lost: the k-th present sample of the row is at k plus the number of
            # missing ones before it (``present[k]`` without listing every present sample).
            k = rng.choice(n - n_missing, target - n_missing, replace=False)
            where = k + np.searchsorted(missing - np.arange(n_missing), k, side="right")
            rows[i, where] = math.nan
            nan[i, where] = True
        else:
            back = missing[rng.choice(n_missing, n_missing - target, replace=False)]
            rows[i, back] = rng.choice(received_values, len(back))
            nan[i, back] = False
    return rows, nan


def _windows(rows: np.ndarray, nan: np.ndarray | None = None) -> list[HopWindow]:
    """The rows (NaN = lost; ``nan`` their mask when known) as HopWindows: what every scorer takes, a Model as
    well as a snapshot builder's one-window callable.

    Their numbers are ``HopWindow.from_arrays``'s, computed for all rows at once: the rows with the same number
    of received values are gathered (received values only, in order) into one matrix, whose reductions along a
    row are numpy's pairwise sums of that row alone, the same bits as ``from_arrays``'s one-row sums."""
    if nan is None:
        nan = np.isnan(rows)
    rows = rows.view()
    rows.flags.writeable = False  # each window's samples are a row of it (HopWindow.from_computed)
    m, n = rows.shape
    counts = n - np.count_nonzero(nan, axis=1)
    out: list[HopWindow | None] = [None] * m
    for count in np.unique(counts).tolist():
        which = np.flatnonzero(counts == count)
        if count == n:
            received = rows[which]
        else:
            received = rows[which][~nan[which]].reshape(len(which), count)
        ci = stats.wilson_interval_pct(n - count, n)
        if count == 0:
            avgs = lows = highs = stdevs = [None] * len(which)
        else:
            totals = np.add.reduce(received, axis=1)
            means = totals / count
            avgs = means.tolist()
            lows = np.minimum.reduce(received, axis=1).tolist()
            highs = np.maximum.reduce(received, axis=1).tolist()
            if count >= 2:  # stats.sample_stdev, row by row
                dev = received - means[:, None]
                np.square(dev, out=dev)
                stdevs = np.sqrt(np.add.reduce(dev, axis=1) / (count - 1)).tolist()
            else:
                stdevs = [None] * len(which)
        for j, i in enumerate(which.tolist()):
            out[i] = HopWindow.from_computed(rows[i], received[j], avgs[j], lows[j], highs[j], stdevs[j], ci)
    return out  # type: ignore[return-value]


# The small-window bounds (``bound_windows``): each input's bound is taken at TAIL_EACH (1.25 %) on its side, two
# of them behind either end of the MOS interval, so that it is missed on either side with at most
# (1 - CONFIDENCE) / 2 (2.5 %) between them (Bonferroni).
TAIL_EACH = (1.0 - CONFIDENCE) / 4.0
Z_EACH = statistics.NormalDist().inv_cdf(1.0 - TAIL_EACH)  # 2.2414: the loss's Wilson interval at 97.5 %
MOS_FLOOR = 1.0  # the MOS scale's floor (R 0): the lower end where one reply says nothing of the variation
BOUND_COST = 3  # model evaluations of a small window's interval: the window, its worst and its best case


@functools.cache
def gamma_quantile(shape: int, q: float) -> float:
    """The q-quantile (0 < q < 1) of a gamma(shape, 1) variable of whole ``shape`` >= 1: P(G <= g) is the chance
    of at least ``shape`` events of a Poisson process of rate 1 by time g, 1 - e^-g sum_{j < shape} g^j / j!
    (Erlang); bisection on log g (80 halvings: 1e-9 relative). Cached: a small window's shape is 1-8."""

    def cdf(g: float) -> float:
        term = total = math.exp(-g)
        for j in range(1, shape):
            term *= g / j
            total += term
        return 1.0 - total

    lo, hi = math.log(shape) - 40.0, math.log(shape) + 10.0
    for _ in range(80):
        mid = (lo + hi) / 2.0
        if cdf(math.exp(mid)) < q:
            lo = mid
        else:
            hi = mid
    return math.exp((lo + hi) / 2.0)


def excess_scale_high(received: int) -> float:
    """The factor by which the scale theta of the round trips' excess over the path's least delay may exceed its
    estimate S / (k - 1) (S: the excesses over the sample minimum summed), at ``TAIL_EACH``, from k = ``received``
    (>= 2) round trips taken as that least delay plus an exponential queueing delay: S / theta is then
    gamma(k - 1, 1) (Renyi's representation of exponential order statistics), so theta < S / g(TAIL_EACH) but
    for TAIL_EACH. Two replies: 79.5; three: 12.0; five: 4.5; nine: 2.6."""
    m = received - 1
    return m / gamma_quantile(m, TAIL_EACH)


def least_delay_low(received_ms: np.ndarray) -> float:
    """A lower bound (ms, at ``TAIL_EACH``) of the path's least round trip from ``received_ms`` (>= 2 values),
    under the same assumption as ``excess_scale_high``: the sample minimum exceeds it by theta E / k (E
    exponential), and E / (S / theta) has P(> u) = (1 + u)^-(k - 1) whatever theta, so it is min - S u / k with
    u = TAIL_EACH^(-1 / (k - 1)) - 1; never below 0."""
    k = len(received_ms)
    low = float(received_ms.min())
    excess = float(received_ms.sum()) - k * low
    u = TAIL_EACH ** (-1.0 / (k - 1)) - 1.0
    return max(0.0, low - excess * u / k)


def bound_windows(rtts_ms: object) -> list[HopWindow]:
    """The windows whose scores bound a small window's MOS interval (``bound_interval``), [] with nothing
    received: the window itself, then

    - the worst case (not with one reply): the window's received round trips, in order, their excess over the
      minimum scaled by ``excess_scale_high`` (x' = min + c (x - min): the mean excess, jitter, mean and standard
      deviation times c; the minimum and the shape kept), with lost samples added at the end, in one run, until
      the loss is at least the upper end of its Wilson interval at ``Z_EACH``;
    - the best case: the window with every received round trip at ``least_delay_low`` (0 ms with one reply: how
      much of it was queueing is unknown), no variation at all, and its last lost samples left out until the
      loss is at most the lower end of that Wilson interval.
    """
    x = _as_array(rtts_ms)
    n = len(x)
    lost_mask = np.isnan(x)
    lost = int(np.count_nonzero(lost_mask))
    k = n - lost
    if k == 0:
        return []
    loss_low, loss_high = stats.wilson_interval_pct(lost, n, Z_EACH)  # type: ignore[misc]
    received = x[~lost_mask]
    windows = [HopWindow.from_rtts(x)]
    if k >= 2:
        low = float(received.min())
        worst = x.copy()
        worst[~lost_mask] = low + excess_scale_high(k) * (received - low)
        share = loss_high / 100.0
        extra = math.ceil(k * share / (1.0 - share) - 1e-9) - lost
        windows.append(HopWindow.from_rtts(np.concatenate([worst, np.full(max(0, extra), math.nan)])))
    best = x.copy()
    best[~lost_mask] = least_delay_low(received) if k >= 2 else 0.0
    share = loss_low / 100.0
    keep = math.floor(k * share / (1.0 - share) + 1e-9)
    windows.append(HopWindow.from_rtts(np.delete(best, np.flatnonzero(lost_mask)[keep:])))
    return windows


def bound_interval(score_batch: BatchScorer, rtts_ms: object) -> tuple[float, float] | None:
    """The MOS interval (low, high) of a small window from its ``bound_windows`` scored in one ``score_batch``
    call: the least and the greatest of their MOS (a window in which nothing came back counts as MOS 1); with one
    reply the lower end is the scale's floor, MOS 1 (nothing bounds the variation). None: nothing received, or
    the model failed on any of them."""
    windows = bound_windows(rtts_ms)
    if not windows:
        return None
    mos: list[float] = []
    for result in score_batch(windows):
        if isinstance(result, Score):
            mos.append(result.mos)
        elif result is None:
            mos.append(MOS_FLOOR)
        else:
            return None
    if len(mos) != len(windows):
        return None
    low = MOS_FLOOR if windows[0].received < 2 else min(mos)
    return (low, max(mos))


def chunk_sizes(n: int, resamples: int) -> list[int]:
    """``resamples`` resamples of a window of ``n`` samples in chunks of at most ``MAX_CHUNK_VALUES`` resampled
    values (at least one resample a chunk): [] for none."""
    per_chunk = max(1, MAX_CHUNK_VALUES // max(n, 1))
    return [min(per_chunk, resamples - lo) for lo in range(0, resamples, per_chunk)]


def resamples_for(n: int, resamples: int = RESAMPLES) -> int:
    """How many resamples a window of ``n`` samples gets: ``resamples``, fewer for long windows (at least
    ``MIN_RESAMPLES``) so that one hop's resampled values stay within ``MAX_RESAMPLED_VALUES``."""
    return max(min(resamples, MIN_RESAMPLES), min(resamples, MAX_RESAMPLED_VALUES // max(n, 1)))


def few_samples(rtts_ms: object) -> bool:
    """Whether a window of samples ``rtts_ms`` (ms, None or NaN = lost) gets the small-window bounds
    (``bound_interval``) rather than the bootstrap: fewer than ``MIN_SAMPLES`` samples (a bootstrap of so few
    underestimates the spread badly), or a single reply (nothing to resample)."""
    x = _as_array(rtts_ms)
    return len(x) < MIN_SAMPLES or int(np.count_nonzero(~np.isnan(x))) < 2


def mos_intervals(
    score_batch: BatchScorer,
    windows_rtts_ms: Sequence[object | None],
    resamples: int = RESAMPLES,
    budget_s: float | None = BUDGET_S,
    clock: Callable[[], float] | None = None,
) -> list[tuple[float, float] | None]:
    """The MOS interval (low, high) of each window (its raw samples; None: no samples), scoring the resamples of
    one window per ``score_batch`` call (a model's ``score_many`` or a snapshot builder's batch scorer); a small
    window (``few_samples``) its ``bound_interval`` instead, three windows in one call. None for a window with
    nothing received; windows whose turn comes after ``budget_s`` seconds (None: no limit) get None."""
    import time

    clock = clock or time.monotonic
    start = clock()
    out: list[tuple[float, float] | None] = [None] * len(windows_rtts_ms)
    tail = 100.0 * (1.0 - CONFIDENCE) / 2.0
    for i, rtts in enumerate(windows_rtts_ms):
        if rtts is None:
            continue
        x = _as_array(rtts)
        received = int(np.count_nonzero(~np.isnan(x)))
        if received == 0:
            continue
        if budget_s is not None and clock() - start > budget_s:
            break
        if len(x) < MIN_SAMPLES or received < 2:  # few_samples
            out[i] = bound_interval(score_batch, x)
            continue
        k = resamples_for(len(x), resamples)
        first = min(FIRST_CHUNK, k) if budget_s is not None else k
        mos: list[float] | None = []
        scored = 0
        scoring_s = 0.0
        for windows in resampled_chunks(x, chunk_sizes(len(x), first) + chunk_sizes(len(x), k - first)):
            batch_start = clock()
            for result in score_batch(windows):
                if isinstance(result, Score):
                    mos.append(result.mos)
                elif result is None:
                    mos.append(1.0)  # nothing came back in this resample: no call either
            scoring_s += clock() - batch_start
            scored += len(windows)
            del windows  # before the next chunk is made: one chunk's resampled values at a time
            # After the first few: the rest would take about as long per resample as they did. If that alone would
            # take longer than the whole budget (a slow formula: 0.3 s a call is a minute), this hop's interval is
            # left unknown rather than the report held up. (Not "longer than what is left of it": a moment's
            # preemption during the first few would then cost a fast model its interval on a loaded machine.)
            if budget_s is not None and scored == first < k and scoring_s / first * (k - first) > budget_s:
                mos = None
                break
        if mos is None:
            break
        if len(mos) < (1.0 - MAX_FAILED_SHARE) * k:
            continue
        low, high = np.percentile(mos, [tail, 100.0 - tail])
        out[i] = (float(low), float(high))
    return out


def mos_interval(model: object, rtts_ms: object, resamples: int = RESAMPLES) -> tuple[float, float] | None:
    """The MOS interval of one window with a ``pingmos.scoring.Model`` (or anything with ``score_many``)."""
    return mos_intervals(model.score_many, [rtts_ms], resamples)[0]  # type: ignore[attr-defined]


class MosIntervals:
    """Intervals for a live view that re-scores every second, at a bounded cost per update.

    The sampling uncertainty of a window changes slowly, so a hop's interval is computed again only when the model
    changed, the window's size changed by ``NEW_SAMPLES`` or a tenth, whichever is more (it narrows as samples
    accumulate), or ``refresh_s`` passed; and one update computes at most ``budget`` model evaluations (the hops
    waiting longest first; the others keep their last interval, or None until their turn). Steady state for 30 hops:
    30 x 200 / 30 s = 200 evaluations a second. Measured (scripts in the voice helper's report): 30 hops of 300
    samples, g107-jb, on the 2-core project machine shared by eight jobs (load 12): every interval at once 7-9 s;
    per live update 0.8 s on average with refresh_s 10 and budget 1000, 0.27 s (at most 0.6 s) with these defaults
    over the first 40 updates, while every hop gets its first interval.

    A long window is refreshed less often: ``refresh_s`` is for windows of up to ``REFRESH_SAMPLES`` samples and
    grows in proportion beyond (a day of 86,400: every 2.4 h, unless its size changes by a tenth first): at one
    sample a second, a tenth of its samples are new by then, as a 300-sample window's are after 30 s. Each of its
    resamples costs as much as 860 of a 100-sample window: refreshed every 30 s, 30 such hops took about 5 % of a
    core (55 ms of CPU a second) for intervals that had not moved.

    An interval kept from an earlier update is shown beside the newer point only while it holds that point (to
    ``POINT_SLACK``, the two decimals shown): a point that left it (a destination that stopped answering: MOS
    1.00 beside 1.45-1.63 of half a minute before) says the samples moved beyond what the kept interval
    describes, so it is computed again first, and None until then (never an interval of other samples that
    excludes its point). ``hops`` then carry the point as a third item, (key, rtts, mos).

    While a window fills, its interval is computed once it has ``MIN_SAMPLES`` samples, then at every
    ``NEW_SAMPLES`` more (a 100-sample window at one round a second: at 10, 20, ... 100 s, 10 times). At every
    tenth of growth alone, a window of 10-19 samples was computed again at each new sample, 29 times per hop while
    a 100-sample window filled: the window's first minute cost up to twice its steady state (scripts/bench_gui.py,
    part 3).

    ``final``: the samples will not change any more (a trace that stopped, its every round settled): each hop's
    interval is then that of its samples now, computed again at once wherever it was computed over other samples
    (an older state of the window), whatever the budget (up to ``FINAL_SAMPLES`` samples an update), so a stopped
    window shows the intervals a report of its recording computes, not those of the filling window's last refresh
    (the 30-sample one of a 34-sample window).
    """

    REFRESH_SAMPLES = 300
    NEW_SAMPLES = 10
    # ``final``: at most this many samples of hops resampled in one update (at least one hop): 30 hops of a 3600-
    # sample window at once; a longer "all" window gets its final intervals over several updates.
    FINAL_SAMPLES = 108_000
    POINT_SLACK = 0.005

    def __init__(self, resamples: int = RESAMPLES, refresh_s: float = 30.0, budget: int = 400, clock=None):
        import time

        self.resamples = resamples
        self.refresh_s = refresh_s
        self.budget = budget
        self._clock = clock or time.monotonic
        # key -> (model key, samples, when, interval, the samples' fingerprint)
        self._entries: dict[object, tuple[object, int, float, tuple[float, float] | None, int]] = {}

    def update(
        self,
        score_batch: BatchScorer,
        model_key: object,
        hops: Sequence[tuple[object, object | None]],
        final: bool = False,
    ) -> list[tuple[float, float] | None]:
        """The interval of each hop ``(key, rtts_ms or None)`` or ``(key, rtts_ms, mos)`` (its MOS now) scored by
        ``score_batch``; ``model_key`` names the model and its settings (a change invalidates every interval).
        ``final``: the samples are those of a stopped trace (see the class)."""
        now = self._clock()
        out: list[tuple[float, float] | None] = [None] * len(hops)
        stale: list[tuple[float, int]] = []
        for i, (key, rtts, *point) in enumerate(hops):
            size = 0 if rtts is None else len(rtts)  # type: ignore[arg-type]
            entry = self._entries.get(key)
            if final and entry is not None and entry[4] != _fingerprint(rtts):
                entry = None  # computed over other samples: the final window's own, now
            if entry is not None and entry[0] == model_key:
                ci = entry[3]
                mos = point[0] if point else None
                if (
                    ci is not None
                    and mos is not None
                    and not ci[0] - self.POINT_SLACK <= mos <= ci[1] + self.POINT_SLACK
                ):
                    stale.append((-math.inf, i))  # the point left it: first in line, hidden until then
                    continue
                out[i] = ci
                refresh_s = self.refresh_s * max(1.0, entry[1] / self.REFRESH_SAMPLES)
                # A small window's bounds (three evaluations) follow every new sample; a bootstrap's every tenth.
                filling = min(size, entry[1]) < MIN_SAMPLES
                grown = size != entry[1] if filling else abs(size - entry[1]) >= max(self.NEW_SAMPLES, entry[1] // 10)
                enough = entry[1] < MIN_SAMPLES <= size  # too few samples for an interval before, enough now
                if now - entry[2] < refresh_s and not grown and not enough:
                    continue
                stale.append((entry[2], i))
            else:
                stale.append((-math.inf, i))
        stale.sort()
        # The hops waiting longest first, as many bootstraps as the budget holds (at least one); a small window's
        # bounds (BOUND_COST evaluations, less than a bootstrap's first batch) never wait: 30 filling hops cost
        # 90 evaluations an update for their first 9 samples.
        small = {i for _, i in stale if hops[i][1] is not None and len(hops[i][1]) < MIN_SAMPLES}  # type: ignore[arg-type]
        rest = [i for _, i in stale if i not in small]
        if not final:
            rest = rest[: max(1, self.budget // self.resamples)]
        else:  # a stopped trace's window: all at once, unless they are long (a day's "all" waits its turns)
            total, cut = 0, len(rest)
            for n, i in enumerate(rest):
                total += len(hops[i][1])  # type: ignore[arg-type]
                if n and total > self.FINAL_SAMPLES:
                    cut = n
                    break
            rest = rest[:cut]
        chosen = [i for _, i in stale if i in small] + rest
        fresh = mos_intervals(score_batch, [hops[i][1] for i in chosen], self.resamples)
        for i, ci in zip(chosen, fresh, strict=True):
            key, rtts = hops[i][:2]
            size = 0 if rtts is None else len(rtts)  # type: ignore[arg-type]
            self._entries[key] = (model_key, size, now, ci, _fingerprint(rtts))
            out[i] = ci
        return out


def _fingerprint(rtts_ms: object | None) -> int:
    """Which samples an interval was computed over (a hash of their bytes: a window that slid has other ones)."""
    return 0 if rtts_ms is None else hash(np.ascontiguousarray(rtts_ms, dtype=np.float64).tobytes())


# Where a snapshot builder keeps its MosIntervals in the caller's snapshot cache dict (beside its per-TTL rows).
MOS_INTERVALS_KEY = "mos_intervals"


def snapshot_intervals(
    score_batch: BatchScorer,
    keys: Sequence[object],
    windows: Sequence[HopWindow],
    scored: Sequence[bool],
    model_key: object,
    cache: dict | None = None,
    points: Sequence[float | None] | None = None,
    final: bool = False,
) -> list[tuple[float, float] | None]:
    """The hook for a snapshot builder: the MOS interval of each hop (``keys`` name them, e.g. TTLs; ``windows``
    their HopWindows with raw ``rtts_ms``; ``scored`` whether the model gave the hop a Score).

    Without ``cache`` (a report, a saved session): every interval is computed, in one batch. With the builder's
    ``cache`` dict (a live view updating every second): a ``MosIntervals`` kept in it under ``MOS_INTERVALS_KEY``
    bounds the cost per update (see MosIntervals); ``model_key`` names the model, its settings and the window;
    ``points``: each hop's MOS now (a kept interval that no longer holds it is not shown); ``final``: the samples
    of a stopped trace, whose intervals are each computed once more over them (MosIntervals).
    """
    samples = [w.rtts_array if ok and len(w.rtts_ms) else None for w, ok in zip(windows, scored, strict=True)]
    if cache is None:
        return mos_intervals(score_batch, samples)
    live = cache.get(MOS_INTERVALS_KEY)
    if not isinstance(live, MosIntervals):
        live = cache[MOS_INTERVALS_KEY] = MosIntervals()
    marks = points if points is not None else [None] * len(samples)
    hops = [(k, s, p) for k, s, p in zip(keys, samples, marks, strict=True) if s is not None]
    if final:
        found = live.update(score_batch, model_key, hops, final=True)
    else:  # (a MosIntervals of a caller's own, without ``final``, still works)
        found = live.update(score_batch, model_key, hops)
    it = iter(found)
    return [next(it) if s is not None else None for s in samples]
