"""A live window counts only rounds whose fate is known: an answer settles at once, a loss only at the probe's
timeout, so a window of the newest settled samples held the newest rounds' answers without their losses (20 %
loss shown as 0 % once the window was no longer than timeout/interval rounds). With ``settle_s`` the history's
selections end before the first round not settled at every hop they show (``TraceHistory.known_before``)."""

import random

import numpy as np
import pytest

from pingmos.engine.events import Sample
from pingmos.scoring import load_model
from pingmos.state import TraceHistory, snapshot_of
from pingmos.state import snapshot as snapshot_module

MODEL = load_model("pingplotter")
FIELDS = dict(target="t", address="198.18.9.9", protocol="icmp", interval_s=0.2, model_name="pingplotter")
DST = "198.18.9.9"
INTERVAL_S, TIMEOUT_S = 0.2, 3.0


@pytest.fixture(autouse=True)
def no_mos_intervals(monkeypatch):
    """The MOS interval aside (a bootstrap per snapshot: time, and nothing of what is tested here)."""
    monkeypatch.setattr(snapshot_module, "snapshot_intervals", lambda _batch, keys, *rest, **kw: [None] * len(keys))


def path_samples(rounds: int, seed: int = 3, loss: float = 0.2) -> list[tuple[float, Sample]]:
    """(moment it settles, sample) of a 4-hop path probed every 0.2 s: hops 1-2 answer, hop 3 and the destination
    lose ``loss`` of their probes (the destination in the same rounds as hop 3, and some of its own); an answer
    settles its RTT after it was sent, a loss at the 3 s timeout."""
    rng = random.Random(seed)
    out = []
    for rnd in range(rounds):
        lost3 = rng.random() < loss
        for ttl in range(1, 5):
            sent = 1000.0 + rnd * INTERVAL_S + ttl * 0.002
            lost = ttl >= 3 and (lost3 or (ttl == 4 and rng.random() < loss / 2))
            if lost:
                out.append((sent + TIMEOUT_S, Sample(rnd, ttl, rnd, sent, None, None)))
                continue
            rtt = 5.0 * ttl + rng.random()
            if ttl == 4:
                sample = Sample(rnd, ttl, rnd, sent, rtt, DST, True, "echo_reply")
            else:
                sample = Sample(rnd, ttl, rnd, sent, rtt, f"198.18.{ttl}.1", False, "time_exceeded")
            out.append((sent + rtt / 1000, sample))
    out.sort(key=lambda x: x[0])
    return out


def settled_loss_pct(samples: list[tuple[float, Sample]], ttl: int, rounds) -> float:
    """The loss over ``rounds`` at ``ttl`` once every probe settled: what the recording says of those rounds."""
    chosen = [s for _, s in samples if s.ttl == ttl and s.round in set(rounds)]
    assert len(chosen) == len(rounds)
    return 100.0 * sum(s.rtt_ms is None for s in chosen) / len(chosen)


@pytest.mark.parametrize("window", [10, 40])
def test_a_live_window_has_the_loss_of_its_rounds_once_settled(window):
    samples = path_samples(400)
    history = TraceHistory(keep_samples=window, settle_s=TIMEOUT_S)
    cache: dict = {}
    checked = shown_loss = 0
    i = 0
    for now in np.arange(1012.0, 1082.0, 0.7):  # the window refreshed now and then while the trace goes on
        while i < len(samples) and samples[i][0] <= now:
            history.apply(samples[i][1])
            i += 1
        for c in (None, cache):
            snap = snapshot_of(history, MODEL, window=window, cache=c, **FIELDS)
            rounds = [h.window_rounds.tolist() for h in snap.hops]
            assert [h.ttl for h in snap.hops] == [1, 2, 3, 4]
            # One set of rounds for every row: the last ``window`` rounds, one after the other, all settled.
            assert all(r == rounds[0] for r in rounds) and len(rounds[0]) == window
            assert rounds[0] == list(range(rounds[0][0], rounds[0][0] + window))
            newest_sent = max(s.sent_at for _, s in samples[:i])
            assert 1000.0 + rounds[0][-1] * INTERVAL_S <= newest_sent  # the window ends in the past...
            assert 1000.0 + (rounds[0][-1] + 1) * INTERVAL_S > newest_sent - TIMEOUT_S - INTERVAL_S  # ...not far
            for hop in snap.hops:
                assert hop.loss_pct == settled_loss_pct(samples, hop.ttl, rounds[0]), (now, hop.ttl)
            shown_loss += snap.hops[3].loss_pct
            checked += 1
    assert checked == 2 * 100
    # Over the run the windows show the path's loss (about 30 % at the destination), not 0 %.
    assert 20.0 < shown_loss / checked < 40.0


def test_without_settle_s_the_newest_answers_made_the_loss_vanish():
    """The fault itself, measured: the same stream without ``settle_s`` (the old selection) shows 0 % loss in a
    10-round window while the path loses 30 %. Keeps the test above honest: it fails without the cut."""
    samples = path_samples(200)
    history = TraceHistory(keep_samples=10)
    for moment, s in samples:
        if moment <= 1030.0:
            history.apply(s)
    snap = snapshot_of(history, MODEL, window=10, **FIELDS)
    assert snap.hops[3].loss_pct == 0.0
    history.settle_s = TIMEOUT_S
    snap = snapshot_of(history, MODEL, window=10, **FIELDS)
    assert snap.hops[3].loss_pct == settled_loss_pct(samples, 4, snap.hops[3].window_rounds.tolist()) > 0


def test_a_time_range_holds_only_settled_rounds():
    samples = path_samples(200)
    history = TraceHistory(settle_s=TIMEOUT_S)
    for moment, s in samples:
        if moment <= 1030.0:
            history.apply(s)
    snap = snapshot_of(history, MODEL, window=None, time_range=(1020.0, 1030.0), **FIELDS)
    rounds = snap.hops[3].window_rounds.tolist()
    # From the range's first round to the round before the first with a probe still in flight.
    in_flight = min(s.round for m, s in samples if m > 1030.0)
    assert rounds == list(range(100, in_flight))
    assert snap.hops[3].loss_pct == settled_loss_pct(samples, 4, rounds)
    assert all(h.window_rounds.tolist() == rounds for h in snap.hops)


def test_a_round_settled_at_every_hop_counts_at_once():
    """No lag without losses: rounds whose probes all came back are in the window before their timeout."""
    samples = path_samples(100, loss=0.0)
    history = TraceHistory(settle_s=TIMEOUT_S)
    for moment, s in samples:
        if moment <= 1010.0:
            history.apply(s)
    newest = max(s.round for m, s in samples if m <= 1010.0 and s.ttl == 4)
    snap = snapshot_of(history, MODEL, window=10, **FIELDS)
    assert all(h.window_rounds.tolist()[-1] == newest for h in snap.hops)
    # A probe in flight at hop 2 (a loss to come) holds every row back to the round before it.
    late = Sample(newest + 1, 2, 0, 1000.0 + (newest + 1) * INTERVAL_S, None, None)
    for ttl in (1, 3, 4):
        history.apply(Sample(newest + 1, ttl, 0, late.sent_at, 5.0, f"198.18.{ttl}.1" if ttl < 4 else DST,
                             ttl == 4, "echo_reply" if ttl == 4 else "time_exceeded"))  # fmt: skip
    history.apply(Sample(newest + 2, 1, 0, late.sent_at + INTERVAL_S, 5.0, "198.18.1.1", False, "time_exceeded"))
    snap = snapshot_of(history, MODEL, window=10, **FIELDS)
    assert all(h.window_rounds.tolist()[-1] == newest for h in snap.hops)
    # The "current" RTT a live display shows is still the newest answer, from the rounds not yet in the window.
    assert snap.hops[0].in_flight_rtt_ms == 5.0 != snap.hops[0].last_ms
    assert snap.hops[3].in_flight_rtt_ms == 5.0 and snap.hops[1].in_flight_rtt_ms is None  # in flight at hop 2
    # The timeline's series: every sample, and where the settled ones end (its MOS curve stops there).
    sent, rtt, settled = history.series_settled(1)
    assert len(sent) == len(rtt) == newest + 3 and settled == newest + 1
    history.apply(late)  # its timeout: the round settles, lost at hop 2
    snap = snapshot_of(history, MODEL, window=10, **FIELDS)
    assert all(h.window_rounds.tolist()[-1] == newest + 1 for h in snap.hops)
    assert np.isnan(snap.hops[1].window_rtts_ms[-1])


def test_the_latest_answers_within_a_selection_ending_before_the_newest_samples():
    """``_last_within`` (the latest answer of each kind within [lo, hi), read from the hop's own latest answers
    where it can) agrees with a scan of the samples, wherever the selection ends."""
    rng = random.Random(5)
    history = TraceHistory()
    kinds = [("198.18.1.1", False, "time_exceeded", None), ("198.18.9.9", True, "echo_reply", None),
             ("198.18.1.1", False, "dest_unreachable", 13), (None, False, None, None)]  # fmt: skip
    for rnd in range(400):
        who, reached, reply, code = kinds[min(3, int(rng.expovariate(1.5)))] if rnd % 50 else kinds[2]
        rtt = None if who is None else 5.0
        history.apply(Sample(rnd, 3, rnd, 1000.0 + rnd, rtt, who, reached, reply, code))
    hop = history.hops[3]
    for _ in range(500):
        lo = rng.randrange(0, hop.n)
        hi = rng.randrange(lo, hop.n + 1)
        assert TraceHistory._last_within(hop, lo, hi) == TraceHistory._scan(hop, lo, hi), (lo, hi)
