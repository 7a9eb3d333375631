"""The report's alert rules (``session.evidence.Evidence``) as sound as the agent's: ``for_s`` runs on the monotonic
clock, so a wall clock stepped forward or back (NTP) neither hastens nor delays an alert; a clear carries the
diagnosis of the window its rule judged, not of the report's longer one (``alerts.with_diagnoses``)."""

from __future__ import annotations

from pingmos.alerts import CLEAR, FIRE, AlertRule, with_diagnoses
from pingmos.engine import TraceSettings
from pingmos.engine.events import Sample
from pingmos.scoring import load_model
from pingmos.session.evidence import Evidence

DST = "198.18.0.9"
ROUTER = "198.18.0.2"
# Loss above 1 % over 20 s for 30 s: 50 % loss from the start. The probe timeout (settle) is 3 s.
RULE = AlertRule("loss", "loss_pct", 1.0, window_s=20.0, for_s=30.0, min_samples=5)
MONO0 = 500.0


def run(steps: dict[int, float], seconds: int = 90) -> list[float]:
    """One probe a (monotonic) second to DST, every other one lost, seen by a report's Evidence whose wall clock
    jumps by ``steps[k]`` s at second k; the monotonic seconds at which the rule fired."""
    wall, mono = [1_000_000.0], [MONO0]
    fired: list[float] = []
    evidence = Evidence(
        DST, TraceSettings(DST, interval_s=1.0), None, [RULE], load_model("pingplotter"),
        on_event=lambda e: fired.append(mono[0]) if e.kind == FIRE else None,
        clock=lambda: wall[0], mono_clock=lambda: mono[0],
    )  # fmt: skip
    try:
        for k in range(seconds):
            wall[0] += steps.get(k, 0.0)
            lost = k % 2 == 0
            evidence.observe(Sample(k, 1, k, wall[0], None if lost else 20.0, None if lost else DST, not lost,
                                    None if lost else "echo_reply"))  # fmt: skip
            assert evidence.wait_alerts(30)
            wall[0] += 1.0
            mono[0] += 1.0
    finally:
        evidence.close(None)
    return fired


def test_report_alerts_run_for_s_on_the_monotonic_clock_whatever_the_wall_clock_does():
    (steady,) = run({})
    # Known once the window (its settled rounds: every fate is fed at once here) holds 5 probes: the evaluation at
    # second 4; fired 30 s later. (Before, the window ended 3 s before now whatever was settled: second 7.)
    assert steady == MONO0 + 4 + RULE.for_s
    # Forward 8 s mid-episode (the 20 s window still holds the probes before the step: the value stays known): the
    # old tree counted for_s on the wall clock and fired 8 s early.
    assert run({15: 8.0}) == [steady]
    # Back an hour mid-episode: the windows start anew at the evaluation that sees the step (second 16; the probe
    # fed just before it goes with the old windows), the value is known again 5 s later and the rule fires for_s
    # after that. The old tree measured for_s from a wall time an hour ahead: it never fired.
    assert run({16: -3600.0}) == [MONO0 + 16 + 5 + RULE.for_s]
    # Both: forward, then back a minute.
    assert run({4: 5.0, 16: -60.0}) == [MONO0 + 16 + 5 + RULE.for_s]


def test_a_report_alerts_clear_carries_the_diagnosis_of_its_rules_window():
    # 20 s clean, 40 s of an outage beyond hop 1, then 30 s clean (the agent's case). The report's window (all
    # samples) still holds the outage when the 10-s rule clears: the clear said "loss 0.0 % ...; diagnosis
    # (problem): problem starts at hop 2".
    rule = AlertRule("loss above 1", "loss_pct", 1.0, window_s=10.0, for_s=5.0, min_samples=5)
    wall = [1_000_000.0]
    settings = TraceSettings(DST, interval_s=1.0)
    evidence = Evidence(DST, settings, None, [rule], load_model("pingplotter"), clock=lambda: wall[0])
    for i in range(90):
        t = 1_000_000.0 + i
        for ttl in (1, 2):
            lost = 20 <= i < 60 and ttl > 1
            who = None if lost else (DST if ttl == 2 else ROUTER)
            evidence.observe(Sample(i, ttl, i * 2 + ttl, t + ttl * 0.01, None if lost else 2.0 * ttl, who,
                                    ttl == 2 and not lost, None if lost else ("echo_reply" if ttl == 2 else
                                                                              "time_exceeded")))  # fmt: skip
        wall[0] = t + 0.5
        assert evidence.wait_alerts(30)
    fire, clear = evidence.close(None)
    assert (fire.kind, clear.kind) == (FIRE, CLEAR) and clear.value == 0.0
    assert evidence.diagnosis.current(wall[0]).status == "problem"  # the report's window still holds the outage
    assert fire.diagnosis_status == "problem", fire.message
    assert clear.diagnosis_status != "problem" and "problem starts" not in clear.message, clear.message


def test_with_diagnoses_asks_each_source_once_and_only_when_an_event_needs_it():
    from pingmos.alerts import AlertEvent

    def event(rule, kind, window_s):
        return AlertEvent(rule, kind, 0.0, "t", 2, None, "loss_pct", 0.0, 1.0, window_s, 10)

    asked: list[object] = []

    class D:
        def __init__(self, status):
            self.status, self.deteriorates_at_ttl, self.short = status, None, status

    def trace():
        asked.append("trace")
        return D("problem")

    def window(w):
        asked.append(w)
        return D(f"no-problem {w:g}")

    events = [event("a", FIRE, 60.0), event("b", CLEAR, 10.0), event("c", CLEAR, 10.0), event("d", CLEAR, 20.0),
              event("e", FIRE, 10.0)]  # fmt: skip
    out = with_diagnoses(events, trace, window)
    assert [e.diagnosis_status for e in out] == ["problem", "no-problem 10", "no-problem 10", "no-problem 20",
                                                 "problem"]  # fmt: skip
    assert asked == ["trace", 10.0, 20.0]
    assert with_diagnoses([event("b", CLEAR, 10.0)], trace, lambda w: None)[0].diagnosis_status is None
    assert asked == ["trace", 10.0, 20.0]  # no fire: the trace's diagnosis was never computed
