"""Axis and plot titles that fit: a vertical axis shows its long title ("latency (ms)") when the axis is tall enough
for it, else a short one ("ms") (pyqtgraph draws a side axis's title rotated and centred, and clips what is longer
than the axis: at 800 x 500 the timeline read "latency (m"); a plot's title never sets the plot's minimum width
(pyqtgraph makes it so, and a narrow pane then cut the plot off at its right edge)."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF

MARGIN_PX = 4  # room left at each end of the axis


def fit_title(axis: pg.AxisItem, long: str, short: str, **style) -> None:
    """Keep ``axis`` (a left or right axis) titled ``long`` while it fits the axis's height, ``short`` when it does
    not, none when neither does; measured again whenever the axis is resized. ``style``: what ``AxisItem.setLabel``
    takes (units, colour)."""

    units = style.get("units")

    def length(text: str) -> float:
        # As pyqtgraph writes it ("text (units)") in the title's font, plus the text item's margins.
        shown = f"{text} ({units})".strip() if units else text
        margin = 2 * axis.label.document().documentMargin()
        return QFontMetricsF(axis.label.font()).horizontalAdvance(shown) + margin

    def fit() -> None:
        room = axis.geometry().height() - 2 * MARGIN_PX
        if length(long) <= room:
            text = long
        elif length(short) <= room:
            text = short
        else:  # not even the short one: none, rather than a cut one (an 800 x 500 window's timeline, 35 px high)
            if axis.label.isVisible():
                axis.showLabel(False)
            return
        if text != axis.labelText or not axis.label.isVisible():  # (setting it again would resize the axis)
            axis.setLabel(text, **style)

    axis.geometryChanged.connect(fit)
    fit()


def spaced_labels(axis: pg.AxisItem) -> None:
    """Keep the tick labels of ``axis`` (a left or right axis) apart however low it is: when the ticks pyqtgraph
    chose would put labels closer than a label's height, the axis is ticked at the next coarser step of 1-2-5 that
    leaves room (one level: its grid lines follow). pyqtgraph always labels the first level of ticks it chose: at
    800 x 500 the trace graph's loss axis (47 px: 20-80 %) and the timeline's axes (35 px: MOS 3 and 2, an empty
    trace's 0.2-0.8 ms) had overlapping labels. A tall axis keeps pyqtgraph's ticks."""
    original = axis.tickSpacing

    def tick_spacing(min_value: float, max_value: float, size: float):
        levels = original(min_value, max_value, size)
        if not levels or not max_value > min_value or size <= 0:
            return levels
        px_per_unit = size / (max_value - min_value)
        room = label_height_px(axis) + LABEL_GAP_PX
        spacing = levels[0][0]
        if spacing * px_per_unit >= room:
            return levels
        while spacing * px_per_unit < room:
            spacing = coarser(spacing)
        return [(spacing, 0.0)]

    axis.tickSpacing = tick_spacing


LABEL_GAP_PX = 0.5  # between two tick labels (their rectangles include the font's leading)


def label_height_px(axis: pg.AxisItem) -> float:
    """The height pyqtgraph gives a tick label of ``axis`` (``AxisItem.generateDrawSpecs``: 0.8 of the text's)."""
    return 0.8 * QFontMetricsF(axis.style["tickFont"] or QFont()).height()


def coarser(step: float) -> float:
    """The next step of the 1-2-5 series above ``step`` (> 0): 1 -> 2, 2 or 2.5 -> 5, 5 -> 10, times a power of 10."""
    exponent = math.floor(math.log10(step))
    scale = 10.0**exponent
    mantissa = step / scale
    for nxt in (2.0, 5.0, 10.0):
        if nxt > mantissa * (1 + 1e-9):
            return float(f"{nxt * scale:.12g}")
    return float(f"{20.0 * scale:.12g}")


def title_fits(axis: pg.AxisItem) -> bool:
    """Whether the title ``axis`` shows is drawn whole (tests): its length along the axis within the axis."""
    if not axis.label.isVisible() or not axis.labelText and not axis.labelUnits:
        return True
    return axis.label.boundingRect().width() <= axis.geometry().height()


def free_title_width(plot: pg.PlotItem) -> None:
    """Let ``plot``'s title (its LabelItem) be narrower than its text: centred over the plot, a long title runs
    over the axes instead of widening the plot past its pane. pyqtgraph sets the label's minimum width to the
    text's each time the text changes (``LabelItem.updateMin``): that minimum is taken back after it."""
    label = plot.titleLabel
    update_min = label.updateMin

    def without_minimum_width() -> None:
        update_min()
        label.setMinimumWidth(0)

    label.updateMin = without_minimum_width
    label.setMinimumWidth(0)
