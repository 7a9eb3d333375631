#!/usr/bin/env python3
"""Benchmark the GUI without the network: `QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/bench_gui.py`.

Not a test: it prints figures.

1. A long trace: 24 hours at one round a second over 30 hops (2.6 million samples) fed into a LiveTrace as the
   engine would feed it (``apply`` per sample). Prints the memory it costs (the history's own bytes and the
   process's resident set), how long an update takes to compute in the background (snapshot of every hop plus the
   destination's series and MOS over time; window 100 and "all"), and how long the GUI thread takes to draw it
   (table, trace graph, timeline, and the window painted), also with the timeline zoomed to the last 10 minutes.
2. A fast trace: 30 hops at 10 rounds a second fed live for a few seconds while the window refreshes on its
   timer. Prints the redraw times (the window takes an update in parts, one per pass of its event loop: each part
   is timed with what it changed painted at once after it; an update's redraw is their sum) and the longest gap
   between two timer ticks (how smooth the window stays).
3. An idle window: a 6-hop trace at one round a second, started from the toolbar as a user would, run by the real
   engine on a simulated path (``engine.fake_network`` answering in real time: no packet is sent), with the hop
   table, graphs and timeline in view and nobody touching them. Prints, per part of the run (the first 600 s fill
   the default window of 600 samples, run.LIVE_WINDOW; after that it is the steady state; measured 2026-12-01
   over 660 s in 60 s parts, side by side: 3.9-4.6 % with the old 100, 3.8-4.8 % with 600), the share of one
   core the whole process
   used (GUI, refresher, engine and session recording threads: user + system CPU over wall time). The 10 ms tick
   watch of part 2 is off here unless ``--idle-watch-ms`` asks for it: it wakes the GUI thread 100 times a second
   and alone cost 1.5-2 % of a core (measured 2026-12-01: 5.1-5.9 % with it, 3.7-3.9 % without, same tree), which
   is the benchmark's, not the window's; part 2 measures the event loop's gaps.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEvent, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from pingmos.engine.events import Sample  # noqa: E402
from pingmos.engine.fake_network import FakeHop, FakeNetwork  # noqa: E402
from pingmos.gui.app import freeze_heap  # noqa: E402
from pingmos.gui.main_window import UPDATE_PARTS, MainWindow  # noqa: E402
from pingmos.gui.refresher import Request, _ModelCache, compute  # noqa: E402
from pingmos.gui.settings_store import SettingsStore  # noqa: E402
from pingmos.live_trace import LiveTrace  # noqa: E402
from pingmos.scoring import load_model  # noqa: E402
from pingmos.state import snapshot as snapshot_module  # noqa: E402

HOPS = 30
T0 = 1_700_000_000.0


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def path_sample(rng: random.Random, rnd: int, ttl: int, sent_at: float) -> Sample:
    """Hop ttl of a made-up 30-hop path: 1.5 ms more per hop, some jitter, 0.5 % loss, 3 % from hop 20 on."""
    loss = 3.0 if ttl >= 20 else 0.5
    if rng.random() * 100.0 < loss:
        return Sample(rnd, ttl, rnd & 0xFFFF, sent_at, None, None)
    rtt = 1.5 * ttl + rng.uniform(0.0, 0.4 * ttl)
    return Sample(rnd, ttl, rnd & 0xFFFF, sent_at, rtt, f"10.{ttl}.0.1", reached=ttl == HOPS)


def timed_ms(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def fmt(ms: list[float]) -> str:
    return f"median {statistics.median(ms):7.1f} ms, max {max(ms):7.1f} ms ({len(ms)} runs)"


def timed_wall_cpu_ms(fn, repeat: int, before=None) -> tuple[list[float], list[float]]:
    """Wall-clock and this thread's CPU time (ms) of each call (``before`` runs first, untimed). On a machine
    shared with other jobs the wall figure is the CPU figure times the wait for a core."""
    wall, cpu = [], []
    for _ in range(repeat):
        if before is not None:
            before()
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn()
        cpu.append((time.thread_time() - start_cpu) * 1000.0)
        wall.append((time.perf_counter() - start) * 1000.0)
    return wall, cpu


def fmt_per_hop(wall: list[float], cpu: list[float]) -> str:
    return (
        f"wall median {statistics.median(wall) / HOPS:6.2f} ms (max {max(wall) / HOPS:6.2f}), CPU median "
        f"{statistics.median(cpu) / HOPS:6.2f} ms per hop ({len(wall)} runs)"
    )


def draw(window: MainWindow, update) -> None:
    """What the GUI thread does per update: take the update into the widgets, and paint the window now."""
    window.apply_update(update)
    window.repaint()


@contextlib.contextmanager
def no_mos_intervals():
    """Snapshots without the MOS interval's bootstrap, to time the rest on its own."""
    real = snapshot_module.snapshot_intervals
    snapshot_module.snapshot_intervals = lambda _batch, keys, *rest, **kw: [None] * len(keys)
    try:
        yield
    finally:
        snapshot_module.snapshot_intervals = real


def long_trace(app: QApplication, window: MainWindow, hours: float) -> None:
    rounds = int(hours * 3600)
    print(f"1. {hours:g} h at 1 round/s, {HOPS} hops: {rounds * HOPS:,} samples")
    before = rss_mb()
    trace = LiveTrace("bench.example", names=None)
    # As a started trace has it (LiveTrace.start): the window ends before the rounds with a loss still to settle
    # (the engine's 3 s timeout; one_round below settles losses 3 rounds late). A tree without it ignores it.
    trace.history.settle_s = 3.0
    rng = random.Random(1)
    start = time.perf_counter()
    for rnd in range(rounds):
        sent_at = T0 + rnd
        for ttl in range(1, HOPS + 1):
            trace.apply(path_sample(rng, rnd, ttl, sent_at + ttl * 0.03))
    feed_s = time.perf_counter() - start
    status = trace.status()
    after = rss_mb()
    print(f"   fed in {feed_s:.1f} s ({rounds * HOPS / feed_s / 1000:.0f} k samples/s)")
    print(
        f"   memory: history {status.history_bytes / 2**20:.1f} MB ({status.history_bytes / status.samples:.0f} "
        f"bytes/sample); process RSS {before:.0f} -> {after:.0f} MB (+{after - before:.0f} MB)"
    )
    window.trace = trace
    model = load_model("pingplotter")
    print(f"   (load average {Path('/proc/loadavg').read_text().split()[0]})")
    # Issue 11's "per-hop snapshot at 24 h 'all' <= 5 ms": the statistics and score of one hop per update, without
    # the MOS interval's bootstrap (timed below on its own). Cold: nothing kept from an earlier snapshot (a
    # session just opened). Live: the window's case, a snapshot with its cache after one more round at every hop,
    # its losses settling 3 rounds late as the engine's 3 s timeout settles them (behind later answers: that
    # hop's row is then built again from its history).
    next_round = [rounds]
    late: list[list[Sample]] = [[], [], []]

    def one_round() -> None:
        rnd = next_round[0]
        next_round[0] += 1
        lost = []
        for ttl in range(1, HOPS + 1):
            sample = path_sample(rng, rnd, ttl, T0 + rnd + ttl * 0.03)
            if sample.rtt_ms is None:
                lost.append(sample)
            else:
                trace.apply(sample)
        for sample in late.pop(0):
            trace.apply(sample)
        late.append(lost)

    with no_mos_intervals():
        for window_size in (100, None):
            label = "all" if window_size is None else str(window_size)
            cold = timed_wall_cpu_ms(lambda w=window_size: trace.snapshot(w, model.score_many, "pingplotter"), 3)
            print(f"   per-hop snapshot, cold (window {label:>3}):              {fmt_per_hop(*cold)}")
            cache: dict = {}
            trace.snapshot(window_size, model.score_many, "pingplotter", cache=cache)
            live = timed_wall_cpu_ms(
                lambda w=window_size, c=cache: trace.snapshot(w, model.score_many, "pingplotter", cache=c),
                30,
                before=one_round,
            )
            print(f"   per-hop snapshot, live, one new round (window {label:>3}): {fmt_per_hop(*live)}")
    for window_size in (100, None):
        label = "all" if window_size is None else str(window_size)
        # With the MOS interval (200 bootstrap resamples per hop, fewer for long windows: scoring.interval), every
        # hop's at once as a report computes them; a live window spreads them over updates within a budget.
        whole = timed_wall_cpu_ms(lambda w=window_size: trace.snapshot(w, model.score_many, "pingplotter"), 1)
        print(f"   per-hop snapshot, cold, with MOS interval (window {label:>3}): {fmt_per_hop(*whole)}")
    cache = _ModelCache()
    for window_size in (100, None):
        request = Request(trace, window_size, "pingplotter", (), None, (HOPS,), ((HOPS, f"hop {HOPS}"),))
        update = compute(request, cache)  # warm: the model loads once
        compute_ms = timed_ms(lambda r=request: compute(r, cache), 3)
        label = "all" if window_size is None else str(window_size)
        print(f"   update computed in the background (window {label:>3}): {fmt(compute_ms)}")
        draw(window, update)  # first draw builds the curves
        redraw = timed_ms(lambda u=update: draw(window, u), 5)
        print(f"   GUI thread redraw, whole trace in view (window {label:>3}):{fmt(redraw)}")
    span = trace.time_span()
    window.timeline._follow = False
    window.timeline.plot.setXRange(span[1] - 600, span[1], padding=0)
    zoomed = timed_ms(lambda: draw(window, update), 5)
    print(f"   GUI thread redraw, last 10 minutes in view:          {fmt(zoomed)}")
    three = Request(trace, 100, "pingplotter", (), None, (1, 20, HOPS), ())
    update3 = compute(three, cache)
    window.timeline.follow_live()
    draw(window, update3)
    print(f"   GUI thread redraw, 3 hops in the timeline:           {fmt(timed_ms(lambda: draw(window, update3), 5))}")
    print(f"   process RSS after drawing: {rss_mb():.0f} MB")
    window.trace = None


class TickWatch:
    """A 10 ms timer on the event loop that records the gaps between its ticks (ms): the longest is how long the
    loop was kept from running."""

    def __init__(self, interval_ms: int = 10):
        self.gaps: list[float] = []
        self._clock = QElapsedTimer()
        self._clock.start()
        self._last = 0
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = self._clock.elapsed()
        self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def restart(self) -> None:
        """Forget the gaps so far (a new part of the run)."""
        self.gaps.clear()
        self._last = self._clock.elapsed()

    def longest_gap_ms(self) -> float:
        return max(self.gaps[1:], default=0.0)  # the first gap runs from the watch's creation


def paint_now(app: QApplication, window: MainWindow) -> None:
    """Paint what is waiting to be painted, now: the posted events that carry the changes to the widgets (a
    pyqtgraph scene tells its view through one; events posted meanwhile wait for the next call, hence three), then
    the window's update request, which paints the regions marked dirty and nothing else."""
    for _ in range(3):
        app.sendPostedEvents()
    app.sendPostedEvents(window, QEvent.Type.UpdateRequest)


def fast_trace(app: QApplication, window: MainWindow, seconds: float) -> None:
    print(f"2. {HOPS} hops at 10 rounds/s for {seconds:g} s, fed live; the window refreshes on its 250 ms timer")
    trace = LiveTrace("fast.example", interval_s=0.1, names=None)
    stop = threading.Event()

    def feed():
        rng = random.Random(2)
        rnd = 0
        t_start = time.time()
        while not stop.is_set():
            for ttl in range(1, HOPS + 1):
                trace.apply(path_sample(rng, rnd, ttl, time.time()))
            rnd += 1
            time.sleep(max(0.0, t_start + rnd * 0.1 - time.time()))

    feeder = threading.Thread(target=feed, daemon=True)
    window.trace = trace
    draws: list[float] = []  # per update: its parts taken in and painted, summed
    parts: list[float] = []  # per part of an update
    original = window.apply_step
    spent = [0.0]
    by_part: dict[str, tuple[list[float], list[float]]] = {}  # per part's name: wall and GUI-thread CPU (ms)

    def timed_step(update, name, step):
        # The window shows an update in parts, one per pass of the event loop (MainWindow.update_steps): each part
        # is timed with what it changed painted at once after it, as the event loop would paint it in that pass;
        # an update's redraw is the sum of its parts. (Not a whole-window repaint(): that painted every part's
        # widgets after each part, three times the painting the window itself does.)
        start, start_cpu = time.perf_counter(), time.thread_time()
        original(update, name, step)
        paint_now(app, window)
        ms = (time.perf_counter() - start) * 1000.0
        parts.append(ms)
        by_part.setdefault(name, ([], []))[0].append(ms)
        by_part[name][1].append((time.thread_time() - start_cpu) * 1000.0)
        spent[0] += ms
        if name == UPDATE_PARTS[-1]:  # the last part
            draws.append(spent[0])
            spent[0] = 0.0

    window.apply_step = timed_step
    watch = TickWatch()
    watch.start()
    feeder.start()
    QTimer.singleShot(int(seconds * 1000), app.quit)
    app.exec()
    stop.set()
    feeder.join()
    watch.stop()
    window.apply_step = original
    print(f"   {trace.status().samples:,} samples, {len(draws)} redraws ({len(draws) / seconds:.1f}/s)")
    print(f"   GUI thread redraw: {fmt(draws)}")
    print(f"   GUI thread redraw, each part on its own: {fmt(parts)}")
    for name, (wall, cpu) in by_part.items():
        print(
            f"     {name:>8}: wall median {statistics.median(wall):6.1f} ms, max {max(wall):6.1f} ms; CPU median "
            f"{statistics.median(cpu):6.1f} ms, max {max(cpu):6.1f} ms"
        )
    print(f"   longest gap between two 10 ms ticks of the event loop: {watch.longest_gap_ms():.0f} ms")


class RealClock:
    """Monotonic time as FakeNetwork reads it (``now``) and as the tracer reads it (``monotonic()``)."""

    @property
    def now(self) -> float:
        return time.monotonic()

    def monotonic(self) -> float:
        return time.monotonic()


class RealtimeFakeNetwork(FakeNetwork):
    """The simulated path of the engine's tests, answering in real time: ``recv`` sleeps until the next reply is
    due or the timeout passes."""

    def recv(self, timeout_s: float) -> list[tuple[bytes, float]]:
        until = time.monotonic() + timeout_s
        if self._queue:
            until = min(until, self._queue[0][0])
        time.sleep(max(0.0, until - time.monotonic()))
        now = time.monotonic()
        out = []
        while self._queue and self._queue[0][0] <= now:
            due, _, packet = heapq.heappop(self._queue)
            out.append((packet, self.wall(due)))
        return out


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds of each thread of this process so far, by name (Python's thread names; the kernel's for threads
    Qt started; threads of one name summed). From the scheduler's own count (``schedstat``, nanoseconds), not
    ``stat``'s user/system times: those are charged per clock tick to whichever thread the tick finds running,
    and a thread that runs a few milliseconds between ticks is missed."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    names[threading.main_thread().native_id] = "GUI"
    out: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
            with open(f"/proc/self/task/{tid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue  # the thread ended meanwhile
        name = (names.get(int(tid)) or comm).rstrip("_0123456789")  # a pool's workers under the pool's name
        out[name] = out.get(name, 0.0) + ns / 1e9
    return out


IDLE_PATH = [FakeHop(f"198.18.{i}.2", 2.0 + 4.0 * i, 1.0, 0.5) for i in range(5)] + [FakeHop("198.18.9.9", 24.0, 2.0)]


def idle_window(app: QApplication, window: MainWindow, seconds: float, chunk_s: float, watch_ms: int = 0) -> None:
    print(f"3. {len(IDLE_PATH)} hops at 1 round/s, the window idle in view for {seconds:g} s, in {chunk_s:g} s parts")
    clock = RealClock()

    def factory(target: str, protocol: str, interval_s: float) -> LiveTrace:
        return LiveTrace(
            target,
            protocol=protocol,
            interval_s=interval_s,
            network_factory=lambda: RealtimeFakeNetwork(IDLE_PATH, clock),  # type: ignore[arg-type]
            mode_description="simulated path",
            tracer_clock=clock,
            source="198.18.0.1",
        )

    window.trace_factory = factory
    window.target_combo.setCurrentText("198.18.9.9")
    window.interval_spin.setValue(1.0)
    updates = [0]
    original = window.apply_step

    def counted(update, name, step):
        updates[0] += name == UPDATE_PARTS[-1]  # an update's last part (MainWindow.update_steps)
        original(update, name, step)

    window.apply_step = counted
    watch = TickWatch(watch_ms) if watch_ms else None
    mark = [time.monotonic(), time.process_time(), 0.0]
    worst = [0.0]
    threads = [thread_cpu_s()]

    def part():
        now, cpu = time.monotonic(), time.process_time()
        wall = now - mark[0]
        mark[2] += wall
        gap_text = ""
        if watch is not None:
            gap = watch.longest_gap_ms()
            worst[0] = max(worst[0], gap)
            gap_text = f", longest event-loop gap {gap:.0f} ms"
        print(
            f"   {mark[2] - wall:4.0f}-{mark[2]:3.0f} s: {100.0 * (cpu - mark[1]) / wall:5.1f} % of one core (the "
            f"whole process), {updates[0] / wall:.1f} updates drawn/s{gap_text}"
        )
        now_threads = thread_cpu_s()
        shares = {k: v - threads[0].get(k, 0.0) for k, v in now_threads.items()}
        threads[0] = now_threads
        # (Threads that ended within the part took their CPU with them: "ended" is the rest of the process's.)
        shares["ended"] = (cpu - mark[1]) - sum(shares.values())
        busy = sorted(((v, k) for k, v in shares.items() if v >= 5e-4 * wall), reverse=True)
        print("     by thread: " + ", ".join(f"{k} {100.0 * v / wall:.1f} %" for v, k in busy))
        updates[0] = 0
        if watch is not None:
            watch.restart()
        mark[0], mark[1] = now, cpu
        if mark[2] >= seconds - 0.5 * chunk_s:
            # The run ends after its last part is measured: quitting closes the window (Qt 6), whose threads end
            # (a coarse quit timer firing before the last part's timer measured that part with them gone).
            chunks.stop()
            app.quit()

    chunks = QTimer()
    chunks.setTimerType(Qt.TimerType.PreciseTimer)  # (a coarse timer of 30 s may fire 1.5 s late)
    chunks.setInterval(int(chunk_s * 1000))
    chunks.timeout.connect(part)
    window.start()
    if watch is not None:
        watch.start()
    chunks.start()
    app.exec()
    chunks.stop()
    if watch is not None:
        watch.stop()
    window.apply_step = original
    trace = window.trace
    window.stop()
    gap_text = f"; longest event-loop gap over the run {worst[0]:.0f} ms" if watch is not None else ""
    print(f"   {trace.status().samples:,} samples{gap_text}")


def positive(text: str) -> float:
    """An argument that must be a number above 0 (a length of time)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be above 0: {text!r}")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=positive, default=24.0, help="length of the long trace (24)")
    parser.add_argument("--seconds", type=positive, default=6.0, help="length of the fast live trace (6)")
    parser.add_argument("--idle-seconds", type=positive, default=150.0, help="length of the idle window's run (150)")
    parser.add_argument(
        "--idle-watch-ms", type=int, default=0, help="part 3 also runs part 2's tick watch at this period (off: 0)"
    )
    parser.add_argument("--idle-part", type=positive, default=30.0, help="the idle run's CPU is shown per part (30 s)")
    parser.add_argument("--only", type=int, choices=(1, 2, 3), action="append", help="run only these parts")
    args = parser.parse_args()
    parts = set(args.only or (1, 2, 3))
    app = QApplication(sys.argv[:1])
    tmp = tempfile.mkdtemp(prefix="pingmos-bench-")  # the user's settings and sessions stay untouched
    os.environ["PINGMOS_DATA_DIR"] = os.path.join(tmp, "data")
    settings = QSettings(os.path.join(tmp, "bench.ini"), QSettings.Format.IniFormat)
    window = None
    try:
        window = new_window(app, settings)
        if 1 in parts:
            long_trace(app, window, args.hours)
        if 2 in parts:
            fast_trace(app, window, args.seconds)
        if 3 in parts:
            # A window of its own: the event loop's end above shut the first one's background workers down.
            dispose(app, window)
            window = new_window(app, settings)
            idle_window(app, window, args.idle_seconds, args.idle_part, args.idle_watch_ms)
    finally:
        # (An error in a part still shows its traceback and exits 1: only the teardown is made sure of.)
        if window is not None:
            dispose(app, window)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def new_window(app: QApplication, settings: QSettings) -> MainWindow:
    window = MainWindow(SettingsStore(settings))
    window.resize(1500, 980)
    window.show()
    freeze_heap()  # as the app does once its window is built (pingmos.gui.app.run)
    app.processEvents()
    return window


def dispose(app: QApplication, window: MainWindow) -> None:
    """Close ``window`` (its trace, refresher and workers stop) and delete its widgets now, while the QApplication
    lives. Left to the end of main, the window's Python wrappers were freed after the QApplication (main's locals
    go in the order they were made), and a pyqtgraph widget deleted without its application crashes the
    interpreter at exit (SIGSEGV, exit status 139, after every figure was printed)."""
    window.close()
    window.refresher.wait(30.0)  # an update still computing on part 1's long trace
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app.processEvents()


if __name__ == "__main__":
    raise SystemExit(main())
