"""The row above the trace graph's latency plot (its top axis): the graph's title and the diagnosis's marks, each
over its hop, outside the plot area so that no mark ever covers a point.

The marks were text items inside the plot, at the top of the loss axis: at 800 x 500 the latency plot is about 50 px
high and "▼ problem starts" covered the points and error bars of the hops beside it (the slowest hops sit at the
top of the latency axis). Here the title names the marked hop beside the dashed line (its "▼" above the line),
"rate-limited" stands over each hop that only limits its ICMP, and when the row is too narrow a mark gets a shorter
form ("▼ hop 4", "▼"), a grey one none: the strip's tooltip lists every mark whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF

GAP_PX = 6  # between two labels of the row
FLAG = "\u25bc"  # ▼, drawn above the dashed line of the marked hop


@dataclass(frozen=True)
class Mark:
    """A grey mark over hop ``ttl`` (rate-limited): ``forms`` long to short, ``tip`` its line in the tooltip."""

    ttl: int
    forms: tuple[str, ...]
    colour: str
    tip: str = ""


@dataclass(frozen=True)
class Label:
    """One text as the row draws it: ``rect`` in the strip's coordinates."""

    text: str
    rect: QRectF
    colour: str
    bold: bool


class MarkStrip(pg.AxisItem):
    """A top axis that draws no ticks: the title (centred, or beside the marked hop's dashed line at ``flag_x``)
    and the grey marks where there is room for them. Height: one line of the title's font."""

    def __init__(self, **kw):
        super().__init__(orientation="top", **kw)
        self.title = ""
        self.title_colour = "#404040"
        self.flag_ttl: int | None = None  # the marked hop (the title then stands beside its line)
        self.flag_x: float | None = None  # the dashed line's x (hop axis units)
        self.marks: tuple[Mark, ...] = ()
        self.flag_tip = ""  # the marked hop's problems (the tooltip's first line)
        self.overhang = (0.0, 0.0)  # px left and right of the plot the row may draw over (above the side axes)
        self.bold = QFont()
        self.bold.setPointSizeF(10.0)
        self.bold.setBold(True)
        self.plain = QFont()
        self.plain.setPointSizeF(9.0)
        self.setHeight(int(QFontMetricsF(self.bold).height()) + 4)

    def set_title(self, title: str, colour: str, flag_ttl: int | None, flag_x: float | None) -> None:
        """The title, its colour, and the marked hop and its line's x (None: the title is centred)."""
        state = (title, colour, flag_ttl, flag_x)
        if state != (self.title, self.title_colour, self.flag_ttl, self.flag_x):
            self.title, self.title_colour, self.flag_ttl, self.flag_x = state
            self._changed()

    def set_marks(self, marks: tuple[Mark, ...], flag_tip: str = "") -> None:
        if (tuple(marks), flag_tip) != (self.marks, self.flag_tip):
            self.marks = tuple(marks)
            self.flag_tip = flag_tip
            self._changed()

    def _changed(self) -> None:
        tips = [self.flag_tip] if self.flag_tip else []
        tips += [m.tip for m in self.marks if m.tip]
        self.setToolTip("\n".join(tips))
        self.picture = None
        self.update()

    def _x(self, hop_x: float) -> float | None:
        view = self.linkedView()
        if view is None:
            return None
        return self.mapFromScene(view.mapViewToScene(QPointF(hop_x, 0.0))).x()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        # The row, and the corners above the side axes (``overhang``); never the plot (an axis's rectangle
        # reaches into it for its ticks and grid: this one draws none).
        left, right = self.overhang
        return self.mapRectFromParent(self.geometry()).adjusted(-left, 0, right, 0)

    def labels(self) -> list[Label]:
        """What the row draws now: the title (or the marked hop's flag) first, then each grey mark that finds room
        beside the labels already placed, in the row's bounds; none overlaps another."""
        bounds = self.boundingRect()
        placed: list[Label] = []
        top, height = bounds.top(), bounds.height()
        bold = QFontMetricsF(self.bold)
        plain = QFontMetricsF(self.plain)

        def free(rect: QRectF) -> bool:
            inside = bounds.left() <= rect.left() and rect.right() <= bounds.right()
            return inside and not any(rect.adjusted(-GAP_PX, 0, GAP_PX, 0).intersects(p.rect) for p in placed)

        line_x = self._x(self.flag_x) if self.flag_x is not None else None
        if self.title and self.flag_ttl is not None and line_x is not None:
            placed += self._flag(line_x, bounds, free)
        elif self.title:
            text = bold.elidedText(self.title, Qt.TextElideMode.ElideRight, max(0.0, bounds.width() - 4))
            width = bold.horizontalAdvance(text) + 2
            rect = QRectF(bounds.center().x() - width / 2, top, width, height)
            placed.append(Label(text, rect, self.title_colour, True))
        for mark in self.marks:
            x = self._x(mark.ttl)
            if x is None:
                continue
            for text in mark.forms:
                width = plain.horizontalAdvance(text) + 2
                # Centred over its hop, moved inside the row at its ends.
                left = min(max(x - width / 2, bounds.left()), bounds.right() - width)
                rect = QRectF(left, top, width, height)
                if free(rect):
                    placed.append(Label(text, rect, mark.colour, False))
                    break
        return placed

    def _flag(self, line_x: float, bounds: QRectF, free) -> list[Label]:
        """The title of a marked hop: its "▼" above the dashed line, the words right of it, or left of it (the
        last hops), or apart at an end of the row; else the words shortened to "hop N", else the "▼" alone."""
        bold = QFontMetricsF(self.bold)
        top, height = bounds.top(), bounds.height()

        def label(text: str, left: float) -> Label:
            return Label(text, QRectF(left, top, bold.horizontalAdvance(text) + 2, height), self.title_colour, True)

        def beside(words: str) -> Label | None:
            right, left = f"{FLAG} {words}", f"{words} {FLAG}"
            triangle = bold.horizontalAdvance(FLAG) / 2 + 1
            for candidate in (
                label(right, line_x - triangle),
                label(left, line_x + triangle - label(left, 0).rect.width()),
            ):
                if free(candidate.rect):
                    return candidate
            return None

        found = beside(self.title)
        if found is not None:
            return [found]
        flag = label(FLAG, line_x - bold.horizontalAdvance(FLAG) / 2 - 1)
        for words in (
            label(self.title, bounds.left()),
            label(self.title, bounds.right() - label(self.title, 0).rect.width()),
        ):
            if free(words.rect) and not words.rect.adjusted(-GAP_PX, 0, GAP_PX, 0).intersects(flag.rect):
                return [flag, words]
        found = beside(f"hop {self.flag_ttl}")
        return [found] if found is not None else [flag]

    def scene_labels(self) -> list[tuple[str, QRectF]]:
        """(text, rectangle in scene coordinates) of each label drawn (tests)."""
        return [(label.text, self.mapRectToScene(label.rect)) for label in self.labels()]

    def paint(self, p, opt, widget) -> None:
        p.setRenderHint(p.RenderHint.TextAntialiasing, True)
        for label in self.labels():
            p.setFont(self.bold if label.bold else self.plain)
            p.setPen(QColor(label.colour))
            p.drawText(label.rect, int(Qt.AlignmentFlag.AlignCenter), label.text)
