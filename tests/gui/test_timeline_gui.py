"""The timeline as a PingPlotter user drives it: a plain drag selects the focus range (Shift+drag pans), the view
stays within the trace, the axis reads clock times, presets focus on the last minutes, hovering shows values,
and several hops' lost samples are told apart by colour."""

import time

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from pingmos.gui.timeline import (
    HOP_COLOURS,
    LOST_COLOUR,
    ClockAxis,
    HopTimeline,
    TimelineWidget,
    clock_text,
    tick_step_s,
)
from tests.gui.conftest import WAIT_MS

T0 = 1_700_000_000.0  # wall-clock seconds


def series(ttl: int, seconds: int, lost_every: int = 7) -> HopTimeline:
    t = T0 + np.arange(seconds, dtype=float)
    rtt = 20.0 + (np.arange(seconds) % 5)
    rtt[::lost_every] = np.nan
    mos_t = t[9::10]
    return HopTimeline(ttl, f"hop {ttl}", t, rtt, mos_t, np.full(len(mos_t), 4.1))


@pytest.fixture
def timeline(qtbot):
    widget = TimelineWidget()
    qtbot.addWidget(widget)
    widget.resize(900, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_axis_reads_whole_clock_seconds_even_zoomed_into_the_first_minute():
    assert tick_step_s(0.2, 900) == 1 and tick_step_s(60, 900) == 10 and tick_step_s(7200, 900) == 900
    assert clock_text(T0 + 0.599, 1) == time.strftime("%H:%M:%S", time.localtime(T0))
    assert clock_text(T0, 600) == time.strftime("%H:%M", time.localtime(T0))


def test_axis_ticks_are_clock_times(timeline):
    timeline.set_data([series(5, 120)])
    axis = timeline.plot.getAxis("bottom")
    assert isinstance(axis, ClockAxis)
    x0, x1 = timeline.to_x(T0 + 43.5), timeline.to_x(T0 + 43.7)
    (step, values), *_ = axis.tickValues(x0, x1, 800)
    labels = axis.tickStrings(values, 1.0, step)
    assert step >= 1 and all(len(label) == 8 and label.count(":") == 2 for label in labels)
    assert "." not in "".join(labels)


def drag(qtbot, timeline, x0_frac, x1_frac, modifier=Qt.KeyboardModifier.NoModifier):
    """A real mouse drag over the plot, from ``x0_frac`` to ``x1_frac`` of its width (mouse events with the left
    button held, as a user's hand makes them; QTest.mouseMove carries no buttons)."""
    view = timeline.graphics
    rect = timeline.plot.vb.sceneBoundingRect()
    y = rect.center().y()
    a = QPointF(view.mapFromScene(rect.left() + x0_frac * rect.width(), y))
    b = QPointF(view.mapFromScene(rect.left() + x1_frac * rect.width(), y))
    viewport = view.viewport()
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton

    def send(kind, pos, button, buttons):
        global_pos = QPointF(viewport.mapToGlobal(pos.toPoint()))
        QApplication.sendEvent(viewport, QMouseEvent(kind, pos, global_pos, button, buttons, modifier))

    send(QEvent.Type.MouseButtonPress, a, left, left)
    for i in range(1, 11):
        send(QEvent.Type.MouseMove, a + (b - a) * (i / 10), none, left)
    send(QEvent.Type.MouseButtonRelease, b, left, none)
    qtbot.wait(20)


def test_a_plain_drag_selects_a_focus_range_and_shift_drag_pans(qtbot, timeline):
    timeline.set_data([series(5, 600)])
    view_before = timeline.view_range()
    with qtbot.waitSignal(timeline.focus_changed, timeout=WAIT_MS) as signal:
        drag(qtbot, timeline, 0.3, 0.6)
    t0, t1 = signal.args[0]
    w0, w1 = view_before
    assert t0 == pytest.approx(w0 + 0.3 * (w1 - w0), abs=0.03 * (w1 - w0))
    assert t1 == pytest.approx(w0 + 0.6 * (w1 - w0), abs=0.03 * (w1 - w0))
    assert timeline.focus_button.isChecked() and timeline.focus_range() == (t0, t1)
    assert timeline.view_range() == pytest.approx(view_before)  # selecting did not pan

    timeline.set_view(T0 + 200, T0 + 300)
    drag(qtbot, timeline, 0.3, 0.6, Qt.KeyboardModifier.ShiftModifier)
    v0, v1 = timeline.view_range()
    assert v0 < T0 + 200 - 10 and v1 - v0 == pytest.approx(100, rel=0.05)  # panned to earlier times
    assert timeline.focus_range() == (t0, t1)  # the focus stayed


def test_no_panning_to_before_the_trace_began(qtbot, timeline):
    timeline.set_data([series(5, 600)])
    timeline.set_view(T0 - 3600, T0 - 3000)
    qtbot.wait(20)
    v0, v1 = timeline.view_range()
    assert v0 >= T0 - 0.05 * 600 - 1 and v1 > T0


def test_presets_focus_on_the_last_minutes_or_the_whole_trace(qtbot, timeline):
    timeline.set_data([series(5, 7200)])
    end = T0 + 7199
    for label, minutes in (("last 5 min", 5), ("last 10 min", 10), ("last 60 min", 60)):
        with qtbot.waitSignal(timeline.focus_changed, timeout=1000) as signal:
            timeline.preset_combo.setCurrentIndex(timeline.preset_combo.findText(label))
            timeline.preset_combo.activated.emit(timeline.preset_combo.currentIndex())
        assert signal.args[0] == pytest.approx((end - 60 * minutes, end))
    timeline.preset(None)
    assert timeline.focus_range() == pytest.approx((T0, end))
    assert timeline.preset_combo.currentText() == "whole trace"
    timeline.clear_focus()
    assert timeline.focus_range() is None and timeline.preset_combo.currentIndex() == 0


def test_hover_shows_the_values_under_the_pointer(qtbot, timeline):
    timeline.set_data([series(5, 120)])
    text = timeline.show_values_at(T0 + 22.2)
    assert text.startswith(time.strftime("%H:%M:%S", time.localtime(T0 + 22.2)))
    assert "hop 5: 22.0 ms, MOS 4.10" in text  # sample 22: 20 + 22 % 5
    assert "hop 5: lost" in timeline.show_values_at(T0 + 21)  # every 7th sample is lost
    # A real pointer over the plot does the same.
    rect = timeline.plot.vb.sceneBoundingRect()
    pos = timeline.graphics.mapFromScene(rect.center())
    QTest.mouseMove(timeline.graphics.viewport(), QPoint(pos.x(), pos.y()))
    qtbot.waitUntil(lambda: "hop 5:" in timeline.hover_label.text(), timeout=WAIT_MS)
    assert timeline.hover_line.isVisible()


def test_lost_markers_of_several_hops_have_distinct_colours(timeline):
    timeline.set_data([series(5, 120)])
    assert timeline._curves[5][1].opts["brush"].color().name() == LOST_COLOUR
    timeline.set_data([series(3, 120), series(5, 120)])
    brushes = {ttl: items[1].opts["brush"].color().name() for ttl, items in timeline._curves.items()}
    assert brushes[3] != brushes[5] and set(brushes.values()) <= set(HOP_COLOURS)
    assert "hop's colour" in timeline.caption.text()
