"""The one history: the destination's TTL follows the path both ways, each row holds its own responder's replies,
a router's destination-unreachable ends the path, and live and replayed samples give the same snapshot."""

from pathlib import Path

import numpy as np
import pytest

from pingmos.engine.events import Sample
from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork
from pingmos.engine.tracer import Tracer, TraceSettings
from pingmos.live_trace import LiveTrace
from pingmos.scoring import load_model
from pingmos.session import SessionInfo, open_session, save_session
from pingmos.state import TraceHistory, TraceState, unreachable_words

DATA = Path(__file__).parent / "data"
R = ["198.18.0.2", "198.18.1.2", "198.18.2.2", "198.18.3.2"]
DST = "198.18.4.2"
MODEL = load_model("pingplotter")


def probe(rnd, ttl, path_len, lost=False):
    """Round ``rnd``'s probe at ``ttl`` on a path of ``path_len`` hops (routers R, then the destination)."""
    sent_at = 1000.0 + rnd + ttl / 100
    if lost:
        return Sample(rnd, ttl, rnd * 100 + ttl, sent_at, None, None)
    if ttl >= path_len:
        return Sample(rnd, ttl, rnd * 100 + ttl, sent_at, 10.0, DST, True, "echo_reply")
    return Sample(rnd, ttl, rnd * 100 + ttl, sent_at, 2.0 * ttl, R[ttl - 1], False, "time_exceeded")


def state_of(samples):
    st = TraceState(DST, DST, "icmp", 0.2)
    for s in samples:
        st.apply(s)
    return st


def test_a_longer_route_moves_the_destination_out_and_its_row_holds_only_its_replies():
    # 4 hops for rounds 0-4 (destination at TTL 4), then 5 hops (TTL 4 is router 198.18.3.2, TTL 5 probed again).
    samples = [probe(r, t, 4) for r in range(5) for t in range(1, 5)]
    samples += [probe(r, t, 5) for r in range(5, 10) for t in range(1, 6)]
    st = state_of(samples)
    assert st.destination_ttl == 5
    snap = st.snapshot(None, MODEL, "pingplotter")
    assert [h.ttl for h in snap.hops] == [1, 2, 3, 4, 5] and snap.destination_reached
    hop4, dest = snap.hops[3], snap.hops[4]
    assert hop4.responders == {R[3]: 5} and hop4.sent == 5  # the router's own replies only
    # the destination's row: its replies at TTL 4 while the path was shorter, at TTL 5 since: one per round
    assert dest.address == DST and dest.sent == 10 and dest.received == 10
    assert dest.window_rounds.tolist() == list(range(10))


def test_after_a_transient_shortening_the_real_destination_row_comes_back():
    samples = [probe(r, t, 5) for r in range(5) for t in range(1, 6)]
    samples += [probe(r, t, 4) for r in range(5, 8) for t in range(1, 5)]  # shorter: TTL 5 is not probed
    st = state_of(samples)
    assert st.destination_ttl == 4
    assert [h.ttl for h in st.snapshot(None, MODEL, "m").hops] == [1, 2, 3, 4]
    samples = [probe(r, t, 5) for r in range(8, 12) for t in range(1, 6)]  # 5 hops again
    for s in samples:
        st.apply(s)
    assert st.destination_ttl == 5
    snap = st.snapshot(None, MODEL, "m")
    assert [h.ttl for h in snap.hops] == [1, 2, 3, 4, 5]
    assert snap.hops[3].responders == {R[3]: 9}
    assert snap.hops[4].responders == {DST: 12} and snap.hops[4].window_rounds.tolist() == list(range(12))


def test_the_destination_row_counts_a_round_lost_only_when_no_ttl_reached_the_destination():
    samples = [probe(0, t, 5) for t in range(1, 6)] + [probe(1, t, 5) for t in range(1, 5)]
    samples.append(probe(1, 5, 5, lost=True))
    hop = state_of(samples).snapshot(None, MODEL, "m").hops[4]
    assert (hop.sent, hop.received) == (2, 1)
    assert np.isnan(hop.window_rtts_ms[1]) and hop.window_rtts_ms[0] == 10.0


@pytest.mark.parametrize(
    ("code", "words"),
    [(13, "admin prohibited, from 198.18.2.2"), (1, "host unreachable, from 198.18.2.2"), (None, "code not recorded")],
)
def test_a_routers_unreachable_ends_the_path_there_in_words(code, words):
    samples = []
    for r in range(3):
        samples += [probe(r, t, 9) for t in range(1, 4)]
        samples += [
            Sample(r, t, r * 100 + t, 1000.0 + r, 6.0, R[2], False, "dest_unreachable", code) for t in range(4, 8)
        ]
    snap = state_of(samples).snapshot(None, MODEL, "m")
    assert [h.ttl for h in snap.hops] == [1, 2, 3, 4]
    assert not snap.destination_reached
    assert snap.hops[3].unreachable is not None and words in snap.hops[3].unreachable
    assert all(h.unreachable is None for h in snap.hops[:3])


def test_unreachable_words_follow_the_address_family():
    assert unreachable_words(1, "2001:db8::1") == "admin prohibited, from 2001:db8::1"
    assert unreachable_words(10, "198.18.2.2") == "host administratively prohibited, from 198.18.2.2"
    assert unreachable_words(None, None) == "code not recorded"


def test_a_hop_silent_for_the_whole_window_keeps_its_last_known_address():
    samples = [probe(r, t, 3) for r in range(5) for t in range(1, 4)]
    samples += [probe(r, 3, 3, lost=True) for r in range(5, 15)] + [
        probe(r, t, 3) for r in range(5, 15) for t in (1, 2)
    ]
    hop = state_of(samples).snapshot(10, MODEL, "m").hops[2]
    assert (hop.address, hop.loss_pct, hop.responders) == (DST, 100.0, {})


def test_every_hop_carries_its_window_round_by_round():
    samples = [probe(r, t, 3, lost=(r == 3 and t == 2)) for r in range(6) for t in range(1, 4)]
    hop = state_of(samples).snapshot(4, MODEL, "m").hops[1]
    assert hop.window_rounds.dtype == np.int64 and hop.window_rounds.tolist() == [2, 3, 4, 5]
    assert hop.window_rtts_ms.dtype == np.float64 and np.isnan(hop.window_rtts_ms).tolist() == [0, 1, 0, 0]


def test_an_answer_settling_behind_later_rounds_is_put_in_its_place_and_forgetting_keeps_the_order():
    h = TraceHistory()
    for r in (0, 2, 3, 1, 5, 4):
        h.apply(probe(r, 1, 5))
    assert h.hops[1].rounds[: h.hops[1].n].tolist() == [0, 1, 2, 3, 4, 5]
    h.drop_before(1002.0)
    assert h.hops[1].rounds[: h.hops[1].n].tolist() == [2, 3, 4, 5]


# -- the recorded sessions of the case reroute-dest-dropped (a 5-hop lab, recorded by an engine whose destination
# TTL only ever moved down: TTL 5 was never probed again after the path got shorter).


def test_recorded_shorter_then_longer_ends_at_the_destination_with_its_own_replies():
    with open_session(DATA / "shorter_then_longer.pmsession") as session:
        snap = session.snapshot(None, MODEL, "pingplotter")
    assert [h.ttl for h in snap.hops] == [1, 2, 3, 4, 5] and snap.destination_reached
    hop4, dest = snap.hops[3], snap.hops[4]
    assert DST not in hop4.responders and hop4.address == R[3]
    # 7 replies at TTL 5 before the change, 10 at TTL 4 during it; none of router 198.18.3.2's
    assert dest.address == DST and dest.responders == {DST: 17} and dest.sent == 17


def test_recorded_longer_puts_the_destination_beyond_the_router_that_answers_now():
    with open_session(DATA / "longer.pmsession") as session:
        snap = session.snapshot(None, MODEL, "pingplotter")
    assert [h.ttl for h in snap.hops] == [1, 2, 3, 4, 5]
    assert snap.hops[3].responders == {R[3]: 29}  # hop 4 is the router, not "the destination"
    assert snap.hops[4].address == DST and snap.hops[4].sent == 1  # the one reply of round 0, at TTL 4


# -- one snapshot whichever way the samples came


def traced(rounds=40):
    path = [
        FakeHop("198.18.0.2", 2.0, jitter_ms=1.0),
        FakeHop("198.18.0.3", 4.0, jitter_ms=3.0, loss_pct=30.0),
        FakeHop(None, 0.0),
        FakeHop("198.18.0.99", 30.0, jitter_ms=20.0, loss_pct=10.0),
    ]
    clock = FakeClock()
    out = []
    settings = TraceSettings("198.18.0.99", rounds=rounds)
    Tracer(settings, FakeNetwork(path, clock, seed=5), out.append, clock, "198.18.0.1").run()
    return out


@pytest.mark.parametrize("window", [None, 10])
def test_live_and_a_saved_session_give_the_same_snapshot(tmp_path, window):
    samples = traced()
    live = LiveTrace("target.lab.test", names=None)
    live.set_address("198.18.0.99")
    for s in samples:
        live.apply(s)
    info = SessionInfo(target="target.lab.test", address="198.18.0.99", protocol="icmp", interval_s=1.0, max_ttl=30)
    save_session(tmp_path / "s.pmsession", info, samples)
    with open_session(tmp_path / "s.pmsession") as session:
        replayed = session.snapshot(window, MODEL, "pingplotter")
    shown = live.snapshot(window, MODEL.score_many, "pingplotter")
    assert replayed.hops == shown.hops and replayed.route_changes == shown.route_changes
    assert (replayed.rounds, replayed.destination_reached) == (shown.rounds, shown.destination_reached)
    for a, b in zip(replayed.hops, shown.hops, strict=True):
        assert a.window_rounds.tolist() == b.window_rounds.tolist()
        assert np.array_equal(a.window_rtts_ms, b.window_rtts_ms, equal_nan=True)


def test_keep_samples_bounds_each_hop_and_keeps_the_latest():
    h = TraceHistory(keep_samples=100)
    for r in range(1000):
        h.apply(probe(r, 1, 1))
    hop = h.hops[1]
    assert 100 <= hop.n < 100 + 64 and hop.rounds[hop.n - 1] == 999
    assert h.destination_ttl() == 1


def test_the_report_formats_say_where_the_path_ends_and_why():
    import csv
    import io
    import json

    from pingmos.report.formats import to_csv, to_json, to_table

    samples = []
    for r in range(3):
        samples += [probe(r, t, 9) for t in range(1, 4)]
        samples += [Sample(r, 4, r * 100 + 4, 1000.0 + r, 6.0, R[2], False, "dest_unreachable", 13)]
    snap = state_of(samples).snapshot(None, MODEL, "m")
    hops = json.loads(to_json(snap))["hops"]
    assert hops[3]["unreachable"] == "admin prohibited, from 198.18.2.2" and "unreachable" not in hops[2]
    assert "hop 4 unreachable: admin prohibited, from 198.18.2.2" in to_table(snap)
    rows = list(csv.DictReader(io.StringIO(to_csv(snap))))
    assert rows[3]["unreachable"] == "admin prohibited, from 198.18.2.2" and rows[2]["unreachable"] == ""
