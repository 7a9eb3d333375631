"""Disk and network work off the GUI thread: run a function in a worker thread, get its result back in the GUI
thread as a callback.

Opening a session, saving, exporting and the echo witness all read or write files or wait on the network; the
GUI thread only starts them and later shows what they returned. The result (or the exception) crosses threads
through a queued Qt signal, so the callback always runs in the thread that owns this object (the GUI thread).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtCore import QObject, Qt, Signal


class _Emitter(QObject):
    """The sending end of the result signal, with no Qt parent: it lives as long as Python holds it (the worker's
    callback does), so a job that ends after its window was destroyed emits on a live object and Qt drops the
    queued call to the dead receiver. Emitting on the Background itself raced its destruction: the C++ object could
    be freed in the GUI thread between the wrapper's check and the emit in the worker (a segfault seen in a unit
    suite run, tests/gui/test_reach_gui.py)."""

    finished = Signal(object, object, object)


class Background(QObject):
    """``run(fn, *args, on_done=cb)``: ``fn(*args)`` in a worker; ``cb(result)`` later in the GUI thread, or
    ``on_error(exc)`` when it raised (without ``on_error`` the exception goes to ``cb`` as the result).
    Jobs run one after another, in the order they were started (a save then an export of the same file)."""

    def __init__(self, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"pingmos-{name}")
        # Queued always: a job that is already done when run() adds its callback (a cached result) calls it in the
        # GUI thread, where an automatic connection would deliver at once, inside run(), before the caller has
        # finished setting up (the rules dialog enabled OK before its own line disabling it had any meaning).
        self._emitter = _Emitter()
        self._emitter.finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self.pending = 0

    def run(
        self,
        fn: Callable,
        *args,
        on_done: Callable[[object], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Future:
        self.pending += 1

        emitter = self._emitter  # held here, not through self: see _Emitter

        def done(future: Future) -> None:
            exc = future.exception()
            # RuntimeError: the interpreter is shutting down Qt; nobody is left to tell.
            with contextlib.suppress(RuntimeError):
                emitter.finished.emit(on_done, on_error, exc if exc is not None else _Ok(future.result()))

        future = self._pool.submit(fn, *args)
        future.add_done_callback(done)
        return future

    def _deliver(self, on_done, on_error, outcome) -> None:
        self.pending -= 1
        if isinstance(outcome, _Ok):
            if on_done is not None:
                on_done(outcome.value)
        elif on_error is not None:
            on_error(outcome)
        elif on_done is not None:
            on_done(outcome)

    def close(self, wait: bool = False) -> None:
        self._pool.shutdown(wait=wait)


class _Ok:
    __slots__ = ("value",)

    def __init__(self, value: object):
        self.value = value
