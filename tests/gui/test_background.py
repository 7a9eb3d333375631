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
