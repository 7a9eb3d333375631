"""Start the GUI: ``pingmos`` with no sub-command, or ``pingmos TARGET`` to start tracing TARGET at once."""

from __future__ import annotations

import sys

GUI_MISSING = (
    "pingmos: the desktop window needs PySide6 and pyqtgraph ({error}). Install them with "
    "\"pip install 'pingmos[gui]'\", or use the headless report: pingmos report HOST"
)


def run(target: str | None = None) -> int:
    """Open the main window (and start tracing ``target`` when given); returns the exit status."""
    try:
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
    if target:
        window.target_combo.setCurrentText(target)
        window.start()
    return app.exec()
