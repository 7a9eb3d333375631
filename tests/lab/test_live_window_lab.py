"""On a real path with loss, a live trace's window (what the window's table and the agent's /metrics show) holds
only rounds whose fate is known: each live snapshot's loss is the loss its rounds have once every probe settled.
Before, the newest rounds' answers came in at once and their losses only at the 3 s timeout: a 10-round window at
0.2 s showed 0 % loss in 18 of 20 snapshots on the breaker's lab (whole run 17.7 %)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from pingmos.live_trace import LiveTrace
from pingmos.scoring import load_model
from tests.netlab import LinkSpec, RouterSpec
from tests.netlab.relay import in_netns

pytestmark = pytest.mark.lab


def test_live_windows_show_the_settled_loss_of_their_rounds(lab_factory):
    links = [LinkSpec.symmetric(1.0)] * 2 + [LinkSpec.symmetric(1.0, loss_pct=15.0)] + [LinkSpec.symmetric(1.0)]
    lab = lab_factory([RouterSpec() for _ in range(3)], links)
    model = load_model("pingplotter")
    trace = LiveTrace(lab.target_addr, interval_s=0.2, thread_context=lambda: in_netns(lab.client_ns))
    trace.start()
    shown = []
    try:
        deadline = time.monotonic() + 60
        while len(shown) < 12:
            assert time.monotonic() < deadline, trace.status()
            time.sleep(0.7)
            snap = trace.snapshot(10, model, "pingplotter")
            if not snap.destination_reached or snap.hops[-1].sent < 10:
                continue
            shown.append((snap.hops[-1].ttl, snap.hops[-1].window_rounds.tolist(), snap.hops[-1].loss_pct))
    finally:
        trace.wind_down()  # every probe in flight settles: answered, or lost at its timeout
        assert trace.join(15)
    final = trace.snapshot(None, model, "pingplotter").hops[-1]
    lost = dict(zip(final.window_rounds.tolist(), np.isnan(final.window_rtts_ms).tolist(), strict=True))
    for ttl, rounds, loss in shown:
        assert ttl == final.ttl == 4  # 3 routers, then the target
        # Ten rounds one after the other (none left out for a loss still to come), with their settled loss.
        assert rounds == [r for r in range(rounds[0], rounds[-1] + 1) if r in lost], rounds
        assert loss == pytest.approx(100.0 * sum(lost[r] for r in rounds) / 10), (rounds, loss)
    assert sum(loss for _, _, loss in shown) > 0  # 15 % each way on link 2 (into hop 3)
