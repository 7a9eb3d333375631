"""Sessions in the window: every trace recorded, opened again with the same table, re-scored with another model,
mtr --json opened, damaged files, Save As and every export; on the engine's simulated path (no root)."""

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pytest

from pingmos import export
from pingmos.gui import models
from pingmos.gui.hop_table import COL_MOS
from pingmos.report import formats
from pingmos.session import open_session
from tests.gui.conftest import DST, WAIT_MS, settle

DATA = Path(__file__).resolve().parent.parent / "session" / "data"


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PINGMOS_CONFIG_DIR", str(tmp_path / "config"))


def table_rows(window):
    m = window.table.proxy
    return [[m.data(m.index(r, c)) for c in range(m.columnCount())] for r in range(m.rowCount())]


def start(window, target=DST):
    window.target_combo.setCurrentText(target)
    window.start()


def recorded(qtbot, window):
    """Trace to the end and wait until the recording holds every sample; returns its path."""
    start(window)
    settle(qtbot, window)
    rec = window.evidence.sessions.recording
    qtbot.waitUntil(lambda: rec.recorder is not None, timeout=WAIT_MS)
    rec.flush()
    assert rec.recorder.samples_written == window.trace.sample_count >= 60 * 5
    return str(rec.path)


def shown_replay(qtbot, window):
    ev = window.evidence
    qtbot.waitUntil(lambda: ev.is_replay(window.trace), timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: window.last_update is not None and window.last_update.request.trace is window.trace and window.quiet
    )


def test_a_recorded_trace_opens_with_the_table_seen_live(qtbot, make_window, session_data_dir):
    window = make_window()
    path = recorded(qtbot, window)
    assert Path(path).parent == session_data_dir / "sessions" and path.endswith(".pingmos")
    live = table_rows(window)
    live_verdict = window.evidence.verdict_bar.verdict()
    assert window.evidence.verdict_bar.diagnosis.deteriorates_at_ttl == 3  # 40 % loss from hop 3 on
    assert "problem starts" in " ".join(window.evidence.marks.texts())

    with open_session(path) as session:  # the settings a replay needs to follow route changes per flow
        assert session.info.extra["flows"] == 1 and session.info.extra["port"] is None
        # The record the report and the monitor write too (session.evidence.session_info), plus the window's facts.
        assert {"timeout_s", "rounds", "port", "flows", "model", "window"} <= set(session.info.extra)
        assert session.info.source == "pingmos" and session.info.address
    window.evidence.sessions.open_path(path)
    shown_replay(qtbot, window)
    assert table_rows(window) == live
    assert window.trace.flows == 1
    assert window.evidence.verdict_bar.verdict() == live_verdict
    assert "session " + Path(path).name in window.status_label.text()
    # The range label names the file and its time span, never "Live".
    span = window.trace.time_span()
    label = window.range_label.text()
    assert f"Session {Path(path).name}" in label and "Live" not in label
    assert time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(span[0])) in label
    assert time.strftime("%H:%M:%S", time.localtime(span[1])) in label
    window.window_combo.setCurrentText("10")
    assert "the last 10 samples" in window.range_label.text() and "Session" in window.range_label.text()
    window.window_combo.setCurrentText("all")
    assert window.evidence.sessions.recent()[0] == path
    assert window.evidence.sessions.save_action.isEnabled()

    # The focus range works on the replay as live: the table then counts only the samples in it.
    span = window.trace.time_span()
    window.timeline.set_focus(span[0], span[0] + (span[1] - span[0]) / 2)
    qtbot.waitUntil(lambda: window.last_update.request.focus is not None, timeout=WAIT_MS)
    assert 0 < window.last_update.snapshot.hops[0].sent < 60

    # Start traces the target anew, live, into a new recording; the opened file is never resumed.
    start(window)
    assert not window.evidence.is_replay(window.trace)
    rec = window.evidence.sessions.recording
    qtbot.waitUntil(lambda: rec.recorder is not None, timeout=WAIT_MS)  # (a name taken is changed when the file opens)
    assert str(rec.path) != path
    settle(qtbot, window)


def test_an_opened_session_is_rescored_with_another_model(qtbot, make_window):
    window = make_window()
    path = recorded(qtbot, window)
    window.evidence.sessions.open_path(path)
    shown_replay(qtbot, window)
    before = [row[COL_MOS] for row in table_rows(window)]
    window.model_combo.setCurrentIndex(window.model_combo.findData("g107"))
    qtbot.waitUntil(lambda: window.last_update.request.model_name == "g107", timeout=WAIT_MS)
    model = models.load_model("g107", dict(window.model_settings()))
    try:
        with open_session(path) as session:
            expected = session.snapshot(window.window_size, model, "g107")
    finally:
        model.close()
    after = [row[COL_MOS] for row in table_rows(window)]
    assert after != before
    for cell, hop in zip(after, expected.hops, strict=True):
        if hop.mos is None:
            assert cell in ("", None, "-")
        else:
            assert float(cell.split()[0]) == pytest.approx(hop.mos, abs=0.006)


def test_damaged_truncated_and_foreign_files_give_a_message(qtbot, make_window, tmp_path):
    window = make_window()
    path = recorded(qtbot, window)
    data = Path(path).read_bytes()
    trace = window.trace
    cases = {
        "truncated.pingmos": data[: len(data) // 2],
        "garbage.pingmos": b"SQLite format 3\x00" + bytes(range(256)) * 8,
        "notes.txt": b"just some text\n",
        "empty.pingmos": b"",
    }
    sessions = window.evidence.sessions
    for name, content in cases.items():
        bad = tmp_path / name
        bad.write_bytes(content)
        sessions.message_box = None
        sessions.open_path(str(bad))
        qtbot.waitUntil(lambda: sessions.message_box is not None, timeout=WAIT_MS)
        text = sessions.message_box.text()
        assert str(bad) in text and "Error" not in text.split(":")[0], text
        sessions.message_box.close()
        assert window.trace is trace  # what was shown stays
    assert "damaged" in sessions.last_message or "not" in sessions.last_message


def test_an_mtr_json_report_opens_without_window_or_focus_and_rescores(qtbot, make_window):
    window = make_window()
    ev = window.evidence
    ev.sessions.open_path(str(DATA / "lab3.mtr.json"))
    qtbot.waitUntil(lambda: ev.summary is not None, timeout=WAIT_MS)
    hubs = json.loads((DATA / "lab3.mtr.json").read_text())["report"]["hubs"]
    assert window.trace is None and window.table.proxy.rowCount() == len(hubs)
    assert "mtr report lab3.mtr.json" in window.range_label.text() and "Live" not in window.range_label.text()
    assert not window.window_combo.isEnabled() and not window.timeline.focus_button.isEnabled()
    assert ev.verdict_bar.verdict()
    first = ev.summary
    window.model_combo.setCurrentIndex(window.model_combo.findData("g107"))
    qtbot.waitUntil(lambda: ev.summary is not first, timeout=WAIT_MS)
    assert ev.summary.model == "g107"
    assert [h.mos for h in ev.summary.hops] != [h.mos for h in first.hops]
    start(window)  # a live trace gives the window and the focus range back
    assert window.window_combo.isEnabled() and window.timeline.focus_button.isEnabled()
    assert window.range_label.text().startswith("Live")
    settle(qtbot, window)


def test_save_as_and_every_export_write_their_files(qtbot, make_window, tmp_path):
    window = make_window()
    recorded(qtbot, window)
    sessions = window.evidence.sessions
    snapshot = window.last_update.snapshot
    out = {
        "hops": tmp_path / "hops.csv",
        "hops_json": tmp_path / "hops.json",
        "samples": tmp_path / "samples.csv",
        "hop": tmp_path / "hop1.json",
        "events": tmp_path / "events.csv",
        "trace_png": tmp_path / "trace.png",
        "trace_svg": tmp_path / "trace.svg",
        "timeline": tmp_path / "timeline.png",
    }
    window.table.select_ttl(1)
    sessions.export("hops", str(out["hops"]))
    sessions.export("hops", str(out["hops_json"]))
    sessions.export("samples", str(out["samples"]))
    sessions.export("hop", str(out["hop"]))
    sessions.export("events", str(out["events"]))
    sessions.export("trace_graph", str(out["trace_png"]))
    sessions.export("trace_graph", str(out["trace_svg"]))
    sessions.export("timeline", str(out["timeline"]))
    saved = tmp_path / "copy.pingmos"
    sessions.save_as(str(saved))
    qtbot.waitUntil(lambda: saved.exists() and all(p.exists() for p in out.values()), timeout=10000)

    # (with the time range of the trace, as `pingmos export` of the recording gives it)
    spanned = dataclasses.replace(snapshot, time_range=window.trace.time_span())
    assert out["hops"].read_text() == export.hop_table(spanned, "csv")
    assert json.loads(out["hops_json"].read_text())["hops"][0]["ttl"] == 1
    lines = out["samples"].read_text().splitlines()
    assert lines[0].split(",") == list(export.SAMPLE_FIELDS) and len(lines) == 1 + window.trace.sample_count
    hop1 = json.loads(out["hop"].read_text())
    assert len(hop1) == 60 and {s["ttl"] for s in hop1} == {1}
    assert out["events"].read_text().splitlines() == [",".join(export.EVENT_FIELDS)]
    assert out["trace_png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out["timeline"].stat().st_size > 1000
    assert b"<svg" in out["trace_svg"].read_bytes()
    with open_session(saved) as copy:
        assert copy.sample_count() == window.trace.sample_count and copy.info.target == DST and copy.info.address == DST

    sessions.export("hops", str(tmp_path / "hops.txt"))  # the table as shown, with its context above it
    qtbot.waitUntil(lambda: (tmp_path / "hops.txt").exists(), timeout=WAIT_MS)
    text = (tmp_path / "hops.txt").read_text()
    assert text.startswith(f"# pingmos: {DST}") and "# model: pingplotter" in text and "Loss 95 %" in text
    # Its verdict line, exactly as `pingmos report` prints it for that table (breaker finding 13: none).
    report_table = formats.to_table(window.evidence.shown_snapshot())
    assert text.splitlines()[-1] == report_table.splitlines()[-1]
    assert text.splitlines()[-1] == f"diagnosis (problem): {window.evidence.verdict_bar.verdict()}"
    sessions.export("hops", str(tmp_path / "hops.xml"))  # neither csv, json nor txt: a message, no file
    assert "csv or .json" in sessions.last_message and not (tmp_path / "hops.xml").exists()
    sessions.message_box.close()


def test_recording_can_be_turned_off(qtbot, make_window, session_data_dir):
    window = make_window()
    window.evidence.sessions.record_action.setChecked(False)
    start(window)
    settle(qtbot, window)
    assert window.evidence.sessions.recording is None
    assert not window.evidence.sessions.save_action.isEnabled()
    assert not (session_data_dir / "sessions").exists()
    assert window.settings.q.value("sessions/record") in (False, "false")


def test_ask_the_routers_runs_the_echo_witness_in_a_worker_and_keeps_its_evidence(qtbot, make_window, monkeypatch):
    import threading

    from pingmos.diagnosis import Diagnosis, EchoWitness
    from pingmos.gui.verdict_bar import diagnosis_thresholds
    from pingmos.witness import planned_count

    asked = {}

    def fake_witness(snapshot, network_factory, count, th):
        asked.update(thread=threading.current_thread(), count=count, factory=network_factory, snapshot=snapshot)
        witnesses = {3: EchoWitness("198.18.0.4", (30.0,) * count, round=snapshot.rounds)}
        return Diagnosis(4, (3,), "hop 3 answers echo without loss.", {3: ("loss 40 %",)}, (3,)), witnesses

    monkeypatch.setattr("pingmos.gui.evidence.diagnose_with_witness", fake_witness)
    window = make_window()
    window.evidence.witness_network = lambda address: lambda: f"network to {address}"
    recorded(qtbot, window)
    bar = window.evidence.verdict_bar
    assert bar.witness_button.isEnabled() and bar.diagnosis.rate_limited_ttls == ()
    bar.witness_button.click()
    qtbot.waitUntil(lambda: bool(bar.witnesses), timeout=WAIT_MS)
    assert asked["thread"] is not threading.main_thread()
    # As many echoes as it takes to tell hop 3's loss from none, not a fixed number.
    assert asked["count"] == planned_count(asked["snapshot"], diagnosis_thresholds(window.thresholds))[0] >= 20
    assert asked["factory"]() == f"network to {DST}"
    # Later updates diagnose with the witness's evidence combined with the trace's: the same rounds lost at hop 3
    # and at the destination say the loss is there; the clean echo says it is not: neither wins, and the
    # verdict never moves the problem on to hop 4.
    window.mark_dirty()
    qtbot.waitUntil(lambda: 3 in bar.diagnosis.witnessed and "direct echo to hop 3" in bar.verdict(), timeout=WAIT_MS)
    assert bar.diagnosis.deteriorates_at_ttl != 4 and bar.diagnosis.status in ("problem", "undecided")


def test_a_crafted_event_time_is_refused_in_the_worker_and_the_open_ends(qtbot, make_window, tmp_path):
    """An event stamped 1e300 s (a crafted file) is refused while reading, in the worker: the window says why and
    does not stay at "opening..." (before, the time raised in the GUI thread)."""
    import sqlite3

    from pingmos.engine.events import Sample
    from pingmos.session import SessionEvent, SessionInfo, SessionRecorder

    path = tmp_path / "crafted.pingmos"
    with SessionRecorder(path, SessionInfo("t", DST), flush_interval_s=0) as rec:
        rec.record(Sample(0, 1, 1, 1.7e9, 1.0, DST, True))
        rec.record_event(SessionEvent(1.7e9, "note", {"text": "x"}))
    conn = sqlite3.connect(path)
    conn.execute("UPDATE events SET at = 1e300")
    conn.commit()
    conn.close()
    window = make_window()
    sessions = window.evidence.sessions
    sessions.open_path(str(path))
    qtbot.waitUntil(lambda: not sessions.last_message.startswith("opening"), timeout=WAIT_MS)
    assert "event 1 is unreadable" in sessions.last_message and str(path) in sessions.last_message


def test_an_opened_session_words_not_enough_samples_as_a_finished_record():
    """The window's opened file can get no more rounds: its verdict, its verdict-line tooltip and the graph's mark
    say what the record holds ("not enough samples in this record: 5 rounds; a decision needs about 10"), and a
    focus range says to widen it; never "about N more rounds"."""
    from pingmos.diagnosis import diagnose
    from pingmos.gui.session_files import load_session
    from pingmos.gui.verdict_bar import problems_text

    opened = load_session(str(DATA / "lab3.mtr.raw"), "pingplotter", {})
    model = models.load_model("pingplotter", {})
    try:
        d = diagnose(opened.trace.snapshot(None, model.score_many, "pingplotter"))
        span = opened.trace.time_span()
        ranged = diagnose(opened.trace.snapshot(None, model.score_many, "pingplotter", time_range=span))
    finally:
        model.close()
    assert d.record == "finished" and d.rounds_needed == 5
    words = "not enough samples in this record: 5 rounds; a decision needs about 10"
    assert words in d.verdict and d.short == words and words in problems_text(d)
    assert "more rounds" not in d.verdict + d.short + problems_text(d)
    assert ranged.record == "range" and ranged.short.endswith("; widen the range")


def test_the_toolbar_shows_an_opened_records_interval_never_the_next_live_traces(qtbot, make_window, settings_store):
    window = make_window()
    window.interval_spin.setValue(0.1)
    path = recorded(qtbot, window)  # recorded at 0.1 s
    assert window.trace.interval_s == 0.1
    window.interval_spin.setValue(2.0)  # the user's choice for the next live trace
    window.evidence.sessions.open_path(path)
    shown_replay(qtbot, window)
    assert window.interval_spin.text() == "0.1 s"  # the file's (before: "2.0 s")
    assert settings_store.interval_s() == 2.0  # not taken for the user's choice

    # An mtr report does not say its interval: the field is blank, not a guess.
    window.evidence.sessions.open_path(str(DATA / "lab3.mtr.json"))
    qtbot.waitUntil(lambda: window.evidence.summary is not None, timeout=WAIT_MS)
    assert window.interval_spin.text().strip() == ""
    assert settings_store.interval_s() == 2.0
    # Start traces live at the remembered interval, and the field shows it again.
    start(window)
    assert window.trace.interval_s == 2.0 and window.interval_spin.text() == "2.0 s"
    settle(qtbot, window)


def _bursty_raw(path, rounds=300):
    """An mtr --raw record: hop 1 (198.18.0.2) clean, the destination (198.18.1.2) losing 8 of every 40 rounds in
    one burst: 20 % loss over any 100 rounds, 80 % in a 10-round point that falls on a burst."""
    lines, seq = [], 33000
    for r in range(rounds):
        for hop, rtt_us in ((0, 2000), (1, 6000 + 300 * (r % 7))):
            lines.append(f"x {hop} {seq}")
            if r == 0:
                lines.append(f"h {hop} 198.18.{hop}.2")
            if not (hop == 1 and r % 40 < 8):
                lines.append(f"p {hop} {rtt_us} {seq}")
            seq += 1
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_an_opened_records_timeline_scores_the_window_it_was_watched_with(qtbot, make_window, tmp_path):
    """Breaker finding 7: File > Open judges all samples, and the timeline then scored 10-sample points (dips to
    1.9 where the table said 3.14) with nothing saying so. Each point now scores the window the record was
    watched with (here none is recorded: the Samples setting, set to 100), the caption says so, and the first rounds,
    fewer than the minimum samples, draw no point."""
    window = make_window()
    window.settings.set_window(100)  # the Samples setting (remembered from the live view)
    window.evidence.sessions.open_path(_bursty_raw(tmp_path / "bursty.mtr.raw"))
    shown_replay(qtbot, window)
    assert window.window_size is None  # the table judges the whole record, as `report --session` does
    qtbot.waitUntil(lambda: bool(window.last_update.timelines), timeout=WAIT_MS)
    (line,) = window.last_update.timelines
    assert line.mos_window == 100
    assert "MOS (dashed, right axis) of the last 100 samples" in window.timeline.caption_forms()[0]
    assert "MOS (dashed, right) of 100 samples" in window.timeline.caption_forms()[1]
    ends = np.searchsorted(line.t, line.mos_t, side="right")  # the samples up to each point
    assert np.isnan(line.mos[ends < 10]).all() and np.isfinite(line.mos[ends >= 10]).all()
    # The newest point is what the table says with the window of 100 samples.
    window.window_combo.setCurrentText("100")
    qtbot.waitUntil(lambda: window.last_update.request.window == 100 and window.quiet, timeout=WAIT_MS)
    assert window.last_update.snapshot.hops[-1].mos == pytest.approx(line.mos[-1], abs=1e-9)


def test_an_opened_record_with_its_own_window_is_drawn_with_it():
    from pingmos.gui.evidence import watched_window

    assert watched_window({"window": 30}, 100) == 30  # recorded by the window (its Samples when the trace began)
    assert watched_window({"window": None}, 100) is None and watched_window({"window": "all"}, 100) is None
    assert watched_window({}, 100) == 100 and watched_window({"window": "x"}, 50) == 50
