import pytest

from pingmos.engine.events import Sample
from pingmos.scoring.formulas import pingplotter
from pingmos.state import TraceState

DST = "198.18.0.9"


def scorer(stats):
    return pingplotter.score(stats.avg_ms, stats.jitter_ms, stats.loss_pct)


def sample(round_no, ttl, rtt, responder=None, reached=False):
    return Sample(round_no, ttl, round_no * 100 + ttl, 1000.0 + round_no, rtt, responder, reached)


def make_state(rows):
    st = TraceState("lab", DST, "icmp", 1.0)
    for s in rows:
        st.apply(s)
    return st


def test_window_takes_the_last_n_samples_in_round_order_even_when_settled_out_of_order():
    rows = [sample(r, 1, rtt, "198.18.0.2") for r, rtt in ((2, 30.0), (0, 10.0), (3, None), (1, 20.0))]
    rows.append(sample(0, 2, 5.0, DST, reached=True))
    st = make_state(rows)
    hop = st.snapshot(window=2, scorer=scorer, model_name="pingplotter").hops[0]
    # The newest probe (round 3) was lost: "last" is "-" (None), never round 2's older reply.
    assert (hop.sent, hop.received, hop.loss_pct, hop.last_ms) == (2, 1, 50.0, None)
    assert hop.last_answer_at == 1000.0 + 2  # round 2's send time
    full = st.snapshot(window=None, scorer=scorer, model_name="pingplotter").hops[0]
    assert (full.sent, full.received, full.avg_ms, full.jitter_ms) == (4, 3, 20.0, 10.0)


def test_hops_stop_at_the_destination_and_silent_hops_stay_visible():
    rows = []
    for r in range(3):
        rows += [sample(r, 1, 1.0, "198.18.0.2"), sample(r, 2, None), sample(r, 3, 3.0, DST, reached=True)]
        rows.append(sample(r, 4, 3.1, DST, reached=True))  # a probe sent before the destination was known
    snap = make_state(rows).snapshot(None, scorer, "pingplotter", names={"198.18.0.2": "r1.lab.test"}.get)
    assert [h.ttl for h in snap.hops] == [1, 2, 3]
    assert snap.destination_reached and snap.rounds == 3
    silent = snap.hops[1]
    # No reply, not the destination: no responder samples, so no score (hop_report.no_responder_samples).
    assert (silent.address, silent.loss_pct, silent.avg_ms, silent.mos, silent.r) == (None, 100.0, None, None, None)
    assert silent.unmeasured and snap.hops[2].destination and not snap.hops[2].unmeasured
    assert snap.hops[0].name == "r1.lab.test"
    assert snap.hops[2].mos == pytest.approx(scorer_mos(3.0, 0.0, 0.0))


def scorer_mos(avg, jitter, loss):
    return pingplotter.score(avg, jitter, loss).mos


def test_unreached_destination_shows_one_silent_row_after_the_last_answer():
    rows = []
    for r in range(2):
        rows.append(sample(r, 1, 1.0, "198.18.0.2"))
        rows += [sample(r, ttl, None) for ttl in range(2, 31)]
    snap = make_state(rows).snapshot(None, scorer, "pingplotter")
    assert [h.ttl for h in snap.hops] == [1, 2]
    assert not snap.destination_reached


def test_several_responders_are_counted():
    rows = [sample(r, 1, 1.0, "198.18.0.2" if r % 3 else "198.18.0.6") for r in range(6)]
    hop = make_state(rows).snapshot(None, scorer, "m").hops[0]
    assert hop.responders == {"198.18.0.2": 4, "198.18.0.6": 2}
    assert hop.address == "198.18.0.2"


def test_scorer_errors_are_kept_for_the_user():
    hop = make_state([sample(0, 1, 1.0, DST, True)]).snapshot(None, lambda s: "boom.py:3: ZeroDivisionError", "m")
    assert hop.hops[0].mos is None and hop.hops[0].score_error == "boom.py:3: ZeroDivisionError"
