"""The agent's probing in a process of its own: its rounds leave on time whatever the agent computes meanwhile.

Why: in one process, the engine threads (``engine.TraceLoop``) wait for the interpreter lock while the agent's
other threads recompute windows, scores and MOS intervals, render a scrape of 100,000 lines or write sessions; a
round's first probe then leaves late (measured at 100 targets x 31 hops: 3.7 % late rounds on a quiet machine,
about half on a saturated one, with ``sys.setswitchinterval(0.001)`` and ``time.sleep(0)`` between window slices
to keep it there). Here a child process (``python -m pingmos.monitor.prober``) does nothing but send, receive and
match, with the same ``engine.TraceLoop`` and ``engine.Tracer`` as before, and streams every settled probe to the
agent in small batches (every ``FLUSH_S``) over a pipe; the agent folds them into its histories, counters,
sessions and alert rules as its engine threads did. A few thousand records a second cost little to pass.

The parent side is ``Prober``: ``network(mode)`` is what a target's trace opens in the agent (a ``RemoteNetwork``:
no socket, only the probe mode the agent chose), and ``drive(tracer)`` runs that tracer's settings in the child
and blocks until it ends, exactly as ``TraceLoop.drive`` does; samples reach ``tracer.on_sample`` in the agent's
reader thread. Targets whose probe mode the child could not open alone (raw sockets held by the helper forked
before the agent dropped root: TCP targets of an unprivileged agent) stay on the agent's own engine threads.

The child: started with the agent's own privileges (the same user, no descriptor of the agent's but its pipes and
stderr: it gains nothing), in the agent's network namespace; it ignores SIGINT, SIGHUP and SIGTERM (the agent's:
a terminal's Ctrl+C, ``timeout`` and systemd's stop signal the agent's whole process group or cgroup at once) and
ends when its command pipe closes (the agent exited or died) or the agent's process id changes, after it has passed
on the samples it holds. If it dies, the agent
says so in one line, every trace it drove stops with that error and is started again by the agent's usual
restarts, on a new child (started after 1 s, then 2, 4 ... up to a minute while it keeps dying).

Messages are ``marshal``-ed tuples of plain values behind a 4-byte length: commands ("start", id, settings, mode,
source), ("stop", id) (at once), ("wind_down", id) (no more probes; the trace ends once those in flight are
settled: ``Tracer.wind_down``); answers ("samples", [(id, round, ttl, seq, sent_at, rtt_ms, responder, reached, reply,
icmp_code), ...]), ("done", id, kind, message) with kind "" (ended), "permission", "open", "network" or
"internal"; ("dropped", n); ("stamps", kernel, python): the child's sends so far by where their send time came
from (``send_stamps``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import marshal
import operator
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pingmos.engine import NoPermission, Sample, TraceLoop, Tracer, TraceSettings, choose_mode, family_of

FLUSH_S = 0.02  # the child sends what settled this often: a sample reaches the agent at most ~20 ms late
STAMPS_EVERY_S = 1.0  # and its counts of kernel and Python send stamps this often
MAX_BUFFERED = 200_000  # samples the child keeps while the agent does not read (beyond: dropped, and counted)
CHILD_MODES = ("unprivileged", "raw")  # probe modes the child opens by itself
_FIELDS = operator.attrgetter(*(f.name for f in dataclasses.fields(Sample)))  # a Sample as a tuple, in field order
GONE = "the probing process ended"  # the error of every trace it drove (the agent says why once, in one line)
_HEADER = struct.Struct("<I")
_MAX_FRAME = 64 << 20
# Diagnostics: with this set to a file name, the child writes where each round's first probe spent its time
# (``Timeline``; scripts/bench_monitor.py --timeline writes and reads it). Off by default: it costs a little per round.
TIMELINE_ENV = "PINGMOS_PROBER_TIMELINE"


class ProberGone(OSError):
    """The probing process is not running (it died or the agent is closing)."""


class RemoteNetwork:
    """What a target's trace opens in the agent when the child probes for it: no socket, the probe mode only
    (``mode``: "unprivileged" or "raw", as ``engine.choose_mode`` names them; ``description`` its one line)."""

    icmp_ident = None
    stamps_replies = True

    def __init__(self, mode: str, description: str) -> None:
        self.mode = mode
        self.description = description

    def recv(self, timeout_s: float) -> list[tuple[bytes, float]]:
        """Nothing: the child reads the replies (a tracer finishing here drains its network)."""
        return []

    def close(self) -> None:
        pass


def _write_frame(fd: int, obj) -> None:
    data = marshal.dumps(obj)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int):
    """The next message, or None at the end of the pipe."""
    head = _read_exact(fd, _HEADER.size)
    if head is None:
        return None
    (size,) = _HEADER.unpack(head)
    if size > _MAX_FRAME:
        raise ValueError(f"a message of {size} bytes")
    data = _read_exact(fd, size)
    return None if data is None else marshal.loads(data)


# -- the agent's side ----------------------------------------------------------------------------------------


class _Drive:
    __slots__ = ("tracer", "done", "kind", "message", "error")

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self.done = threading.Event()
        self.kind = ""
        self.message = ""
        self.error: BaseException | None = None  # an observer's, in the agent: raised by drive as TraceLoop does


class Prober:
    """The child process that probes for the agent (see the module's text). ``engine_threads``: its TraceLoop
    threads; ``log``: one line per event worth saying (the child ended)."""

    def __init__(self, engine_threads: int, log: Callable[[str], None]) -> None:
        self._threads = max(1, engine_threads)
        self._log = log
        self._lock = threading.Lock()
        self._drives: dict[int, _Drive] = {}
        self._ids = 0
        self._proc: subprocess.Popen | None = None
        self._closing = False
        self._closed = threading.Event()
        self.dropped = 0  # samples the child dropped because the agent did not read them (it says how many)
        self.restarts = 0
        # (kernel, python): the probes sent so far by where their send time came from (the kernel's send stamp, or
        # the clock read before sendto(): early by whatever delayed the send), every child together.
        self._stamps_before = (0, 0)  # the children that ended
        self._stamps_now = (0, 0)  # the running one's, as it last said

    @property
    def send_stamps(self) -> tuple[int, int]:
        with self._lock:
            return _add(self._stamps_before, self._stamps_now)

    def start(self) -> None:
        """Start the child, and the thread that reads it and starts it again when it dies; OSError when it cannot
        be started."""
        proc = self._spawn()
        threading.Thread(target=self._keep, args=(proc,), name="pingmos-prober-reader", daemon=True).start()

    def _spawn(self) -> subprocess.Popen:
        root = str(Path(__file__).resolve().parents[2])  # the pingmos the agent runs, not another installed one
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        proc = subprocess.Popen(
            [sys.executable, "-m", "pingmos.monitor.prober", str(os.getpid()), str(self._threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        with self._lock:
            self._proc = proc
        return proc

    @property
    def alive(self) -> bool:
        proc = self._proc
        return proc is not None and proc.poll() is None

    def _keep(self, proc: subprocess.Popen | None) -> None:
        # Reads the child, and starts the next one when it dies, after 1 s, 2, 4 ... a minute while it keeps dying.
        failures, said = 0, False
        while True:
            if proc is not None:
                started = time.monotonic()
                self._read(proc)
                failures = 0 if time.monotonic() - started >= 60.0 else failures
            failures += 1
            if self._closed.wait(min(60.0, 2.0 ** (failures - 1))):
                return
            try:
                proc = self._spawn()
                self.restarts += 1
                said = False
            except OSError as exc:
                proc = None
                if not said:
                    self._log(f"the probing process cannot be started again: {exc.strerror or exc}")
                said = True

    def network(self, mode: str, description: str) -> RemoteNetwork:
        return RemoteNetwork(mode, description)

    def drive(self, tracer: Tracer) -> None:
        """Run ``tracer``'s settings in the child until it is done, ``tracer.stop()`` or, once ``tracer.wind_down()``
        was called, its probes in flight are settled there; samples go to
        ``tracer.on_sample`` in the reader thread. Raises ProberGone (an OSError) when the child is not running
        or dies, RunError for a network the child could not open, OSError when probing failed there."""
        from pingmos.run import OPEN, PERMISSION, RunError

        network = tracer.network
        settings = dataclasses.asdict(tracer.settings)
        drive = _Drive(tracer)
        with self._lock:
            proc = self._proc
            if proc is None or proc.poll() is not None or self._closing:
                raise ProberGone(GONE)
            self._ids += 1
            tid = self._ids
            self._drives[tid] = drive
        try:
            self._send(proc, ("start", tid, settings, network.mode, None))
            stop_sent = wind_down_sent = False
            while not drive.done.wait(0.1):
                if tracer.stopped and not stop_sent:
                    self._send(proc, ("stop", tid))
                    stop_sent = True
                elif tracer.winding_down and not wind_down_sent:
                    self._send(proc, ("wind_down", tid))
                    wind_down_sent = True
            if drive.error is not None and not stop_sent:
                self._send(proc, ("stop", tid))  # the child's trace goes on until told; its samples are dropped
        except OSError as exc:
            raise ProberGone(f"{GONE}: {exc.strerror or exc}") from None
        finally:
            with self._lock:
                self._drives.pop(tid, None)
            tracer.finish()  # this side's tracer sent nothing: it only releases the ports it reserved
        if drive.error is not None:
            raise drive.error
        if drive.kind == "permission":
            raise RunError(PERMISSION, drive.message)
        if drive.kind == "open":
            raise RunError(OPEN, drive.message)
        if drive.kind == "network":
            raise OSError(drive.message)
        if drive.kind:
            raise ProberGone(drive.message)

    def _send(self, proc: subprocess.Popen, message) -> None:
        with self._lock:  # one writer at a time: frames must not interleave
            _write_frame(proc.stdin.fileno(), message)

    def _read(self, proc: subprocess.Popen) -> None:
        fd = proc.stdout.fileno()
        fail = GONE
        try:
            while True:
                message = _read_frame(fd)
                if message is None:
                    break
                kind = message[0]
                if kind == "samples":
                    drives = self._drives
                    for rec in message[1]:
                        d = drives.get(rec[0])
                        if d is None or d.error is not None:
                            continue
                        try:
                            d.tracer.probes_sent += 1
                            d.tracer.on_sample(Sample(*rec[1:]))
                        except Exception as exc:  # noqa: BLE001 - ends this trace only, as in TraceLoop
                            d.error = exc
                            d.done.set()
                elif kind == "done":
                    d = self._drives.get(message[1])
                    if d is not None:
                        d.kind, d.message = message[2], message[3]
                        d.done.set()
                elif kind == "dropped":
                    self.dropped = message[1]
                elif kind == "stamps":
                    with self._lock:
                        self._stamps_now = (message[1], message[2])
        except Exception as exc:  # an observer's error or a broken message: the child is of no use any more
            fail = f"{GONE}: its messages cannot be handled: {type(exc).__name__}: {exc}"
            with contextlib.suppress(OSError):
                proc.kill()
        code = proc.wait()
        with self._lock:
            self._stamps_before, self._stamps_now = _add(self._stamps_before, self._stamps_now), (0, 0)
            closing = self._closing
            drives = list(self._drives.values())
        if not closing:
            how = f"signal {-code}" if code < 0 else f"exit status {code}"
            self._log(f"{fail} ({how}); its {len(drives)} trace(s) stop and are started again on a new one")
        for d in drives:
            if not d.done.is_set():
                d.kind, d.message = "internal", GONE
                d.done.set()

    def close(self, join_s: float = 5.0) -> None:
        """End the child: its pipe closes, it stops every trace and exits (killed after ``join_s``)."""
        with self._lock:
            self._closing = True
            proc = self._proc
        self._closed.set()
        if proc is None:
            return
        with contextlib.suppress(OSError):
            proc.stdin.close()
        try:
            proc.wait(join_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the child -----------------------------------------------------------------------------------------------


def opened_round(before: tuple[int, int], after: tuple[int, int]) -> int | None:
    """The last round whose TTL-1 probe a scheduler sent between two of its states, (round, next TTL) each, as it
    leaves them after every call: normalised, pointing at the next probe to send; None if no round began."""
    (r0, t0), (r1, t1) = before, after
    if (r1, t1) <= (r0, t0):
        return None
    if t1 > 1 and (r1 > r0 or t0 == 1):
        return r1  # the current round began
    if t1 == 1 and (r1 - 1 > r0 or t0 == 1):
        return r1 - 1  # the round before it began and ended (a round of one TTL, or several rounds at once)
    return None


class Timeline:
    """Where a round's first probe spent its time, for finding out why rounds leave late (diagnostics only).

    Lines appended to ``path`` about once a second, whitespace-separated, times in monotonic seconds (the clock
    every process of the machine shares):

    - ``R tid thread round due woke called stamp protocol``: round ``round`` of trace ``tid`` was due at ``due`` (the
      scheduler's time for its TTL-1 probe); the loop thread (``thread``: its index) returned from its wait at
      ``woke`` (the ``now`` it handed to ``Tracer.send_due``: late by the OS waking it, the interpreter lock, or
      the loop still busy with earlier work), ``Tracer.send_due`` was called at ``called`` (after the earlier
      traces of that wake: a wake sends before it reads, see ``engine.loop``), and the kernel stamped the
      datagram at ``stamp`` (its wall-clock send stamp moved to monotonic time).
    - ``G start seconds generation collected``: a garbage collection (every thread waits meanwhile).
    - ``F due woke wrote``: the flusher's timer (every FLUSH_S) was due at ``due``, its thread ran at ``woke``, and
      its write to the agent returned at ``wrote`` (a full pipe blocks it there).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.lines: list[str] = []  # list.append is atomic: every thread appends, the flusher writes them out
        self._gc_start = 0.0
        self._wall_offset = time.time() - time.monotonic()
        self.written_at = time.monotonic()
        gc.callbacks.append(self._gc)

    def _gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_start = time.monotonic()
        else:
            t = self._gc_start
            self.lines.append(f"G {t:.6f} {time.monotonic() - t:.6f} {info['generation']} {info['collected']}")

    def watch(self, tid: int, thread: int, tracer: Tracer) -> Callable[[Sample], None]:
        """Wrap ``tracer.send_due`` (``advance`` calls it too) to note each round's due, wake and call times;
        returns what to call with every sample (the TTL-1 sample carries the send stamp)."""
        real, monotonic, pending = tracer.send_due, time.monotonic, {}
        protocol = tracer.settings.protocol

        def send_due(now: float) -> None:
            # Reads the engine scheduler's own state (diagnostics only): if it changes, nothing is noted and the
            # trace goes on.
            s = tracer.scheduler
            called = monotonic()
            before = (getattr(s, "_round", None), getattr(s, "_next_ttl", None))
            real(now)
            if None in before:
                return
            r = opened_round(before, (s._round, s._next_ttl))
            if r is not None:
                pending[r] = (s._start + r * s.interval_s, now, called)  # the due time after a skip_to

        tracer.send_due = send_due

        def sample(smp: Sample) -> None:
            if smp.ttl == 1:
                times = pending.pop(smp.round, None)
                if times is not None:
                    due, woke, called = times
                    stamp = smp.sent_at - self._wall_offset
                    self.lines.append(
                        f"R {tid} {thread} {smp.round} {due:.6f} {woke:.6f} {called:.6f} {stamp:.6f} {protocol}"
                    )

        return sample

    def flushed(self, due: float, woke: float, wrote: float) -> None:
        self.lines.append(f"F {due:.6f} {woke:.6f} {wrote:.6f}")
        if wrote - self.written_at >= 1.0:
            self.written_at = wrote
            self._wall_offset = time.time() - time.monotonic()  # follows a stepped or slewed wall clock
            lines, n = self.lines, len(self.lines)
            with open(self.path, "a") as f:
                f.write("\n".join(lines[:n]) + "\n")
            del lines[:n]


def send_stamps(network, tracer: Tracer) -> tuple[int, int]:
    """(kernel, python): ``network``'s sends whose time is the kernel's send stamp, and those that fell back to
    the clock read in Python before ``sendto()``. Networks with ``tx_stamps.CountsSendStamps`` count both; the
    raw-socket network counts the kernel's only, so the rest of the tracer's sent probes are the fallbacks.
    (0, 0) for a network that counts neither."""
    kernel = getattr(network, "kernel_send_stamps", None)
    if kernel is None:
        return 0, 0
    python = getattr(network, "python_send_stamps", None)
    return kernel, (python if python is not None else max(0, tracer.probes_sent - kernel))


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return a[0] + b[0], a[1] + b[1]


class _Child:
    def __init__(self, parent_pid: int, threads: int, out_fd: int) -> None:
        self.parent_pid = parent_pid
        self.loops = [TraceLoop(f"pingmos-prober-loop-{i}") for i in range(max(1, threads))]
        self.turn = 0
        self.out_fd = out_fd
        self.buffer: list[tuple] = []  # appended by the loops' threads (list.append is atomic), swapped by flush
        self.dropped = 0
        self.out_lock = threading.Lock()
        self.tracers: dict[int, Tracer] = {}
        # ("stop" or "wind_down") for a trace told before its tracer was made (it was still opening its network):
        # applied as soon as it is, rather than lost.
        self.told: dict[int, str] = {}
        self.networks: dict[int, tuple] = {}  # tid -> (network, tracer) while its trace runs
        self.stamps_done = (0, 0)  # (kernel, python) send stamps of the traces that ended
        self.ended = threading.Event()
        path = os.environ.get(TIMELINE_ENV)
        self.timeline = Timeline(path) if path else None

    def send(self, message) -> None:
        with self.out_lock:
            _write_frame(self.out_fd, message)

    def start(self, tid: int, settings: dict, mode: str, source: str | None) -> None:
        index = self.turn % len(self.loops)
        self.turn += 1
        threading.Thread(target=self._trace, args=(tid, settings, mode, source, index), daemon=True).start()

    def _trace(self, tid: int, settings: dict, mode: str, source: str | None, index: int) -> None:
        loop = self.loops[index]
        kind, message = "", ""
        network = None
        buffer, fields = self.buffer, _FIELDS
        noted: list[Callable[[Sample], None]] = []  # the timeline's, with diagnostics on

        def on_sample(s: Sample) -> None:
            if noted:
                noted[0](s)
            if len(buffer) < MAX_BUFFERED:
                buffer.append((tid, *fields(s)))
            else:
                self.dropped += 1

        try:
            trace = TraceSettings(**settings)
            try:
                network = choose_mode(mode, family_of(trace.address), trace.protocol).open()
                tracer = Tracer(trace, network, on_sample, source=source)
            except NoPermission as exc:
                kind, message = "permission", str(exc)
                return
            except OSError as exc:
                kind, message = "open", f"cannot open the network sockets: {exc}"
                return
            self.tracers[tid] = tracer
            self.networks[tid] = (network, tracer)
            told = self.told.pop(tid, None)
            if told is not None:
                getattr(tracer, told)()
            if self.timeline is not None:
                noted.append(self.timeline.watch(tid, index, tracer))
            # Everything alive now (the modules, scapy's templates, the tracers) lives as long as this process:
            # frozen, a collection no longer scans it and stops every thread here for a millisecond, not 50.
            gc.freeze()
            try:
                loop.drive(tracer)
            except OSError as exc:
                kind, message = "network", str(exc)
        except Exception as exc:  # noqa: BLE001 - told to the agent, which restarts the trace
            kind, message = "internal", f"the probing process failed: {type(exc).__name__}: {exc}"
        finally:
            self.tracers.pop(tid, None)
            self.told.pop(tid, None)
            if self.networks.pop(tid, None) is not None:
                self.stamps_done = _add(self.stamps_done, send_stamps(network, tracer))
            if network is not None:
                with contextlib.suppress(OSError):
                    network.close()
            with contextlib.suppress(OSError):
                self.flush()  # every sample before the end
                self.send(("done", tid, kind, message))

    def stop(self, tid: int) -> None:
        self._tell(tid, "stop")

    def wind_down(self, tid: int) -> None:
        self._tell(tid, "wind_down")

    def _tell(self, tid: int, what: str) -> None:
        # The commands' thread; the trace's own thread makes its tracer, then looks here (see ``told``).
        if self.told.get(tid) != "stop":  # a stop is never turned into a wind-down
            self.told[tid] = what
        tracer = self.tracers.get(tid)
        if tracer is not None:
            self.told.pop(tid, None)
            getattr(tracer, what)()

    def flush(self) -> None:
        with self.out_lock:
            batch = self.buffer[:]
            del self.buffer[: len(batch)]  # what the loops append meanwhile stays for the next flush
            if batch:
                _write_frame(self.out_fd, ("samples", batch))

    def send_stamps(self) -> tuple[int, int]:
        """(kernel, python): this process's sends so far by where their send time came from."""
        total = self.stamps_done
        for network, tracer in list(self.networks.values()):
            total = _add(total, send_stamps(network, tracer))
        return total

    def flusher(self) -> None:
        reported = 0
        stamps, stamps_at = (0, 0), 0.0
        timeline, monotonic = self.timeline, time.monotonic
        due = monotonic() + FLUSH_S
        while not self.ended.wait(FLUSH_S):
            if os.getppid() != self.parent_pid:
                self.ended.set()  # the agent died (we were re-parented)
                break
            try:
                woke = monotonic()
                self.flush()
                if timeline is not None:
                    timeline.flushed(due, woke, monotonic())
                    due = monotonic() + FLUSH_S
                if self.dropped != reported:
                    reported = self.dropped
                    self.send(("dropped", reported))
                if woke - stamps_at >= STAMPS_EVERY_S:
                    stamps_at = woke
                    now_stamps = self.send_stamps()
                    if now_stamps != stamps:
                        stamps = now_stamps
                        self.send(("stamps", *stamps))
            except OSError:  # the agent closed its end
                self.ended.set()


def child_main(argv: list[str]) -> int:
    """``python -m pingmos.monitor.prober PARENT_PID THREADS``: serve the agent on stdin/stdout."""
    # Ctrl+C, reloads and stops are the agent's; it then closes our pipe, and we end after passing on what we hold.
    # A stop reaches us too: a terminal signals the whole process group, `timeout` too, and systemd's stop the
    # whole cgroup (KillMode=control-group); dying on it lost the samples not yet passed on, and the agent, not
    # yet closing, logged a crash and started a new probing process during its own shutdown.
    for number in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(number, signal.SIG_IGN)
    gc.set_threshold(10_000, 20, 10)  # the agent's (serve.GC_THRESHOLDS): per-probe objects die young, cycles are rare
    try:
        parent_pid, threads = int(argv[0]), int(argv[1])
    except (IndexError, ValueError):
        print("pingmos prober: usage: python -m pingmos.monitor.prober PARENT_PID THREADS", file=sys.stderr)
        return 2
    in_fd, out_fd = sys.stdin.fileno(), os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not corrupt the stream
    child = _Child(parent_pid, threads, out_fd)
    flusher = threading.Thread(target=child.flusher, name="pingmos-prober-flush", daemon=True)
    flusher.start()

    def commands() -> None:
        try:
            while (message := _read_frame(in_fd)) is not None:
                if message[0] == "start":
                    child.start(*message[1:])
                elif message[0] == "stop":
                    child.stop(message[1])
                elif message[0] == "wind_down":
                    child.wind_down(message[1])
        finally:
            child.ended.set()

    threading.Thread(target=commands, name="pingmos-prober-commands", daemon=True).start()
    child.ended.wait()
    for loop in child.loops:
        loop.close(2.0)
    with contextlib.suppress(OSError):
        child.flush()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(child_main(sys.argv[1:]))
    except Exception as exc:  # one line, not a traceback: the agent reports that the process ended
        print(f"pingmos monitor: the probing process failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
