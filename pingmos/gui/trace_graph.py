"""The trace graph (PingPlotter's picture): hop by hop along the route, latency (average with min-max), loss,
and MOS, with the hop where quality falls apart marked.

By keyboard (Tab from the hop table, or Ctrl+2): the graph shows it has the focus (a frame) and shows its marks
whole in a tooltip at the marked hop, as a pointer over them does; Space or Enter shows it again. Its accessible
description is that text too. A narrow graph shortens a mark (gui.mark_strip); this is where it is read whole."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import QToolTip

from pingmos.gui.axis_cache import cache_axes
from pingmos.gui.axis_label import fit_title, free_title_width, spaced_labels
from pingmos.gui.mark_strip import MarkStrip
from pingmos.gui.plot_grid import show_grid
from pingmos.gui.quality import BAND_COLOURS, BAND_PENS, RATE_LIMITED_COLOUR, Thresholds, mos_band
from pingmos.hop_report import FEW_SAMPLES_WORDS, HopReport
from pingmos.report.formats import FALLBACK_MARK

LATENCY_PEN = "#1f77b4"
LOSS_BRUSH = (214, 39, 40, 110)
MARK_PEN = "#c62828"
ERROR_PEN = "#b71c1c"  # the error banner's and the loss axis's red
MARK_OFFSET = 0.4  # the dashed line of the marked hop stands this far before it (between it and the hop before)
# A problem located to a range of hops (first, last): one shaded bracket from the first's line (MARK_OFFSET before it)
# to this far after the last, over both plots.
SPAN_BRUSH = (198, 40, 40, 38)


def span_edges(span: tuple[int, int]) -> tuple[float, float]:
    """The x (hop axis) of a range's bracket: from the first hop's line (where a single marked hop's stands) to
    MARK_OFFSET after the last hop."""
    return span[0] - MARK_OFFSET, span[1] + MARK_OFFSET


def _nan(value: float | None) -> float:
    return np.nan if value is None else float(value)


NICE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten that is >= ``value`` (> 0).

    The latency axis's top: it then moves only when the slowest hop crosses such a step, not at every update
    as the maximum wanders; each move draws the axis, its labels and grid again (a third of the graph's paint)."""
    exponent = math.floor(math.log10(value))
    scale = 10.0**exponent
    for step in NICE_STEPS:
        top = step * scale
        if top >= value * (1 - 1e-12):
            return float(f"{top:.12g}")  # (no 1.2000000000000002: it is also the axis's label)
    return 10.0 * scale


FALLBACK_PEN = "#8a8a8a"
FALLBACK_WORDS = f"grey dashed: the formula's last working version {FALLBACK_MARK}"


def _fallback_mos(hop: HopReport) -> float | None:
    """The last working version's MOS of a hop the model failed at (HopReport.score_fallback), None otherwise or
    for a router that never answered (no MOS is drawn for it)."""
    if hop.mos is not None or not hop.score_error or hop.score_fallback is None or hop.address is None:
        return None
    return hop.score_fallback.mos


class TraceGraph(pg.GraphicsLayoutWidget):
    """Top: latency per hop (average line, min-max bars) with loss bars on a right-hand 0-100 % axis.
    Bottom: MOS per hop over the quality bands. Both share the hop axis."""

    def __init__(self, thresholds: Thresholds | None = None, parent=None):
        super().__init__(parent)
        self.thresholds = thresholds or Thresholds()
        self.setBackground("w")
        self.marked_ttl: int | None = None
        self.marked_span: tuple[int, int] | None = None  # a problem located to a range of hops (first, last)
        self._brushes: dict = {}  # band -> its brush for the MOS points (see _brush)
        self._ticks_for: tuple = ()
        self._y_top: float | None = None  # the latency axis's top as last set (nice_ceiling)
        self.ci.setSpacing(0)
        # pyqtgraph's 9 px round the plots: at 800 x 500, 18 px of a 225 px graph (the timeline's plot comes first
        # there, and took some of this graph's height).
        self.ci.setContentsMargins(3, 2, 3, 2)

        # The title and the diagnosis's marks in a row of their own above the plot (gui.mark_strip): never over
        # a point. The plot's own title row stays empty.
        self.mark_strip = MarkStrip()
        self.mark_strip.tip_changed = self._tip_changed
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a Tab stop: its marks whole (see the module doc)
        self.setAccessibleName("trace graph")
        self._tip_after_release = False
        self.latency = self.addPlot(row=0, col=0, axisItems={"top": self.mark_strip})
        self.latency.showAxis("top")
        fit_title(self.latency.getAxis("left"), "latency (ms)", "ms")  # "ms" alone when the graph is low
        show_grid(self.latency)  # the left axis's grid only, not the right-hand one's too
        self.latency.setMouseEnabled(x=False, y=False)
        self.latency.hideButtons()
        self.latency.getAxis("bottom").setStyle(showValues=False)
        self.loss_view = pg.ViewBox()
        self.loss_view.setMouseEnabled(x=False, y=False)
        self.latency.showAxis("right")
        self.latency.scene().addItem(self.loss_view)
        self.latency.getAxis("right").linkToView(self.loss_view)
        fit_title(self.latency.getAxis("right"), "loss (%)", "%", color="#b71c1c")
        self.loss_view.setXLink(self.latency)
        self.loss_view.setYRange(0, 100, padding=0)
        self.latency.vb.sigResized.connect(self._sync_views)

        self.loss_bars = pg.BarGraphItem(x=[], height=[], width=0.5, brush=pg.mkBrush(*LOSS_BRUSH), pen=None)
        self.loss_view.addItem(self.loss_bars)
        self.loss_ci = pg.ErrorBarItem(beam=0.15, pen=pg.mkPen("#7f1d1d", width=1))
        self.loss_view.addItem(self.loss_ci)
        self.range_bars = pg.ErrorBarItem(beam=0.25, pen=pg.mkPen("#7aa6d6", width=2))
        self.latency.addItem(self.range_bars)
        self.avg_line = pg.PlotDataItem(
            pen=pg.mkPen(LATENCY_PEN, width=2), symbol="o", symbolSize=6, symbolBrush=LATENCY_PEN, connect="finite"
        )
        self.latency.addItem(self.avg_line)

        self.mos = self.addPlot(row=1, col=0)
        # pyqtgraph makes a title's width the plot's minimum width, which a narrow pane (800 x 500: 311 px for a
        # 375 px minimum) then cut off at the right, loss axis and last hops gone (free_title_width).
        free_title_width(self.mos)
        self._mos_model: str | None = None  # the model and settings the MOS plot's title names
        self._mos_pending: str | None = None  # "computing with NAME…": said there instead, no MOS drawn
        self._mos_error: str | None = None  # "NAME failed: file:line: message": said there instead, in red
        self._mos_title = ""
        self._mos_title_error: str | None = None  # the error the title says ("" / None: none)
        self.mos.setLabel("left", "MOS")
        self.mos.setLabel("bottom", "hop")
        # No hop numbers before there are hops: left to pyqtgraph, an empty graph read "hop 0.2, 0.4, 0.6, 0.8".
        for plot in (self.latency, self.mos):
            plot.getAxis("bottom").setTicks([[]])
        self.mos.setXLink(self.latency)
        self.mos.setMouseEnabled(x=False, y=False)
        self.mos.hideButtons()
        self.mos.setYRange(1.0, 4.5, padding=0.02)
        self.mos.showAxis("right")
        self.mos.getAxis("right").setStyle(showValues=False)
        self.band_items: list[pg.LinearRegionItem] = []
        self.mos_line = pg.PlotDataItem(pen=pg.mkPen("#404040", width=1.5), connect="finite")
        self.mos_points = pg.ScatterPlotItem(size=10, pen=pg.mkPen("#303030"))
        # The MOS's 95 % interval as a whisker on each scored hop's point; dashed where it is from too few samples
        # (HopReport.mos_ci_few_samples: "not enough samples", wide on purpose), as the table marks it.
        self.mos_ci = pg.ErrorBarItem(beam=0.15, pen=pg.mkPen("#404040", width=1))
        self.mos_ci_few = pg.ErrorBarItem(beam=0.15, pen=pg.mkPen("#909090", width=1, style=Qt.PenStyle.DashLine))
        self.mos.addItem(self.mos_ci)
        self.mos.addItem(self.mos_ci_few)
        self.mos.addItem(self.mos_line)
        self.mos.addItem(self.mos_points)
        # A broken formula's hops: the last working version's MOS, as the table's "3.09*" cells, drawn greyed and
        # dashed (hollow points), the title saying what they are (the panel was empty while the table had them).
        self.fallback_line = pg.PlotDataItem(
            pen=pg.mkPen(FALLBACK_PEN, width=1.5, style=Qt.PenStyle.DashLine), connect="finite"
        )
        self.fallback_points = pg.ScatterPlotItem(size=10, pen=pg.mkPen(FALLBACK_PEN, width=1.5), brush=None)
        self.mos.addItem(self.fallback_line)
        self.mos.addItem(self.fallback_points)
        self._mos_fallback = False  # some hop drawn with its fallback: the title says so
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 2)

        self.mark_lines = [
            pg.InfiniteLine(angle=90, pen=pg.mkPen(MARK_PEN, width=2, style=Qt.PenStyle.DashLine)) for _ in range(2)
        ]
        self.mark_text = ""  # what the title says about the marked hop ("" = nothing marked)
        self.latency.addItem(self.mark_lines[0], ignoreBounds=True)
        self.mos.addItem(self.mark_lines[1], ignoreBounds=True)
        for line in self.mark_lines:
            line.hide()
        # The bracket of a range: shaded, its edges dashed as the single hop's line is.
        self.span_regions = [
            pg.LinearRegionItem(
                values=(0.0, 1.0),
                orientation="vertical",
                movable=False,
                brush=pg.mkBrush(*SPAN_BRUSH),
                pen=pg.mkPen(MARK_PEN, width=2, style=Qt.PenStyle.DashLine),
            )
            for _ in range(2)
        ]
        for plot, region in zip((self.latency, self.mos), self.span_regions, strict=True):
            region.setZValue(-10)  # behind the points, above the MOS bands
            plot.addItem(region, ignoreBounds=True)
            region.hide()
        self._set_title()
        for plot in (self.latency, self.mos):
            for axis in ("left", "bottom", "right"):
                plot.getAxis(axis).setTextPen("#202020")
                plot.getAxis(axis).setPen("#606060")
            spaced_labels(plot.getAxis("left"))  # (a low graph: fewer labels, never overlapping)
            spaced_labels(plot.getAxis("right"))
            plot.getAxis("left").setWidth(52)
            plot.getAxis("right").setWidth(48)  # both plots equally wide, so the hops line up
            cache_axes(plot)
        self.mark_strip.overhang = (52.0, 48.0)  # its labels may stand above the side axes too
        self.set_thresholds(self.thresholds)

    def marks_text(self) -> str:
        """The graph's marks whole, as its tooltip (or its title, with no mark) says them: what the focus shows."""
        return self.mark_strip.full_text()

    def show_marks_tip(self) -> None:
        """The marks whole in a tooltip under the first label of the strip (the marked hop's), within the graph."""
        labels = self.mark_strip.scene_labels()
        if labels:
            rect = labels[0][1]
            at = self.mapFromScene(rect.bottomLeft())
        else:
            at = QPoint(8, 8)
        at = QPoint(max(0, min(at.x(), self.width() - 40)), max(0, min(at.y(), self.height() - 10)))
        QToolTip.showText(self.mapToGlobal(at), self.marks_text(), self)

    def _tip_changed(self, _tip: str = "") -> None:
        text = self.marks_text()
        if text != self.accessibleDescription():
            self.setAccessibleDescription(text)
            if self.hasFocus() and QToolTip.isVisible():
                self.show_marks_tip()  # (what it says now)

    def focusInEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().focusInEvent(event)
        self.viewport().update()
        if event.reason() != Qt.FocusReason.MouseFocusReason:  # (a pointer shows the tooltip where it is)
            self.show_marks_tip()
            # A tooltip goes at any key's release (Qt's tooltip does that): the release of the key that brought
            # the focus here (Tab, Ctrl+2) shows it again.
            self._tip_after_release = True

    def keyReleaseEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().keyReleaseEvent(event)
        if self._tip_after_release and not event.isAutoRepeat():
            self._tip_after_release = False
            self.show_marks_tip()

    def focusOutEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().focusOutEvent(event)
        self._tip_after_release = False
        self.viewport().update()
        QToolTip.hideText()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.show_marks_tip()
            self._tip_after_release = True  # (and again at its release, which hides a tooltip)
            return
        super().keyPressEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if self.hasFocus():  # the focus's frame, as the verdict's and the table's show theirs
            painter = QPainter(self.viewport())
            painter.setPen(QPen(QColor(self.palette().color(QPalette.ColorRole.Highlight)), 2))
            painter.drawRect(self.viewport().rect().adjusted(1, 1, -1, -1))
            painter.end()

    def _sync_views(self) -> None:
        self.loss_view.setGeometry(self.latency.vb.sceneBoundingRect())
        self.loss_view.linkedViewChanged(self.latency.vb, self.loss_view.XAxis)

    def set_thresholds(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        for item in self.band_items:
            self.mos.removeItem(item)
        t = thresholds
        bands = [(1.0, t.mos_poor, "bad"), (t.mos_poor, t.mos_acceptable, "poor")]
        bands += [(t.mos_acceptable, t.mos_good, "acceptable"), (t.mos_good, 4.5, "good")]
        self.band_items = []
        for lo, hi, band in bands:
            colour = pg.mkColor(BAND_COLOURS[band])
            colour.setAlpha(110)
            item = pg.LinearRegionItem(
                values=(lo, hi), orientation="horizontal", movable=False, brush=pg.mkBrush(colour), pen=pg.mkPen(None)
            )
            item.setZValue(-20)
            self.mos.addItem(item, ignoreBounds=True)
            self.band_items.append(item)

    def _brush(self, band: str | None):
        # One brush per band, made once: the scatter plot renders a point's symbol again for every new brush.
        brush = self._brushes.get(band)
        if brush is None:
            # None: a rate-limited router's point (no band: its loss is not the path's), the grey of its mark.
            colour = BAND_PENS[band] if band is not None else RATE_LIMITED_COLOUR
            brush = self._brushes[band] = pg.mkBrush(colour)
        return brush

    def set_hops(
        self,
        hops: tuple[HopReport, ...],
        marked_ttl: int | None,
        title: str | None = None,
        model: str | None = None,
        pending: str | None = None,
        error: str | None = None,
        span: tuple[int, int] | None = None,
        rate_limited: tuple[int, ...] = (),
    ) -> None:
        """Draw one snapshot's hops; ``marked_ttl`` is the hop where quality falls apart (None: none), ``span`` the
        range of hops (first, last) a problem is located to when no one hop is supported (``Diagnosis.open_range``:
        one shaded bracket over them, the title beside it) and ``title`` the diagnosis in a few words
        (``Diagnosis.short``), all from the one diagnosis; ``model`` the
        model and its assumed settings, shown above the MOS plot (ITU-T P.564: say what a score assumed);
        ``pending`` shown there instead while another model's scores are computed (the hops then have none);
        ``error`` (one line: which model failed and why) shown there instead, in red, when the model gave some
        hop no score but an error (those hops get no MOS point). ``rate_limited``: the hops whose own numbers the same
        diagnosis calls rate limiting (``Diagnosis.rate_limited_ttls``): their MOS points are grey, not in a quality
        band's colour (their loss is not the path's), as the hop table leaves their cells uncoloured.

        The same as ``set_frame`` then ``set_points`` (the window takes them in two passes of its event loop)."""
        self.set_frame(hops, marked_ttl, title, model, pending, error, span)
        self.set_points(hops, marked_ttl, span, rate_limited)

    def set_frame(
        self,
        hops: tuple[HopReport, ...],
        marked_ttl: int | None,
        title: str | None = None,
        model: str | None = None,
        pending: str | None = None,
        error: str | None = None,
        span: tuple[int, int] | None = None,
        rate_limited: tuple[int, ...] = (),
    ) -> None:
        """What lays the plots out and draws their axes for these hops (arguments as ``set_hops``): the titles,
        the hop axis and its ticks, the latency axis's top; nothing when none of them changed.

        Taken in on its own pass, the plots are laid out and their axes drawn again before any point moves: the
        first update of a trace (new hops, new titles) cost 45-50 ms of one pass drawn with its points, the
        layout settling in two rounds that painted the whole graph twice (scripts/bench_gui.py, part 2)."""
        self._mos_model = model
        self._mos_pending = pending
        self._mos_error = None if pending else error
        self._mos_fallback = any(_fallback_mos(h) is not None for h in hops)
        self._set_mos_title()
        x = np.array([h.ttl for h in hops], dtype=float)
        if len(x) and tuple(x) != self._ticks_for:
            self._ticks_for = tuple(x)  # axes re-layout on every setTicks: only when the hops change
            self.latency.setXRange(0.5, x.max() + 0.5, padding=0)
            self.latency.getAxis("bottom").setTicks([[(v, str(int(v))) for v in x]])
            self.mos.getAxis("bottom").setTicks([[(v, str(int(v))) for v in x]])
        if len(x):
            avg = np.array([_nan(h.avg_ms) for h in hops])
            hi = np.array([_nan(h.max_ms) for h in hops])
            ok = ~np.isnan(avg)
            upper = np.where(np.isnan(hi), avg, hi)  # an imported report may hold an average but no maximum
            top = float(np.max(upper[ok])) if ok.any() else 1.0
            y_top = nice_ceiling(max(1.0, top) * 1.1)
            if y_top != self._y_top:
                self._y_top = y_top
                self.latency.setYRange(0, y_top, padding=0)
        self.marked_ttl = marked_ttl
        self.marked_span = span if marked_ttl is None else None
        if title is None:
            title = "" if marked_ttl is None else f"problem starts at hop {marked_ttl}"
        self.mark_text = title
        self._set_title()
        # The layout now, every round of it (a title's new size re-lays its plot out, whose new size the graph's
        # layout then places, which re-lays the plots out again): left to posted events, the later rounds came
        # after a paint and painted the whole graph a second time.
        for _ in range(2):
            for item in (self.latency, self.mos, self.ci):
                QCoreApplication.sendPostedEvents(item, QEvent.Type.LayoutRequest)

    def set_points(
        self,
        hops: tuple[HopReport, ...],
        marked_ttl: int | None,
        span: tuple[int, int] | None = None,
        rate_limited: tuple[int, ...] = (),
    ) -> None:
        """Draw the hops' latency, loss and MOS and mark ``marked_ttl`` (arguments as ``set_hops``), in the frame
        ``set_frame`` laid out for them."""
        x = np.array([h.ttl for h in hops], dtype=float)
        avg = np.array([_nan(h.avg_ms) for h in hops])
        lo = np.array([_nan(h.min_ms) for h in hops])
        hi = np.array([_nan(h.max_ms) for h in hops])
        # No loss bar for a router that gave no reply (HopReport.unmeasured): its 100 % says nothing about the path
        # through it; no MOS either (it has none).
        measured = [h.address is not None and not h.unmeasured for h in hops]
        loss = np.array([(h.loss_pct or 0.0) if m else 0.0 for h, m in zip(hops, measured, strict=True)])
        mos = np.array([_nan(h.mos) if m else np.nan for h, m in zip(hops, measured, strict=True)])
        self.avg_line.setData(x, avg)
        ok = ~np.isnan(avg)
        if ok.any():
            self.range_bars.setData(x=x[ok], y=avg[ok], top=hi[ok] - avg[ok], bottom=avg[ok] - lo[ok])
        else:
            self.range_bars.setData(x=np.array([]), y=np.array([]), top=np.array([]), bottom=np.array([]))
        self.loss_bars.setOpts(x=x, height=loss, width=0.5)
        # The loss's 95 % interval (Wilson) as a whisker on each answering hop's bar: what the diagnosis judges.
        ci = [(h.ttl, h.loss_pct, h.loss_ci_pct) for h, m in zip(hops, measured, strict=True) if m and h.loss_ci_pct]
        if ci:
            cx = np.array([c[0] for c in ci], dtype=float)
            cy = np.array([c[1] for c in ci], dtype=float)
            self.loss_ci.setData(
                x=cx, y=cy, top=np.array([c[2][1] for c in ci]) - cy, bottom=cy - np.array([c[2][0] for c in ci])
            )
        else:
            self.loss_ci.setData(x=np.array([]), y=np.array([]), top=np.array([]), bottom=np.array([]))
        self.mos_line.setData(x, mos)
        scored = ~np.isnan(mos)
        limited = np.isin(x, np.array(rate_limited, dtype=float))
        brushes = [
            self._brush(None if own else mos_band(m, self.thresholds))
            for m, own in zip(mos[scored], limited[scored], strict=True)
        ]
        self.mos_points.setData(x=x[scored], y=mos[scored], brush=brushes)
        fallback = np.array([_nan(_fallback_mos(h)) for h in hops])
        self.fallback_line.setData(x, fallback)
        marked = ~np.isnan(fallback)
        self.fallback_points.setData(x=x[marked], y=fallback[marked])
        for item, few in ((self.mos_ci, False), (self.mos_ci_few, True)):
            whiskers = [h for h in hops if h.address is not None and h.mos is not None and h.mos_ci is not None
                        and h.mos_ci_few_samples == few]  # fmt: skip
            wx = np.array([h.ttl for h in whiskers], dtype=float)
            wy = np.array([h.mos for h in whiskers], dtype=float)
            top = np.array([h.mos_ci[1] for h in whiskers], dtype=float) - wy
            bottom = wy - np.array([h.mos_ci[0] for h in whiskers], dtype=float)
            item.setData(x=wx, y=wy, top=top, bottom=bottom)
        self.mos.setToolTip(
            "MOS with its 95 % interval; dashed: " + FEW_SAMPLES_WORDS + " (bounds, wide on purpose)"
            if any(h.mos_ci_few_samples and h.mos_ci is not None for h in hops)
            else ""
        )
        self.marked_ttl = marked_ttl
        span = self.marked_span = span if marked_ttl is None else None
        for line in self.mark_lines:
            line.setValue((marked_ttl or 0) - MARK_OFFSET)
            line.setVisible(marked_ttl is not None)
        for region in self.span_regions:
            if span is not None:
                region.setRegion(span_edges(span))
            region.setVisible(span is not None)

    def _set_title(self) -> None:
        # The title row is always there (the plots do not jump when a hop gets marked) and never covers data: the
        # mark strip, which puts a marked hop's title beside its dashed line.
        span = self.marked_span if self.marked_ttl is None else None
        flag = self.marked_ttl if self.marked_ttl is not None else span[0] if span is not None else None
        marked = flag is not None and bool(self.mark_text)
        self.mark_strip.set_title(
            self.mark_text or "latency, loss and MOS along the route",
            MARK_PEN if marked else "#404040",
            flag if marked else None,
            flag - MARK_OFFSET if marked else None,
            span if marked else None,
        )
        self._tip_changed()

    def _set_mos_title(self) -> None:
        # The model and its settings above the MOS plot, elided to the pane (it ran past both edges at 1280 px);
        # set only when what is shown changes (a title change re-lays the plots out).
        # A failing model's error instead, elided in the middle: its name at the start and the message at the end
        # stay, a long path to the file gives way (the whole line is in the title's tooltip and the banner).
        error = self._mos_error
        text = error or self._mos_pending or (f"MOS by {self._mos_model}" if self._mos_model else "")
        if self._mos_fallback and not self._mos_pending:  # (at the end: an elided error keeps it)
            text = f"{text}; {FALLBACK_WORDS}" if text else FALLBACK_WORDS
        font = QFont(self.font())
        font.setPointSizeF(8.0)
        elide = Qt.TextElideMode.ElideMiddle if error else Qt.TextElideMode.ElideRight
        shown = QFontMetrics(font).elidedText(text, elide, max(40, self.width() - 24))
        if (shown, error) != (self._mos_title, self._mos_title_error):
            self._mos_title = shown
            self._mos_title_error = error
            self.mos.setTitle(shown or None, size="8pt", color=ERROR_PEN if error else "#404040")
            self.mos.titleLabel.setToolTip(error or "")
            self._fit_layout()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if hasattr(self, "_mos_title"):  # (not while the plots are being built)
            self._set_mos_title()

    def _fit_layout(self) -> None:
        # The layout may have grown past the view while a title held its minimum width: back to the view.
        if self.ci.geometry() != self.range:
            self.ci.setGeometry(self.range)
