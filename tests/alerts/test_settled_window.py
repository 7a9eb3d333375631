"""An alert rule judges the window the verdict and the live table judge: the rounds settled at every hop shown
(``TraceHistory.known_before``), never the answers of a round whose loss is still to come, and never a window
that ends a fixed probe timeout back while the verdict's does not."""

import math

import numpy as np

from pingmos.alerts import FIRE, AlertEngine, AlertRule
from pingmos.engine.events import Sample
from pingmos.scoring import HopWindow
from pingmos.scoring.formulas import pingplotter
from pingmos.state import TraceState

ROUTER, DST = "198.18.0.2", "198.18.1.2"
T0 = 1_700_000_000.0
TIMEOUT_S = 3.0


def scorer(w):
    return pingplotter.score(w.avg_ms, w.jitter_ms, w.loss_pct)


def run(rounds: int, lost_rounds: set[int]) -> list[tuple[float, Sample]]:
    """(when the trace knew it, sample) for a 2-hop path probed once a second: the router answers in 5 ms, the
    destination in 20 ms, but not in ``lost_rounds`` (known lost at its probe's timeout, 3 s after it left)."""
    out = []
    for r in range(rounds):
        sent = T0 + r
        out.append((sent + 0.005, Sample(r, 1, 2 * r, sent, 5.0, ROUTER, False, "time_exceeded")))
        if r in lost_rounds:
            out.append((sent + 0.5 + TIMEOUT_S, Sample(r, 2, 2 * r + 1, sent + 0.5, None, None)))
        else:
            out.append((sent + 0.52, Sample(r, 2, 2 * r + 1, sent + 0.5, 20.0, DST, True, "echo_reply")))
    return out


def test_an_alert_and_the_verdict_on_the_same_history_see_the_same_samples():
    # Every 4th round of the destination's lost, and so is the newest round but one (its loss not known yet).
    lost = {r for r in range(120) if r % 4 == 0} | {118}
    now = T0 + 119.6  # the newest round's answers are in, round 118's loss is still 1.9 s away
    window_s = 30.0
    rule = AlertRule("loss", "loss_pct", 0.1, window_s=window_s, for_s=0.0, min_samples=1)
    engine = AlertEngine([rule], "target", scorer, settle_s=TIMEOUT_S)
    # The window's side: the live trace's history (LiveTrace sets settle_s to the probe timeout the same way).
    live = TraceState("target", DST, "icmp", 1.0)
    live.history.settle_s = TIMEOUT_S
    for known_at, sample in run(120, lost):
        if known_at <= now:
            engine.feed(sample)
            live.apply(sample)
    (fire,) = engine.evaluate(now)
    assert fire.kind == FIRE and fire.ttl == 2
    # The rule's window ends at the newest settled round (117: round 118's answer at hop 1 and 119's at both hops
    # are in, but 118's loss is not, so neither counts), its destination probe sent at 117.5 s, and reaches 30 s
    # back: rounds 87-117.
    end = engine.window_end
    assert end == T0 + 117.5
    expected = HopWindow.from_rtts([None if r in lost else 20.0 for r in range(87, 118)])
    assert (fire.samples, fire.value) == (expected.sent, expected.loss_pct) == (31, 100.0 * 8 / 31)
    # The verdict's window over the same span (a focus range of the timeline, a clear's diagnosis): the same.
    dest = live.snapshot(None, scorer, "pingplotter", time_range=(end - window_s, end)).hops[-1]
    assert dest.ttl == 2 and dest.sent == fire.samples and math.isclose(dest.loss_pct, fire.value)
    # The live table's window of the last N rounds (the verdict's, N = 31 here) holds the same rounds.
    rows = live.snapshot(31, scorer, "pingplotter").hops
    assert rows[-1].sent == 31 and math.isclose(rows[-1].loss_pct, fire.value)
    # Before: the rule's window ended a fixed probe timeout (3 s) before now, over rounds 87-116: 30 samples and
    # 26.7 % loss, beside the verdict's 31 and 25.8 % of the same settled rounds.
    old = HopWindow.from_rtts(np.array([np.nan if r in lost else 20.0 for r in range(87, 117)]))
    assert (old.sent, round(old.loss_pct, 1)) == (30, 26.7) != (fire.samples, round(fire.value, 1))


def test_without_a_loss_in_flight_the_window_ends_at_the_newest_round():
    # Nothing lost: every round settles with its answers, so the window is as fresh as the table's newest row
    # (before: always a probe timeout, 3 s, behind it).
    now = T0 + 59.6
    rule = AlertRule("latency", "latency_ms", 1.0, window_s=10.0, for_s=0.0, min_samples=1)
    engine = AlertEngine([rule], "target", scorer, settle_s=TIMEOUT_S)
    for known_at, sample in run(60, set()):
        if known_at <= now:
            engine.feed(sample)
    (fire,) = engine.evaluate(now)
    assert engine.window_end == T0 + 59.5 and fire.samples == 11  # rounds 49-59
