"""Exports of the graphs and of the whole window: the SVG, drawn back with Qt's SVG renderer, looks like the PNG
(pixel similarity after downscaling), so lines, bands, markers and axes are where they are on screen."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from pingmos.alerts import AlertEpisode
from pingmos.gui.timeline import HOP_COLOURS
from pingmos.session import SessionEvent
from tests.gui.conftest import DST, WAIT_MS, settle

SCALE = 4  # compare 4x4-pixel blocks: antialiasing and font hinting differ, shapes must not


def grey(image: QImage, size) -> np.ndarray:
    small = image.convertToFormat(QImage.Format.Format_Grayscale8).scaled(
        size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    width, height = small.width(), small.height()
    data = np.frombuffer(small.constBits(), dtype=np.uint8, count=small.bytesPerLine() * height)
    return data.reshape(height, small.bytesPerLine())[:, :width].astype(float)


def svg_as_image(data: bytes, size) -> QImage:
    renderer = QSvgRenderer(data)
    assert renderer.isValid()
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    return image


def difference(svg: bytes, png_path) -> float:
    """The share of drawn blocks (SCALE x SCALE pixels not blank in either picture) whose grey level differs by
    more than 24 of 255 between the PNG and the SVG drawn back at the PNG's size."""
    png = QImage(str(png_path))
    size = png.size() / SCALE
    a = grey(png, size)
    b = grey(svg_as_image(svg, png.size()), size)
    drawn = (a < 250) | (b < 250)
    return float((np.abs(a - b)[drawn] > 24).mean())


def colour_pixels(image: QImage, colour: str, tolerance: int = 40) -> int:
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, line = rgb.height(), rgb.width(), rgb.bytesPerLine()
    px = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=line * h).reshape(h, line)[:, : w * 3]
    px = px.reshape(h, w, 3).astype(int)
    want = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(px - want).sum(axis=2) < tolerance).sum())


@pytest.fixture
def shown(qtbot, make_window):
    window = make_window()
    window.resize(1280, 800)
    window.show()
    window.target_combo.setCurrentText(DST)
    window.start()
    settle(qtbot, window)
    window.table.select_ttl(5)
    qtbot.waitUntil(lambda: [h.ttl for h in window.timeline._data] == [5], timeout=WAIT_MS)
    t = window.timeline._data[0].t
    fire = SessionEvent(float(t[20]), "alert-fire", {"rule": "loss", "message": "loss above 1 %"})
    clear = SessionEvent(float(t[40]), "alert-clear", {"rule": "loss", "message": "cleared"})
    window.evidence.episodes.show([AlertEpisode("loss", float(t[20]), float(t[40]), fire, clear)], float(t[-1]))
    qtbot.wait(50)
    return window


@pytest.mark.parametrize("what", ["trace_graph", "timeline", "window"])
def test_svg_export_draws_what_the_png_shows(shown, qtbot, tmp_path, what):
    sessions = shown.evidence.sessions
    png, svg = tmp_path / f"{what}.png", tmp_path / f"{what}.svg"
    sessions.export(what, str(png))
    sessions.export(what, str(svg))
    qtbot.waitUntil(lambda: png.exists() and svg.exists(), timeout=10000)
    share = difference(svg.read_bytes(), png)
    # Measured: 0-0.3 % of the drawn blocks differ; without the fixes in image_export (Qt's default SVG
    # resolution, scatter symbols from a pixmap atlas) 4.3 % (graph), 6.5 % (timeline), 8.8 % (window).
    assert share < 0.02, share
    if what == "timeline":
        # The latency line (the hop's colour) and the alert band are drawn, not only the markers.
        image = svg_as_image(svg.read_bytes(), QImage(str(png)).size())
        assert colour_pixels(image, HOP_COLOURS[0]) > 0.3 * colour_pixels(QImage(str(png)), HOP_COLOURS[0]) > 50


def test_a_long_verdict_stays_in_its_box_in_the_window_svg(shown, qtbot, tmp_path):
    """Breaker finding 13: the verdict's text ran out of its scroll box over the table header in the SVG (Qt's SVG
    engine ignores the clip that keeps a scroll area's content in its view)."""
    bar = shown.evidence.verdict_bar
    qtbot.waitUntil(lambda: shown.quiet, timeout=WAIT_MS)  # (no update to set the verdict again meanwhile)
    bar.label.setText("<br>".join(f"line {i} of a verdict longer than its box" for i in range(30)))
    qtbot.waitUntil(lambda: bar.label.height() > bar.scroll.viewport().height() + 100, timeout=WAIT_MS)
    sessions = shown.evidence.sessions
    png, svg = tmp_path / "window.png", tmp_path / "window.svg"
    sessions.export("window", str(png))
    sessions.export("window", str(svg))
    qtbot.waitUntil(lambda: png.exists() and svg.exists(), timeout=10000)
    share = difference(svg.read_bytes(), png)
    assert share < 0.02, share
    # Below the verdict's box, where the table's header is: the SVG as the PNG (no lines of the verdict there).
    picture = QImage(str(png))
    box = bar.scroll.viewport()
    top = box.mapTo(shown, box.rect().bottomLeft()).y() + 2
    ratio = picture.width() / shown.width()
    band = (0, round(top * ratio), picture.width(), round(120 * ratio))
    drawn = svg_as_image(svg.read_bytes(), picture.size()).copy(*band)
    a, b = grey(picture.copy(*band), drawn.size() / SCALE), grey(drawn, drawn.size() / SCALE)
    share = float((np.abs(a - b) > 24).mean())
    assert share < 0.02, share  # (the whole window: 0.087 before, the verdict's lines over the header)
