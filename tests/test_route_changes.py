"""Route changes: found per flow from a hop's samples, carried in the snapshot and its formats."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingmos.engine.events import Sample
from pingmos.report.formats import to_json, to_table
from pingmos.route_changes import RouteChange, RouteChangeTracker, find_route_changes
from pingmos.scoring.formulas import pingplotter
from pingmos.state import TraceState

A, B, C, DST = "198.18.1.2", "198.19.1.2", "198.18.7.2", "198.18.3.2"


def scorer(stats):
    return pingplotter.score(stats.avg_ms, stats.jitter_ms, stats.loss_pct)


def test_no_samples_or_no_answers_give_no_change():
    assert find_route_changes(2, [], [], []) == []
    assert find_route_changes(2, [0, 1, 2], [None, None, None], [0.0, 1.0, 2.0]) == []


def test_a_change_is_where_the_responder_moves_and_losses_in_between_say_nothing():
    rounds = list(range(6))
    responders = [A, A, None, B, B, A]
    changes = find_route_changes(2, rounds, responders, [100.0 + r for r in rounds])
    assert changes == [RouteChange(2, 3, 103.0, 0, A, B), RouteChange(2, 5, 105.0, 0, B, A)]


def test_flows_meeting_different_routers_are_no_change_but_one_flow_moving_is():
    # Two flows alternate over two equal-cost routers: that is load balancing, not a route change.
    rounds = list(range(8))
    balanced = [A, B] * 4
    assert find_route_changes(2, rounds, balanced, [0.0] * 8, flows=2) == []
    # The same data read as one flow is a change every round (what a flapping route looks like).
    assert len(find_route_changes(2, rounds, balanced, [0.0] * 8, flows=1)) == 7
    # Flow 1 moves from B to C at round 5.
    moved = [A, B, A, B, A, C, A, C]
    assert find_route_changes(2, rounds, moved, [float(r) for r in rounds], flows=2) == [
        RouteChange(2, 5, 5.0, 1, B, C)
    ]
    with pytest.raises(ValueError):
        find_route_changes(2, rounds, moved, [0.0] * 8, flows=0)


def _trace(responders_by_round, flows=1):
    st = TraceState("lab", DST, "udp", 1.0, flows)
    for r, responder in enumerate(responders_by_round):
        st.apply(Sample(r, 1, 10 + r, 1000.0 + r, 1.0, "198.18.0.2"))
        st.apply(Sample(r, 2, 20 + r, 1000.0 + r, None if responder is None else 2.0, responder))
        st.apply(Sample(r, 3, 30 + r, 1000.0 + r, 3.0, DST, True))
    return st


def test_the_snapshot_records_the_change_and_keeps_each_responders_count():
    snap = _trace([A, A, A, B, B, B, B]).snapshot(None, scorer, "pingplotter")
    hop2 = snap.hops[1]
    assert hop2.responders == {A: 3, B: 4} and hop2.address == B
    assert snap.route_changes == (RouteChange(2, 3, 1003.0, 0, A, B),) == hop2.route_changes
    assert snap.hops[0].route_changes == () and snap.hops[2].route_changes == ()
    # A window that starts after the change no longer mixes two paths, and says so by listing no change.
    recent = _trace([A, A, A, B, B, B, B]).snapshot(3, scorer, "pingplotter").hops[1]
    assert recent.responders == {B: 3} and recent.route_changes == ()


def test_formats_show_route_changes_only_when_there_are_some():
    changed = _trace([A, A, B, B]).snapshot(None, scorer, "pingplotter")
    doc = json.loads(to_json(changed))
    assert doc["route_changes"] == [{"ttl": 2, "round": 2, "sent_at": 1002.0, "flow": 0, "from": A, "to": B}]
    assert f"route changes (1): hop 2 round 2: {A} -> {B}" in to_table(changed)
    steady = _trace([A, A, A]).snapshot(None, scorer, "pingplotter")
    assert "route_changes" not in json.loads(to_json(steady)) and "route changes" not in to_table(steady)
    balanced = _trace([A, B, A, B], flows=2).snapshot(None, scorer, "pingplotter")
    assert balanced.route_changes == () and "+1" in to_table(balanced)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([A, B, C, None]), min_size=0, max_size=40),
    st.integers(1, 3),
    st.randoms(use_true_random=False),
)
def test_the_incremental_tracker_agrees_with_the_whole_history_whatever_the_settling_order(responders, flows, rnd):
    rounds = list(range(len(responders)))
    order = rounds[:]
    rnd.shuffle(order)  # replies and timeouts settle out of round order
    tracker = RouteChangeTracker(4, flows)
    for r in order:
        tracker.add(r, responders[r], 1000.0 + r)
    expected = find_route_changes(4, rounds, responders, [1000.0 + r for r in rounds], flows)
    assert tracker.changes == expected
