"""Axes drawn once and reused: each pyqtgraph axis keeps what it draws (tick labels, grid lines) as a pixmap until
its range, ticks, size or style change.

A plot's axes are repainted whenever anything in the plot changes (the grid lines they draw cover it), and each
repaint replays the axis's recorded labels and lines through dozens of Qt calls. Each of those calls releases the
GIL, and while the refresher thread computes the next update the GUI thread waits up to a switch interval (5 ms) to
get it back after each one: measured on the 2-core project machine, the axes then took 300-400 ms of a redraw, and
35 ms with this cache (scripts/bench_gui.py shows the whole effect). Every change pyqtgraph knows of (``setRange``,
``setTicks``, ``setStyle``, pens, labels, a resize) calls ``update()`` or changes the geometry, which drops the
pixmap; anything else that changes what an axis draws must call ``axis.update()`` (the timeline's clock axis does
when its origin moves).
"""

from __future__ import annotations

from PySide6.QtWidgets import QGraphicsItem


def cache_axes(plot) -> None:
    """Cache every axis of a pyqtgraph PlotItem as a device-coordinate pixmap (see the module doc)."""
    for entry in plot.axes.values():
        entry["item"].setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
