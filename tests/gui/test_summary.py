"""The summary window of a monitoring agent's targets: one row per target from the agent's views, coloured MOS and
loss, and a double-click opening the target's running trace in a main window that leaves the agent tracing."""

from __future__ import annotations

from PySide6.QtCore import Qt

from pingmos.engine.fake_network import WALL_EPOCH
from pingmos.gui.quality import BAD, BAND_COLOURS
from pingmos.gui.summary import COLUMNS, SharedTrace, SummaryWindow
from tests.monitor.test_agent import CONFIG, make_agent, wait_for


def cell(window, row, column):
    return window.proxy.index(row, COLUMNS.index(column)).data()


def test_one_row_per_target_and_double_click_opens_its_trace(qtbot, settings_store, tmp_path):
    agent, clocks = make_agent(CONFIG, tmp_path)
    agent.start()
    window = None
    try:
        window = SummaryWindow(agent, run_loop=False, refresh_ms=50, settings=settings_store)
        qtbot.addWidget(window)
        assert not window.table.tabKeyNavigation()  # Tab leaves the table (arrows move in it): no keyboard trap
        wait_for(agent, "provider", 3 * 45)
        wait_for(agent, "silent", 3 * 10)
        agent.refresh(WALL_EPOCH + clocks["provider"].now)
        agent.runners["provider"].tick(WALL_EPOCH + clocks["provider"].now)
        window.update_rows()
        assert [window.target_at(r) for r in range(window.proxy.rowCount())] == ["provider", "silent"]
        dest = agent.runners["provider"].snapshot.hops[-1]
        assert cell(window, 0, "Hops") == "3" and cell(window, 0, "MOS") == f"{dest.mos:.2f}"
        assert cell(window, 0, "Loss %") == f"{dest.loss_pct:.1f}"
        assert cell(window, 0, "Alerts") == "loss above 1.0"  # the destination loses ~30 %
        worst = min((h for h in agent.runners["provider"].snapshot.hops if h.mos is not None), key=lambda h: h.mos)
        assert cell(window, 0, "Worst hop").startswith(f"{worst.ttl} {worst.address}")
        assert cell(window, 1, "MOS") == "1.00" and cell(window, 1, "Loss %") == "100.0"  # nothing gets through
        mos_index = window.proxy.index(1, COLUMNS.index("MOS"))
        brush = mos_index.data(Qt.ItemDataRole.BackgroundRole)
        assert brush.color().name() == BAND_COLOURS[BAD]  # MOS 1: the bad band's colour

        main = window.open_target("provider")
        qtbot.addWidget(main)
        assert isinstance(main.trace, SharedTrace) and main.trace._trace is agent.runners["provider"].trace
        assert main.target_combo.currentText() == "198.18.0.99"
        assert window.open_target("provider") is main  # raised, not opened twice
        main.close()
        assert agent.runners["provider"].trace.running  # the agent keeps tracing
    finally:
        if window is not None:
            window.close()
        agent.close()
