"""Everything an update needs that could be slow, computed off the GUI thread: the snapshot (statistics and
scores of every hop), the status, the selected hops' series and MOS over time, and the diagnosis.

The main window asks for one update at a time from a single worker thread and picks the result up on its timer;
it never waits for it. Scoring models are loaded in that worker too (a user script means reading a file and maybe
starting a process), and kept while name and settings stay the same. The latest choice wins: an update asked for
with another model or trace supersedes the one under way, which is cancelled at once (a user formula's worker is
killed, its next scoring call never made) instead of being waited for. No Qt here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from pingmos.diagnosis import Diagnosis, EchoWitness, candidates_for_witness, diagnose
from pingmos.diagnosis import Thresholds as DiagnosisThresholds
from pingmos.display_text import safe_snapshot
from pingmos.gui import models
from pingmos.gui.timeline import HopTimeline
from pingmos.hop_report import TraceSnapshot, no_responder_samples
from pingmos.live_trace import LiveTrace, TraceStatus
from pingmos.scoring import BatchScorer, HopWindow
from pingmos.scoring.interval import MIN_SAMPLES

MOS_POINTS = 240  # MOS-over-time points per hop: enough for a smooth curve, cheap to score
# With "all" samples and no window to follow, each MOS point scores at least this many samples; and no point is
# drawn from fewer (the first rounds of a trace): the project's minimum for a score with an interval.
MIN_MOS_WINDOW = MIN_SAMPLES
SETTLING_SAMPLES = 64  # the newest samples of a hop can still move (late replies settle out of order)
MOS_CACHE_MAX = 50_000


@dataclass(frozen=True)
class Request:
    trace: LiveTrace
    window: int | None
    model_name: str
    model_settings: tuple[tuple[str, object], ...]
    focus: tuple[float, float] | None
    timeline_ttls: tuple[int, ...]
    labels: tuple[tuple[int, str], ...] = ()
    # The samples each MOS point of the timeline scores when ``window`` is None (all samples): the window the trace
    # was watched with live (an opened file: its own, or the Samples setting). None: the samples since the
    # previous point (mos_point_width).
    timeline_window: int | None = None
    # The diagnosis too, with these thresholds and echo witnesses (TTL, witness), when given: it is pure, and in
    # the GUI thread it took 3 ms of each update of 30 hops (diagnose and the witness candidates).
    diagnosis_thresholds: DiagnosisThresholds | None = None
    witnesses: tuple[tuple[int, EchoWitness], ...] = ()


def model_key(request: Request) -> tuple[str, tuple[tuple[str, object], ...]]:
    """The model an update is (to be) scored with: its name and settings."""
    return request.model_name, request.model_settings


class Superseded(Exception):  # noqa: N818 - not an error: what a cancelled update raises in the worker
    """The update was cancelled: another model or trace was asked for meanwhile."""


@dataclass(frozen=True)
class Update:
    request: Request
    snapshot: TraceSnapshot
    status: TraceStatus
    timelines: list[HopTimeline]
    model_error: str | None  # the model could not be loaded (unknown name, bad setting): the scores are blank
    compute_ms: float
    diagnosis: Diagnosis | None = None  # of snapshot, with the request's thresholds and witnesses (None: not asked)
    witness_candidates: bool | None = None  # some router is worth an echo witness (candidates_for_witness)


def _point_step(n: int, points: int) -> int:
    step = 1
    while n / step > points:
        step *= 2
    return step


def mos_point_width(n: int, window: int | None, points: int = MOS_POINTS) -> int:
    """The samples each MOS point of an ``n``-sample series scores (``mos_over_time``): ``window``, or with None
    the samples since the previous point, at least MIN_MOS_WINDOW."""
    return window if window is not None else max(MIN_MOS_WINDOW, _point_step(n, points))


def mos_over_time(
    t: np.ndarray,
    rtt_ms: np.ndarray,
    window: int | None,
    scorer: BatchScorer,
    points: int = MOS_POINTS,
    cache: dict | None = None,
    cache_key: tuple = (),
    path_end: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """MOS at up to ``points`` moments spread evenly over the series, plus the newest sample: each scores the
    ``window`` samples that end there (with "all" samples, the samples since the previous point, at least
    MIN_MOS_WINDOW), so the curve shows what the table would have said at that time. NaN where nothing could be
    scored, and at the first rounds, where fewer samples than MIN_SAMPLES (or a smaller ``window``) end.

    The moments are multiples of a power-of-two step, so they stay put while the trace grows (until it doubles)
    and ``cache`` (a dict the caller keeps; ``cache_key`` names the hop, window and model) can keep their scores
    instead of scoring a day of history again at every update. A moment among the newest SETTLING_SAMPLES (whose
    samples late replies may still move) is kept with its window's samples and scored again only when they
    changed: at one update a round, a 100-sample window's curve then costs one new score per update, not 64
    (that was three quarters of an update's CPU: 39 g107-jb scores of 100 samples each).

    ``path_end``: the series is the destination's (or the row that ends the path); False for a router, where a
    moment whose window got no reply is NaN (hop_report.no_responder_samples: no MOS 1 for a router nobody
    measured), as the table shows no MOS for it.
    """
    n = len(t)
    if n == 0:
        return np.array([]), np.array([])
    step = _point_step(n, points)
    ends = list(range(step, n + 1, step))
    if not ends or ends[-1] != n:
        ends.append(n)
    width = mos_point_width(n, window, points)
    settled = n - SETTLING_SAMPLES  # later samples may still be reordered by late replies: checked before reuse
    mos = np.full(len(ends), np.nan)
    todo = []
    parts = {}
    for i, end in enumerate(ends):
        if end < min(width, MIN_SAMPLES):
            continue  # (NaN: the first rounds, fewer samples than a point stands for)
        kept = cache.get((*cache_key, width, end)) if cache is not None else None
        if kept is not None:
            samples, value = kept
            if samples is None:  # scored once its samples were settled
                mos[i] = value
                continue
            part = rtt_ms[max(0, end - width) : end]
            if samples == part.tobytes():  # (the same bits: NaN for a lost sample compares too)
                mos[i] = value
                if end <= settled:
                    cache[(*cache_key, width, end)] = (None, value)  # settled now: no need to compare again
                continue
        todo.append(i)
    windows = []
    for i in todo:
        parts[i] = part = rtt_ms[max(0, ends[i] - width) : ends[i]]
        windows.append(HopWindow.from_rtts(part))
    results = scorer(windows) if windows else []
    for i, window_stats, result in zip(todo, windows, results, strict=True):
        if no_responder_samples(window_stats.received, window_stats.loss_pct, path_end=path_end):
            result = None
        elif not hasattr(result, "mos"):  # an error: the last working version's score, as the table shows it
            result = getattr(result, "fallback", None)
        mos[i] = result.mos if hasattr(result, "mos") else np.nan
        if cache is not None:
            cache[(*cache_key, width, ends[i])] = (None if ends[i] <= settled else parts[i].tobytes(), mos[i])
    if cache is not None and len(cache) > MOS_CACHE_MAX:
        cache.clear()
    return t[np.asarray(ends) - 1], mos


class _ModelCache:
    """The loaded model for the current name and settings; only the worker thread touches it."""

    def __init__(self) -> None:
        self.key = None
        self.generation = 0
        self.model = None
        self.error: str | None = None
        self.mos: dict = {}  # MOS-over-time points already scored (see mos_over_time)
        self.hops: dict = {}  # per-hop statistics and scores of the last snapshot (LiveTrace.snapshot's cache)
        self.trace = None  # the trace those points belong to (held, so that its id is never reused meanwhile)

    def get(self, name: str, settings: tuple[tuple[str, object], ...]):
        # A saved formula keeps the loaded model: a user's script re-reads its file at each scoring and keeps the
        # last version that worked, which the table shows (marked *) while the saved one is broken. Only the
        # scores computed with the old text are dropped.
        key = (name, settings)
        generation = models.generation(name)
        if key != self.key:
            self.key = key
            self.generation = generation
            self.mos.clear()
            self.hops.clear()
            if self.model is not None:
                self.model.close()  # a user script's worker process goes with it
            try:
                self.model = models.load_model(name, dict(settings))
                self.error = None
            except (ValueError, OSError) as exc:
                self.model = None
                self.error = str(exc)
        elif generation != self.generation:
            self.generation = generation
            self.mos.clear()
            self.hops.clear()
        return self.model, self.error

    def interrupt(self) -> None:
        """(any thread) Stop what the current model is running at once: a user formula's worker is killed and
        the call under way returns its errors (``ScriptModel.close`` never waits); a built-in's call is short."""
        model = self.model
        if model is not None:
            model.close()


def compute(request: Request, cache: _ModelCache, cancelled: threading.Event | None = None) -> Update:
    """The update for ``request``. Raises Superseded as soon as ``cancelled`` is set (checked around every
    scoring call, the only slow part)."""
    start = time.perf_counter()
    cancelled = cancelled or threading.Event()

    def check() -> None:
        if cancelled.is_set():
            raise Superseded

    check()
    model, error = cache.get(request.model_name, request.model_settings)
    if cache.trace is not request.trace:
        cache.trace = request.trace
        cache.mos.clear()
        cache.hops.clear()

    def scorer(windows: Sequence) -> list:
        check()
        if model is None:
            return [None] * len(windows)
        results = model.score_many(windows)
        check()  # cancelled meanwhile: these are the errors of a killed worker, never to be shown or cached
        return results

    snapshot = request.trace.snapshot(
        request.window, scorer, request.model_name, time_range=request.focus, cache=cache.hops
    )
    # What the scores assumed goes with them (the caption and a copy's context name the model that produced them).
    snapshot = dataclasses.replace(snapshot, model_settings=tuple(request.model_settings))
    labels = dict(request.labels)
    timelines = []
    for ttl in request.timeline_ttls:
        series = request.trace.series(ttl)
        t, y = series.sent_at, series.rtt_ms
        k = len(t) if series.settled is None else series.settled  # the MOS of settled rounds only, as the table's
        # The window the table judges, or with all samples the one the trace was watched with: a 10-sample curve
        # dipped to 1.9 where the table said 3.14 over the whole record.
        width = request.window if request.window is not None else request.timeline_window
        end = any(h.ttl == ttl and (h.destination or h.unreachable is not None) for h in snapshot.hops)
        mos_t, mos = mos_over_time(
            t[:k], y[:k], width, scorer, cache=cache.mos, cache_key=(id(request.trace), ttl, end), path_end=end
        )
        label = labels.get(ttl, f"hop {ttl}")
        timelines.append(HopTimeline(ttl, label, t, y, mos_t, mos, mos_point_width(k, width)))
    snapshot = safe_snapshot(snapshot)  # text from files and the network made safe for every view
    diagnosis = candidates = None
    th = request.diagnosis_thresholds
    if th is not None:
        diagnosis = snapshot.diagnosis or diagnose(snapshot, th, dict(request.witnesses))
        candidates = bool(candidates_for_witness(snapshot, th))
    return Update(
        request=request,
        snapshot=snapshot,
        status=request.trace.status(),
        timelines=timelines,
        model_error=error,
        compute_ms=(time.perf_counter() - start) * 1000.0,
        diagnosis=diagnosis,
        witness_candidates=candidates,
    )


class Refresher:
    """One background worker computing updates; ``submit`` never blocks, ``poll`` returns a finished update."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pingmos-refresh")
        self._cache = _ModelCache()
        self._future: Future | None = None
        self._request: Request | None = None  # the request under way (or last)
        self._cancelled = threading.Event()
        self.superseded = 0  # updates cancelled for a newer choice (tests, diagnostics)

    @property
    def busy(self) -> bool:
        return self._future is not None and not self._future.done()

    @property
    def pending(self) -> Request | None:
        """The request being computed, None when idle."""
        return self._request if self.busy else None

    @property
    def idle(self) -> bool:
        """No update under way and none finished but not yet taken (``poll``)."""
        return self._future is None

    def submit(self, request: Request) -> bool:
        """Start computing ``request``. While one is under way: one for the same trace and model is left to
        finish (False: ask again later); one for another model or trace is cancelled at once and ``request``
        computed next (the latest choice wins; a slow or failing formula is not waited for)."""
        running = self.pending
        if running is not None:
            if running.trace is request.trace and model_key(running) == model_key(request):
                return False
            self._cancelled.set()
            self.superseded += 1
            if model_key(running) != model_key(request):
                self._cache.interrupt()  # a user formula's worker killed now, not after its deadline
        self._cancelled = threading.Event()
        self._request = request
        self._future = self._pool.submit(compute, request, self._cache, self._cancelled)
        return True

    def poll(self) -> Update | BaseException | None:
        """The finished update (or the exception it raised) once, then None until the next one finishes."""
        future = self._future
        if future is None or not future.done():
            return None
        self._future = None
        exc = future.exception()
        if isinstance(exc, Superseded):
            return None
        return exc if exc is not None else future.result()

    def wait(self, timeout_s: float) -> None:
        """Tests and shutdown only: wait for the update under way."""
        future = self._future
        if future is not None:
            # poll() hands any exception over; here we only wait.
            with contextlib.suppress(Exception):
                future.result(timeout_s)

    def close(self) -> None:
        self._cancelled.set()
        self._cache.interrupt()
        self._pool.shutdown(wait=False, cancel_futures=True)
