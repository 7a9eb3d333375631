"""A rule command that fails in the window is a note in the event log, once per FAILURE_REPEAT_S while it repeats
(a rule firing every minute with its command missing does not bury the alerts under notes)."""

from __future__ import annotations

import pytest

from pingmos.alerts import CommandResult
from tests.gui.conftest import WAIT_MS
from tests.gui.test_alerts_gui import unprobed


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PINGMOS_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def test_a_failing_command_is_one_note_while_it_repeats(qtbot, make_window):
    window = make_window(factory=unprobed)
    log = window.evidence.event_log

    def notes():
        return [text for _, kind, text in log.rows() if kind == "note" and "alert command" in text]

    missing = CommandResult(("/nonexistent/x",), None, "alert command /nonexistent/x could not run: No such file")
    for _ in range(3):
        window.evidence.alerts.command_done.emit(missing)
    other = CommandResult(("/bin/false",), 1, "alert command /bin/false exited with status 1")
    window.evidence.alerts.command_done.emit(other)
    qtbot.waitUntil(lambda: len(notes()) == 2, timeout=WAIT_MS)
    qtbot.wait(100)  # the repeats were delivered too (one queue): none of them became a note
    assert notes() == [missing.error, other.error]
    window.evidence.alerts.command_done.emit(CommandResult(("/bin/true",), 0, None))
    qtbot.wait(100)
    assert len(notes()) == 2
