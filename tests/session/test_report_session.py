"""`pingmos report --session FILE` re-scores without probing; `--record` and `--alerts` through the runner."""

import json
from pathlib import Path

import pytest

from pingmos.alerts import AlertRule, evaluate_samples
from pingmos.cli import main
from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork
from pingmos.engine.tracer import Tracer, TraceSettings
from pingmos.report import runner
from pingmos.scoring import load_model
from pingmos.session import SessionError, open_session
from pingmos.session.evidence import Evidence
from pingmos.session.rescore import parse_time, time_range

DATA = Path(__file__).parent / "data"
DST = "198.18.0.99"


def report(capsys, *argv):
    rc = main(["report", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_an_mtr_raw_log_is_rescored_with_any_model(capsys):
    rc, out, _ = report(capsys, "--session", str(DATA / "lab3.mtr.raw"), "--model", "pingplotter", "--format", "json")
    assert rc == 0
    pp = json.loads(out)
    rc, out, _ = report(capsys, "--session", str(DATA / "lab3.mtr.raw"), "--model", "g107", "--set", "codec=g729a",
                        "--format", "json")  # fmt: skip
    g729 = json.loads(out)
    assert rc == 0 and g729["model"] == "g107" and pp["model"] == "pingplotter"
    assert [h["loss_pct"] for h in g729["hops"]] == [h["loss_pct"] for h in pp["hops"]] == [0.0, 25.0, 20.0]
    assert g729["hops"][0]["mos"] < pp["hops"][0]["mos"]  # G.729's ceiling is below the PingPlotter formula's
    assert pp["mode"] == "mtr --raw session lab3.mtr.raw"
    assert set(pp["diagnosis"]) >= {"deteriorates_at_ttl", "rate_limited_ttls", "verdict"}


def test_a_window_and_time_range_on_a_session(capsys, tmp_path):
    rc, out, _ = report(capsys, "--session", str(DATA / "lab3.mtr.raw"), "--window", "2", "--format", "json")
    assert rc == 0 and [h["sent"] for h in json.loads(out)["hops"]] == [2, 2, 2]
    # The raw log's five rounds are placed 0.2 s apart: +0.3 .. +0.7 holds rounds 2 and 3.
    rc, out, _ = report(capsys, "--session", str(DATA / "lab3.mtr.raw"), "--interval", "0.2", "--from", "+0.3",
                        "--to", "+0.7", "--format", "json")  # fmt: skip
    assert rc == 0 and [h["sent"] for h in json.loads(out)["hops"]] == [2, 2, 2]


@pytest.mark.parametrize(
    "argv,match",
    [
        (["--session", "FILE", "--window", "3"], "window or a time range"),
        (["--session", "MISSING"], "cannot open"),
        (["--session", "RAW", "--from", "yesterday"], "cannot read the time"),
        (["--session", "FILE", "--from", "+1"], "has no samples"),
        (["--session", "FILE", "127.0.0.1"], "a TARGET is only for an mtr --raw log"),
        (["127.0.0.1", "--from", "+5"], "use them with --session"),
    ],
)
def test_session_errors_are_one_line(capsys, argv, match):
    files = {"FILE": str(DATA / "lab3.mtr.json"), "RAW": str(DATA / "lab3.mtr.raw")}
    argv = [files.get(a, a) for a in argv]
    rc, out, err = report(capsys, *argv)
    assert rc == 2 and out == "" and match in err and err.count("\n") == 1


def test_times_in_the_users_words():
    assert parse_time("+90", 1000.0) == 1090.0 and parse_time("+15m", 0.0) == 900.0 and parse_time("+2h", 0) == 7200
    assert parse_time("1795430705.5", 0) == 1795430705.5
    assert parse_time("2026-11-23T10:00:00Z", 0) == 1795428000.0
    assert time_range((100.0, 200.0), None, None) is None
    assert time_range((100.0, 200.0), "+10", None) == (110.0, 200.0)
    with pytest.raises(SessionError, match="holds no samples"):
        time_range((100.0, 200.0), "+500", None)
    with pytest.raises(SessionError, match="before"):
        time_range((100.0, 200.0), "+50", "+10")


def test_record_and_alerts_of_a_report_run(tmp_path, monkeypatch):
    path = [FakeHop("198.18.0.2", 2.0), FakeHop(DST, 10.0, loss_pct=50.0)]
    clock = FakeClock()
    # The runner's tracer on the simulated path, in virtual time.
    monkeypatch.setattr("pingmos.run.Tracer", lambda s, n, cb, **kw: Tracer(s, n, cb, clock, "198.18.0.1"))
    settings = TraceSettings(DST, rounds=40, interval_s=1.0)
    rules = [AlertRule("loss", "loss_pct", 5.0, window_s=20.0)]
    model = load_model("pingplotter")
    net = FakeNetwork(path, clock, seed=2)
    seen = []
    evidence = Evidence("target.lab.test", settings, str(tmp_path / "run.pm"), rules, model, on_event=seen.append,
                        clock=lambda: net.wall(clock.now))  # fmt: skip
    snap, interrupted = runner.run_report(
        "target.lab.test", settings, None, model, model.name, use_dns=False,
        network_factory=lambda: net, observer=evidence.observe,
    )  # fmt: skip
    assert evidence.wait_alerts(30)  # evaluated in their own thread, never the probing one
    assert [e.kind for e in seen] == ["fire"]  # reported live, during the run
    events = evidence.close(snap)
    assert not interrupted and [e.kind for e in events] == ["fire"] and events[0].ttl == 2
    # Live: the window ends one timeout (3 s) before now, so the fire came 3 s into the run at the earliest.
    assert events[0].at >= net.wall(1000.0) + 3.0
    with open_session(tmp_path / "run.pm") as s:
        assert s.info.target == "target.lab.test" and s.info.extra["rounds"] == 40
        assert s.snapshot(None, model, model.name).hops == snap.hops  # the recording re-scores to the same table
        assert [e.kind for e in s.events()] == ["alert-fire"]
        assert s.events()[0].data["rule"] == "loss"


def test_export_of_a_session(capsys, tmp_path):
    raw = str(DATA / "lab3.mtr.raw")
    assert main(["export", raw, "--what", "samples", "--ttl", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Four probes: the fifth was still in flight when the log ends (not counted).
    assert lines[0].startswith("round,ttl,seq,sent_at") and len(lines) == 5
    assert ",,true,," in lines[2]  # the lost probe: no RTT, no responder
    assert main(["export", raw, "--format", "json", "--model", "g107"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["model"] == "g107" and len(doc["hops"]) == 3
    assert main(["export", raw, "--what", "events", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["export", str(tmp_path / "missing")]) == 2
    assert "cannot open" in capsys.readouterr().err


def test_alert_rules_that_could_never_clear_with_the_model_are_refused(capsys, tmp_path):
    # The dialog's check (pingmos.alerts.check_reach) for a rules file: one line naming the file, the rule and
    # what to write, exit 2, before anything is scored. (The ceiling is the default model's, whatever it is.)
    from pingmos.alerts import mos_ceiling
    from pingmos.scoring import DEFAULT_MODEL

    model = load_model(DEFAULT_MODEL)
    top = mos_ceiling(model)
    model.close()
    assert 4.3 < top < 4.5
    fit = round((4.3 + top) / 2.0, 2)
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rules]]\nmetric = "loss_pct"\nabove = 1\n\n[[rules]]\nname = "voice"\nmetric = "mos"\nbelow = 4.3\n'
    )
    rc, out, err = report(capsys, "--session", str(DATA / "lab3.mtr.raw"), "--alerts", str(rules))
    assert rc == 2 and out == "" and err.count("\n") == 1, err
    assert err.startswith(
        f"pingmos report: error: {rules}: rule 2 (voice): it would never clear at the default MOS 4.5"
    )
    assert f"{DEFAULT_MODEL} gives at most {top:.2f} on a clean path" in err and f"add clear_at = {fit:g}" in err
    rules.write_text(rules.read_text() + f"clear_at = {fit:g}\n")
    rc, out, err = report(capsys, "--session", str(DATA / "lab3.mtr.raw"), "--alerts", str(rules))
    assert rc == 0 and out, err


def recorded_run(monkeypatch, record: Path, path: list, settings: TraceSettings, rules, seed: int):
    """(snapshot, Evidence, model) of a live report over the fake network ``path``, recorded to ``record`` with
    ``rules`` judged as it runs (pingplotter's model), on a fake clock."""
    clock = FakeClock()
    monkeypatch.setattr("pingmos.run.Tracer", lambda s, n, cb, **kw: Tracer(s, n, cb, clock, "198.18.0.1"))
    model = load_model("pingplotter")
    net = FakeNetwork(path, clock, seed=seed)
    evidence = Evidence("target.lab.test", settings, str(record), rules, model, clock=lambda: net.wall(clock.now))
    snap, _ = runner.run_report(
        "target.lab.test", settings, None, model, model.name, use_dns=False,
        network_factory=lambda: net, observer=evidence.observe,
    )  # fmt: skip
    return snap, evidence, model


def test_report_alerts_carry_the_one_diagnosis_live_and_reopened(tmp_path, monkeypatch, capsys):
    from pingmos.diagnosis import diagnose
    from pingmos.session.evidence import RunningDiagnosis

    # 30 % per-packet loss on the destination's own hop: the one diagnosis names hop 2 once the intervals allow.
    path = [FakeHop("198.18.0.2", 2.0), FakeHop(DST, 10.0, loss_pct=30.0)]
    settings = TraceSettings(DST, rounds=120, interval_s=1.0)
    rules = [AlertRule("loss", "loss_pct", 5.0, window_s=20.0)]
    snap, evidence, model = recorded_run(monkeypatch, tmp_path / "run.pm", path, settings, rules, seed=3)
    assert evidence.wait_alerts(30)
    fire = evidence.close(snap)[0]
    # The event carries the diagnosis in its message, its JSON (the session's event log) and the command's
    # environment: the one diagnosis of the samples sent by the end of the rule's window when it fired.
    assert fire.kind == "fire" and fire.diagnosis_status is not None
    assert f"; diagnosis ({fire.diagnosis_status}): {fire.diagnosis_words}" in fire.message
    assert fire.to_json()["diagnosis"] == {
        "status": fire.diagnosis_status,
        "deteriorates_at_ttl": fire.diagnosis_ttl,
        "location_ttls": None if fire.diagnosis_location_ttls is None else list(fire.diagnosis_location_ttls),
        "summary": fire.diagnosis_words,
    }
    env = fire.environment()
    assert env["PINGMOS_ALERT_DIAGNOSIS"] == fire.diagnosis_status
    assert env["PINGMOS_ALERT_DIAGNOSIS_TTL"] == ("" if fire.diagnosis_ttl is None else str(fire.diagnosis_ttl))
    with open_session(tmp_path / "run.pm") as s:
        samples = list(s.samples())
        assert s.events()[0].data["diagnosis"]["status"] == fire.diagnosis_status
    until = fire.at - settings.effective_timeout_s

    def diagnosis_until(t, record="live"):
        running = RunningDiagnosis("target.lab.test", DST, "icmp", 1.0, model, model.name, record=record)
        for sample in samples:
            running.feed(sample)
        return running.current(t)

    d = diagnosis_until(until)
    assert (d.status, d.deteriorates_at_ttl, d.short) == (
        fire.diagnosis_status,
        fire.diagnosis_ttl,
        fire.diagnosis_words,
    )
    # Over every sample it is the report's own (its footer): hop 2.
    final = diagnose(snap)
    assert final.status == "problem" and final.deteriorates_at_ttl == 2
    assert diagnosis_until(float("inf")) == final
    # Reopened, each alert line carries the diagnosis of the samples sent by then, as the live run did.
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text('[[rules]]\nname = "loss"\nmetric = "loss_pct"\nthreshold = 5.0\nwindow_s = 20.0\n')
    rc, out, err = report(capsys, "--session", str(tmp_path / "run.pm"), "--alerts", str(rules_file))
    assert rc == 0 and "diagnosis (problem): Quality deteriorates at the destination, hop 2" in out
    alert_lines = [line for line in err.splitlines() if "loss (loss above 5 % over 20 s) fired" in line]
    assert len(alert_lines) == 1 and "; diagnosis (" in alert_lines[0]
    replay = evaluate_samples(
        rules,
        "target.lab.test",
        model,
        samples,
        # The CLI's replay: a finished record, which gets no more rounds (its verdicts never ask for "more rounds").
        diagnosis=RunningDiagnosis("target.lab.test", DST, "icmp", 1.0, model, model.name, record="finished"),
        settle_s=settings.effective_timeout_s,  # the CLI's replay: windows end one probe timeout back, as live
    )[0]
    replayed = diagnosis_until(replay.at - settings.effective_timeout_s, record="finished")
    assert (replay.diagnosis_status, replay.diagnosis_words) == (replayed.status, replayed.short)
    assert alert_lines[0].endswith(replay.message)


def test_report_and_monitor_write_the_one_settings_record():
    from pingmos.engine.tracer import TraceSettings
    from pingmos.session.evidence import info_for, session_info

    settings = TraceSettings(DST, "udp", interval_s=0.5, max_ttl=12, timeout_s=2.0, rounds=7, port=33434, flows=2)
    a = info_for("t", settings, 100.0, model="g107-jb")
    b = session_info("t", address=DST, protocol="udp", interval_s=0.5, max_ttl=12, timeout_s=2.0, rounds=7,
                     port=33434, flows=2, started_at=100.0, model="g107-jb")  # fmt: skip
    assert a == b
    assert a.extra == {"timeout_s": 2.0, "rounds": 7, "port": 33434, "flows": 2, "model": "g107-jb"}


def test_a_finished_record_says_what_it_holds_not_more_rounds(capsys, tmp_path):
    """An imported file, an empty report and a time range of a session can get no more rounds: their verdicts
    say what the record holds and what a decision needs (a range: widen it), never "about N more rounds"."""
    raw = str(DATA / "lab3.mtr.raw")
    rc, out, _ = report(capsys, "--session", raw, "--format", "json")
    diagnosis = json.loads(out)["diagnosis"]
    assert rc == 0 and diagnosis["status"] == "undecided" and diagnosis["rounds_needed"] == 5
    verdict = diagnosis["verdict"]
    assert "not enough samples in this record: 5 rounds; a decision needs about 10" in verdict, verdict
    assert "more rounds" not in verdict and "yet" not in verdict
    rc, out, _ = report(capsys, "--session", raw, "--interval", "0.2", "--from", "+0.3", "--to", "+0.7")
    line = out.splitlines()[-1]
    assert rc == 0 and "not enough samples in this range: 2 rounds; a decision needs about 4; widen the range" in line
    rc, out, _ = report(capsys, "--session", str(DATA / "trippy_report.json"))
    assert rc == 0 and "not enough samples in this record: 10 rounds; a decision needs about 20" in out
    empty = json.loads((DATA / "lab3.mtr.json").read_text())
    empty["report"]["hubs"] = []
    (tmp_path / "empty.json").write_text(json.dumps(empty))
    rc, out, _ = report(capsys, "--session", str(tmp_path / "empty.json"))
    assert rc == 0 and "Not enough samples in this record: no hop answered in it" in out
    assert "yet" not in out.splitlines()[-1]
    # export of the same range carries the same verdict (one wording function)
    assert main(["export", raw, "--format", "json", "--interval", "0.2", "--from", "+0.3", "--to", "+0.7"]) == 0
    assert "widen the range" in json.loads(capsys.readouterr().out)["diagnosis"]["verdict"]


def test_an_mtr_raw_log_recorded_faster_than_a_live_report_runs_is_placed_at_its_interval(capsys):
    # mtr -i 0.05 (as root mtr goes down to 0.01): report --session refused -i 0.05 ("within 0.1 and 60.0"),
    # though export took it; a live report keeps its own range.
    rc, out, err = report(capsys, "--session", str(DATA / "lab3.mtr.raw"), "-i", "0.05", "--format", "json")
    doc = json.loads(out)
    span = doc["time_range"]["to"] - doc["time_range"]["from"]
    assert rc == 0 and doc["interval_s"] == 0.05 and span == pytest.approx(0.05 * (doc["rounds"] - 1))
    with pytest.raises(SystemExit) as exc:
        main(["report", "127.0.0.1", "-i", "0.05"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.endswith("interval must be within 0.1 and 60.0 for a trace, not 0.05\n")


@pytest.mark.parametrize("name", ["lab3.mtr.raw", "lab3.mtr.json"])
def test_a_reopened_record_counts_the_probes_it_holds(name, capsys):
    # A re-scored record said "probes_sent": 0 (the live run's counter, which a file has not) beside its rounds.
    assert main(["report", "--session", str(Path(__file__).parent / "data" / name), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["probes_sent"] == sum(h["sent"] for h in doc["hops"]) > 0


def test_a_recorded_run_reports_the_counters_of_its_live_report(tmp_path, monkeypatch, capsys):
    from pingmos.report.formats import to_json

    # The destination at TTL 3 (150 ms), probed up to TTL 8: the first round's TTLs 4 and 5 go out before its answer
    # is in (no samples: they are no hop), and their answers then match no probe (unmatched).
    path = [FakeHop("198.18.0.2", 2.0), FakeHop("198.18.1.2", 4.0), FakeHop(DST, 150.0, loss_pct=20.0)]
    settings = TraceSettings(DST, rounds=30, interval_s=0.5, max_ttl=8)
    snap, evidence, model = recorded_run(monkeypatch, tmp_path / "run.pm", path, settings, None, seed=5)
    evidence.close(snap)
    live = json.loads(to_json(snap))
    rc, out, _ = report(capsys, "--session", str(tmp_path / "run.pm"), "--model", "pingplotter", "--format", "json")
    recorded = json.loads(out)
    counters = ("probes_sent", "unmatched_replies", "suspicious_replies")
    # Before: the recording said probes_sent 90 (its samples) and unmatched_replies 0 beside the live 98 and 2.
    assert rc == 0 and {k: recorded[k] for k in counters} == {k: live[k] for k in counters}
    assert live["probes_sent"] > sum(h["sent"] for h in live["hops"]) == 90 and live["unmatched_replies"] > 0
    assert recorded["hops"] == live["hops"]
    # Over a time range the run's counters do not apply: the range's probes are its samples, the replies unknown.
    rc, out, _ = report(capsys, "--session", str(tmp_path / "run.pm"), "--from", "+0", "--format", "json")
    ranged = json.loads(out)
    assert rc == 0 and ranged["probes_sent"] == sum(h["sent"] for h in ranged["hops"])
    assert ranged["unmatched_replies"] is None and ranged["suspicious_replies"] is None
