"""Other tools' files in the window. RIPE Atlas results of several probes: it asks which probe's runs to open (each
probe traced its own path), opens that one, exports its samples only, and a cancelled choice opens nothing. A Trippy
report is named as Trippy's."""

import json
from pathlib import Path

import pytest

from pingmos.gui import session_actions
from pingmos.gui.hop_table import COL_ADDRESS
from tests.gui.conftest import WAIT_MS

MULTI = Path(__file__).resolve().parent.parent / "session" / "data" / "atlas_multi_probe.json"


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PINGMOS_CONFIG_DIR", str(tmp_path / "config"))


def test_the_window_asks_which_probe_and_opens_its_runs(qtbot, make_window, monkeypatch, tmp_path):
    asked = []

    def get_item(parent, title, label, items, current, editable):
        asked.append((label, list(items)))
        return items[1], True

    monkeypatch.setattr(session_actions.QInputDialog, "getItem", staticmethod(get_item))
    window = make_window()
    sessions = window.evidence.sessions
    sessions.open_path(str(MULTI))
    qtbot.waitUntil(lambda: window.trace is not None and window.evidence.is_replay(window.trace), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.table.proxy.rowCount() == 3, timeout=WAIT_MS)
    ((label, items),) = asked
    assert "3 probes" in label and items == ["probe 1001 (2 runs)", "probe 1002 (2 runs)", "probe 1003 (1 run)"]
    m = window.table.proxy
    assert [m.data(m.index(r, COL_ADDRESS)) for r in range(3)] == ["198.18.5.2", "198.18.6.2", "198.18.2.2"]
    assert "RIPE Atlas probe 1002" in window.windowTitle()
    out = tmp_path / "samples.json"
    sessions.export("samples", str(out), "json")
    qtbot.waitUntil(out.exists, timeout=WAIT_MS)
    assert {s["responder"] for s in json.loads(out.read_text())} == {"198.18.5.2", "198.18.6.2", "198.18.2.2", None}


def test_a_cancelled_choice_opens_nothing(qtbot, make_window, monkeypatch):
    monkeypatch.setattr(session_actions.QInputDialog, "getItem", staticmethod(lambda *a: ("", False)))
    window = make_window()
    sessions = window.evidence.sessions
    sessions.open_path(str(MULTI))
    qtbot.waitUntil(lambda: not sessions.last_message.startswith("opening"), timeout=WAIT_MS)
    assert "no probe chosen of 3" in sessions.last_message and window.trace is None


def test_a_trippy_report_is_named_as_trippys(qtbot, make_window):
    window = make_window()
    ev = window.evidence
    ev.sessions.open_path(str(MULTI.parent / "trippy_jitter.json"))
    qtbot.waitUntil(lambda: ev.summary is not None, timeout=WAIT_MS)
    assert "Trippy report trippy_jitter.json" in window.range_label.text()
    assert window.status_label.text().startswith("Trippy report trippy_jitter.json  |  20 probes per hop")
    assert "mtr" not in window.range_label.text()
