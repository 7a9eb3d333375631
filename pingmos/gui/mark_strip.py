"""The row above the trace graph's latency plot (its top axis): the graph's title and the diagnosis's marks, each
over its hop, outside the plot area so that no mark ever covers a point.

The marks were text items inside the plot, at the top of the loss axis: at 800 x 500 the latency plot is about 50 px
high and "▼ problem starts" covered the points and error bars of the hops beside it (the slowest hops sit at the
top of the latency axis). Here the title names the marked hop and why beside the dashed line (its "▼" above the
line): "▼ problem starts at hop 4: loss 19.0 %, MOS 2.77"; "rate-limited" stands over each hop that only limits its
ICMP. When the row is too narrow the marked hop keeps its number and why ("▼ hop 4: loss 19.0 %, MOS 2.77", then
cut with "…": at 800 px it read "▼ hop 4" alone), a grey mark gets a shorter form or none: the strip's tooltip
lists every mark whole, and the trace graph shows it when it has the keyboard's focus (trace_graph).
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
        self.flag_span: tuple[int, int] | None = None  # a range of hops marked (the flag at its first hop's line)
        self.marks: tuple[Mark, ...] = ()
        self.flag_tip = ""  # the marked hop's problems (the tooltip's first line)
        self.flag_why: tuple[int, tuple[str, ...]] | None = None  # (hop, its problems) for the title's "why"
        self.tip_changed = None  # called with the tooltip's text when it changes (the graph's accessible text)
        self.overhang = (0.0, 0.0)  # px left and right of the plot the row may draw over (above the side axes)
        self.bold = QFont()
        self.bold.setPointSizeF(10.0)
        self.bold.setBold(True)
        self.plain = QFont()
        self.plain.setPointSizeF(9.0)
        self.setHeight(int(QFontMetricsF(self.bold).height()) + 4)

    def set_title(
        self,
        title: str,
        colour: str,
        flag_ttl: int | None,
        flag_x: float | None,
        span: tuple[int, int] | None = None,
    ) -> None:
        """The title, its colour, and the marked hop and its line's x (None: the title is centred); ``span``: a
        range of hops is marked (``flag_ttl`` its first hop), whose short forms name the range, never one hop."""
        state = (title, colour, flag_ttl, flag_x, span)
        if state != (self.title, self.title_colour, self.flag_ttl, self.flag_x, self.flag_span):
            self.title, self.title_colour, self.flag_ttl, self.flag_x, self.flag_span = state
            self._changed()

    def set_marks(
        self, marks: tuple[Mark, ...], flag_tip: str = "", flag_why: tuple[int, tuple[str, ...]] | None = None
    ) -> None:
        """The grey marks, the marked hop's line in the tooltip, and ``flag_why``: (hop, its problems in a few
        words each, e.g. ("loss 19.0 %", "MOS 2.77")), said after the title while that hop is the marked one."""
        if (tuple(marks), flag_tip, flag_why) != (self.marks, self.flag_tip, self.flag_why):
            self.marks = tuple(marks)
            self.flag_tip = flag_tip
            self.flag_why = flag_why
            self._changed()

    def _changed(self) -> None:
        tips = [self.flag_tip] if self.flag_tip else []
        tips += [m.tip for m in self.marks if m.tip]
        tip = "\n".join(tips)
        if tip != self.toolTip():
            self.setToolTip(tip)
            if self.tip_changed is not None:
                self.tip_changed(tip)
        self.picture = None
        self.update()

    def why(self) -> tuple[str, ...]:
        """The marked hop's problems, each in a few words ("loss 19.0 %"); () when none are known for the hop
        marked now."""
        if self.flag_why is None or self.flag_ttl is None or self.flag_why[0] != self.flag_ttl:
            return ()
        return self.flag_why[1]

    def full_text(self) -> str:
        """What the row says at its widest, every mark whole (the strip's tooltip, else its title)."""
        return self.toolTip() or self.title

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
        """The title of a marked hop, its "▼" above the dashed line and the words right of it, or left of it (the
        last hops), or apart at an end of the row; the first of ``flag_forms`` that finds room, else the "▼" alone."""
        bold = QFontMetricsF(self.bold)
        top, height = bounds.top(), bounds.height()
        triangle = bold.horizontalAdvance(FLAG) / 2 + 1

        def label(text: str, left: float) -> Label:
            return Label(text, QRectF(left, top, bold.horizontalAdvance(text) + 2, height), self.title_colour, True)

        flag = label(FLAG, line_x - triangle)

        for words in self.flag_forms():
            right, left = f"{FLAG} {words}", f"{words} {FLAG}"
            for candidate in (
                label(right, line_x - triangle),
                label(left, line_x + triangle - label(left, 0).rect.width()),
            ):
                if free(candidate.rect):
                    return [candidate]
            for candidate in (label(words, bounds.left()), label(words, bounds.right() - label(words, 0).rect.width())):
                if free(candidate.rect) and not candidate.rect.adjusted(-GAP_PX, 0, GAP_PX, 0).intersects(flag.rect):
                    return [flag, candidate]
        return [flag]

    def flag_forms(self) -> list[str]:
        """What the marked hop's title may say, longest first: the title and why ("problem starts at hop 4: loss
        19.0 %, MOS 2.77"), "hop 4" and why, whole problems then "…" ("hop 4: loss 19.0 %, …"), the problems'
        names ("hop 4: loss, MOS"), the title, "hop 4". A number is never cut: a cut "19…" would misread.
        A range of hops: the title ("problem between hop 2 and hop 5"), then "hops 3-5" (never one hop's number)."""
        if self.flag_span is not None:
            first, last = self.flag_span
            return [self.title, f"hops {first}-{last}" if last > first else f"hop {first}"]
        hop = f"hop {self.flag_ttl}"
        problems = self.why()
        forms = []
        if problems:
            names = [_name(p) for p in problems]
            forms += [f"{self.title}: {', '.join(problems)}", f"{hop}: {', '.join(problems)}"]
            forms += [f"{hop}: {', '.join(problems[:k])}, \u2026" for k in range(len(problems) - 1, 0, -1)]
            forms += [f"{hop}: {', '.join(names)}"]
            if len(names) > 1:
                forms += [f"{hop}: {names[0]}, \u2026"]
        return [*forms, self.title, hop]

    def scene_labels(self) -> list[tuple[str, QRectF]]:
        """(text, rectangle in scene coordinates) of each label drawn (tests)."""
        return [(label.text, self.mapRectToScene(label.rect)) for label in self.labels()]

    def paint(self, p, opt, widget) -> None:
        p.setRenderHint(p.RenderHint.TextAntialiasing, True)
        for label in self.labels():
            p.setFont(self.bold if label.bold else self.plain)
            p.setPen(QColor(label.colour))
            p.drawText(label.rect, int(Qt.AlignmentFlag.AlignCenter), label.text)


def _name(problem: str) -> str:
    """A problem's name, its words before the first number: "loss" of "loss 19.0 %", "MOS" of "MOS 2.77"."""
    words = []
    for word in problem.split():
        if any(c.isdigit() for c in word):
            break
        words.append(word)
    return " ".join(words) or problem
