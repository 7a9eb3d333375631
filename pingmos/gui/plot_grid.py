"""One grid per plot: the left (and bottom) axis's, never the right-hand axis's too."""

from __future__ import annotations


def show_grid(plot, alpha: float = 0.25) -> None:
    """Grid lines at the left axis's and the bottom axis's ticks of pyqtgraph PlotItem ``plot``, none (drawn at
    opacity 0) at the right or top axis's.

    pyqtgraph's ``PlotItem.showGrid`` gives every axis of the plot the grid, so a right-hand axis linked to a second
    view box (loss 0-100 %, MOS 1-4.5) drew a second set of lines at its own ticks over the left one's, and read as
    one grid neither axis matched. The plot's Grid options (its context menu) keep working, for x and y alike."""
    plot.showGrid(x=True, y=True, alpha=alpha)

    def left_and_bottom_only(*_) -> None:
        for name in ("right", "top"):
            # Opacity 0, not "no grid" (False): pyqtgraph then places the axis's labels over its linked view as
            # before, 20-80 % on the loss axis; with no grid at all it added 0 and 100, and in the 79 px of the
            # trace graph at 800 x 500 its six labels overlapped.
            plot.getAxis(name).setGrid(0)

    left_and_bottom_only()
    # After pyqtgraph's own updateGrid (connected first), which sets the grid on all four axes again.
    for signal in (plot.ctrl.xGridCheck.toggled, plot.ctrl.yGridCheck.toggled, plot.ctrl.gridAlphaSlider.valueChanged):
        signal.connect(left_and_bottom_only)
