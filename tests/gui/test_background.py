"""Background jobs: the callback runs later, in the GUI thread, even for a job already done when run() returns."""

import threading

from pingmos.gui.background import Background


def test_a_job_done_before_its_callback_is_added_still_calls_back_later(qtbot):
    jobs = Background("test")
    calls = []
    # A job that has finished before run() returns: run() adds its callback to a completed future, which calls it
    # at once in this (the GUI) thread.
    done = threading.Event()

    def quick():
        done.set()
        return 7

    orig_submit = jobs._pool.submit

    def submit_and_finish(fn, *args):
        future = orig_submit(fn, *args)
        future.result()  # finished before add_done_callback
        return future

    jobs._pool.submit = submit_and_finish
    jobs.run(quick, on_done=lambda v: calls.append((v, threading.current_thread() is threading.main_thread())))
    assert calls == []  # not inside run()
    qtbot.waitUntil(lambda: calls == [(7, True)], timeout=5000)
    assert jobs.pending == 0
    jobs.close(wait=True)


def test_jobs_ending_while_and_after_their_window_is_destroyed_neither_crash_nor_call_back(qtbot):
    # The window (the Background's parent) is destroyed while its jobs run; each job ends around that moment. The
    # result used to be emitted on the Background itself, whose C++ object the GUI thread could free mid-emit (a
    # segfault in a unit-suite run); now it goes through a parentless emitter that outlives the window.
    from PySide6.QtCore import QObject
    from shiboken6 import Shiboken

    calls = []
    for _ in range(50):
        window = QObject()
        jobs = Background("test", parent=window)
        release = threading.Event()
        for _ in range(3):
            jobs.run(release.wait, 5, on_done=calls.append)
        timer = threading.Timer(0.0005, release.set)
        timer.start()
        Shiboken.delete(window)  # the C++ window and its Background go, as when the window is closed
        timer.join()
        jobs._pool.shutdown(wait=True)
    qtbot.wait(50)  # any queued delivery would have run by now
    assert calls == []
