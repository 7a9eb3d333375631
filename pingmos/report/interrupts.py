"""Ctrl+C and SIGTERM in a live ``pingmos report``: once the samples are measured, they no longer lose them
(``ReportInterrupts``), and the test hook that lets a test send them at a known moment (``hold_for_test``)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable


class ReportInterrupts:
    """Ctrl+C (SIGINT) and SIGTERM (kill, timeout, systemctl stop) in a live report. While the trace probes, the
    first one winds it down as the agent's stop does (``probing``: nothing more is sent, the replies to the probes
    in flight are waited for, the probe timeout at most, and counted; ``wound_down``), the next ends the probing at
    once (KeyboardInterrupt; the probes still in flight are left out, never counted lost). While the echo witness
    probes (``measuring()``) either ends it at once. ``terminated`` says a SIGTERM came (exit 143 instead of 130).
    Once the samples are measured (``measured()``, called by the runner as probing
    ends), the first signal only says so (``count``): the report of what was measured is still printed and the
    recording closed, then exit 130 (143 after a SIGTERM); the second aborts (KeyboardInterrupt; the recording is
    still closed). Else a signal while the names are waited for, the snapshot scored or the report formatted would
    lose the report, and with --record the samples not yet written. Outside the main thread (main() embedded), or
    with a signal ignored (nohup, a shell's background job), that signal is left alone."""

    SAID = b"pingmos report: interrupted: printing the report of what was measured (Ctrl+C again to abort)\n"
    SAID_TERM = b"pingmos report: terminated: printing the report of what was measured (signal again to abort)\n"
    WAITING = "pingmos report: {}: waiting up to {:g} s for the replies to the probes in flight ({} again: now)\n"
    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.count = 0  # signals after the samples were measured
        self.terminated = False  # a SIGTERM came (at any moment)
        self.wound_down = False  # a signal wound the probing down
        self._wind_down: Callable[[float], None] | None = None
        self._limit_s = 0.0
        self._measuring = True
        self._previous: dict[int, object] = {}  # the handlers replaced, per signal

    def __enter__(self) -> ReportInterrupts:
        for signum in self.SIGNALS:
            try:
                if signal.getsignal(signum) is not signal.SIG_IGN:
                    self._previous[signum] = signal.signal(signum, self._interrupt)
            except ValueError:  # not the main thread
                break
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            if signal.getsignal(signum) == self._interrupt:  # (not after ignore())
                signal.signal(signum, previous)

    def _interrupt(self, signum, frame) -> None:
        if signum == signal.SIGTERM:
            self.terminated = True
        if self._measuring:
            wind_down, self._wind_down = self._wind_down, None
            if wind_down is None:
                raise KeyboardInterrupt
            self.wound_down = True
            wind_down(self._limit_s)  # sets flags only: safe in a handler; the probing ends by itself
            term = signum == signal.SIGTERM
            said = self.WAITING.format(*(("terminated", self._limit_s, "signal") if term else
                                         ("interrupted", self._limit_s, "Ctrl+C")))  # fmt: skip
            with contextlib.suppress(OSError):
                os.write(2, said.encode())
            return
        self.count += 1
        if self.count > 1:
            self.ignore()  # a third signal does not interrupt closing the recording
            raise KeyboardInterrupt
        with contextlib.suppress(OSError):  # os.write: a signal handler must not re-enter sys.stderr's buffer
            os.write(2, self.SAID_TERM if signum == signal.SIGTERM else self.SAID)

    def probing(self, wind_down: Callable[[float], None], limit_s: float) -> None:
        """The trace probes now: the first signal calls ``wind_down(limit_s)`` (``TraceRun.wind_down``: the run
        then ends once its probes in flight are settled, ``limit_s`` at most) instead of ending it at once."""
        self._wind_down, self._limit_s = wind_down, limit_s

    def measured(self) -> None:
        self._wind_down = None
        self._measuring = False

    @contextlib.contextmanager
    def measuring(self):
        self._measuring = True
        try:
            yield
        finally:
            self._measuring = False

    def ignore(self) -> None:
        for signum in self._previous:
            signal.signal(signum, signal.SIG_IGN)


HOLD_REPORT_ENV = "PINGMOS_TEST_HOLD_REPORT"  # tests: Ctrl+C at a known moment after the samples are measured


def hold_for_test(ctrl_c: ReportInterrupts) -> None:
    """Test hook: with ``$PINGMOS_TEST_HOLD_REPORT`` = N, once the samples are measured say so on stderr and wait
    until N signals (Ctrl+C or SIGTERM) have come (at most 60 s), so a test interrupts the making of the report at a
    known moment instead of racing a sleep. Unset (always, outside tests): nothing."""
    wanted = os.environ.get(HOLD_REPORT_ENV, "")
    if not wanted.isdigit():
        return
    print("pingmos report: test hook: the samples are measured, holding the report", file=sys.stderr, flush=True)
    deadline = time.monotonic() + 60.0
    while ctrl_c.count < int(wanted) and time.monotonic() < deadline:
        time.sleep(0.01)
