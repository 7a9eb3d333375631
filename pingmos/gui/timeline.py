"""The timeline: latency over time of the selected hops, lost samples marked, MOS on its own axis, and a focus
range the user drags to make the table show statistics over that time only.

Mouse: a plain drag selects a focus range; Shift+drag (or the middle button) pans; the wheel zooms. The view
stays within the trace (no panning to before it began). Hovering shows the values under the pointer.

The plot's x is seconds since ``origin`` (a minute boundary at or before the first sample), not since the epoch:
an SVG stores coordinates with about six significant digits, which cannot tell the seconds of 1.7e9 apart. The
public interface (``set_data``, ``set_focus``, ``focus_range``, route changes, ``to_x``) speaks wall-clock seconds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QEvent, QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QPicture, QTextDocument
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from pingmos.gui.axis_cache import cache_axes
from pingmos.gui.axis_label import fit_title, spaced_labels
from pingmos.gui.decimate import envelope, thin_markers, visible_slice
from pingmos.gui.plot_grid import show_grid
from pingmos.scoring.interval import MIN_SAMPLES

HOP_COLOURS = ("#1f77b4", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#2ca02c")
LOST_COLOUR = "#d62728"
MAX_BUCKETS = 1200  # per curve and view: about one min/max pair per pixel column of a wide window
MAX_LOST_MARKERS = 500  # one per ~2-3 pixels: more would overlap, and scatter points cost Python time
ROUTE_COLOUR = "#1565c0"
MAX_ROUTE_MARKERS = 100  # a flapping route: the newest ones (each is a line item; hundreds would bury the curves)
# Focus range presets: (label, minutes back from the newest sample; None = the whole trace).
PRESETS = (("last 5 min", 5), ("last 10 min", 10), ("last 60 min", 60), ("whole trace", None))
TICK_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
MIN_TICK_PX = 90  # "HH:MM:SS" needs about this much room
GRAPHICS_MIN_PX = 50


def tick_step_s(span_s: float, width_px: float) -> int:
    """The smallest step from TICK_STEPS_S giving at most one tick per MIN_TICK_PX pixels (whole seconds: the
    axis never reads '43.599')."""
    most = max(1.0, width_px / MIN_TICK_PX)
    for step in TICK_STEPS_S:
        if span_s / step <= most:
            return step
    return TICK_STEPS_S[-1] * max(1, math.ceil(span_s / most / TICK_STEPS_S[-1]))


def clock_text(t: float, step_s: float) -> str:
    """A tick's label in local clock time: HH:MM:SS, HH:MM for steps of a minute or more, the date at days."""
    lt = time.localtime(t)
    if step_s >= 86400:
        return time.strftime("%m-%d", lt)
    return time.strftime("%H:%M" if step_s >= 60 else "%H:%M:%S", lt)


class ClockAxis(pg.AxisItem):
    """A time axis over plot x = seconds since ``origin``, labelled in local clock time at whole-second steps."""

    def __init__(self, timeline: TimelineWidget, **kw):
        super().__init__(orientation="bottom", **kw)
        self.timeline = timeline

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 - pyqtgraph's name
        origin = self.timeline.origin
        if origin is None or maxVal <= minVal:
            return []
        step = tick_step_s(maxVal - minVal, size)
        utc_offset = time.localtime(origin + minVal).tm_gmtoff  # steps of hours and days fall on local midnight
        first = math.ceil((origin + minVal + utc_offset) / step) * step - utc_offset
        values = [v - origin for v in np.arange(first, origin + maxVal + 1e-9, step)]
        return [(step, values)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        origin = self.timeline.origin or 0.0
        return [clock_text(origin + v, spacing) for v in values]

    def make_room_for_labels(self) -> None:
        """Take the height the clock labels need now, before they are painted: pyqtgraph grows an axis to its
        labels' height while painting them, and the first data of a trace then laid the timeline out again after
        a paint, which painted it all a second time (scripts/bench_gui.py, part 2)."""
        if self.textHeight > 0 or not self.style["showValues"]:
            return
        # Measured as pyqtgraph measures its labels (AxisItem.generateDrawSpecs: on a picture's painter), so that
        # the painted labels then find the height they need.
        picture = QPicture()
        painter = QPainter(picture)
        if self.style["tickFont"] is not None:
            painter.setFont(self.style["tickFont"])
        box = QRectF(0, 0, 100, 100)
        label = painter.boundingRect(box, Qt.AlignmentFlag.AlignCenter, clock_text(0.0, 1.0))
        self.textHeight = label.height() * 0.8  # (pyqtgraph's own allowance: "just a bit too large")
        painter.end()
        self._updateHeight()


class SelectingViewBox(pg.ViewBox):
    """A plain left drag selects a time range (``timeline.drag_select``); Shift/Ctrl+drag or the middle button
    pans as pyqtgraph does."""

    def __init__(self, timeline: TimelineWidget, **kw):
        super().__init__(**kw)
        self.timeline = timeline

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 - pyqtgraph's name
        plain = ev.button() == Qt.MouseButton.LeftButton and not (
            ev.modifiers() & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier)
        )
        if not plain:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        x0 = self.mapSceneToView(ev.buttonDownScenePos()).x()
        x1 = self.mapSceneToView(ev.scenePos()).x()
        self.timeline.drag_select(x0, x1, finished=ev.isFinish())


def caption_width(html: str, font) -> float:
    """The width (px) ``html`` takes on one line in ``font``, as a QLabel lays out rich text."""
    document = QTextDocument()
    document.setDocumentMargin(0)
    document.setDefaultFont(font)
    document.setHtml(html)
    return document.idealWidth()


def html_text(html: str) -> str:
    """The plain text of ``html`` (a tooltip)."""
    document = QTextDocument()
    document.setHtml(html)
    return document.toPlainText()


def route_change_text(change) -> str:
    """The tooltip of one route change marker: 'hop K: a → b' and when."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(change.sent_at))
    return f"hop {change.ttl}: {change.old} \u2192 {change.new}\nroute changed at {when} (round {change.round})"


def mos_window_words(hops, short: bool = False) -> str:
    """What each MOS point of ``hops`` (HopTimeline) scores, for the caption: "of the last 100 samples" (``short``:
    "of 100 samples"), a window under the minimum for an interval saying so; "" when not said."""
    widths = {h.mos_window for h in hops if h.mos_window is not None}
    if len(widths) != 1:
        return ""
    (width,) = widths
    few = f", fewer than {MIN_SAMPLES}: no interval" if width < MIN_SAMPLES else ""
    return f"of {'' if short else 'the last '}{width} samples{few}"


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
    mos_window: int | None = None  # the samples each MOS point scores (refresher.mos_point_width); None: not said


class TimelineWidget(QWidget):
    """``set_data`` replaces what is drawn; ``focus_changed`` carries (t0, t1) in wall-clock seconds, or None
    when the focus is cleared and the table should return to the live window."""

    focus_changed = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=False)
        self.origin: float | None = None  # wall-clock second that plot x = 0 stands for (see the module doc)
        self.origin_listeners: list = []  # called after the origin moved (items placed in plot x redraw)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        # Lower than a scroll area's own minimum (68 px): in a low window the hop table's rows come first, and the
        # plot keeps its clock axis and a band of curve (main_window._rows_first).
        self.graphics.setMinimumHeight(GRAPHICS_MIN_PX)
        # pyqtgraph's 9 px round the plot were 18 px of a 84 px timeline at 800 x 500 (a 51 px plot): 4 px above
        # for the top tick label's half, none below the clock axis.
        self.graphics.ci.setContentsMargins(2, 4, 2, 0)
        self.plot = self.graphics.addPlot(viewBox=SelectingViewBox(self), axisItems={"bottom": ClockAxis(self)})
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        fit_title(self.plot.getAxis("left"), "latency", "", units="ms")  # "(ms)" in a low window
        show_grid(self.plot)  # the left axis's grid only, not the right-hand one's too
        self.plot.setMouseEnabled(x=True, y=False)  # pan/zoom in time; latency keeps auto-range
        self.plot.enableAutoRange(axis="y")
        # MOS on its own axis: a second view box sharing the time axis, its y fixed to the MOS scale.
        self.mos_view = pg.ViewBox()
        self.mos_view.setMouseEnabled(x=False, y=False)
        self.plot.showAxis("right")
        self.plot.scene().addItem(self.mos_view)
        self.plot.getAxis("right").linkToView(self.mos_view)
        fit_title(self.plot.getAxis("right"), "MOS", "MOS")  # none in a window too low for it
        self.mos_view.setXLink(self.plot)
        self.mos_view.setYRange(1.0, 4.5, padding=0.02)
        self.plot.vb.sigResized.connect(self._sync_views)
        for axis in ("left", "right"):
            spaced_labels(self.plot.getAxis(axis))  # (a low window: fewer labels, never overlapping)
        for axis in ("left", "bottom", "right"):
            self.plot.getAxis(axis).setTextPen("#202020")
            self.plot.getAxis(axis).setPen("#606060")
        cache_axes(self.plot)
        self.region = pg.LinearRegionItem(brush=pg.mkBrush(255, 200, 0, 50), movable=True)
        self.region.setZValue(-10)
        self.region.hide()
        self.plot.addItem(self.region)
        self.region.sigRegionChangeFinished.connect(self._region_moved)
        self.plot.sigXRangeChanged.connect(self._view_changed)
        self._focus_abs: tuple[float, float] | None = None  # the focus in wall-clock seconds (survives origin moves)
        self._curves: dict[int, tuple] = {}
        self.route_markers: list[pg.InfiniteLine] = []
        self._route_shown: tuple = ()
        self._data: list[HopTimeline] = []
        self._mos_note: str | None = None  # see set_data
        self._caption_forms: list[str] | None = None  # the caption's HTML, longest first (caption_forms)
        self._follow = True  # keep the newest data in view until the user pans or zooms
        self._refitting = False
        self.plot.vb.sigRangeChangedManually.connect(self._user_moved)
        self.hover_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#9e9e9e", width=1))
        self.hover_line.hide()
        self.plot.addItem(self.hover_line, ignoreBounds=True)
        self.hover_text = ""  # the values under the pointer, as the hover label shows them
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)

        self.focus_button = QPushButton("Focus range")
        self.focus_button.setCheckable(True)
        self.focus_button.setToolTip(
            "Statistics over a time range only: drag over the timeline to choose it (Shift+drag pans), or use "
            "the presets beside"
        )
        self.focus_button.toggled.connect(self._focus_toggled)
        self.preset_combo = QComboBox()
        self.preset_combo.addItem("range…", None)
        for label, minutes in PRESETS:
            self.preset_combo.addItem(label, minutes if minutes is not None else 0)
        self.preset_combo.setToolTip("focus on the last minutes of the trace, or all of it")
        self.preset_combo.setAccessibleName("focus range preset")
        self.preset_combo.activated.connect(self._preset_chosen)
        self.live_button = QPushButton("Follow live")
        self.live_button.setToolTip("Zoom out to the whole trace and keep the newest samples in view")
        self.live_button.clicked.connect(self.follow_live)
        self.caption = QLabel("")
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Its width never sets the window's minimum: a long hop name shrinks it (shorter words, see
        # _fit_caption), the window does not grow.
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.caption.installEventFilter(self)
        self.hover_label = QLabel("")
        self.hover_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.hover_label.setStyleSheet("QLabel { color: #303030; }")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 0, 4, 0)
        bar.addWidget(self.caption, 1)
        bar.addWidget(self.focus_button)
        bar.addWidget(self.preset_combo)
        bar.addWidget(self.live_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover_label)
        self.low = False  # see set_low

    def set_low(self, low: bool) -> None:
        """In a low window (main_window.LOW_WINDOW_PX) the values under the pointer take the caption's place
        instead of a line of their own: the hop table gets that line."""
        if low != self.low:
            self.low = low
            self.hover_label.setVisible(not low)
            self._fit_caption()

    # -- plot x <-> wall clock --------------------------------------------------------------------

    def to_x(self, t):
        """Plot x of wall-clock time(s) ``t`` (float or array). Sets the origin from the first time asked."""
        if self.origin is None:
            first = float(np.min(t)) if np.ndim(t) else float(t)
            self._set_origin(math.floor(first / 60.0) * 60.0)
        return t - self.origin

    def to_t(self, x: float) -> float:
        return float(x) + (self.origin or 0.0)

    def _set_origin(self, origin: float) -> None:
        self.origin = origin
        clock_axis = self.plot.getAxis("bottom")
        clock_axis.picture = None  # its labels are clock times from the origin: draw them again (axis_cache)
        clock_axis.update()
        for listener in list(self.origin_listeners):
            listener()

    def _rebase(self, first_t: float) -> None:
        """Data of another time (a new trace, an opened session): move the origin near it, keep every item."""
        if self.origin is not None and abs(first_t - self.origin) < 86400.0:
            return
        focus = self._focus_abs
        self.origin = None
        self.to_x(first_t)
        self._place_route_markers(self._route_shown)
        if focus is not None and self.region.isVisible():
            self._show_region(*focus)

    def view_range(self) -> tuple[float, float]:
        """The time in view, wall-clock seconds."""
        (x0, x1), _ = self.plot.vb.viewRange()
        return self.to_t(x0), self.to_t(x1)

    def set_view(self, t0: float, t1: float) -> None:
        """Show [t0, t1] (wall-clock seconds), as a user's zoom does: it stays until Follow live."""
        self._follow = False
        self.plot.setXRange(self.to_x(t0), self.to_x(t1), padding=0)

    def data_span(self) -> tuple[float, float] | None:
        spans = [(d.t[0], d.t[-1]) for d in self._data if len(d.t)]
        if not spans:
            return None
        return float(min(s[0] for s in spans)), float(max(s[1] for s in spans))

    # -- focus range ------------------------------------------------------------------------------

    def focus_range(self) -> tuple[float, float] | None:
        return self._focus_abs if self.region.isVisible() else None

    def _show_region(self, t0: float, t1: float) -> None:
        self._focus_abs = (float(min(t0, t1)), float(max(t0, t1)))
        self.region.blockSignals(True)
        self.region.setRegion((self.to_x(self._focus_abs[0]), self.to_x(self._focus_abs[1])))
        self.region.blockSignals(False)
        self.region.show()

    def set_focus(self, t0: float, t1: float) -> None:
        """Show the focus range over [t0, t1] (wall-clock seconds) and announce it."""
        self.focus_button.blockSignals(True)
        self.focus_button.setChecked(True)
        self.focus_button.blockSignals(False)
        self._show_region(t0, t1)
        self.focus_changed.emit(self._focus_abs)

    def clear_focus(self) -> None:
        self.focus_button.blockSignals(True)
        self.focus_button.setChecked(False)
        self.focus_button.blockSignals(False)
        self.preset_combo.setCurrentIndex(0)
        self._focus_abs = None
        if self.region.isVisible():
            self.region.hide()
            self.focus_changed.emit(None)

    def _focus_toggled(self, on: bool) -> None:
        if not on:
            self.clear_focus()
            return
        t0, t1 = self.view_range()
        width = t1 - t0
        self.set_focus(t0 + 0.6 * width, t0 + 0.9 * width)

    def _region_moved(self) -> None:
        if self.region.isVisible():
            x0, x1 = self.region.getRegion()
            self._focus_abs = (self.to_t(x0), self.to_t(x1))
            self.preset_combo.setCurrentIndex(0)
            self.focus_changed.emit(self._focus_abs)

    def drag_select(self, x0: float, x1: float, finished: bool) -> None:
        """A plain drag from plot x ``x0`` to ``x1``: the yellow range follows it, and becomes the focus when the
        button is released (a drag of no width selects nothing). Kept within the trace."""
        span = self.data_span()
        t0, t1 = sorted((self.to_t(x0), self.to_t(x1)))
        if span is not None:
            t0, t1 = max(t0, span[0]), min(t1, span[1])
        if t1 <= t0:
            return
        if not finished:
            self._show_region(t0, t1)
            return
        self.preset_combo.setCurrentIndex(0)
        self.set_focus(t0, t1)

    def preset(self, minutes: int | None) -> None:
        """Focus on the last ``minutes`` of the trace (None: the whole trace)."""
        span = self.data_span()
        if span is None:
            return
        t0 = span[0] if minutes is None else max(span[0], span[1] - 60.0 * minutes)
        self.set_focus(t0, span[1])
        index = next((i for i, (_, m) in enumerate(PRESETS) if m == minutes), None)
        self.preset_combo.setCurrentIndex(0 if index is None else index + 1)

    def _preset_chosen(self, index: int) -> None:
        minutes = self.preset_combo.itemData(index)
        if minutes is None:
            return
        self.preset(minutes or None)

    # -- hover ------------------------------------------------------------------------------------

    def _mouse_moved(self, pos) -> None:
        if not self.plot.vb.sceneBoundingRect().contains(pos) or not self._data:
            self.hover_line.hide()
            self._fit_caption()  # (the caption again, where a low window showed the values)
            return
        x = self.plot.vb.mapSceneToView(pos).x()
        self.show_values_at(self.to_t(x))

    def show_values_at(self, t: float) -> str:
        """Show the values of each drawn hop at the sample nearest to wall-clock time ``t``; returns the text."""
        parts = []
        for hop in self._data:
            if not len(hop.t):
                continue
            i = int(np.clip(np.searchsorted(hop.t, t), 1, len(hop.t) - 1)) if len(hop.t) > 1 else 0
            if i > 0 and abs(hop.t[i - 1] - t) <= abs(hop.t[i] - t):
                i -= 1
            rtt = hop.rtt_ms[i]
            latency = "lost" if math.isnan(rtt) else f"{rtt:.1f} ms"
            text = f"hop {hop.ttl}: {latency}"
            if len(hop.mos_t):
                j = int(np.searchsorted(hop.mos_t, hop.t[i], side="right")) - 1
                if j >= 0 and not math.isnan(hop.mos[j]):
                    text += f", MOS {hop.mos[j]:.2f}"
            parts.append(text)
        if not parts:
            return ""
        when = time.strftime("%H:%M:%S", time.localtime(t))
        self.hover_text = f"{when}   " + ";   ".join(parts)
        self.hover_label.setText(self.hover_text)
        if self.low:  # (no line of its own: the values stand in the caption's place while the pointer is here)
            self.caption.setText(escape(self.hover_text))
            self.caption.setToolTip("")
        self.hover_line.setValue(self.to_x(t))
        self.hover_line.show()
        return self.hover_text

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
        span = self.data_span()
        if span is not None:
            t0, t1 = span
            self.plot.setXRange(self.to_x(t0), self.to_x(max(t1, t0 + 1.0)), padding=0.02)

    def _limit_view(self) -> None:
        """No panning or zooming out to before the trace began or far past its newest sample."""
        span = self.data_span()
        if span is None:
            self.plot.vb.setLimits(xMin=None, xMax=None)
            return
        t0, t1 = span
        margin = max(1.0, 0.05 * (t1 - t0))
        self.plot.vb.setLimits(xMin=self.to_x(t0 - margin), xMax=self.to_x(t1 + margin))

    def _view_changed(self, *_) -> None:
        if not self._refitting:
            self._redraw_curves()

    def _update_caption(self) -> None:
        forms = self.caption_forms()
        if forms != self._caption_forms:  # (most updates: the same hops, nothing to measure)
            self._caption_forms = forms
            self._fit_caption()

    def caption_forms(self) -> list[str]:
        """The caption's HTML, longest first: the hops' names and what each line means in words, then shorter
        words, then "hop N" for the names. ``_fit_caption`` shows the longest that fits the caption's width."""
        hops = self._data
        changes = len(self._route_shown)
        if not hops:
            routes = f', <span style="color:{ROUTE_COLOUR}">&#9482; route changed ({changes})</span>' if changes else ""
            return [f"select hops in the table to see them over time{routes}", f"select hops in the table{routes}"]
        routes = (f'<span style="color:{ROUTE_COLOUR}">&#9482; route changed ({changes})</span>',) if changes else ()
        short_routes = (f'<span style="color:{ROUTE_COLOUR}">&#9482; route ({changes})</span>',) if changes else ()
        lost = "&#9650; lost" if len(hops) == 1 else "&#9650; lost (filled in the hop's colour)"
        note = self._mos_note
        if note:
            mos = short_mos = f'<span style="color:{LOST_COLOUR}">{escape(note)}</span>'
            if not note.startswith("no MOS"):  # the last working version's curve: dashed, its numbers marked *
                short_mos = f'<span style="color:{LOST_COLOUR}">MOS (dashed): last working *</span>'
        else:
            mos, short_mos = "MOS (dashed, right axis)", "MOS (dashed, right)"
        if mos_window_words(hops):  # what each point is over: a curve of 10-sample points and one of 100 look alike
            mos += f" {mos_window_words(hops)}"
            short_mos += f" {mos_window_words(hops, short=True)}"
        legends = [
            ["latency (solid line, left axis)", mos, f'<span style="color:{LOST_COLOUR}">{lost}</span>', *routes],
            ["latency (solid, left)", short_mos, f'<span style="color:{LOST_COLOUR}">&#9650; lost</span>', *routes],
            ["latency &#8212;", "MOS - -" if short_mos.startswith("MOS (dashed, right)") else short_mos]
            + [f'<span style="color:{LOST_COLOUR}">&#9650; lost</span>', *short_routes],
        ]
        long_names = ", ".join(f'<b style="color:{self._curves[h.ttl][3]}">{escape(h.label)}</b>' for h in hops)
        short_names = ", ".join(f'<b style="color:{self._curves[h.ttl][3]}">hop {h.ttl}</b>' for h in hops)
        forms = [f"{long_names}: {', '.join(legend)}" for legend in legends[:2]]
        forms += [f"{short_names}: {', '.join(legend)}" for legend in legends[1:]]
        return forms

    def _fit_caption(self) -> None:
        """The longest caption form that fits the caption's width; when none does, the shortest cut with "…" as
        plain text. Its tooltip then gives the whole (at 800 x 500 the caption was cut mid-word, "▲ los")."""
        forms = self._caption_forms
        if not forms:
            return
        room = self.caption.contentsRect().width() - 2
        shown = next((form for form in forms if caption_width(form, self.caption.font()) <= room), None)
        if shown is None:
            plain = html_text(forms[-1])
            shown = escape(self.caption.fontMetrics().elidedText(plain, Qt.TextElideMode.ElideRight, max(0, room)))
        if shown != self.caption.text():
            self.caption.setText(shown)
        self.caption.setToolTip("" if shown == forms[0] else html_text(forms[0]))

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if obj is self.caption and event.type() == QEvent.Type.Resize:
            self._fit_caption()
        return False

    def set_data(self, hops: list[HopTimeline], mos_note: str | None = None) -> None:
        """Replace the drawn hops (the selected ones) and redraw what is in view. ``mos_note``: what the caption
        says of the MOS instead of "MOS (dashed, right axis)" (the model failed for these hops)."""
        self._mos_note = mos_note
        firsts = [float(h.t[0]) for h in hops if len(h.t)]
        if firsts:
            self._rebase(min(firsts))
            self.plot.getAxis("bottom").make_room_for_labels()
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
                lost = pg.ScatterPlotItem(symbol="t1", size=9, pen=pg.mkPen(LOST_COLOUR))
                mos = pg.PlotDataItem(pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine))
                self.plot.addItem(latency)
                self.plot.addItem(lost)
                self.mos_view.addItem(mos)
                self._curves[hop.ttl] = (latency, lost, mos, colour)
        # One hop: lost samples are red; several: each hop's are filled in its own colour (red outline).
        for _line, lost, _mos, colour in self._curves.values():
            fill = LOST_COLOUR if len(self._curves) == 1 else colour
            if getattr(lost, "fill_colour", None) != fill:  # a new brush re-renders the markers' symbols
                lost.fill_colour = fill
                lost.setBrush(pg.mkBrush(fill))
        self._update_caption()
        self._limit_view()
        if self._follow:
            self._refitting = True  # one redraw below, not a second one from the range change
            try:
                self._fit_all()
            finally:
                self._refitting = False
        self._redraw_curves()
        # Laid out now, every round of it (the caption's new text re-lays the window out, new tick labels the
        # plot, whose new size the graphics' layout then places): left to posted events, the later rounds came
        # after a paint and the first data of a trace painted the whole timeline twice (31-35 ms of one pass).
        for _ in range(3):
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)

    def set_route_changes(self, changes) -> None:
        """Mark each route change (route_changes.RouteChange, any hop) with a vertical line at its time; its
        tooltip says 'hop K: a → b'. The newest MAX_ROUTE_MARKERS only."""
        shown = tuple(changes[-MAX_ROUTE_MARKERS:])
        if shown == self._route_shown:
            return
        self._place_route_markers(shown)
        self._route_shown = shown
        self._update_caption()

    def _place_route_markers(self, shown) -> None:
        for line in self.route_markers:
            self.plot.removeItem(line)
        self.route_markers = []
        pen = pg.mkPen(ROUTE_COLOUR, width=1.5, style=Qt.PenStyle.DashDotLine)
        for change in shown:
            line = pg.InfiniteLine(pos=self.to_x(change.sent_at), angle=90, movable=False, pen=pen)
            line.sent_at = change.sent_at
            line.setToolTip(route_change_text(change))
            line.setZValue(-20)
            self.plot.addItem(line, ignoreBounds=True)
            self.route_markers.append(line)

    def _redraw_curves(self) -> None:
        if self.origin is None:
            return
        t0, t1 = self.view_range()
        for hop in self._data:
            items = self._curves.get(hop.ttl)
            if items is None:
                continue
            latency, lost, mos, _ = items
            part = visible_slice(hop.t, t0, t1)
            t, y = hop.t[part], hop.rtt_ms[part]
            lost_mask = np.isnan(y)
            # The line joins the received samples; a lost one is a marker on the axis, not a gap in the line.
            t_line, y_line = envelope(t[~lost_mask], y[~lost_mask], MAX_BUCKETS)
            latency.setData(self.to_x(t_line), y_line)
            lost_t = thin_markers(t[lost_mask], MAX_LOST_MARKERS)
            lost.setData(self.to_x(lost_t), np.zeros(len(lost_t)))
            mos.setData(self.to_x(hop.mos_t), hop.mos, connect="finite")
        # The latency axis's auto-range now, not when the plot is painted: pyqtgraph works it out lazily in the
        # paint, and the range that moves there repaints the whole plot a second time (its axes and grid too).
        self.plot.vb.updateAutoRange()
