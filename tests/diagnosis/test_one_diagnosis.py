"""One window of data gives one answer: the same samples fed live and reopened from a saved session diagnose
alike, and the report, the JSON and the verdict all carry that one result."""

import dataclasses
import json
import random

import pytest

from pingmos.diagnosis import PROBLEM, UNDECIDED, diagnose
from pingmos.engine.events import Sample
from pingmos.live_trace import LiveTrace
from pingmos.report.formats import to_json, to_table
from pingmos.scoring import load_model
from pingmos.session import SessionInfo, SessionRecorder, open_session

DST = "198.18.4.2"


def lab_samples(rounds, seed):
    """A 5-hop path: hop 2 drops 30 % of its own replies, the link into hop 4 is down in 6 % of the rounds."""
    rng = random.Random(seed)
    out = []
    for r in range(rounds):
        down = rng.random() < 0.06
        for ttl in range(1, 6):
            addr = f"198.18.{ttl - 1}.2"
            lost = (ttl == 2 and rng.random() < 0.3) or (down and ttl >= 4)
            rtt = None if lost else 2.0 * ttl + rng.uniform(0, 0.5)
            out.append(Sample(r, ttl, r * 8 + ttl, 1000.0 + r, rtt, None if lost else addr, not lost and ttl == 5))
    return out


@pytest.mark.parametrize(("rounds", "window"), [(300, None), (40, None), (300, 100)])
def test_live_and_saved_session_give_the_same_diagnosis(tmp_path, rounds, window):
    samples = lab_samples(rounds, seed=rounds)
    model = load_model("pingplotter")
    live = LiveTrace(DST, interval_s=1.0)
    for s in samples:
        live.apply(s)
    live.set_address(DST)
    live_snap = live.snapshot(window, model.score_many, "pingplotter")
    path = tmp_path / "t.pingmos"
    rec = SessionRecorder(path, SessionInfo(DST, DST, "icmp", 1.0, 30, 1000.0), flush_interval_s=0)
    for s in samples:
        rec.record(s)
    rec.close()
    with open_session(path) as session:
        saved_snap = session.snapshot(window, model, "pingplotter")
    live_d, saved_d = diagnose(live_snap), diagnose(saved_snap)
    # One judgement; only the words for "not enough samples" differ: the saved record can get no more rounds.
    assert (live_snap.record, saved_snap.record) == ("live", "finished")
    assert dataclasses.replace(saved_d, record="live", verdict=live_d.verdict) == live_d and live_d.per_round
    assert (saved_d.verdict == live_d.verdict) == (live_d.rounds_needed is None)
    saved_snap = dataclasses.replace(saved_snap, record="live")  # told it is live, it words it as live
    assert diagnose(saved_snap) == live_d
    assert json.loads(to_json(live_snap))["diagnosis"] == json.loads(to_json(saved_snap))["diagnosis"]
    assert to_table(live_snap).splitlines()[-1] == to_table(saved_snap).splitlines()[-1]
    if rounds == 300 and window is None:
        assert live_d.status == PROBLEM and live_d.deteriorates_at_ttl == 4 and live_d.rate_limited_ttls == (2,)
    if rounds == 40:
        assert live_d.status in (UNDECIDED, PROBLEM) and live_d.deteriorates_at_ttl in (None, 4)


def test_an_admin_prohibited_router_is_named_live_and_from_the_saved_session(tmp_path):
    # icmp-unreachable-not-terminal: router 3 refuses everything it would forward with ICMP 3/13.
    from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork

    clock = FakeClock()
    path = [FakeHop(f"198.18.{k}.2", 2.0 * (k + 1), refuse_code=13 if k == 2 else None) for k in range(5)]
    path_file = tmp_path / "refused.pingmos"
    rec = SessionRecorder(path_file, SessionInfo(DST, DST, "icmp", 1.0, 30, 1000.0), flush_interval_s=0)
    live = LiveTrace(DST, network_factory=lambda: FakeNetwork(path, clock), tracer_clock=clock, source="198.18.0.1",
                     rounds=20, mode_description="simulated")  # fmt: skip
    live.add_observer(rec.record)
    live.start()
    assert live.join(10)
    rec.close()
    model = load_model("pingplotter")
    live_d = diagnose(live.snapshot(None, model.score_many, "pingplotter"))
    assert live_d.status == PROBLEM and live_d.deteriorates_at_ttl == 4
    assert "blocked at hop 4 (198.18.2.2)" in live_d.verdict and "admin prohibited, from 198.18.2.2" in live_d.verdict
    with open_session(path_file) as session:
        saved_d = diagnose(session.snapshot(None, model, "pingplotter"))
    assert saved_d.verdict == live_d.verdict and saved_d.status == PROBLEM


def test_an_echo_witness_kept_in_the_session_is_weighed_when_it_is_opened(tmp_path):
    from pingmos.diagnosis import EchoWitness
    from pingmos.session.evidence import witness_event, witnesses_from_events

    samples = lab_samples(300, seed=9)
    path = tmp_path / "w.pingmos"
    rec = SessionRecorder(path, SessionInfo(DST, DST, "icmp", 1.0, 30, 1000.0), flush_interval_s=0)
    for s in samples:
        rec.record(s)
    witness = {3: EchoWitness("198.18.2.2", (3.0,) * 199 + (None,), round=300, taken_at=2000.0)}
    rec.record_event(witness_event(witness))
    rec.close()
    model = load_model("pingplotter")
    with open_session(path) as session:
        events = session.events()
        snap = session.snapshot(None, model, "pingplotter")
    assert witnesses_from_events(events) == witness
    assert "hop 3 (198.18.2.2): 1 of 200 lost" in events[-1].data["message"]
    # The report of the saved session weighs it: the verdict names the echo and its time.
    import contextlib
    import io

    from pingmos import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["report", "--session", str(path), "--model", "pingplotter", "--format", "json"]) == 0
    d = json.loads(out.getvalue())["diagnosis"]
    assert d == diagnose(snap, witnesses=witness).to_json() and "direct echo to hop 3" in d["verdict"]
