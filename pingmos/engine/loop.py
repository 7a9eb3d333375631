"""One thread that drives many tracers at once: the monitoring agent's engine (a hundred targets, a round a second).

Why not a thread per trace (what the window and the report do): a hundred engine threads wake thousands of times a
second and queue for the interpreter lock, so a probe that is due waits behind other threads' work and its round
leaves late (measured: 4-15 % late rounds at 100 targets x 31 hops, most of a core spent switching). Here one
thread waits on every trace's sockets at once (epoll, or poll where there is none) and keeps each trace's next due
time (a probe to send, a deadline) in a heap, so a wake handles exactly the traces with packets waiting or
something due, each with the tracer's own steps (``Tracer.begin`` / ``receive`` / ``advance`` / ``finish``: the
same code ``Tracer.run`` loops over for one trace).

Networks that offer ``poll_fds()`` (raw, ping and UDP sockets) are waited on; any other (the probe helper's pipe,
a FakeNetwork) is asked with ``recv(0)`` at every wake, and at least every ``FDLESS_POLL_S``. The tracers must
keep the default ``tracer.Clock`` (real monotonic time): the loop's heap is in that time.

The caller of ``drive`` (a trace's own thread, which resolved the target and opened its network) blocks until its
tracer is done, stopped (``Tracer.stop``, noticed within ``STOP_CHECK_S``) or failed, and gets the exception that
ended it, exactly as if it had called ``tracer.run()``; samples reach the tracer's observers in the loop's thread.
A tracer told to ``wind_down`` sends nothing more and ends once its probes in flight are settled (also noticed
within ``STOP_CHECK_S``).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import select
import threading
import time

from pingmos.engine.tracer import Tracer

MAX_WAIT_S = 0.25  # the loop wakes at least this often (new traces and stops are also signalled through a pipe)
FDLESS_POLL_S = 0.005  # how often a network without descriptors is asked for packets
STOP_CHECK_S = 0.1  # stopped tracers are noticed within this


class _Entry:
    __slots__ = ("tracer", "network", "fds", "has_fds", "wake", "done", "error", "alive")

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self.network = tracer.network
        self.has_fds = hasattr(self.network, "poll_fds")
        self.fds: list[int] = []
        self.wake: float | None = None
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.alive = True


class TraceLoop:
    """Drives every tracer handed to ``drive`` from one thread (started with the first, ends with ``close``)."""

    def __init__(self, name: str = "pingmos-trace-loop") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._incoming: list[_Entry] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._pipe_open = True
        self.traces = 0  # tracers being driven now
        self.wakes = 0  # times the loop woke (benchmarks read it)

    def drive(self, tracer: Tracer) -> None:
        """Run ``tracer`` (built on its network, not begun) in the loop's thread until it is done or stopped;
        blocks the calling thread meanwhile. Raises what ended it (an OSError of its network, an observer's error);
        RuntimeError after ``close``."""
        entry = _Entry(tracer)
        with self._lock:
            if self._closed:
                raise RuntimeError("the trace loop is closed")
            self._incoming.append(entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._poke()  # under the lock: close() cannot close the pipe meanwhile
        entry.done.wait()
        if entry.error is not None:
            raise entry.error

    def close(self, join_s: float = 5.0) -> None:
        """Stop every tracer still driven (each caller of ``drive`` returns) and end the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
            self._poke()
        if thread is not None:
            thread.join(join_s)
            if thread.is_alive():
                return  # an observer hangs; the pipe stays open for the thread
        with self._lock:
            fds, self._pipe_open = self._pipe_open, False
        if fds:
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _poke(self) -> None:
        if not self._pipe_open:
            return
        try:
            os.write(self._wake_w, b"x")
        except BlockingIOError:
            pass  # the pipe is full of pokes already: the loop will wake
        except OSError:
            pass  # closed: the loop has ended

    # -- the loop's thread -------------------------------------------------------------------------------------

    def _run(self) -> None:
        if hasattr(select, "epoll"):
            poller = select.epoll()
            wait = poller.poll  # seconds
        else:  # pragma: no cover - not Linux
            poller = select.poll()
            wait = lambda t: poller.poll(t * 1000.0)  # noqa: E731 - milliseconds
        readable = select.POLLIN
        poller.register(self._wake_r, readable)
        by_fd: dict[int, _Entry] = {}
        polled: list[_Entry] = []  # entries whose network has no descriptors
        entries: set[_Entry] = set()
        heap: list[tuple[float, int, _Entry]] = []
        tie = itertools.count()
        monotonic = time.monotonic
        next_stop_check = monotonic() + STOP_CHECK_S

        def end(e: _Entry, error: BaseException | None = None) -> None:
            e.alive = False
            entries.discard(e)
            if e in polled:
                polled.remove(e)
            for fd in e.fds:
                by_fd.pop(fd, None)
                with contextlib.suppress(OSError, ValueError, KeyError):
                    poller.unregister(fd)
            try:
                e.tracer.finish()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller of drive
                error = error or exc
            e.error = error
            self.traces = len(entries)
            e.done.set()

        def register_fds(e: _Entry) -> None:
            fds = e.network.poll_fds()
            if len(fds) != len(e.fds):
                for fd in fds:
                    if fd not in by_fd:
                        by_fd[fd] = e
                        poller.register(fd, readable)
                e.fds = list(fds)

        def reschedule(e: _Entry, now: float) -> None:
            wake = e.tracer.next_wake(now)
            if wake is None:
                end(e)
            elif wake != e.wake:
                e.wake = wake
                heapq.heappush(heap, (wake, next(tie), e))

        try:
            while True:
                if self._incoming:
                    with self._lock:
                        incoming, self._incoming = self._incoming, []
                    for e in incoming:
                        entries.add(e)
                        try:
                            e.tracer.begin()
                            if e.has_fds:
                                register_fds(e)
                            else:
                                polled.append(e)
                        except BaseException as exc:  # noqa: BLE001
                            end(e, exc)
                            continue
                        e.wake = monotonic()  # round 0 is due now
                        heapq.heappush(heap, (e.wake, next(tie), e))
                    self.traces = len(entries)
                if self._closed:
                    break
                now = monotonic()
                timeout = MAX_WAIT_S
                if heap:
                    timeout = min(timeout, max(0.0, heap[0][0] - now))
                if polled:
                    timeout = min(timeout, FDLESS_POLL_S)
                events = wait(timeout)
                self.wakes += 1
                now = monotonic()
                # A wake is every due tracer's ``before_reads`` (its due probes, where its network stamps replies
                # in the kernel), then the replies, then the due tracers' ``after_reads`` (deadlines; the sends of a
                # network stamped when read): the order ``Tracer.run`` keeps too, explained in the tracer. Here the
                # sends of every due trace go ahead of every trace's reads: read first, a wake's first send waited
                # p99 1.7-4.3 ms, max 13-16 ms; sent first, p99 0.2-1.1 ms, max 4-13 ms (100 loopback targets under
                # stress-ng --cpu 2, scripts/bench_loop_order.py; RTTs the same both ways).
                due: list[_Entry] = []
                while heap and heap[0][0] <= now:
                    wake, _, e = heapq.heappop(heap)
                    if not e.alive or wake != e.wake:
                        continue  # superseded by a later entry for the same tracer
                    e.wake = None
                    due.append(e)
                    try:
                        e.tracer.before_reads(now)
                    except BaseException as exc:  # noqa: BLE001 - ends this trace only
                        end(e, exc)
                # A network with several sockets ready (ICMP and TCP) is read once: its recv reads all of them.
                ready: dict[_Entry, None] = {}
                poked = False
                for fd, _ev in events:
                    e = by_fd.get(fd)
                    if e is None:
                        poked = True  # the wake pipe
                    else:
                        ready[e] = None
                if poked:
                    try:
                        while os.read(self._wake_r, 4096):
                            pass
                    except BlockingIOError:
                        pass
                ready.update(dict.fromkeys(polled))
                for e in ready:
                    if not e.alive:
                        continue
                    try:
                        e.tracer.receive(e.network.recv(0.0))
                        reschedule(e, now)
                    except BaseException as exc:  # noqa: BLE001 - ends this trace only
                        end(e, exc)
                for e in due:
                    if not e.alive:
                        continue
                    try:
                        e.tracer.after_reads(now)
                        if e.has_fds:
                            register_fds(e)  # a UDP network opens a socket with a flow's first probe
                        reschedule(e, now)
                    except BaseException as exc:  # noqa: BLE001
                        end(e, exc)
                if now >= next_stop_check:
                    next_stop_check = now + STOP_CHECK_S
                    for e in list(entries):
                        if e.tracer.stopped:
                            end(e)
                        elif e.tracer.winding_down:
                            # Its next wake may have been a send that will not happen (a minute away at a 60 s
                            # interval): the next deadline, or the end when nothing is in flight.
                            try:
                                reschedule(e, now)
                            except BaseException as exc:  # noqa: BLE001
                                end(e, exc)
        except BaseException as exc:  # noqa: BLE001 - a fault of the loop itself: every trace is told
            failure = exc
        else:
            failure = None
        finally:
            with self._lock:
                self._closed = True
                incoming, self._incoming = self._incoming, []
            for e in [*entries, *incoming]:
                if e.alive:
                    end(e, failure)
            poller.close()
