"""One view, one round count: what a report's header (and the window's status line) says and what the verdict says
come from the same numbers, and where the verdict judged fewer rounds than the header counts it says so.

A monitor's session once read "58 rounds" in its header and "56 rounds" in its diagnosis: the header counts the
settled probes of the busiest TTL (TraceSnapshot.rounds), the diagnosis the destination's own, and the
destination's last lost probes settle at their timeout, after the routers' answers of the same rounds, so a
session file rolled (or an agent stopped) in between holds two rounds fewer at the destination."""

from __future__ import annotations

import re

import pytest

from pingmos.diagnosis import NO_PROBLEM, UNDECIDED, diagnose, judged_rounds_words
from pingmos.engine.events import Sample
from pingmos.live_trace import LiveTrace
from pingmos.report.formats import to_table
from pingmos.scoring import load_model
from pingmos.session import SessionInfo, SessionRecorder, open_session

DST = "198.18.1.2"
ROUTER = "198.18.0.2"


def samples(rounds: int, dest_rounds: int) -> list[Sample]:
    """Hop 1 (a router) answers every round; the destination (hop 2) the first ``dest_rounds`` of them: its
    probes of the last rounds are still out (a lost probe settles at its timeout), or outside the record."""
    out = []
    for r in range(rounds):
        out.append(Sample(r, 1, 2 * r, 1000.0 + r, 1.0 + (r % 2) * 0.1, ROUTER, False, "time_exceeded"))
        if r < dest_rounds:
            out.append(Sample(r, 2, 2 * r + 1, 1000.0 + r, 2.0 + (r % 3) * 0.1, DST, True, "echo_reply"))
    return out


def stated_totals(text: str) -> list[int]:
    """Every count of rounds the text states as the view's total ("58 rounds", the 58 of "56 of 58 rounds");
    "about 325 more rounds" is a count still wanted, not one measured."""
    return [int(m.group(2) or m.group(1)) for m in re.finditer(r"\b(\d+)(?: of (\d+))? rounds?\b", text)]


@pytest.fixture(scope="module")
def model():
    m = load_model("g107")
    yield m
    m.close()


def test_a_record_whose_destination_holds_fewer_rounds_says_both_counts(tmp_path, model):
    path = tmp_path / "agent.pingmos"
    rec = SessionRecorder(path, SessionInfo(DST, DST, "icmp", 1.0, 30, 1000.0), flush_interval_s=0)
    for s in samples(58, 56):
        rec.record(s)
    rec.close()
    with open_session(path) as session:
        snap = session.snapshot(None, model, "g107")
    d = diagnose(snap)
    header, *_ = to_table(snap).splitlines()
    assert "58 rounds every 1 s" in header
    # Before: "not enough samples in this record: 56 rounds; a decision needs about 381" under a header of 58.
    assert d.status == UNDECIDED
    assert "not enough samples in this record: 56 of 58 rounds at the destination" in d.verdict
    assert (d.rounds_held, d.rounds) == (56, 58)
    assert "56 of 58 rounds at the destination" in d.short
    assert set(stated_totals(d.verdict)) == set(stated_totals(d.short)) == {snap.rounds} == {58}


@pytest.mark.parametrize(("rounds", "dest_rounds", "window", "words"), [
    (1000, 998, None, "over 998 of 1000 rounds at the destination."),  # the destination's last 2 still out
    (1000, 1000, 600, "over 600 of 1000 rounds at the destination."),  # judged over the window
    (1000, 1000, None, "over 1000 rounds."),  # the same count: said once
])  # fmt: skip
def test_a_verdict_states_the_rounds_it_judged_beside_the_views_count(model, rounds, dest_rounds, window, words):
    """The agent's way (a history kept to the window, a snapshot of the window): before, "over 1000 rounds" for
    a verdict judged over the window's 600, and over 998 where the destination's last 2 had not settled."""
    trace = LiveTrace(DST, interval_s=1.0, keep_samples=window)
    for s in samples(rounds, dest_rounds):
        trace.apply(s)
    trace.set_address(DST)
    snap = trace.snapshot(window, model.score_many, "g107")
    d = diagnose(snap)
    assert d.status == NO_PROBLEM and d.verdict.endswith(words), d.verdict
    assert snap.rounds == trace.status().rounds == rounds  # the header's and the status line's count: one function
    assert set(stated_totals(to_table(snap))) == {rounds}


def test_the_wording():
    assert judged_rounds_words(56, 58) == "56 of 58 rounds at the destination"
    assert judged_rounds_words(58, 58) == judged_rounds_words(58, None) == "58 rounds"
    assert judged_rounds_words(1, 1) == "1 round"
    assert judged_rounds_words(1, 2) == "1 of 2 rounds at the destination"
