"""A rule's command that does not run, times out or fails is never silent: one line naming the rule and what
happened (on stderr for the report, in the monitor's log) and the same line in the session's event log; a failure
that repeats is said once per FAILURE_REPEAT_S with the count held back. And an alert's diagnosis is said once."""

from __future__ import annotations

import os
import threading

import pytest

from pingmos.alerts import FIRE, AlertEvent, CommandRunner, RepeatLimiter, rules_from_data
from pingmos.cli import main
from pingmos.session import open_session

ROOT = os.geteuid() == 0


def test_a_repeated_failure_is_said_once_per_period_with_the_count_held_back():
    now = [0.0]
    limiter = RepeatLimiter(every_s=60.0, clock=lambda: now[0])
    assert limiter.line("x failed") == "x failed"
    now[0] = 10.0
    assert limiter.line("x failed") is None and limiter.line("x failed") is None
    assert limiter.line("y failed") == "y failed"  # another failure is its own
    now[0] = 61.0
    assert limiter.line("x failed") == "x failed (and 2 more times since it was last said)"
    now[0] = 70.0
    assert limiter.line("x failed") is None
    assert limiter.pending() == ["x failed (again 1 more time)"] and limiter.pending() == []


def _failures(rule_doc: dict, times: int = 1) -> list[str]:
    (rule,) = rules_from_data({"rules": [rule_doc]})
    lines: list[str] = []
    done = threading.Event()
    runner = CommandRunner(on_failure=lambda line: (lines.append(line), done.set()))
    event = AlertEvent(rule.name, FIRE, 0.0, "198.18.0.9", 3, None, rule.metric, 5.0, 1.0, 60.0, 60)
    for _ in range(times):
        runner.dispatch([rule], [event])
    assert runner.wait(30)
    runner.close()
    return lines


@pytest.mark.parametrize(
    "command,words",
    [
        (["/nonexistent/x"], "alert command /nonexistent/x could not run: No such file or directory"),
        ("/nonexistent/x --flag", "alert command /nonexistent/x could not run"),  # a string, split as a shell would
        (["/bin/sh", "-c", "exit 3"], "alert command /bin/sh exited with status 3"),
    ],
)
def test_a_command_that_cannot_run_or_fails_is_one_line_naming_the_rule(command, words):
    lines = _failures({"name": "loss", "metric": "loss_pct", "above": 1, "command": command})
    assert len(lines) == 1 and lines[0].startswith("alert rule 'loss': ") and words in lines[0], lines


def test_a_command_that_times_out_says_so():
    rule = {
        "name": "slow",
        "metric": "loss_pct",
        "above": 1,
        "command": ["/bin/sleep", "100"],
        "command_timeout_s": 0.5,
    }
    (line,) = _failures(rule)
    assert line == "alert rule 'slow': alert command /bin/sleep timed out: killed after 0.5 s (command_timeout_s)"


def test_the_same_failure_three_times_is_one_line_and_one_count():
    lines = _failures({"name": "loss", "metric": "loss_pct", "above": 1, "command": ["/nonexistent/x"]}, times=3)
    assert lines[0].endswith("No such file or directory")
    assert lines[1:] == [lines[0] + " (again 2 more times)"]


def test_a_command_that_succeeds_says_nothing():
    assert _failures({"name": "ok", "metric": "loss_pct", "above": 1, "command": ["/bin/true"]}) == []


def test_an_undecided_diagnosis_without_more_to_say_is_said_once():
    event = AlertEvent("loss", FIRE, 0.0, "198.18.0.9", 3, None, "loss_pct", 5.0, 1.0, 60.0, 60)
    plain = AlertEvent(**{**event.__dict__, "diagnosis_status": "undecided", "diagnosis_words": "undecided"})
    assert plain.message.endswith("threshold 1 %); diagnosis (undecided)")
    wordy = AlertEvent(
        **{**event.__dict__, "diagnosis_status": "problem", "diagnosis_words": "problem starts at hop 3"}
    )
    assert wordy.message.endswith("; diagnosis (problem): problem starts at hop 3")


def test_a_replay_of_a_finished_record_never_asks_for_more_rounds(tmp_path, capsys):
    """report --session F --alerts R: the record will get no more rounds, so each alert's diagnosis says how many
    it holds and how many a decision needs (before: "not enough samples yet: about 377 more rounds")."""
    log = ["x 0 33000", "h 0 198.18.0.2", "p 0 2000 33000"]
    for r in range(1, 60):
        log.append(f"x 0 {33000 + r}")
        log.append(f"p 0 {2000 + 100 * (r % 3)} {33000 + r}")
    raw = tmp_path / "one.mtr-raw.txt"
    raw.write_text("\n".join(log) + "\n")
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nname = "lat"\nmetric = "latency_ms"\nabove = 0.5\nwindow_s = 5\nmin_samples = 2\n')
    rc = main(["report", "--session", str(raw), "198.18.0.2", "--alerts", str(rules)])  # a literal: no lookup
    err = capsys.readouterr().err
    alerts = [line for line in err.splitlines() if "lat (latency above 0.5 ms over 5 s) fired" in line]
    assert rc == 0 and alerts, err
    assert all("more rounds" not in line and "not enough samples in this record: " in line for line in alerts)


@pytest.mark.skipif(not ROOT, reason="raw sockets need root")
def test_a_live_reports_failing_command_is_on_stderr_and_in_the_recorded_event_log(tmp_path, capsys):
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rules]]\nname = "lat"\nmetric = "latency_ms"\nabove = 0.0001\nwindow_s = 1\nmin_samples = 2\n'
        'command = ["/nonexistent/x"]\n'
    )
    path = tmp_path / "run.pingmos"
    # loopback only, no reverse DNS (BRIEF: network safety)
    rc = main(["report", "127.0.0.1", "--no-dns", "-c", "4", "-i", "0.2", "--alerts", str(rules),
               "--record", str(path)])  # fmt: skip
    err = capsys.readouterr().err
    failed = [line for line in err.splitlines() if "could not run" in line]
    assert rc == 0 and len(failed) == 1, err
    assert failed[0] == (
        "pingmos report: warning: alert rule 'lat': alert command /nonexistent/x could not run: "
        "No such file or directory"
    )
    with open_session(path) as session:
        logged = [e for e in session.events() if e.kind == "alert-command-failed"]
    assert [e.data["message"] for e in logged] == [failed[0].removeprefix("pingmos report: warning: ")]


def test_a_command_failure_is_never_earlier_than_its_alert_and_the_replayed_log_is_in_time_order(tmp_path):
    """A rule that fires only at the report's last look (after the run: every probe settled) ran its command
    at once; the command's failure was stamped with the clock (T) and its alert with T + the probe timeout
    (the moment the last look pretended it was), so the replayed log said the command failed 3 s before the
    alert that ran it."""
    from pingmos.engine import Sample, TraceSettings
    from pingmos.scoring import load_model
    from pingmos.session.evidence import Evidence

    rule_doc = {"name": "lat", "metric": "latency_ms", "above": 1, "window_s": 5, "min_samples": 4}
    (rule,) = rules_from_data({"rules": [{**rule_doc, "command": ["/nonexistent/x"]}]})
    settings = TraceSettings("198.18.0.9", interval_s=1.0)  # the probe timeout: 3 s
    now = [1000.0]
    notes: list[str] = []
    path = tmp_path / "run.pingmos"
    evidence = Evidence("198.18.0.9", settings, str(path), [rule], load_model("g107"), clock=lambda: now[0],
                        on_note=notes.append)  # fmt: skip
    for r in range(4):  # 4 rounds to a router and the destination (20 ms): live, the window's settled rounds
        now[0] = 1000.0 + r + 0.02  # never hold 4, as round 3's probe to the router is still in flight
        if r < 3:
            evidence.observe(Sample(r, 1, 2 * r, 1000.0 + r, 5.0, "198.18.0.2", reply="time_exceeded"))
        evidence.observe(Sample(r, 2, 2 * r + 1, 1000.0 + r, 20.0, "198.18.0.9", reached=True, reply="echo_reply"))
        assert evidence.wait_alerts(30)
    assert evidence.events == []
    now[0] = 1003.5  # the run is over: every probe settled (round 3's to the router left out by a stop)
    (fire,) = evidence.close(None)
    assert fire.kind == FIRE and fire.at == 1003.5  # decided at the last look, not at a moment yet to come
    assert notes and "could not run" in notes[0]
    with open_session(path) as session:
        events = session.events()
    kinds = [e.kind for e in events]
    assert kinds == ["alert-fire", "alert-command-failed"], kinds
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert events[1].at >= events[0].at == 1003.5
