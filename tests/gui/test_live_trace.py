"""LiveTrace: the real tracer on the simulated path in a thread, the compact history, snapshots and errors."""

import math
import time

import pytest

from pingmos.engine.events import Sample
from pingmos.engine.network import NoPermission
from pingmos.engine.resolve import ResolveError
from pingmos.live_trace import LiveTrace
from pingmos.scoring.formulas import pingplotter
from tests.gui.conftest import DST, LOSSY_PATH, fake_factory


def pp(windows):
    return [pingplotter.score(w.avg_ms, w.jitter_ms, w.loss_pct) for w in windows]


def fed(samples):
    trace = LiveTrace(DST)
    for s in samples:
        trace.apply(s)
    return trace


def test_engine_thread_traces_the_fake_path_and_snapshot_reads_it():
    trace = fake_factory(rounds=40)(DST, "icmp", 1.0)
    trace.start()
    assert trace.join(10)
    st = trace.status()
    assert st.error is None and not st.running
    assert st.rounds == 40 and st.probes_sent >= 40 * 5
    snap = trace.snapshot(20, pp, "pingplotter")
    assert [h.ttl for h in snap.hops] == [1, 2, 3, 4, 5]
    assert snap.destination_reached
    assert snap.hops[1].address is None and snap.hops[1].sent == 20  # the silent router: a ??? row
    assert snap.hops[0].address == LOSSY_PATH[0].address and snap.hops[0].loss_pct == 0.0
    assert all(h.sent == 20 for h in snap.hops)
    assert snap.hops[0].mos > 4.0 and snap.hops[-1].mos < 3.1


def test_out_of_order_samples_are_kept_in_round_order_and_lost_is_nan():
    trace = fed(
        [
            Sample(1, 1, 1, 101.0, 5.0, "198.18.0.2"),
            Sample(0, 1, 2, 100.0, None, None),  # settles at its timeout, after round 1 answered
            Sample(2, 1, 3, 102.0, 7.0, "198.18.0.2", reached=True),
        ]
    )
    series = trace.series(1)
    assert list(series.sent_at) == [100.0, 101.0, 102.0]
    assert math.isnan(series.rtt_ms[0]) and list(series.rtt_ms[1:]) == [5.0, 7.0]
    snap = trace.snapshot(None, pp, "pingplotter")
    assert snap.hops[0].sent == 3 and snap.hops[0].received == 2 and snap.hops[0].last_ms == 7.0


def test_time_range_snapshot_uses_only_the_samples_sent_in_it():
    samples = [Sample(r, 1, r, 1000.0 + r, 10.0 if r < 50 else None, "198.18.0.2" if r < 50 else None, True)
               for r in range(100)]  # fmt: skip
    trace = fed(samples)
    live = trace.snapshot(10, pp, "m")
    assert live.hops[0].sent == 10 and live.hops[0].loss_pct == 100.0 and live.hops[0].mos is None
    focus = trace.snapshot(10, pp, "m", time_range=(1010.0, 1019.5))
    assert focus.hops[0].sent == 10 and focus.hops[0].loss_pct == 0.0 and focus.hops[0].mos > 4.0
    empty = trace.snapshot(10, pp, "m", time_range=(5000.0, 6000.0))
    assert empty.hops[0].sent == 0 and empty.hops[0].avg_ms is None


def test_a_sample_costs_24_bytes():
    # round 4, send time 8, RTT 8, responder 2, reply kind 1 and ICMP code 1 (22 before the kind and code were kept)
    trace = fed(Sample(r, t, r, 1000.0 + r, 10.0, f"198.18.0.{t}") for r in range(1000) for t in range(1, 4))
    assert trace.status().history_bytes == 3000 * 24


def test_scorer_errors_reach_the_hop():
    trace = fed([Sample(0, 1, 1, 1.0, 5.0, "198.18.0.2", True)])
    snap = trace.snapshot(None, lambda ws: ["mos.py:3: ZeroDivisionError"] * len(ws), "m")
    assert snap.hops[0].mos is None and snap.hops[0].score_error == "mos.py:3: ZeroDivisionError"


def test_unresolvable_target_is_an_error_in_words(monkeypatch):
    def fail(target, ip_version=4):
        raise ResolveError(f"cannot resolve {target!r}: Name or service not known")

    monkeypatch.setattr("pingmos.run.resolve", fail)
    trace = LiveTrace("no-such-host.example", network_factory=lambda: pytest.fail("no network without an address"))
    trace.start()
    assert trace.join(5)
    assert "cannot resolve 'no-such-host.example'" in trace.status().error
    assert "Check the host name" in trace.status().error


def test_no_permission_is_an_error_in_words_and_keeps_data():
    def denied():
        raise NoPermission("pingmos needs permission to open raw sockets")

    trace = LiveTrace(DST, network_factory=denied)
    trace.apply(Sample(0, 1, 1, 1.0, 5.0, "198.18.0.2"))
    trace.start()
    assert trace.join(5)
    assert trace.status().error.startswith("pingmos needs permission")
    assert trace.snapshot(None, pp, "m").hops[0].received == 1


def test_stop_then_start_resumes_with_later_rounds():
    make = fake_factory(rounds=5)
    trace = make(DST, "icmp", 1.0)
    trace.start()
    assert trace.join(5)
    trace.start()
    assert trace.join(5)
    series = trace.series(1)
    assert len(series.sent_at) == 10
    assert trace.status().rounds == 10 and trace.status().probes_sent >= 50


def test_elapsed_counts_probing_time_not_the_pause_between_runs():
    trace = fake_factory(rounds=5)(DST, "icmp", 1.0)
    assert trace.status().elapsed_s == 0.0
    trace.start()
    assert trace.join(5)
    first = trace.status().elapsed_s
    time.sleep(0.3)
    assert trace.status().elapsed_s == first  # stopped: the clock stands still
    started = time.monotonic()
    trace.start()
    assert trace.join(5)
    took_s = time.monotonic() - started
    # The second run adds at most the wall time it took (measured here, so a loaded machine's slowness counts on
    # both sides); the 0.3 s pause before it would push the figure beyond that.
    assert first < trace.status().elapsed_s <= first + took_s + 0.05


def test_a_network_failure_keeps_the_data_and_the_window_says_what_start_does():
    from pingmos.engine.fake_network import FakeClock, FakeNetwork
    from pingmos.gui.shown_context import trace_error_text
    from tests.gui.conftest import SRC

    clock = FakeClock()

    class Failing(FakeNetwork):
        def send(self, packet, dst):
            if len(self.sent) >= 20:
                raise OSError(101, "Network is unreachable")
            return super().send(packet, dst)

    trace = LiveTrace(DST, network_factory=lambda: Failing(LOSSY_PATH, clock), tracer_clock=clock, source=SRC)
    trace.start()
    assert trace.join(10)
    status = trace.status()
    assert status.error == "sending probes failed: [Errno 101] Network is unreachable" and status.samples > 0
    assert trace_error_text(status) == status.error + ". Measured data is kept; press Start to try again."
