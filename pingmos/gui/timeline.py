"""The timeline: latency over time of the selected hops, lost samples marked, MOS on its own axis, and a focus
range the user drags to make the table show statistics over that time only."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from pingmos.gui.decimate import envelope, thin_markers, visible_slice

HOP_COLOURS = ("#1f77b4", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#2ca02c")
LOST_COLOUR = "#d62728"
MAX_BUCKETS = 1200  # per curve and view: about one min/max pair per pixel column of a wide window
MAX_LOST_MARKERS = 500  # one per ~2-3 pixels: more would overlap, and scatter points cost Python time
ROUTE_COLOUR = "#1565c0"
MAX_ROUTE_MARKERS = 100  # a flapping route: the newest ones (each is a line item; hundreds would bury the curves)


def route_change_text(change) -> str:
    """The tooltip of one route change marker: 'hop K: a → b' and when."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(change.sent_at))
    return f"hop {change.ttl}: {change.old} \u2192 {change.new}\nroute changed at {when} (round {change.round})"


@dataclass(frozen=True)
class HopTimeline:
    """What the timeline draws for one hop: send times (s since the epoch), RTTs (ms, NaN = lost), and the MOS
    curve (times and values, NaN where nothing could be scored)."""

    ttl: int
    label: str
    t: np.ndarray
    rtt_ms: np.ndarray
    mos_t: np.ndarray
    mos: np.ndarray


class TimelineWidget(QWidget):
    """``set_data`` replaces what is drawn; ``focus_changed`` carries (t0, t1) in wall-clock seconds, or None
    when the focus is cleared and the table should return to the live window."""

    focus_changed = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=False)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.plot = self.graphics.addPlot(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.plot.setLabel("left", "latency", units="ms")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setMouseEnabled(x=True, y=False)  # pan/zoom in time; latency keeps auto-range
        self.plot.enableAutoRange(axis="y")
        # MOS on its own axis: a second view box sharing the time axis, its y fixed to the MOS scale.
        self.mos_view = pg.ViewBox()
        self.mos_view.setMouseEnabled(x=False, y=False)
        self.plot.showAxis("right")
        self.plot.scene().addItem(self.mos_view)
        self.plot.getAxis("right").linkToView(self.mos_view)
        self.plot.getAxis("right").setLabel("MOS")
        self.mos_view.setXLink(self.plot)
        self.mos_view.setYRange(1.0, 4.5, padding=0.02)
        self.plot.vb.sigResized.connect(self._sync_views)
        for axis in ("left", "bottom", "right"):
            self.plot.getAxis(axis).setTextPen("#202020")
            self.plot.getAxis(axis).setPen("#606060")
        self.region = pg.LinearRegionItem(brush=pg.mkBrush(255, 200, 0, 50), movable=True)
        self.region.setZValue(-10)
        self.region.hide()
        self.plot.addItem(self.region)
        self.region.sigRegionChangeFinished.connect(self._region_moved)
        self.plot.sigXRangeChanged.connect(self._view_changed)
        self._curves: dict[int, tuple] = {}
        self.route_markers: list[pg.InfiniteLine] = []
        self._route_shown: tuple = ()
        self._data: list[HopTimeline] = []
        self._follow = True  # keep the newest data in view until the user pans or zooms
        self._refitting = False
        self.plot.vb.sigRangeChangedManually.connect(self._user_moved)

        self.focus_button = QPushButton("Focus range")
        self.focus_button.setCheckable(True)
        self.focus_button.setToolTip(
            "Drag the yellow range over the time you want: the table then shows statistics over that time only"
        )
        self.focus_button.toggled.connect(self._focus_toggled)
        self.live_button = QPushButton("Follow live")
        self.live_button.setToolTip("Zoom out to the whole trace and keep the newest samples in view")
        self.live_button.clicked.connect(self.follow_live)
        self.caption = QLabel("")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 0, 4, 0)
        bar.addWidget(self.caption, 1)
        bar.addWidget(self.focus_button)
        bar.addWidget(self.live_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.graphics, 1)

    # -- focus range ------------------------------------------------------------------------------

    def focus_range(self) -> tuple[float, float] | None:
        return tuple(self.region.getRegion()) if self.region.isVisible() else None  # type: ignore[return-value]

    def set_focus(self, t0: float, t1: float) -> None:
        """Show the focus range over [t0, t1] (wall-clock seconds) and announce it."""
        self.focus_button.blockSignals(True)
        self.focus_button.setChecked(True)
        self.focus_button.blockSignals(False)
        self.region.setRegion((t0, t1))
        self.region.show()
        self._region_moved()

    def clear_focus(self) -> None:
        self.focus_button.blockSignals(True)
        self.focus_button.setChecked(False)
        self.focus_button.blockSignals(False)
        if self.region.isVisible():
            self.region.hide()
            self.focus_changed.emit(None)

    def _focus_toggled(self, on: bool) -> None:
        if not on:
            self.clear_focus()
            return
        (x0, x1), _ = self.plot.vb.viewRange()
        width = x1 - x0
        self.set_focus(x0 + 0.6 * width, x0 + 0.9 * width)

    def _region_moved(self) -> None:
        if self.region.isVisible():
            t0, t1 = self.region.getRegion()
            self.focus_changed.emit((float(t0), float(t1)))

    # -- drawing ----------------------------------------------------------------------------------

    def _sync_views(self) -> None:
        self.mos_view.setGeometry(self.plot.vb.sceneBoundingRect())
        self.mos_view.linkedViewChanged(self.plot.vb, self.mos_view.XAxis)

    def _user_moved(self, *_) -> None:
        self._follow = False

    def follow_live(self) -> None:
        self._follow = True
        self._fit_all()

    def _fit_all(self) -> None:
        spans = [(d.t[0], d.t[-1]) for d in self._data if len(d.t)]
        if spans:
            t0 = min(s[0] for s in spans)
            t1 = max(s[1] for s in spans)
            self.plot.setXRange(t0, max(t1, t0 + 1.0), padding=0.02)

    def _view_changed(self, *_) -> None:
        if not self._refitting:
            self._redraw_curves()

    def _update_caption(self) -> None:
        hops = self._data
        routes = (
            f', <span style="color:{ROUTE_COLOUR}">&#9482; route changed ({len(self._route_shown)})</span>'
            if self._route_shown
            else ""
        )
        if hops:
            names = ", ".join(f'<b style="color:{self._curves[h.ttl][3]}">{h.label}</b>' for h in hops)
            self.caption.setText(
                f"{names}: latency (solid line, left axis), MOS (dashed, right axis), "
                f'<span style="color:{LOST_COLOUR}">&#9650; lost</span>{routes}'
            )
        else:
            self.caption.setText("select hops in the table to see them over time" + routes)

    def set_data(self, hops: list[HopTimeline]) -> None:
        """Replace the drawn hops (the selected ones) and redraw what is in view."""
        wanted = {h.ttl for h in hops}
        for ttl in list(self._curves):
            if ttl not in wanted:
                latency, lost, mos, _ = self._curves.pop(ttl)
                self.plot.removeItem(latency)
                self.plot.removeItem(lost)
                self.mos_view.removeItem(mos)
        self._data = hops
        for hop in hops:
            if hop.ttl not in self._curves:
                used = {c for *_, c in self._curves.values()}
                colour = next((c for c in HOP_COLOURS if c not in used), HOP_COLOURS[len(used) % len(HOP_COLOURS)])
                latency = pg.PlotDataItem(pen=pg.mkPen(colour, width=1.5))
                lost = pg.ScatterPlotItem(symbol="t1", size=9, pen=pg.mkPen(LOST_COLOUR), brush=pg.mkBrush(LOST_COLOUR))
                mos = pg.PlotDataItem(pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine))
                self.plot.addItem(latency)
                self.plot.addItem(lost)
                self.mos_view.addItem(mos)
                self._curves[hop.ttl] = (latency, lost, mos, colour)
        self._update_caption()
        if self._follow:
            self._refitting = True  # one redraw below, not a second one from the range change
            try:
                self._fit_all()
            finally:
                self._refitting = False
        self._redraw_curves()

    def set_route_changes(self, changes) -> None:
        """Mark each route change (route_changes.RouteChange, any hop) with a vertical line at its time; its
        tooltip says 'hop K: a → b'. The newest MAX_ROUTE_MARKERS only."""
        shown = tuple(changes[-MAX_ROUTE_MARKERS:])
        if shown == self._route_shown:
            return
        for line in self.route_markers:
            self.plot.removeItem(line)
        self.route_markers = []
        pen = pg.mkPen(ROUTE_COLOUR, width=1.5, style=Qt.PenStyle.DashDotLine)
        for change in shown:
            line = pg.InfiniteLine(pos=change.sent_at, angle=90, movable=False, pen=pen)
            line.setToolTip(route_change_text(change))
            line.setZValue(-20)
            self.plot.addItem(line, ignoreBounds=True)
            self.route_markers.append(line)
        self._route_shown = shown
        self._update_caption()

    def _redraw_curves(self) -> None:
        (x0, x1), _ = self.plot.vb.viewRange()
        for hop in self._data:
            items = self._curves.get(hop.ttl)
            if items is None:
                continue
            latency, lost, mos, _ = items
            part = visible_slice(hop.t, x0, x1)
            t, y = hop.t[part], hop.rtt_ms[part]
            lost_mask = np.isnan(y)
            # The line joins the received samples; a lost one is a marker on the axis, not a gap in the line.
            t_line, y_line = envelope(t[~lost_mask], y[~lost_mask], MAX_BUCKETS)
            latency.setData(t_line, y_line)
            lost_t = thin_markers(t[lost_mask], MAX_LOST_MARKERS)
            lost.setData(lost_t, np.zeros(len(lost_t)))
            mos.setData(hop.mos_t, hop.mos, connect="finite")
