"""Ctrl+C in a live ``pingmos report``: once the samples are measured, it no longer loses them (``ReportInterrupts``),
and the test hook that lets a test press it at a known moment (``hold_for_test``)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time


class ReportInterrupts:
    """Ctrl+C in a live report. While probing (and while the echo witness probes: ``measuring()``), it ends the
    probing as ever (KeyboardInterrupt). Once the samples are measured (``measured()``, called by the runner as
    probing ends), the first Ctrl+C only says so (``count``): the report of what was measured is still printed and
    the recording closed, then exit 130; the second aborts (KeyboardInterrupt; the recording is still closed).
    Else a Ctrl+C while the names are waited for, the snapshot scored or the report formatted would lose the
    report, and with --record the samples not yet written. Outside the main thread (main() embedded), or with
    SIGINT ignored (nohup, a shell's background job), signals are left alone."""

    SAID = b"pingmos report: interrupted: printing the report of what was measured (Ctrl+C again to abort)\n"

    def __init__(self) -> None:
        self.count = 0  # Ctrl+C's after the samples were measured
        self._measuring = True
        self._previous = None
        self._installed = False

    def __enter__(self) -> ReportInterrupts:
        try:
            if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
                self._previous = signal.signal(signal.SIGINT, self._interrupt)
                self._installed = True
        except ValueError:  # not the main thread
            pass
        return self

    def __exit__(self, *exc) -> None:
        if self._installed and signal.getsignal(signal.SIGINT) == self._interrupt:  # (not after ignore())
            signal.signal(signal.SIGINT, self._previous)

    def _interrupt(self, signum, frame) -> None:
        if self._measuring:
            raise KeyboardInterrupt
        self.count += 1
        if self.count > 1:
            self.ignore()  # a third Ctrl+C does not interrupt closing the recording
            raise KeyboardInterrupt
        with contextlib.suppress(OSError):  # os.write: a signal handler must not re-enter sys.stderr's buffer
            os.write(2, self.SAID)

    def measured(self) -> None:
        self._measuring = False

    @contextlib.contextmanager
    def measuring(self):
        self._measuring = True
        try:
            yield
        finally:
            self._measuring = False

    def ignore(self) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


HOLD_REPORT_ENV = "PINGMOS_TEST_HOLD_REPORT"  # tests: Ctrl+C at a known moment after the samples are measured


def hold_for_test(ctrl_c: ReportInterrupts) -> None:
    """Test hook: with ``$PINGMOS_TEST_HOLD_REPORT`` = N, once the samples are measured say so on stderr and wait
    until N Ctrl+C's have come (at most 60 s), so a test interrupts the making of the report at a known moment
    instead of racing a sleep. Unset (always, outside tests): nothing."""
    wanted = os.environ.get(HOLD_REPORT_ENV, "")
    if not wanted.isdigit():
        return
    print("pingmos report: test hook: the samples are measured, holding the report", file=sys.stderr, flush=True)
    deadline = time.monotonic() + 60.0
    while ctrl_c.count < int(wanted) and time.monotonic() < deadline:
        time.sleep(0.01)
