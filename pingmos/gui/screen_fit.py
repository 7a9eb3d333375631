"""Opening sizes that fit the screen: a window or dialog opens at its preferred size, or smaller where the screen
is smaller (an 800 x 500 laptop panel, a remote desktop), so its buttons are never off-screen."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

# The share of the screen's free area (without panels and docks) a window takes at most when it opens: the rest
# leaves room for the title bar and shows what lies behind it.
SCREEN_SHARE = 0.95


def resize_within_screen(widget: QWidget, width_px: int, height_px: int) -> None:
    """Resize ``widget`` to ``width_px`` x ``height_px``, each cut to SCREEN_SHARE of the available area of the
    screen it opens on (the primary screen before it is shown), but never below the widget's minimum size hint
    (its layout needs that much to show every control)."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        area = screen.availableGeometry()
        least = widget.minimumSizeHint()
        width_px = max(min(width_px, int(area.width() * SCREEN_SHARE)), least.width())
        height_px = max(min(height_px, int(area.height() * SCREEN_SHARE)), least.height())
    widget.resize(width_px, height_px)
