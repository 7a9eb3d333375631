"""Start the GUI: ``pingmos`` with no sub-command, or ``pingmos TARGET`` to start tracing TARGET at once."""

from __future__ import annotations

import sys


def run(target: str | None = None) -> int:
    """Open the main window (and start tracing ``target`` when given); returns the exit status."""
    from PySide6.QtWidgets import QApplication

    from pingmos.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("pingmos")
    app.setOrganizationName("pingmos")
    window = MainWindow()
    window.show()
    if target:
        window.target_combo.setCurrentText(target)
        window.start()
    return app.exec()
