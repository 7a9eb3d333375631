"""One window of data gives one answer: the same samples fed live and reopened from a saved session diagnose
alike, and the report, the JSON and the verdict all carry that one result."""

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
    assert live_d == saved_d and live_d.per_round
    assert json.loads(to_json(live_snap))["diagnosis"] == json.loads(to_json(saved_snap))["diagnosis"]
    assert to_table(live_snap).splitlines()[-1] == to_table(saved_snap).splitlines()[-1]
    if rounds == 300 and window is None:
        assert live_d.status == PROBLEM and live_d.deteriorates_at_ttl == 4 and live_d.rate_limited_ttls == (2,)
    if rounds == 40:
        assert live_d.status in (UNDECIDED, PROBLEM) and live_d.deteriorates_at_ttl in (None, 4)
