"""Round 2 of the window, from a newcomer's findings: failed saves leave no .partial file, the Samples box takes
only a window it can use, an opened file is judged on all its samples, ... (one test per finding)."""

import errno
import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from pingmos.gui import image_export, recording, session_actions
from pingmos.gui.trace_toolbar import window_text
from pingmos.session import SessionError, SessionRecorder
from tests.gui.conftest import DST, WAIT_MS, settle


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PINGMOS_CONFIG_DIR", str(tmp_path / "config"))


def start(window, target=DST):
    window.target_combo.setCurrentText(target)
    window.start()


def _full_disk_open(real_open):
    """open() as on a full disk: the file is created, then the first write fails with ENOSPC."""

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, _data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return lambda path, mode="r", *a, **k: Full(real_open(path, mode, *a, **k))


def test_a_failed_export_or_save_as_leaves_no_partial_file(qtbot, make_window, tmp_path, monkeypatch):
    window = make_window()
    start(window)
    settle(qtbot, window)
    sessions = window.evidence.sessions
    rec = sessions.recording
    qtbot.waitUntil(lambda: rec.recorder is not None, timeout=WAIT_MS)
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(recording, "open", _full_disk_open(open), raising=False)
    monkeypatch.setattr(image_export, "open", _full_disk_open(open), raising=False)

    class FullImage:  # QImage.save on a full disk: an empty file, and False
        def save(self, path, _fmt):
            Path(path).touch()
            return False

    monkeypatch.setattr(image_export, "png_image", lambda _w: FullImage())

    def full_save_as(self, path, overwrite=False):
        Path(str(path) + ".partial").touch()
        raise SessionError(f"{path}: cannot save the session: database or disk is full")

    monkeypatch.setattr(SessionRecorder, "save_as", full_save_as)
    failures = []
    monkeypatch.setattr(sessions, "_say", lambda message, error=False: failures.append(message) if error else None)
    sessions.export("hops", str(out / "h.csv"))
    sessions.export("events", str(out / "e.json"))
    sessions.export("samples", str(out / "s.json"))
    sessions.export("trace_graph", str(out / "w.png"))
    sessions.export("timeline", str(out / "t.svg"))
    sessions.save_as(str(out / "saved.pingmos"))  # while recording: SessionRecorder.save_as
    qtbot.waitUntil(lambda: len(failures) == 6, timeout=WAIT_MS)

    # An opened file: copied
    def full_copy(src, dst):
        Path(dst).touch()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shutil, "copyfile", full_copy)
    window.stop()
    sessions.finish_recording()
    sessions.recording = None
    sessions.opened = None
    monkeypatch.setattr(sessions, "session_path", lambda: str(rec.path))
    sessions.save_as(str(out / "copied.pingmos"))
    qtbot.waitUntil(lambda: len(failures) == 7, timeout=WAIT_MS)
    assert all("No space left" in f or "disk is full" in f or "cannot write" in f for f in failures), failures
    assert sorted(os.listdir(out)) == []
    assert session_actions.shutil.copyfile is full_copy  # (the copy path was the one exercised)


def test_an_opened_file_is_judged_on_all_its_samples_and_the_verdict_says_over_which(qtbot, make_window):
    from tests.gui.conftest import fake_factory

    window = make_window(fake_factory(rounds=150))
    window.set_window(100)
    start(window)
    settle(qtbot, window)
    bar = window.evidence.verdict_bar
    assert window.last_update.snapshot.rounds == 150
    assert "over the last 100 of 150 rounds" in bar.label.text()
    rec = window.evidence.sessions.recording
    qtbot.waitUntil(lambda: rec.recorder is not None, timeout=WAIT_MS)
    rec.flush()
    path = str(rec.path)

    window.evidence.sessions.open_path(path)
    qtbot.waitUntil(lambda: window.evidence.is_replay(window.trace), timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: window.last_update is not None and window.last_update.request.trace is window.trace and window.quiet,
        timeout=WAIT_MS,
    )
    assert window.window_combo.currentText() == "all" and window.window_size is None
    assert window.last_update.snapshot.window is None
    assert all(h.sent == 150 for h in window.last_update.snapshot.hops if h.ttl != 2)
    qtbot.waitUntil(lambda: "over all 150 rounds" in bar.label.text(), timeout=WAIT_MS)
    assert "every sample" in window.range_label.text()
    assert window.settings.window() == 100  # the live window chosen stays

    start(window)  # live again: the rolling window chosen before
    assert window.window_combo.currentText() == "100" and window.window_size == 100
    settle(qtbot, window)


@pytest.mark.parametrize("typed", ["0", "-5", "abc", "1e309", "2.5", "12345678"])
def test_the_samples_box_refuses_what_is_no_window_and_shows_the_one_in_force(qtbot, make_window, typed):
    from PySide6.QtGui import QValidator

    window = make_window()
    window.show()
    window.set_window(50)
    assert window.window_combo.validator().validate(typed, 0)[0] == QValidator.State.Invalid
    edit = window.window_combo.lineEdit()
    window.window_combo.setFocus()
    qtbot.waitUntil(window.window_combo.hasFocus, timeout=WAIT_MS)
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(edit, typed)
    assert edit.text() != typed  # the keys that would make it no window were refused
    window.target_combo.setFocus()  # focus leaves the box: it shows the window in force
    qtbot.waitUntil(lambda: edit.text() == window_text(window.window_size), timeout=WAIT_MS)
    assert window.window_size is None or 1 <= window.window_size <= 9_999_999
    assert window.window_combo.currentText() == window_text(window.window_size)
    assert window.settings.window() == window.window_size


def test_an_emptied_samples_box_goes_back_to_the_window_in_force(qtbot, make_window):
    window = make_window()
    window.show()
    window.set_window(200)
    edit = window.window_combo.lineEdit()
    window.window_combo.setFocus()
    qtbot.waitUntil(window.window_combo.hasFocus, timeout=WAIT_MS)
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    assert edit.text() == "" and window.window_size == 200
    window.target_combo.setFocus()  # focus leaves the box: it shows the window in force again
    qtbot.waitUntil(lambda: edit.text() == "200", timeout=WAIT_MS)
    assert window.window_size == 200 and window.settings.window() == 200


@pytest.mark.parametrize("target", ["al/lossy.raw", "bad host", "a..b"])
def test_a_refused_target_leaves_no_session_file(qtbot, make_window, session_data_dir, monkeypatch, target):
    import socket

    from tests.gui.conftest import fake_factory

    def no_lookup(*args, **kwargs):  # refused before any lookup: the machine's resolver is never asked
        raise AssertionError(f"a name was looked up: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    window = make_window(fake_factory(rounds=5))
    start(window, target)
    assert window.trace.join(WAIT_MS / 1000)
    qtbot.waitUntil(lambda: window.trace.status().error is not None, timeout=WAIT_MS)
    window.mark_dirty()
    qtbot.waitUntil(lambda: window.last_update is not None and window.quiet, timeout=WAIT_MS)
    sessions = window.evidence.sessions
    assert not sessions.save_action.isEnabled()  # no file behind the window: nothing to save
    window.close()
    sessions.worker.close(wait=True)
    folder = session_data_dir / "sessions"
    assert not folder.exists() or list(folder.iterdir()) == []
    assert sessions.recent() == []


def test_a_trace_that_measures_is_recorded_even_when_closed_before_an_update(qtbot, make_window, session_data_dir):
    from pingmos.session import open_session
    from tests.gui.conftest import fake_factory

    window = make_window(fake_factory(rounds=5))
    window.timer.stop()  # no update drawn: the file must still be created when the window closes
    start(window)
    assert window.trace.join(WAIT_MS / 1000)
    rec = window.evidence.sessions.recording
    assert rec.has_samples() and not rec.opening
    sessions = window.evidence.sessions
    window.close()
    sessions.worker.close(wait=True)
    (path,) = (session_data_dir / "sessions").glob("*.pingmos")
    with open_session(path) as session:
        assert session.sample_count() == window.trace.sample_count >= 5


def test_the_windows_hop_table_export_has_the_time_range_the_cli_export_gives(qtbot, make_window, tmp_path, capsys):
    import csv
    import json

    from pingmos import cli

    window = make_window()
    window.set_window(None)
    start(window)
    settle(qtbot, window)
    sessions = window.evidence.sessions
    rec = sessions.recording
    qtbot.waitUntil(lambda: rec.recorder is not None, timeout=WAIT_MS)
    rec.flush()
    out_json, out_csv = tmp_path / "h.json", tmp_path / "h.csv"
    sessions.export("hops", str(out_json))
    sessions.export("hops", str(out_csv))
    qtbot.waitUntil(lambda: out_json.exists() and out_csv.exists(), timeout=WAIT_MS)

    assert cli.main(["export", str(rec.path), "--format", "json"]) == 0
    cli_range = json.loads(capsys.readouterr().out)["time_range"]
    assert cli.main(["export", str(rec.path), "--format", "csv"]) == 0
    cli_row = next(csv.DictReader(capsys.readouterr().out.splitlines()))
    ours = json.loads(out_json.read_text())["time_range"]
    assert ours is not None and ours == cli_range
    assert ours["from"] < ours["to"]
    row = next(csv.DictReader(out_csv.read_text().splitlines()))
    assert row["from_utc"] and (row["from_utc"], row["to_utc"]) == (cli_row["from_utc"], cli_row["to_utc"])

    # Within a focus range: the samples of the range (as export --from/--to)
    t0, t1 = window.trace.time_span()
    window.set_focus((t0 + (t1 - t0) / 4, t0 + (t1 - t0) / 2))
    qtbot.waitUntil(lambda: window.last_update.request.focus is not None and window.quiet, timeout=WAIT_MS)
    out_json.unlink()
    sessions.export("hops", str(out_json))
    qtbot.waitUntil(out_json.exists, timeout=WAIT_MS)
    focused = json.loads(out_json.read_text())["time_range"]
    assert (focused["from"], focused["to"]) == window.focus


LONG_NAME = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253 characters: the longest legal host name


@pytest.mark.parametrize("long_at", [None, "address", "name"])
def test_at_1280_a_long_host_name_is_elided_and_name_outlasts_the_intervals(qtbot, make_window, long_at):
    import dataclasses

    from pingmos.gui.hop_table import COL_ADDRESS, COL_LOSS, COL_MOS, COL_MOS_CI, COL_NAME
    from tests.gui.test_layout_gui import traced

    window = traced(qtbot, make_window, 1280, 860)
    window.timer.stop()  # the hops set below stay

    def named(h):
        name = LONG_NAME if long_at == "name" and h.ttl == 4 else f"r{h.ttl}.core.example.net"
        address = LONG_NAME if long_at == "address" and h.ttl == 4 else h.address  # (an mtr report naming hosts)
        return dataclasses.replace(h, name=name, address=address)

    window.table_model.set_hops(tuple(named(h) for h in window.last_update.snapshot.hops), None)
    table = window.table
    qtbot.wait(50)
    room = table.viewport().width()
    for col in (COL_LOSS, COL_MOS):
        assert not table.isColumnHidden(col)
        assert table.columnViewportPosition(col) + table.columnWidth(col) <= room, col
    assert not table.horizontalScrollBar().isVisible()
    # The name says whose router a hop is: it stays while a 95 % interval is hidden
    assert not table.isColumnHidden(COL_NAME)
    if not table.isColumnHidden(COL_MOS_CI):
        assert table.hidden_columns == ()
    if long_at is not None:
        col = COL_ADDRESS if long_at == "address" else COL_NAME
        row = next(r for r in range(table.proxy.rowCount()) if table.proxy.index(r, 0).data() == "4")
        index = table.proxy.index(row, col)
        assert index.data() == LONG_NAME and index.data(Qt.ItemDataRole.ToolTipRole) == LONG_NAME
        assert table.columnWidth(col) < room / 2
