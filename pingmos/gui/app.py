"""Start the GUI: ``pingmos`` with no sub-command, or ``pingmos TARGET`` to start tracing TARGET at once."""

from __future__ import annotations

import gc
import signal
import sys
from functools import partial

GUI_MISSING = (
    "pingmos: the desktop window needs PySide6 and pyqtgraph ({error}). Install them with "
    "\"pip install 'pingmos[gui]'\", or use the headless report: pingmos report HOST"
)


def freeze_heap() -> None:
    """Leave what is alive now (modules, widgets, models: it lives as long as the window) to reference counting
    alone: the cyclic collector no longer scans it (``gc.freeze``, after one last collection).

    A full collection of the window's ~80,000 objects took 40 ms, run by whichever thread's allocation set it off
    (the refresher's, mostly), which held the interpreter meanwhile: the window's event loop stalled as long, every
    few seconds under a fast trace (scripts/bench_gui.py, part 2). Frozen, a collection scans only what came later.
    The monitor does the same (monitor/serve.py)."""
    gc.collect()
    gc.freeze()


def run(target: str | None = None, reverse_dns: bool = True) -> int:
    """Open the main window (and start tracing ``target`` when given); returns the exit status: 0, or 128 + the
    signal's number when SIGINT (130) or SIGTERM (143) closed it, as the README's exit table says for every
    command. ``reverse_dns``: False (``pingmos --no-dns``) shows hop addresses only, with no reverse lookup."""
    try:
        from pyqtgraph.util.garbage_collector import GarbageCollector
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        from pingmos.gui.main_window import MainWindow, default_trace_factory
    except ImportError as exc:
        print(GUI_MISSING.format(error=exc), file=sys.stderr)
        return 1

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("pingmos")
    app.setOrganizationName("pingmos")
    factory = default_trace_factory if reverse_dns else partial(default_trace_factory, reverse_dns=False)
    window = MainWindow(trace_factory=factory, reverse_dns=reverse_dns)
    window.show()
    freeze_heap()
    # The cyclic collector runs in the GUI thread only, on a timer (pyqtgraph's GarbageCollector: automatic
    # collection off, each generation collected when its count passes the threshold). Left automatic, it runs in
    # whichever thread allocates, and a widget's wrapper freed by a refresher thread destroys its QObject there:
    # that thread then holds Qt's connection lock and waits for the interpreter, which the GUI thread holds while
    # it waits for that lock to build a widget (a hang seen in CI: QObject::~QObject in pingmos-refresh under
    # gc_collect_main, QTableWidget's constructor in the GUI thread).
    collector = GarbageCollector(interval=1.0)
    # Ctrl+C in the terminal, and SIGTERM (a logout, `kill`, `timeout`), close the window as the close button would
    # (settings saved, trace stopped, its recording closed with every sample); the exit status then says which
    # signal it was. Python runs signal handlers only between bytecodes, so a timer lets the interpreter in now and
    # then.
    signalled: list[int] = []

    def stop(number, _frame) -> None:
        signalled.append(number)
        window.close()

    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, stop)
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    if target:
        window.target_combo.setCurrentText(target)
        window.start()
    status = app.exec()
    collector.timer.stop()
    return 128 + signalled[0] if signalled else status
