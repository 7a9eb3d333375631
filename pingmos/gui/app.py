"""Start the GUI: ``pingmos`` with no sub-command, or ``pingmos TARGET`` to start tracing TARGET at once."""

from __future__ import annotations

import signal
import sys

GUI_MISSING = (
    "pingmos: the desktop window needs PySide6 and pyqtgraph ({error}). Install them with "
    "\"pip install 'pingmos[gui]'\", or use the headless report: pingmos report HOST"
)


def run(target: str | None = None) -> int:
    """Open the main window (and start tracing ``target`` when given); returns the exit status."""
    try:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        from pingmos.gui.main_window import MainWindow
    except ImportError as exc:
        print(GUI_MISSING.format(error=exc), file=sys.stderr)
        return 1

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("pingmos")
    app.setOrganizationName("pingmos")
    window = MainWindow()
    window.show()
    # Ctrl+C in the terminal closes the window as the close button would (settings saved, trace stopped). Python
    # runs signal handlers only between bytecodes, so a timer lets the interpreter in now and then.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    if target:
        window.target_combo.setCurrentText(target)
        window.start()
    return app.exec()
