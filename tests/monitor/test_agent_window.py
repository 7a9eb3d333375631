"""The agent's window counts only rounds whose fate is known: /metrics shows the loss its own recording has over
the same rounds (an answer settles at once, a loss at the 3 s timeout: a 10-round window at 0.2 s showed 0 % loss
while the path lost 20 %), and no hop beyond the destination (the first round's sweep to max_ttl is answered by
the destination at every TTL past it)."""

from __future__ import annotations

import time

from pingmos.engine.events import Sample
from pingmos.engine.fake_network import WALL_EPOCH, FakeHop
from pingmos.session import open_session
from tests.monitor.test_agent import PATHS, make_agent, one, scrape

DST = "198.18.0.99"
PATH = [FakeHop("198.18.0.2", 2.0, jitter_ms=1.0), FakeHop("198.18.0.3", 20.0, 4.0, loss_pct=25.0),
        FakeHop(DST, 22.0, 4.0, loss_pct=25.0)]  # fmt: skip

CONFIG = f"""
[agent]
vantage = "lab"
window = 10
interval_s = 0.2
[[target]]
host = "{DST}"
name = "lossy"
"""


def test_metrics_show_the_loss_the_recording_has_over_the_same_rounds(tmp_path, monkeypatch):
    monkeypatch.setitem(PATHS, DST, PATH)
    agent, clocks = make_agent(CONFIG, tmp_path)
    shown = []
    agent.start()
    try:
        runner = agent.runners["lossy"]
        deadline = time.monotonic() + 60
        while len(shown) < 12:
            assert time.monotonic() < deadline, f"only {len(shown)} windows with samples enough"
            time.sleep(0.03)
            runner.refresh(WALL_EPOCH + clocks["lossy"].now)
            snap = runner.snapshot
            if snap is None or len(snap.hops) != 3 or snap.hops[2].sent < 10:
                continue
            m = scrape(agent)
            rounds = snap.hops[2].window_rounds.tolist()
            loss = one(m, "pingmos_hop_loss_ratio", target="lossy", hop="3")
            shown.append((rounds, loss))
            if len(shown) == 6:
                # What a lab's first round gave (the destination's answer to the sweep's TTL-29 probe settling
                # before the path's end was known): a sample of round 0 at TTL 29, from the destination.
                first = runner.trace.history.series(1)[0][0]
                runner.trace.apply(Sample(0, 29, 1, first + 0.1, 22.0, DST, True, "echo_reply"))
            assert one(m, "pingmos_target_hops", target="lossy") == 3
            # Counters for the hops of the path only, not for a TTL past the destination.
            assert {s.labels["hop"] for s in m["pingmos_hop_probes_sent_total"]} == {"1", "2", "3"}
    finally:
        agent.close()  # winds down first: every probe in flight settles and is recorded
    with open_session(next(tmp_path.glob("lossy/*.pingmos"))) as s:
        at_destination = {x.round: x.rtt_ms is None for x in s.samples() if x.ttl == 3}
    total = 0.0
    for rounds, loss in shown:
        # The window: 10 rounds one after the other (no round left out because its loss had not come yet)...
        assert rounds == [r for r in range(rounds[0], rounds[-1] + 1) if r in at_destination], rounds
        # ...with the loss the recording has over them, now that every probe settled.
        assert loss == sum(at_destination[r] for r in rounds) / 10, (rounds, loss)
        total += loss
    assert total > 0  # the path loses 25 % at hop 3 and 44 % at the destination: not 0 in 12 windows
