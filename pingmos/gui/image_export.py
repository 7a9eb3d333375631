"""Pictures of the window for a report or a ticket: a graph, or the whole window, as PNG (pixels) or SVG
(vectors).

Both are drawn by Qt from the widget as it is on screen, in the GUI thread (widgets can only be painted there;
it takes milliseconds); the file is written by the returned job, which the caller runs in a worker.

SVG needs two things pyqtgraph's own exporter does not give with current Qt (pyqtgraph issue 3495: it cannot
parse the paths Qt writes, and its fallback scrambled lines and axes):
- the generator's resolution set to the widget's, or Qt scales text and pixel-sized items (axes, markers)
  differently from the data, and the plots fall apart;
- pyqtgraph items in "export mode", so that scatter symbols are drawn one by one as vectors instead of as
  fragments of a cached pixmap atlas (which an SVG cannot hold).
Plot coordinates must also stay small (the timeline plots seconds since an origin, not since 1970): an SVG keeps
about six significant digits of each coordinate.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRect
from PySide6.QtGui import QImage, QPainter, QRegion
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsView, QWidget

from pingmos.gui.recording import removed_on_failure

FORMATS = ("png", "svg")


@contextmanager
def _export_mode(widget: QWidget) -> Iterator[None]:
    """Every pyqtgraph item in ``widget`` (or its children) draws for export while inside."""
    views = [widget] if isinstance(widget, QGraphicsView) else []
    views += widget.findChildren(QGraphicsView)
    items = [
        item
        for view in views
        if view.scene() is not None
        for item in view.scene().items()
        if hasattr(item, "setExportMode")
    ]
    for item in items:
        item.setExportMode(True, {"antialias": True, "resolutionScale": 1.0})
    try:
        yield
    finally:
        for item in items:
            item.setExportMode(False)


def _render_clipped(widget: QWidget, painter: QPainter, offset: QPoint, clip: QRect) -> None:
    """``widget`` at ``offset`` with its children, each cut to its parents' visible rectangle (``clip``, painter
    coordinates). QWidget.render cuts a child by the paint engine's system clip, which the SVG engine ignores (and
    a clip of the painter's is replaced by render's own): a scroll area's content ran out of it, the verdict's
    text over the table header. So each widget is drawn alone; one that its parents cut (a scroll area's content
    scrolled or larger than its view) as the pixels of its visible part, the rest as vectors."""
    if clip.size() != widget.size():
        painter.drawPixmap(clip.topLeft(), widget.grab(clip.translated(-offset)))  # with its children
        return
    # QWidget's render (a QGraphicsView's own render() draws its scene, not the widget); its children come below.
    QWidget.render(widget, painter, offset, QRegion(), QWidget.RenderFlag.DrawWindowBackground)
    for child in widget.children():  # (in stacking order: the first is drawn first, under the others)
        if not isinstance(child, QWidget) or child.isWindow() or not child.isVisible():
            continue
        at = offset + child.pos()
        visible = QRect(at, child.size()).intersected(clip)
        if not visible.isEmpty():
            _render_clipped(child, painter, at, visible)


def svg_bytes(widget: QWidget, title: str = "pingmos") -> bytes:
    """``widget`` as drawn on screen, as an SVG document of the widget's size in pixels (GUI thread)."""
    out = QByteArray()
    buffer = QBuffer(out)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator(QSvgGenerator.SvgVersion.Svg11)
    generator.setOutputDevice(buffer)
    generator.setSize(widget.size())
    generator.setViewBox(QRect(0, 0, widget.width(), widget.height()))
    generator.setResolution(widget.logicalDpiX())
    generator.setTitle(title)
    with _export_mode(widget):
        painter = QPainter(generator)
        try:
            _render_clipped(widget, painter, QPoint(0, 0), QRect(0, 0, widget.width(), widget.height()))
        finally:
            painter.end()
    buffer.close()
    # An empty path (an item with nothing to draw) is "invalid path data" to SVG readers: left out.
    return re.sub(rb'<path [^>]*\bd=""/>', b"", bytes(out.data()))


def png_image(widget: QWidget) -> QImage:
    """``widget`` as drawn on screen, in pixels (GUI thread). At the screen's device pixel ratio."""
    return widget.grab().toImage()


def _atomic_write(path: str, data: bytes) -> None:
    with removed_on_failure(path + ".partial"):
        with open(path + ".partial", "wb") as f:
            f.write(data)
        os.replace(path + ".partial", path)


def image_job(widget: QWidget, path: str, fmt: str) -> Callable[[], None]:
    """Draw ``widget`` now (GUI thread) as ``fmt`` (png or svg) and return the job that writes it to ``path``
    (worker thread; OSError when it cannot). ValueError for another format."""
    if fmt == "svg":
        data = svg_bytes(widget)
        return lambda: _atomic_write(path, data)
    if fmt == "png":
        image = png_image(widget)  # a QImage (not a QPixmap) may be encoded in another thread

        def write_png() -> None:
            with removed_on_failure(path + ".partial"):
                if not image.save(path + ".partial", "PNG"):  # (Qt says no more than that; a full disk, mostly)
                    raise OSError(f"cannot write {path}")
                os.replace(path + ".partial", path)

        return write_png
    raise ValueError(f"an image is exported as .png or .svg, not .{fmt}")
