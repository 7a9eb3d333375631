"""The desktop GUI (PySide6 + pyqtgraph): ``pingmos`` with no sub-command opens the main window."""
