"""Alert rules when the target is down or time misbehaves: a destination that never answered, a router that refuses
to forward, a stretch without samples, a wall clock stepped back; episodes carried over or ended by a reload."""

import pytest

from pingmos.alerts import BLOCKED, CLEAR, FIRE, UNANSWERED, AlertEngine, AlertRule
from pingmos.engine.events import Sample
from pingmos.scoring.formulas import pingplotter

DST = "198.18.5.2"


def scorer(w):
    return pingplotter.score(w.avg_ms, w.jitter_ms, w.loss_pct)


def router(ttl):
    return f"198.18.{ttl - 1}.1"


def path_round(i, t, answering, max_ttl, blocked_at=None, reached_at=None):
    """One round's samples: TTLs 1..answering answered by routers; ``blocked_at``: a router's admin-prohibited there
    and nothing sent beyond; ``reached_at``: the destination answers there and nothing is sent beyond; else every
    TTL up to ``max_ttl`` is sent and those beyond ``answering`` are lost."""
    out = []
    last = blocked_at or reached_at or max_ttl
    for ttl in range(1, last + 1):
        seq = i * 100 + ttl
        sent = t + ttl * 0.01
        if ttl == reached_at:
            out.append(Sample(i, ttl, seq, sent, 20.0, DST, True, "echo_reply"))
        elif ttl == blocked_at:
            out.append(Sample(i, ttl, seq, sent, 3.0, router(ttl), False, "dest_unreachable", 13))
        elif ttl <= answering:
            out.append(Sample(i, ttl, seq, sent, 1.0 + ttl, router(ttl), False, "time_exceeded"))
        else:
            out.append(Sample(i, ttl, seq, sent, None, None))
    return out


def drive(engine, rounds, start=0, t0=1000.0, mono0=50.0):
    """Feed each round (a list of samples per second) and evaluate half a second later; every event."""
    events = []
    for k, samples in enumerate(rounds):
        for s in samples:
            engine.feed(s)
        events += engine.evaluate(t0 + start + k + 0.5, mono0 + start + k + 0.5)
    return events


MOS = AlertRule("MOS below 3.5", "mos", 3.5, window_s=10.0, for_s=5.0)
LOSS = AlertRule("loss above 1", "loss_pct", 1.0, window_s=10.0, for_s=5.0)
LATENCY = AlertRule("latency above 100", "latency_ms", 100.0, window_s=10.0)


def test_a_destination_that_never_answered_is_judged_at_the_last_ttl_probed():
    # The breaker's outage: hop 5 loses everything from before the start; TTLs 1-4 answer, 5-8 (max_ttl) never do.
    engine = AlertEngine([MOS, LOSS, LATENCY], "dest", scorer)
    events = drive(engine, [path_round(i, 1000.0 + i, 4, 8) for i in range(60)])
    assert sorted((e.rule, e.kind) for e in events) == [("MOS below 3.5", FIRE), ("loss above 1", FIRE)]
    mos = next(e for e in events if e.rule == MOS.name)
    loss = next(e for e in events if e.rule == LOSS.name)
    assert mos.value == 1.0 and loss.value == 100.0 and mos.ttl == loss.ttl == 8
    assert mos.path_end == UNANSWERED and mos.address is None and mos.samples == 10
    # Ten samples to know the value, then five seconds bad: fired at 1014.5 s (not before min_samples).
    assert 1013.0 <= mos.at <= 1016.0
    assert "hop 8, the end of the path (the destination has not answered)," in mos.message
    assert mos.environment()["PINGMOS_ALERT_PATH_END"] == UNANSWERED
    assert engine.firing() == [MOS.name, LOSS.name]
    # The destination answers again (at TTL 6): both clear, measured there.
    later = drive(engine, [path_round(i, 1000.0 + i, 5, 8, reached_at=6) for i in range(60, 90)], start=60)
    assert [(e.kind, e.ttl, e.path_end) for e in later] == [(CLEAR, 6, None), (CLEAR, 6, None)]


def test_a_destination_answering_from_the_first_round_raises_nothing():
    engine = AlertEngine([MOS, LOSS], "dest", scorer)
    assert drive(engine, [path_round(i, 1000.0 + i, 4, 8, reached_at=5) for i in range(60)]) == []


def test_a_router_refusing_to_forward_ends_the_path_there():
    engine = AlertEngine([MOS, LOSS], "dest", scorer)
    events = drive(engine, [path_round(i, 1000.0 + i, 2, 8, blocked_at=3) for i in range(30)])
    assert sorted((e.rule, e.kind, e.ttl, e.path_end) for e in events) == [
        (MOS.name, FIRE, 3, BLOCKED), (LOSS.name, FIRE, 3, BLOCKED)
    ]  # fmt: skip
    assert events[0].address == router(3) and events[0].value in (1.0, 100.0)


def test_a_path_blocked_after_the_destination_answered_is_judged_at_the_block():
    # 30 s reaching TTL 5, then TTL 3 refuses: TTL 5 is no longer probed, so its row has no new samples (unknown
    # before); what a call gets is nothing.
    engine = AlertEngine([LOSS], "dest", scorer)
    rounds = [path_round(i, 1000.0 + i, 4, 8, reached_at=5) for i in range(30)]
    rounds += [path_round(i, 1000.0 + i, 2, 8, blocked_at=3) for i in range(30, 60)]
    events = drive(engine, rounds)
    assert [(e.kind, e.ttl, e.path_end) for e in events] == [(FIRE, 3, BLOCKED)]
    assert 1030.0 < events[0].at < 1046.0


def loss_rounds(start, stop, lost_every=2):
    """Destination samples at TTL 1, one per second from ``start``, every ``lost_every``-th lost."""
    return [
        [Sample(t, 1, t, float(t), None, None) if t % lost_every == 0 else Sample(t, 1, t, float(t), 5.0, DST, True)]
        for t in range(start, stop)
    ]


def test_for_s_counts_only_known_values():
    # 30 s of 50 % loss, 10 minutes without a sample (the trace was down: unknown), then 50 % loss again: the
    # condition must hold for 300 s of known values, not 300 s since it was first seen (the breaker: fired 9 s after
    # the loss came back).
    rule = AlertRule("loss", "loss_pct", 1.0, window_s=20.0, for_s=300.0)
    engine = AlertEngine([rule], "t", scorer)
    assert drive(engine, loss_rounds(1000, 1030), t0=0.0) == []
    assert drive(engine, [[] for _ in range(600)], start=30, t0=1000.0, mono0=0.0) == []
    events = drive(engine, loss_rounds(1630, 2030), start=630, t0=1000.0, mono0=0.0)
    assert [e.kind for e in events] == [FIRE]
    # Known again once min_samples (10) are in the window (t = 1639.5), fired 300 s later.
    assert events[0].at == pytest.approx(1939.5)


def test_clear_for_s_counts_only_known_values():
    rule = AlertRule("loss", "loss_pct", 1.0, window_s=20.0, clear_for_s=60.0)
    engine = AlertEngine([rule], "t", scorer)
    assert [e.kind for e in drive(engine, loss_rounds(0, 30), t0=0.0)] == [FIRE]
    # Good for 30 s, a 10-minute gap, good again: clears 60 s after the values are known again, not at once.
    drive(engine, loss_rounds(30, 60, lost_every=10**9), start=30, t0=0.0)
    drive(engine, [[] for _ in range(600)], start=60, t0=0.0)
    events = drive(engine, loss_rounds(660, 800, lost_every=10**9), start=660, t0=0.0)
    assert [e.kind for e in events] == [CLEAR] and events[0].at == pytest.approx(669.5 + 60.0)


def test_a_wall_clock_stepped_back_neither_delays_nor_stops_an_alert():
    # 30 s of 50 % loss, then the wall clock steps back an hour while the loss goes on (the breaker: 600 s of loss
    # with for_s=60 never fired). for_s runs on the monotonic clock; the windows start anew at the step.
    rule = AlertRule("loss", "loss_pct", 1.0, window_s=20.0, for_s=60.0)
    engine = AlertEngine([rule], "t", scorer)
    events = []
    mono = 0.0
    for wall in [*range(100_000, 100_030), *range(100_030 - 3600, 100_030 - 3600 + 600)]:
        mono += 1.0
        lost = wall % 2 == 0
        engine.feed(Sample(int(mono), 1, int(mono), float(wall), None if lost else 5.0, None if lost else DST,
                           not lost))  # fmt: skip
        events += [(mono, e) for e in engine.evaluate(wall + 0.5, mono + 0.5)]
    assert [e.kind for _, e in events] == [FIRE]
    when, fire = events[0]
    # Ten samples after the step make the value known again (monotonic second 40), then 60 s.
    assert 95.0 <= when <= 105.0 and fire.value == pytest.approx(50.0) and fire.samples == 20
    assert fire.at == pytest.approx(100_030 - 3600 + when - 31 + 0.5)


def test_a_wall_clock_stepped_forward_does_not_hasten_an_alert():
    rule = AlertRule("loss", "loss_pct", 1.0, window_s=20.0, for_s=60.0)
    engine = AlertEngine([rule], "t", scorer)
    fired = []
    for k in range(200):
        wall = 1000 + k + (3600 if k >= 15 else 0)
        lost = k % 2 == 0
        engine.feed(Sample(k, 1, k, float(wall), None if lost else 5.0, None if lost else DST, not lost))
        fired += [k for e in engine.evaluate(wall + 0.5, 10.0 + k + 0.5) if e.kind == FIRE]
    # Known at k = 9, bad until the step (k = 15) emptied the window; known again at k = 24: 60 s later.
    assert fired == [84]


def test_episodes_carry_over_to_a_new_engine_or_end_with_a_reason():
    old = AlertEngine([MOS, LOSS], "dest", scorer)
    drive(old, [path_round(i, 1000.0 + i, 4, 8) for i in range(30)])
    assert old.firing() == [MOS.name, LOSS.name]
    new = AlertEngine([MOS], "dest", scorer)
    new.carry_over(old, [MOS.name])
    assert new.firing() == [MOS.name]
    (ended,) = old.end([LOSS.name, "no such rule"], 2000.0, "removed by reload")
    assert (ended.kind, ended.rule, ended.value, ended.ttl, ended.reason) == (CLEAR, LOSS.name, None, 8,
                                                                               "removed by reload")  # fmt: skip
    # A name of its own is followed by what the rule does now.
    assert ended.message == "loss above 1 (loss above 1 % over 10 s for 5 s) cleared for dest: ended: removed by reload"
    assert ended.environment()["PINGMOS_ALERT_REASON"] == "removed by reload"
    assert ended.to_json()["reason"] == "removed by reload" and ended.to_session_event().kind == "alert-clear"
    assert old.firing() == [MOS.name] and old.end([LOSS.name], 2001.0, "again") == []
    # The carried episode clears by its own values in the new engine, once: the destination answers cleanly.
    events = drive(new, [path_round(i, 1000.0 + i, 4, 8, reached_at=5) for i in range(30, 60)], start=30)
    assert [(e.rule, e.kind) for e in events] == [(MOS.name, CLEAR)]
