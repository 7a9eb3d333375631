"""The diagnosis: status problem / no-problem / undecided on confidence intervals, carry-on judged per round."""

import dataclasses
import random
from pathlib import Path

import numpy as np
import pytest

from pingmos.diagnosis import (
    NO_PROBLEM,
    PROBLEM,
    UNDECIDED,
    EchoWitness,
    candidates_for_witness,
    degraded,
    diagnose,
    range_words,
    wilson_bound_samples,
    witness_count,
)
from pingmos.engine.events import Sample
from pingmos.scoring import load_model
from pingmos.scoring.formulas import pingplotter
from pingmos.session import open_session
from pingmos.state import TraceState

DATA = Path(__file__).parent / "data"


def scorer(w):
    return pingplotter.score(w.avg_ms, w.jitter_ms, w.loss_pct)


def addr(ttl):
    return f"198.18.{ttl - 1}.2"


def lab_trace(hops, rounds, link_loss=None, reached=True, seed=7):
    """A TraceState fed like a lab trace. ``hops``: per TTL (rtt_ms, own_loss_pct) or None for a silent router;
    the last is the destination. Own loss is the router's own (ICMP rate limiting: that probe only).
    ``link_loss``: (ttl, pct): in that share of rounds the link into ``ttl`` is down for the round (a burst),
    so every probe of the round to ``ttl`` and beyond is lost."""
    rng = random.Random(seed)
    st = TraceState("target.lab.test", addr(len(hops)), "icmp", 1.0)
    for r in range(rounds):
        down_from = link_loss[0] if link_loss and rng.random() * 100 < link_loss[1] else None
        for ttl, spec in enumerate(hops, start=1):
            dest = reached and ttl == len(hops)
            lost = spec is None or rng.random() * 100 < spec[1] or (down_from is not None and ttl >= down_from)
            if lost:
                st.apply(Sample(r, ttl, r * 64 + ttl, 1000.0 + r, None, None))
            else:
                rtt = spec[0] + rng.uniform(0, 1.0)
                st.apply(Sample(r, ttl, r * 64 + ttl, 1000.0 + r, rtt, addr(ttl), dest))
    return st


def snapshot(hops, rounds=300, **kw):
    return lab_trace(hops, rounds, **kw).snapshot(None, scorer, "pingplotter", names={addr(2): "r2.lab.test"}.get)


CLEAN4 = [(2, 0), (4, 0), (6, 0), (8, 0)]


def test_a_clean_path_is_no_problem_only_once_the_intervals_rule_a_problem_out():
    d = diagnose(snapshot(CLEAN4, rounds=400))
    assert d.status == NO_PROBLEM and d.deteriorates_at_ttl is None and d.rate_limited_ttls == ()
    assert d.verdict.startswith("No path problem") and "198.18.3.2" in d.verdict
    # 0 lost of 30: the loss interval reaches 11 %, far above 1 %: not enough samples, and it says how many more.
    d = diagnose(snapshot(CLEAN4, rounds=30))
    assert d.status == UNDECIDED and d.deteriorates_at_ttl is None
    assert d.rounds_needed == wilson_bound_samples(0.0, 0.01) - 30  # 381 samples for 0 lost to rule out 1 %
    assert f"about {d.rounds_needed} more rounds" in d.verdict and "Not enough samples yet" in d.verdict


def test_loss_on_a_link_is_named_at_the_hop_after_it():
    d = diagnose(snapshot([(2, 0), (4, 0), (6, 0), (8, 0), (10, 0)], link_loss=(3, 5)))
    assert d.status == PROBLEM and d.deteriorates_at_ttl == 3 and d.rate_limited_ttls == ()
    assert "between hop 2 (198.18.1.2, r2.lab.test) and hop 3 (198.18.2.2)" in d.verdict
    assert "carries on to the destination, hop 5 (198.18.4.2)" in d.verdict


def test_few_rounds_of_a_real_loss_are_undecided_never_a_wrong_hop():
    for seed in range(20):
        d = diagnose(snapshot([(2, 0), (4, 0), (6, 0), (8, 0), (10, 0)], rounds=30, link_loss=(3, 5), seed=seed))
        assert d.status in (UNDECIDED, PROBLEM)
        assert d.deteriorates_at_ttl in (None, 3)
        if d.status == UNDECIDED:
            assert d.rounds_needed is not None and d.rounds_needed > 0


def test_a_rate_limiting_router_is_flagged_and_is_not_a_path_problem():
    d = diagnose(snapshot([(2, 0), (4, 30), (6, 0), (8, 0)], rounds=400))
    assert d.status == NO_PROBLEM and d.rate_limited_ttls == (2,)
    assert "hop 2 (198.18.1.2, r2.lab.test) shows loss" in d.verdict and "rate limiting" in d.verdict


def test_a_rate_limiting_router_is_said_so_while_the_destination_is_undecided():
    # 30 rounds: the destination's 0 lost cannot rule out 1 % loss yet, but hop 2's own loss is known to be its own
    # (the hops after it lose credibly less), so no front end paints it as the path's problem meanwhile.
    d = diagnose(snapshot([(2, 0), (4, 40), (6, 0), (8, 0)], rounds=30))
    assert d.status == UNDECIDED and d.rate_limited_ttls == (2,), d.verdict
    assert d.deteriorates_at_ttl is None and "rate limiting" in d.verdict and "Not enough samples yet" in d.verdict


def test_rate_limiting_in_front_of_real_loss_names_the_real_loss():
    # Hop 2 drops 30 % of its own replies; the link into hop 4 is down in 6 % of the rounds.
    d = diagnose(snapshot([(2, 0), (4, 30), (6, 0), (8, 0), (10, 0)], link_loss=(4, 6)))
    assert d.status == PROBLEM and d.deteriorates_at_ttl == 4 and d.rate_limited_ttls == (2,)


def test_a_router_that_is_rate_limited_and_behind_a_lossy_link_is_where_it_starts():
    d = diagnose(snapshot([(2, 0), (4, 0), (6, 20), (8, 0), (10, 0)], link_loss=(3, 6)))
    assert d.status == PROBLEM and d.deteriorates_at_ttl == 3


def test_silent_routers_are_skipped():
    d = diagnose(snapshot([(2, 0), None, (6, 0), None, (10, 0)], link_loss=(3, 8)))
    assert d.deteriorates_at_ttl == 3
    d = diagnose(snapshot([(2, 0), None, (6, 0), None, (10, 0)], rounds=400))
    assert d.status == NO_PROBLEM


def test_the_destinations_own_loss_is_at_the_destination():
    d = diagnose(snapshot([(2, 0), (4, 0), (6, 8)]))
    assert d.status == PROBLEM and d.deteriorates_at_ttl == 3 and "at the destination" in d.verdict


def test_latency_is_located_where_it_steps_over_the_threshold():
    d = diagnose(snapshot([(2, 0), (150, 0), (320, 0), (330, 0)], rounds=50))
    assert d.status == PROBLEM and d.deteriorates_at_ttl == 3 and "latency" in d.verdict
    # A router slow to answer for itself only (ICMP deprioritised): flagged, no path problem.
    d = diagnose(snapshot([(2, 0), (400, 0), (8, 0), (10, 0)], rounds=400))
    assert d.status == NO_PROBLEM and d.rate_limited_ttls == (2,)


def test_destination_not_reached_is_undecided_and_more_rounds_do_not_help():
    d = diagnose(snapshot([(2, 0), (4, 0), (6, 25), None], reached=False))
    assert d.status == UNDECIDED and d.rounds_needed is None and "cannot be seen" in d.verdict


def test_degraded_needs_the_whole_interval_beyond_the_threshold():
    snap = snapshot([(2, 0), (4, 0)], rounds=10)
    hop = snap.hops[0]
    assert degraded(hop) == {}
    one = dataclasses.replace(hop, received=9, loss_pct=10.0, loss_ci_pct=None)
    assert "loss" not in degraded(one)  # 1 of 10: the interval reaches down to 0.2 %, could be below 1 %
    many = dataclasses.replace(hop, received=6, loss_pct=40.0, loss_ci_pct=None)
    assert degraded(many)["loss"].startswith("loss 40.0 % (95 % CI")


def test_an_unreachable_ends_the_path_and_is_named():
    snap = snapshot([(2, 0), (4, 0), (6, 0), (7, 0)], rounds=5, reached=False)
    last = dataclasses.replace(snap.hops[-1], unreachable="admin prohibited, from 198.18.2.2")
    snap = dataclasses.replace(snap, hops=(*snap.hops[:-1], last))
    d = diagnose(snap)
    assert d.status == PROBLEM and d.deteriorates_at_ttl == 4
    assert "blocked at hop 4" in d.verdict and "admin prohibited, from 198.18.2.2" in d.verdict


# -- the cases of ../shared/cases, copied into data/ -------------------------------------------------------------


# An mtr --raw log does not record its target: the case commands name it (pingmos report --session FILE TARGET).
TARGETS = {"independent_losses.mtr-raw.txt": "198.18.2.2", "outage_last_10_rounds.mtr-raw.txt": "198.18.1.2"}


def _session_snapshot(name, window=None):
    with open_session(DATA / name, target=TARGETS.get(name)) as s:
        return s.snapshot(window, load_model("pingplotter"), "pingplotter")


@pytest.mark.parametrize(
    ("name", "lossy", "at", "first"),
    [("independent_losses.mtr-raw.txt", 2, 3, 1), ("live_independent_losses.pmsession", 4, 5, 4)],
)
def test_forward_loss_aggregate_independent_losses_are_not_forward_loss(name, lossy, at, first):
    # The fault class (carry-on judged on aggregates) stays fixed: the lossy router is never named as *the* start.
    # The case expected "hop 2 rate limiting, deteriorates at 3"; the lab showed that data with these statistics
    # also come from per-packet drops on the link into that router (LASTLINK, 10 % per packet on r3 -> r4: hop 3
    # 0.0 %, hop 4 10.0 % (CI 7.4-13.3), destination 10.0 % (7.4-13.3), lost rounds coinciding only by chance),
    # where "rate limiting, problem at the destination" named the wrong hop in 6 of 7 runs. The router's loss is
    # not credibly different from the destination's, so the honest answer is the range: it starts at the router
    # or after it, at or before the destination; the router is not called rate limiting. In the 100 rounds of the
    # mtr log hop 1's 0 lost against the destination's 10 (Fisher p 0.0008) no longer clears hop 1 at the hop's
    # share of the family level (0.002 over 2 routers, a quarter each test: 0.00025): the range reaches hop 1.
    d = diagnose(_session_snapshot(name))
    assert d.status == PROBLEM and d.deteriorates_at_ttl is None and d.location_ttls == (first, at), d.verdict
    assert d.rate_limited_ttls == () and d.per_round
    assert range_words((first, at)) in d.verdict
    assert (f"look at hop {first} to hop {at} " if first > 1 else f"look at or before hop {at}") in d.verdict
    assert f"an echo witness to hop {lossy} can" in d.verdict


def test_full_loss_window_is_the_worst_score_and_keeps_its_address():
    # The log's last probe was still in flight when mtr stopped (not counted): the last 9 settled are all lost.
    snap = _session_snapshot("outage_last_10_rounds.mtr-raw.txt", window=9)
    dest = snap.hops[-1]
    assert (dest.loss_pct, dest.r, dest.mos, dest.address) == (100.0, 0.0, 1.0, "198.18.1.2")
    d = diagnose(snap)
    assert d.status == PROBLEM and d.deteriorates_at_ttl == 2


def test_a_summary_without_per_round_data_is_judged_from_counts_and_says_so():
    snap = _session_snapshot("live_independent_losses.pmsession")
    hops = tuple(dataclasses.replace(h, window_rounds=None, window_rtts_ms=None) for h in snap.hops)
    d = diagnose(dataclasses.replace(snap, hops=hops))
    assert not d.per_round and "judged from loss counts" in d.verdict
    # Counts cannot show that hop 4 shares the destination's loss (router 3 drops 10 % of the TTL-4 probes on its
    # own, which gives the same counts): the start is the range the same rounds give, never a named hop 4.
    assert d.status == PROBLEM and d.deteriorates_at_ttl is None and d.location_ttls == (4, 5), d.verdict
    assert d.location_ttls == diagnose(snap).location_ttls
    assert "cannot be told from loss counts alone" in d.verdict and "echo witness" not in d.verdict


def _counts_only(snap):
    return dataclasses.replace(
        snap, hops=tuple(dataclasses.replace(h, window_rounds=None, window_rtts_ms=None) for h in snap.hops)
    )


def test_from_counts_a_router_rate_limiting_as_much_as_the_loss_beyond_it_is_a_range_not_the_start():
    # Hop 3 rate limits 10 % of its own replies and the link into hop 4 loses 10 % (carried on): the truth is hop
    # 4. Its counts (hop 3 about 10 %, hops 4 and 5 about 10 %) are just what a loss starting at hop 3 and carried
    # on gives: from counts alone hop 3 was named the start. The counts cannot tell the two apart: a range holding
    # both, never hop 3 named.
    rate_limited = snapshot([(2, 0), (4, 0), (6, 10), (8, 0), (10, 0)], link_loss=(4, 10), rounds=400)
    carried = snapshot([(2, 0), (4, 0), (6, 0), (8, 0), (10, 0)], link_loss=(3, 10), rounds=400)
    for full, truth in ((rate_limited, 4), (carried, 3)):
        d = diagnose(_counts_only(full))
        assert not d.per_round and d.status == PROBLEM and d.deteriorates_at_ttl is None, d.verdict
        assert d.location_ttls[0] <= 3 and d.location_ttls[1] >= 4, d.verdict
        assert d.rate_limited_ttls == () and "cannot be told from loss counts alone" in d.verdict
        # With the same rounds the two are told apart, each at its true hop.
        assert diagnose(full).deteriorates_at_ttl == truth, diagnose(full).verdict


# -- the echo witness ------------------------------------------------------------------------------------------------

LOSSY_BEHIND_RL = [(2, 0), (4, 0), (6, 0), (8, 0), (10, 0)]


def _ambiguous():
    # 60 rounds: the destination's few lost rounds cannot yet say whether hop 3's loss is shared.
    return snapshot([(2, 0), (4, 0), (6, 12), (8, 0)], rounds=60, seed=3)


def test_a_clean_echo_witness_settles_rate_limiting_and_a_lost_echo_never_clears():
    snap = snapshot([(2, 0), (4, 0), (6, 10), (8, 3)], rounds=300, seed=5)
    base = diagnose(snap)
    assert [h.ttl for h in candidates_for_witness(snap)] == [3]
    n = witness_count(snap.hops[2].loss_pct)
    clean = EchoWitness(addr(3), (5.0,) * n, round=snap.rounds)
    with_w = diagnose(snap, witnesses={3: clean})
    assert with_w.witnessed in ((3,), ()) and with_w.status == base.status or with_w.status == PROBLEM
    lossy = EchoWitness(addr(3), tuple(None if i % 10 == 0 else 5.0 for i in range(n)), round=snap.rounds)
    d = diagnose(snap, witnesses={3: lossy})
    assert "confirms" not in d.verdict
    if d.status == PROBLEM:
        assert d.deteriorates_at_ttl <= 3  # echo loss at hop 3 says the loss is on the path to it


def test_the_witness_is_combined_never_overrides_the_trace():
    snap = snapshot([(2, 0), (4, 0), (6, 0), (8, 0), (10, 0)], link_loss=(3, 6))
    assert diagnose(snap).deteriorates_at_ttl == 3
    clean = EchoWitness(addr(3), (5.0,) * 200, round=snap.rounds)
    d = diagnose(snap, witnesses={3: clean})
    # The same rounds lost at hop 3 and at the destination say "present"; the echo says "absent": neither wins.
    assert d.deteriorates_at_ttl != 4 and d.status in (PROBLEM, UNDECIDED)
    assert 3 in d.witnessed


def test_a_witness_goes_stale_as_new_rounds_arrive():
    snap = snapshot([(2, 0), (4, 0), (6, 0), (8, 0), (10, 0)], link_loss=(3, 6))
    old = EchoWitness(addr(3), (5.0,) * 200, round=snap.rounds - 61, taken_at=0.0)
    d = diagnose(snap, witnesses={3: old})
    assert d.witnessed == () and "stale" in d.verdict and d.deteriorates_at_ttl == 3


def test_the_echo_count_is_sized_to_the_loss_it_must_tell_apart():
    assert witness_count(7.0) == max(wilson_bound_samples(0.0, 0.07), wilson_bound_samples(0.07, 0.01))
    assert witness_count(30.0) == 20  # a big loss is told from none with few echoes
    assert witness_count(2.0) > witness_count(7.0) > 20


def test_rounds_needed_shrinks_as_rounds_come_in():
    st_needs = []
    for rounds in (40, 120, 240):
        d = diagnose(snapshot(CLEAN4, rounds=rounds))
        st_needs.append(d.rounds_needed)
    assert st_needs[0] > st_needs[1] > st_needs[2] > 0
    assert all(isinstance(n, int) for n in st_needs)


def test_per_round_arrays_reach_the_diagnosis():
    hop = snapshot(CLEAN4, rounds=5).hops[0]
    assert hop.window_rounds.dtype == np.int64 and list(hop.window_rounds) == [0, 1, 2, 3, 4]


def test_a_router_answering_too_few_rounds_at_the_start_leaves_it_open_until_echo_settles_it():
    # Hop 3 drops 85 % of its own replies and the link into it is down in 6 % of the rounds: its silence in the
    # destination's lost rounds says little, so the problem starts at hop 3 or hop 4: a problem (the destination's
    # loss is certain) located to that range, and more rounds do not help; direct echo to hop 3 decides.
    snap = snapshot([(2, 0), (4, 0), (6, 85), (8, 0), (10, 0)], link_loss=(3, 6))
    d = diagnose(snap)
    assert d.status == PROBLEM and d.deteriorates_at_ttl is None and d.location_ttls == (3, 4), d.verdict
    assert (
        d.rounds_needed is None and "more rounds alone may never settle it; an echo witness to hop 3 can" in d.verdict
    )
    assert d.short == "problem between hop 2 and hop 4"
    assert 3 in [h.ttl for h in candidates_for_witness(snap)]
    lossy = EchoWitness(addr(3), tuple(None if i % 10 == 0 else 5.0 for i in range(200)), round=snap.rounds)
    assert diagnose(snap, witnesses={3: lossy}).deteriorates_at_ttl == 3
    clean = EchoWitness(addr(3), (5.0,) * 200, round=snap.rounds)
    d = diagnose(snap, witnesses={3: clean})
    assert d.status == PROBLEM and d.deteriorates_at_ttl == 4 and d.rate_limited_ttls == (3,)


def test_per_packet_loss_on_a_link_is_never_blamed_on_a_later_hop():
    # Every probe crossing the link into hop 3 is dropped on its own (5 %, no burst): hops 3, 4 and 5 each lose
    # about 5 % in different rounds. The TTL data cannot tell this from rate limiting at hops 3 and 4 in front of a
    # lossy destination, so the answer is a range from hop 3 (an echo witness narrows it) or undecided, never
    # "problem at hop 5", and neither hop is called rate limiting.
    for seed in range(10):
        for rounds in (100, 300):
            d = diagnose(snapshot([(2, 0), (4, 0), (6, 5), (8, 5), (10, 5)], rounds=rounds, seed=seed))
            assert d.deteriorates_at_ttl in (None, 3), (seed, rounds, d.verdict)
            assert d.status != PROBLEM or d.location_ttls[0] <= 3, (seed, rounds, d.verdict)
            assert d.rate_limited_ttls == ()
    # One lossy router right after a clean one, in front of a destination losing as much: per-packet drops into it
    # or rate limiting there with the loss beyond, the counts cannot tell (the lab's LASTLINK): the range.
    d = diagnose(snapshot([(2, 0), (4, 0), (6, 0), (8, 10), (10, 10)], rounds=300))
    assert d.status == PROBLEM and d.deteriorates_at_ttl is None and d.location_ttls == (4, 5), d.verdict
    assert d.rate_limited_ttls == ()


def timed_trace(rounds, seed, down_pct=5.0, burst_ms=30.0, interval_ms=30.0, stall_ms=0.0, hops=6, into=4):
    """A TraceState fed as the lab and a loaded prober make it: the link into hop ``into`` is down for exponential
    stretches of mean ``burst_ms`` (``down_pct`` of the time, a two-state channel in time); a round's TTLs go out
    spread over the interval, each held up by a further uniform 0..``stall_ms`` (a busy machine), so a burst may
    take one probe of a round and miss the next. Only probes to ``into`` and beyond cross the link."""
    rng = random.Random(seed)
    up_mean = burst_ms * (100.0 - down_pct) / down_pct
    changes, t, down = [], 0.0, rng.random() * 100 < down_pct
    end_ms = rounds * interval_ms + hops * stall_ms + 1000.0
    while t < end_ms:
        t += rng.expovariate(1.0 / (burst_ms if down else up_mean))
        changes.append((t, down))  # down until t when down is True
        down = not down
    st = TraceState("target.lab.test", addr(hops), "icmp", interval_ms / 1000.0)
    i = 0
    for r in range(rounds):
        at = r * interval_ms
        for ttl in range(1, hops + 1):
            at = max(at, r * interval_ms + (ttl - 1) * interval_ms / hops) + rng.uniform(0.0, stall_ms)
            while changes[i][0] <= at:
                i += 1
            lost = ttl >= into and changes[i][1]
            sent = 1000.0 + at / 1000.0
            if lost:
                st.apply(Sample(r, ttl, r * 64 + ttl, sent, None, None))
            else:
                st.apply(Sample(r, ttl, r * 64 + ttl, sent, 2.0 * ttl + rng.uniform(0, 1.0), addr(ttl), ttl == hops))
    return st


@pytest.mark.parametrize("stall_ms", [0.0, 30.0])
def test_loss_bursts_that_cover_part_of_a_round_name_their_hop(stall_ms):
    # 5 % of the time the link into hop 4 is down, in bursts of about one round; on a busy prober the round's
    # probes stretch apart, so a burst often takes hop 4's probe and misses the destination's. The same rounds are
    # still lost further on beyond chance: by 300 rounds the start is named in nearly every run (37-39 of 40), by
    # 100 in about a third to a half (14-18; 22-23 before the test of sharing ran at the hop's share of the family
    # level, Fisher's exact test at 0.002 / 5 / 2 instead of non-overlapping 95 % intervals), and the rest are
    # undecided: never a wrong hop.
    named = {100: 0, 300: 0}
    for seed in range(40):
        st = timed_trace(300, seed, stall_ms=stall_ms)
        for rounds in named:
            d = diagnose(st.snapshot(rounds, lambda w: None, "none"))  # loss alone: no MOS (fast)
            assert d.status in (PROBLEM, UNDECIDED) and d.deteriorates_at_ttl in (None, 4), (seed, rounds, d.verdict)
            named[rounds] += d.deteriorates_at_ttl == 4
    assert named[300] >= 35 and named[100] >= 11, named


def test_a_weakly_shared_run_after_per_packet_drops_names_no_later_hop():
    # Per-packet drops into hop 4 (hops 4, 5 and 6 each lose on their own) where hop 5 happens to share 6 of the
    # destination's 16 lost rounds, beyond chance but far from most of them. Hop 4's unshared 6 % after a clean hop
    # 3 looks like rate limiting, yet with the run's sharing this weak it is just what chance sharing after
    # per-packet drops looks like: undecided, never "problem at hop 5".
    rounds = 300
    dest = set(range(0, 16 * 18, 18))
    shared = set(sorted(dest)[:6])
    own5 = set(range(5, 300, 15)) - dest
    own4 = set(range(7, 300, 16)) - dest
    st = TraceState("target.lab.test", addr(6), "icmp", 1.0)
    for r in range(rounds):
        for ttl in range(1, 7):
            lost = (ttl == 6 and r in dest) or (ttl == 5 and r in shared | own5) or (ttl == 4 and r in own4)
            sample = Sample(r, ttl, r * 64 + ttl, 1000.0 + r, None, None)
            if not lost:
                sample = Sample(r, ttl, r * 64 + ttl, 1000.0 + r, 2.0 * ttl, addr(ttl), ttl == 6)
            st.apply(sample)
    d = diagnose(st.snapshot(None, scorer, "pingplotter"))
    # The destination's 5.3 % (CI 3.3-8.5) is certainly a problem: located to a range that holds hop 4.
    assert d.status == PROBLEM and d.deteriorates_at_ttl is None, d.verdict
    assert d.location_ttls[0] <= 4 <= d.location_ttls[1] and d.rate_limited_ttls == ()


# -- "not enough samples": a live trace can wait for more rounds, a finished record cannot ----------------------


def test_not_enough_samples_is_worded_by_what_was_diagnosed():
    """Live: "about N more rounds"; a finished record (imported, replayed): "not enough samples in this record:
    N rounds; a decision needs about M"; a range of one: the same, and "widen the range". Same numbers."""
    from pingmos.diagnosis import samples_wanted_text
    from pingmos.hop_report import RECORD_FINISHED, RECORD_LIVE, RECORD_RANGE

    snap = snapshot(CLEAN4, rounds=30)
    assert snap.record == RECORD_LIVE
    live = diagnose(snap)
    need = live.rounds_needed
    assert need == wilson_bound_samples(0.0, 0.01) - 30
    assert "Not enough samples yet" in live.verdict and f"about {need} more rounds" in live.verdict
    assert live.short == f"not enough samples yet: about {need} more rounds"
    held = f"30 rounds; a decision needs about {need + 30}"
    for record, where in ((RECORD_FINISHED, "record"), (RECORD_RANGE, "range")):
        d = diagnose(dataclasses.replace(snap, record=record))
        assert (d.status, d.rounds_needed, d.rounds_held, d.record) == (UNDECIDED, need, 30, record)
        assert "more rounds" not in d.verdict and "yet" not in d.verdict, d.verdict
        assert f"not enough samples in this {where}: {held}" in d.verdict
        assert d.short == f"not enough samples in this {where}: {held}" + (
            "; widen the range" if where == "range" else ""
        )
        assert ("widen the range" in d.verdict) == (record == RECORD_RANGE)
        assert samples_wanted_text(record, need, 30) in d.verdict  # the one wording function
    # Nothing answered at all.
    silent = lab_trace([None, None], 5, reached=False).snapshot(None, scorer, "pingplotter")
    assert "Not enough samples yet: no hop answered" in diagnose(silent).verdict
    d = diagnose(dataclasses.replace(silent, record=RECORD_FINISHED))
    assert d.verdict.startswith("Not enough samples in this record: no hop answered in it (5 rounds)")
    d = diagnose(dataclasses.replace(silent, record=RECORD_RANGE))
    assert "in this range" in d.verdict and d.verdict.endswith("; widen the range.")


# -- a certain problem is a problem; its start a hop or a range ----------------------------------------------------


def _per_packet_into(into, pct, hops, rounds, seed):
    """A TraceState where every probe crossing the link into hop ``into`` is dropped on its own (``pct``)."""
    rng = random.Random(seed)
    st = TraceState("target.lab.test", addr(hops), "icmp", 1.0)
    for r in range(rounds):
        for ttl in range(1, hops + 1):
            if ttl >= into and rng.random() * 100 < pct:
                st.apply(Sample(r, ttl, r * 64 + ttl, 1000.0 + r, None, None))
            else:
                st.apply(Sample(r, ttl, r * 64 + ttl, 1000.0 + r, 2.0 * ttl, addr(ttl), ttl == hops))
    return st.snapshot(None, scorer, "pingplotter")


def test_per_packet_loss_into_the_last_router_never_names_the_destination_and_an_echo_witness_settles_it():
    # The lab's LASTLINK (10 % per packet on r3 -> r4; hop 3 0.0 %, hop 4 10.0 %, destination 10.0 %): the clean hop
    # 3 once "cleared" hop 4, so the verdict named the destination with hop 4 "rate limiting" in 6 of 7 runs.
    for seed in range(8):
        snap = _per_packet_into(4, 10.0, 5, 400, seed)
        d = diagnose(snap)
        assert d.status == PROBLEM and d.deteriorates_at_ttl in (None, 4), (seed, d.verdict)
        assert d.location_ttls[0] <= 4 <= d.location_ttls[1] and 4 not in d.rate_limited_ttls, (seed, d.verdict)
        assert d.to_json()["rounds_needed"] is None and "sit on the threshold" not in d.verdict
        # Direct echoes to hop 4 lost too (9 of 75, as the breaker's --witness auto saw) put the start at hop 4.
        lossy = EchoWitness(addr(4), tuple(None if i % 8 == 0 else 8.0 for i in range(75)), round=snap.rounds)
        clean = EchoWitness(addr(3), (6.0,) * 150, round=snap.rounds)
        w = diagnose(snap, witnesses={4: lossy, 3: clean})
        assert w.status == PROBLEM and w.deteriorates_at_ttl == 4 and w.location_ttls == (4, 4), (seed, w.verdict)
        assert 4 in w.witnessed and w.rate_limited_ttls == ()


def test_a_certain_loss_with_an_open_start_is_a_problem_located_to_a_range():
    # The lab's LOSS (10 % per packet on r2 -> r3): destination 10.4 % (8.7-12.4) at 1000 rounds was "undecided".
    snap = _per_packet_into(3, 10.0, 5, 1000, 3)
    d = diagnose(snap)
    assert d.status == PROBLEM and d.deteriorates_at_ttl in (None, 3), d.verdict
    assert d.location_ttls[0] == 3 and d.location_ttls[1] >= 3 and d.rate_limited_ttls == ()
    js = d.to_json()
    assert js["location_ttls"] == list(d.location_ttls) and js["rounds_needed"] is None
    if d.deteriorates_at_ttl is None:
        assert f"it starts at hop 3 or after it, at or before hop {d.location_ttls[1]}" in d.verdict
        assert d.short == f"problem between hop 2 and hop {d.location_ttls[1]}"


def test_from_counts_a_router_losing_more_than_the_destination_is_never_named_the_start():
    # The lab's MIXED read from mtr --json (counts only): hop 3 rate limits (60 %), the loss is on r3 -> r4 (hop 4
    # 11.5 %, destination 9.5 %). Hop 3's excess is its own; whether the rest starts there cannot be told.
    snap = snapshot([(2, 0), (4, 0), (6, 60), (8, 0), (10, 0)], link_loss=(4, 10), rounds=200)
    hops = tuple(dataclasses.replace(h, window_rounds=None, window_rtts_ms=None) for h in snap.hops)
    d = diagnose(dataclasses.replace(snap, hops=hops))
    assert not d.per_round and d.status == PROBLEM and d.deteriorates_at_ttl is None, d.verdict
    # Hop 4's 11.5 % is not shown by counts to be the destination's loss (a router rate limiting at about that
    # share, the loss after it, gives the same counts): the range reaches the destination, and holds hop 4.
    assert d.location_ttls == (3, 5) and "that excess is its own" in d.verdict


def test_the_witness_sizing_line_says_which_loss_it_sized_for():
    from pingmos.witness import planned_count

    snap = _per_packet_into(4, 10.0, 5, 400, 1)
    end = snap.hops[-1]
    count, words = planned_count(snap)
    lo, hi = end.loss_ci_pct
    assert count == witness_count(0.8 * lo) and f"a loss of {0.8 * lo:.1f} % " in words
    assert f"80 % of the low end of the destination's {end.loss_pct:.1f} % (95 % CI {lo:.1f}-{hi:.1f})" in words
    assert "(the destination's)" not in words


def test_routers_that_lose_nothing_together_narrow_an_early_range():
    # The destination loses 5 % of its own (the target's link), the five routers before it nothing. At 100 rounds
    # no router alone tells its 0 of 100 (0-3.7 %) from the destination's few lost (4 of 100: 1.6-9.8 %), so the
    # range reached back to hop 1 over them (the lab's bench: 6-hop ranges at 30 and 100 rounds). Per-packet drops
    # at or before hop k strike every hop from k on: hops 3-5 together, 0 of 300 against 6 of 100 (Fisher p 0.0002,
    # below the hop's share of the family level, 0.002 / 5 / 4), rule out a start at or before hop 3; with 7 of 100
    # at the destination, hops 2-5 (0 of 400) do it for hop 2.
    spans = []
    for seed in (0, 2, 7):
        d = diagnose(snapshot([(2, 0), (4, 0), (6, 0), (8, 0), (10, 0), (12, 5)], rounds=100, seed=seed))
        assert d.status == PROBLEM and d.deteriorates_at_ttl is None, d.verdict
        spans.append(d.location_ttls)
        assert d.location_ttls[1] == 6 and d.location_ttls[0] >= 3, d.verdict
        assert d.verdict.count(range_words(d.location_ttls)) == 1 and d.rate_limited_ttls == ()
    assert (4, 6) in spans


def test_pooling_the_hops_never_drops_the_true_start_of_per_packet_drops():
    # Per-packet drops into hop ``into`` (each hop from it on loses 5 % of its probes on its own) are never located
    # after it, nor is a hop from it on called rate limiting. Before the family-wise level two of the 144 runs
    # (into 2-5) were, where a hop's own share fell far below the destination's by chance (hop 4 7 of 300 against
    # 25 of 300; hop 5 0 of 100 against 11 of 100): the strict test right before the destination ran at about the
    # 0.5 % level for each hop it asked. Now every router's tests run at the family level (0.002) over the routers
    # asked (Fisher p 0.0008 and 0.0004 there, above 0.002 / 5 / 4).
    wrong = []
    for into in (1, 2, 3, 4, 5):
        for seed in range(12):
            for rounds in (30, 100, 300):
                d = diagnose(_per_packet_into(into, 5.0, 6, rounds, seed))
                if d.status != PROBLEM:
                    continue
                inside = d.location_ttls[0] <= into <= d.location_ttls[1]
                if not inside or any(t >= into for t in d.rate_limited_ttls):
                    wrong.append((into, seed, rounds))
    assert wrong == []


def test_from_counts_a_rate_limiting_router_like_the_destination_never_bounds_the_range():
    # Breaker, lab A at 10 rounds exported as a pingmos report (counts only): hop 2 silent, hop 3 rate limits
    # (2 of 10 answered), the loss starts on the link into hop 4 (hop 4 5 of 10, hop 5 and the destination 4 of
    # 10). Hop 3's 80 % is not credibly more than the destination's 60 %, so it was taken as "present" there:
    # "starts at or before hop 3", which left the real start, hop 4, out.
    snap = _session_snapshot("ratelimit_then_loss_10_rounds.hops.json")  # `pingmos export --format json`
    assert [h.sent - h.received for h in snap.hops] == [0, 10, 8, 5, 6, 6]
    d = diagnose(snap)
    assert not d.per_round and d.status == PROBLEM and d.deteriorates_at_ttl is None, d.verdict
    first, last = d.location_ttls
    assert first <= 4 <= last, d.verdict


# -- a window of the last N samples: filling, then (only when full and too short) "widen it to at least M" ----------


def _windowed(rounds, window):
    return lab_trace(CLEAN4, rounds).snapshot(window, scorer, "pingplotter")


def test_a_window_still_filling_says_how_many_rounds_fill_it_never_widen():
    d = diagnose(_windowed(30, 100))
    assert d.status == UNDECIDED and d.rounds_needed is None
    assert "about 70 more rounds (~70 s) fill the window of 100 samples" in d.verdict, d.verdict
    assert "settling it takes about 381 samples" in d.verdict and "widen" not in d.verdict
    # A window that can hold what it needs counts the rounds to the verdict itself.
    d = diagnose(_windowed(30, 600))
    assert d.rounds_needed == 381 - 30 and f"about {d.rounds_needed} more rounds" in d.verdict
    assert "widen" not in d.verdict


def test_a_full_window_too_short_says_to_how_many_samples_to_widen_it():
    d = diagnose(_windowed(130, 100))
    assert d.status == UNDECIDED and d.rounds_needed is None
    assert d.verdict.endswith("the window of 100 samples is too short to settle it: widen it to at least 381 samples.")
    # The default live window reaches the verdict on the same clean path.
    from pingmos.run import LIVE_WINDOW

    assert diagnose(_windowed(LIVE_WINDOW, LIVE_WINDOW)).status == NO_PROBLEM


# -- a destination that stops answering is said to, with since when; not a slowly rising loss average -------------


def _stops(rounds, silent_for, from_ttl=4, dest_loss=0.0, seed=5):
    """CLEAN4 for ``rounds`` rounds; the hops from ``from_ttl`` on answer nothing in the last ``silent_for``;
    the destination loses ``dest_loss`` % of its probes on its own before that."""
    rng = random.Random(seed)
    st = TraceState("target.lab.test", addr(4), "icmp", 1.0)
    for r in range(rounds):
        for ttl in range(1, 5):
            quiet = r >= rounds - silent_for and ttl >= from_ttl
            if quiet or (ttl == 4 and rng.random() * 100 < dest_loss):
                st.apply(Sample(r, ttl, r * 64 + ttl, 1000.0 + r, None, None))
            else:
                st.apply(Sample(r, ttl, r * 64 + ttl, 1000.0 + r, 2.0 * ttl, addr(ttl), ttl == 4))
    return st.snapshot(600, scorer, "pingplotter")


def test_a_destination_that_stopped_answering_is_said_so_with_since_when():
    import time

    snap = _stops(300, 8)
    end = snap.hops[-1]
    assert end.last_ms is None and end.loss_pct == pytest.approx(100 * 8 / 300)  # 2.7 %: no verdict on its own
    d = diagnose(snap)
    since = time.strftime("%H:%M:%S", time.localtime(1000.0 + 300 - 8 - 1))
    assert d.status == PROBLEM and d.deteriorates_at_ttl == 4, d.verdict
    assert d.verdict.startswith(f"The destination, hop 4 (198.18.3.2), has not answered since {since} (8 rounds")
    assert "hop 3 (198.18.2.2) still answers in those rounds, so look between hop 3" in d.verdict
    # Two rounds are what late answers look like: not yet.
    d = diagnose(_stops(300, 2))
    assert d.status == UNDECIDED and "has not answered" not in d.verdict
    # The silence starts before the destination: it is placed where it starts.
    d = diagnose(_stops(300, 8, from_ttl=3))
    assert d.status == PROBLEM and d.deteriorates_at_ttl == 3 and "from hop 3 (198.18.2.2) on no hop" in d.verdict


def test_a_lossy_destination_needs_a_longer_silence_than_chance_gives():
    from pingmos.diagnosis import silence_rounds

    assert silence_rounds(0, 600) == 3 and silence_rounds(30, 300) == 5  # 10 %: p_hi 13.9 %, 0.139 ** 5 < 1e-4
    assert silence_rounds(150, 300) > 10
    d = diagnose(_stops(300, 4, dest_loss=10.0))
    assert "has not answered" not in d.verdict, d.verdict
    d = diagnose(_stops(300, 6, dest_loss=10.0))
    assert "has not answered since" in d.verdict and d.status == PROBLEM


def test_no_simulated_path_gets_a_wrong_start(capsys, monkeypatch):
    # The seeded simulation of scripts/bench_verdict.py --simulate (paths of 4, 6 or 8 hops, loss 1-10 % from hop
    # 1-6 as per-packet drops, whole-round and partial bursts, a rate-limiting router before or at the start, a
    # silent router; judged at 30, 100, 300 and 600 rounds): no verdict leaves the true start out of its range or
    # calls a router at or after it rate limiting. 2800 verdicts here; the README's figures are from 2000 runs per
    # shape, where the per-hop tests before the family-wise level gave about 1 wrong run in 100.
    import importlib.util
    import sys

    path = Path(__file__).parents[2] / "scripts" / "bench_verdict.py"
    spec = importlib.util.spec_from_file_location("bench_verdict", path)
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_verdict", bench)  # its dataclasses look their module up there
    spec.loader.exec_module(bench)
    assert bench.simulate(100, [30, 100, 300, 600], 5, list(bench.SIM_SHAPES)) == 0
    out = capsys.readouterr().out
    assert "wrong in all: 0 of 2800 verdicts" in out, out
