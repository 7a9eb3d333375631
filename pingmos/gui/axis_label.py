"""Axis and plot titles that fit: a vertical axis shows its long title ("latency (ms)") when the axis is tall enough
for it, else a short one ("ms") (pyqtgraph draws a side axis's title rotated and centred, and clips what is longer
than the axis: at 800 x 500 the timeline read "latency (m"); a plot's title never sets the plot's minimum width
(pyqtgraph makes it so, and a narrow pane then cut the plot off at its right edge)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFontMetricsF

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


LABEL_SPACING_PX = 14.0  # a tick label's height and a gap: labels closer than this overlap


def fit_ticks(axis: pg.AxisItem, span: float, steps: tuple[float, ...]) -> None:
    """Label ``axis`` (a left or right axis over a fixed range ``span`` long: loss 0-100 %, MOS 1-4.5) every
    ``steps[0]`` while its labels are that far apart, else at the first of ``steps`` that is; measured again
    whenever the axis is resized. pyqtgraph always labels the first level of ticks it chose, however low the axis:
    at 800 x 500 the trace graph's loss axis (about 50 px) and the timeline's MOS axis (35 px) had overlapping
    labels."""
    shown: list[float | None] = [None]

    def fit() -> None:
        height = axis.geometry().height()
        step = next((s for s in steps if height * s / span >= LABEL_SPACING_PX), steps[-1])
        if step != shown[0]:
            shown[0] = step
            axis.setTickSpacing(levels=[(step, 0.0)])

    axis.geometryChanged.connect(fit)
    fit()


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
