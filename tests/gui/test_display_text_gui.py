"""Text from files and the network reaches no Qt view raw: a crafted mtr host and a crafted session target (ESC
sequences, BEL, newlines, a bidirectional override) show with '?' in their place in the hop table, its tooltips,
the window title, the range and status lines, the verdict, the event log and the summary table, as they do on a
terminal (one rule: pingmos.display_text)."""

import json
import re

from PySide6.QtCore import Qt

from pingmos.display_text import display_text
from pingmos.engine.events import Sample
from pingmos.gui.hop_table import COLUMNS, HopTableModel
from pingmos.hop_report import HopReport
from pingmos.report.formats import terminal_safe
from pingmos.session import SessionEvent, SessionInfo, save_session
from tests.gui.conftest import WAIT_MS

UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
EVIL = "\x1b]0;owned\x07\x1b[2J\x1b[31mevil\nsecond line\u202etxt.exe\x9b"


def shown_texts(window) -> list[str]:
    """Every text the window shows that a file can reach: table cells and tooltips, labels, title, verdict, log."""
    m = window.table.proxy
    out = []
    for r in range(m.rowCount()):
        for c in range(m.columnCount()):
            for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                value = m.data(m.index(r, c), role)
                if isinstance(value, str):
                    out.append(value)
    ev = window.evidence
    out += [window.windowTitle(), window.target_combo.currentText(), window.range_label.text()]
    out += [window.range_label.toolTip(), window.status_label.text(), ev.verdict_bar.verdict()]
    out += [cell for row in ev.event_log.rows() for cell in row]
    return out


def assert_clean(texts: list[str]) -> None:
    dirty = [t for t in texts if UNSAFE.search(t.replace("\n", "")) or "\x1b" in t]
    assert not dirty, dirty


def test_one_rule_for_terminal_and_window():
    assert terminal_safe(EVIL) == display_text(EVIL) == "?]0;owned??[2J?[31mevil?second line?txt.exe?"
    assert display_text("r1.example.test ÄÖ 日本") == "r1.example.test ÄÖ 日本"  # printable text of any script passes


def test_the_hop_table_strips_what_it_is_given(qtbot):
    hop = HopReport(7, "198.18.0.2", EVIL, {"198.18.0.2": 3, "198.18.0.3" + EVIL: 1}, 4, 4, 0.0, (0.0, 49.0),
                    1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 90.0, 4.3, score_error="x" + EVIL)  # fmt: skip
    model = HopTableModel()
    model.set_hops((hop,), None)
    texts = [model.data(model.index(0, c), role) for c in range(len(COLUMNS))
             for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)]  # fmt: skip
    assert any("evil?second line" in t for t in texts if isinstance(t, str))
    assert_clean([t for t in texts if isinstance(t, str)])
    assert model.hops[0].name == display_text(EVIL)  # what the hop menu copies is the shown text


def test_a_crafted_mtr_host_shows_made_safe(qtbot, make_window, tmp_path):
    report = {
        "report": {
            "mtr": {"src": "c", "dst": "198.18.4.2" + EVIL, "tests": 3},
            "hubs": [
                {"count": 1, "host": f"{EVIL} (198.18.0.2)", "Loss%": 0.0, "Snt": 3, "Avg": 2.0, "Javg": 0.1},
                {"count": 2, "host": EVIL, "Loss%": 0.0, "Snt": 3, "Avg": 4.0},
            ],
        }
    }
    path = tmp_path / "crafted\x1b[1m.json"
    path.write_text(json.dumps(report))
    window = make_window()
    ev = window.evidence
    ev.sessions.open_path(str(path))
    qtbot.waitUntil(lambda: ev.summary is not None, timeout=WAIT_MS)
    texts = shown_texts(window)
    assert any("evil?second line" in t for t in texts)  # shown, with '?' where the controls were
    assert_clean(texts)


def test_a_crafted_session_target_and_names_show_made_safe(qtbot, make_window, tmp_path):
    path = tmp_path / "crafted.pingmos"
    info = SessionInfo("target" + EVIL, "198.18.0.9")
    samples = [
        Sample(r, t, r * 2 + t, 1.7e9 + r, 1.0 * t, f"198.18.0.{t + 7}", t == 2) for r in range(5) for t in (1, 2)
    ]
    events = [SessionEvent(1.7e9 + 1, "note", {"text": "note" + EVIL})]
    save_session(path, info, samples, events, names={"198.18.0.8": "r1" + EVIL})
    window = make_window()
    ev = window.evidence
    ev.sessions.open_path(str(path))
    qtbot.waitUntil(lambda: ev.is_replay(window.trace), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.last_update is not None and window.last_update.request.trace is window.trace,
                    timeout=WAIT_MS)  # fmt: skip
    qtbot.waitUntil(lambda: window.table.proxy.rowCount() == 2, timeout=WAIT_MS)
    texts = shown_texts(window)
    assert any("r1?]0;owned" in t for t in texts) and any(t.startswith("pingmos - target?]0;owned") for t in texts)
    assert_clean(texts)


def test_the_summary_table_row_is_made_safe():
    from pingmos.gui.summary import summary_row
    from pingmos.hop_report import TraceSnapshot
    from pingmos.monitor.metrics import TargetView

    hop = HopReport(3, "198.18.0.2" + EVIL, None, {}, 4, 4, 0.0, (0.0, 49.0), 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 90.0, 4.3)
    snap = TraceSnapshot("t" + EVIL, "198.18.0.2", "icmp", 1.0, None, 4, "pp", True, (hop,))
    view = TargetView("name" + EVIL, (), "pp", True, (), snap, None, None)
    texts, _keys, _mos, _loss = summary_row(view, "host" + EVIL)
    assert texts[0].startswith("name?]0;owned") and texts[1].startswith("host?") and "198.18.0.2?" in texts[3]
    assert_clean([t for t in texts if isinstance(t, str)])


def test_the_window_shows_a_small_loss_as_non_zero():
    """1 lost of 3000: 0.03 %, in the hop table and the summary table as on the terminal (never "0.0")."""
    from pingmos.gui.hop_table import COL_LOSS, COL_LOSS_CI, cell_text
    from pingmos.gui.summary import loss_cell
    from pingmos.stats import wilson_interval_pct

    ci = wilson_interval_pct(1, 3000)
    hop = HopReport(3, "198.18.0.2", None, {}, 3000, 2999, 100 / 3000, ci, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 90.0, 4.3)
    assert cell_text(hop, COL_LOSS) == loss_cell(hop) == "0.03"
    assert not cell_text(hop, COL_LOSS_CI).startswith("0.0-0.0")
