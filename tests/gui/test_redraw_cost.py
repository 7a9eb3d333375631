"""What keeps a redraw short, checked by counting what it does (no timing: the machine may be loaded): the hop table
tells the view only of the cells that changed and measures only the columns whose text grew or shrank, serves its
cells without Python, keeps each sparkline drawn while the series stays; the window takes an update in parts, one
per pass of the event loop, and asks for the next one only once the last part is shown."""

import dataclasses

from PySide6.QtGui import QStandardItemModel

from pingmos.gui.hop_table import COL_AVG, COL_SPARK, HopTableModel
from pingmos.gui.refresher import compute
from tests.gui.conftest import DST, WAIT_MS, settle


def traced(qtbot, make_window):
    window = make_window()
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.target_combo.setCurrentText(DST)
    window.start()
    settle(qtbot, window)
    return window


def test_the_table_reports_only_the_cells_that_changed(qtbot, make_window):
    window = traced(qtbot, make_window)
    hops = window.last_update.snapshot.hops
    model = HopTableModel()
    assert type(model).data is QStandardItemModel.data  # cells served by Qt: no Python call per cell and role
    model.set_hops(hops, None)
    changes = []
    model.dataChanged.connect(lambda tl, br, *_: changes.append((tl.row(), tl.column(), br.row(), br.column())))
    model.set_hops(hops, None)
    assert changes == []  # the same numbers: nothing to repaint
    row = next(i for i, h in enumerate(hops) if i > 0 and h.avg_ms is not None)
    moved = dataclasses.replace(hops[row], avg_ms=hops[row].avg_ms + 5.0)
    model.set_hops((*hops[:row], moved, *hops[row + 1 :]), None)
    assert changes == [(row, COL_AVG, row, COL_SPARK)]  # the average, and the sparkline's sort key (the average)
    assert model.data(model.index(row, COL_AVG)) == f"{moved.avg_ms:.1f}"


def test_only_the_columns_whose_text_changed_are_measured_again(qtbot, make_window, monkeypatch):
    window = traced(qtbot, make_window)
    table, model = window.table, window.table_model
    hops = model.hops
    measured = []
    real = type(table).column_need
    monkeypatch.setattr(type(table), "column_need", lambda self, c: measured.append(c) or real(self, c))
    model.set_hops(hops, model.marked_ttl)
    assert measured == []  # nothing changed: nothing measured (all 15 columns were, twice, at every update)
    longer = dataclasses.replace(hops[0], avg_ms=12345.6)
    model.set_hops((longer, *hops[1:]), model.marked_ttl)
    assert measured == [COL_AVG]


def test_a_sparkline_is_drawn_once_while_its_series_stays(qtbot, make_window, monkeypatch):
    from pingmos.gui import hop_table

    window = traced(qtbot, make_window)
    drawn = []
    real = hop_table.sparkline_pixmap
    monkeypatch.setattr(hop_table, "sparkline_pixmap", lambda *a: drawn.append(a) or real(*a))
    window.table.spark_delegate._pixmaps.clear()
    window.table.viewport().repaint()
    first = len(drawn)
    assert first >= 1 and not window.table.isColumnHidden(COL_SPARK)
    window.table.viewport().repaint()
    window.table_model.set_hops(window.table_model.hops, window.table_model.marked_ttl)  # the same series
    window.table.viewport().repaint()
    assert len(drawn) == first


def test_an_update_is_shown_in_parts_and_the_next_asked_for_after_the_last(qtbot, make_window):
    window = traced(qtbot, make_window)
    window.timer.stop()  # only the parts' own timers from here
    window.refresher.wait(WAIT_MS / 1000)
    window.refresher.poll()
    shown = window.last_update
    update = compute(window.request(), window.refresher._cache)
    parts = []
    real = window.apply_step
    window.apply_step = lambda u, name, step: parts.append(name) or real(u, name, step)
    window._show_in_steps(update)
    # One part per pass of the event loop: only the trace graph's frame has it so far, the rest follows from timers.
    assert parts == ["graph frame"] and window.last_update is shown
    window.mark_dirty()
    window.tick()  # the timer meanwhile: nothing is asked for while parts are still to be shown
    assert not window.refresher.busy and window._dirty
    qtbot.waitUntil(lambda: window.last_update is update, timeout=WAIT_MS)
    assert parts == ["graph frame", "graph", "timeline", "table rows", "table"]
    assert window.trace_graph.marked_ttl == window.table_model.marked_ttl == window.marked_ttl
    qtbot.waitUntil(lambda: not window._dirty, timeout=WAIT_MS)  # then asked for (the last part calls tick)
