"""A report's first Ctrl+C or SIGTERM while probing winds the trace down as the agent's stop does: nothing more is
sent, the replies to the probes in flight are waited for (the probe timeout at most) and counted; the next signal
ends it at once, those probes left out, never counted lost. The fake network in virtual time; the signal is the
handler called at a known sample (no real signal, no sleep)."""

from __future__ import annotations

import signal

import pytest

from pingmos.engine import TraceSettings
from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork
from pingmos.report import runner
from pingmos.report.interrupts import ReportInterrupts
from pingmos.run import WIND_DOWN_MAX_S, TraceRun, wind_down_limit_s
from pingmos.scoring import load_model

DST = "198.18.0.9"
SRC = "198.18.0.1"
# The destination answers 0.8 s after a probe leaves: at 0.2 s a round, four rounds' probes to it are in flight.
SLOW = [FakeHop("198.18.0.2", 2.0), FakeHop(DST, 800.0)]


def report(signals: list[int], path=SLOW, timeout_s: float | None = None):
    """A report of an endless trace of ``path`` whose ReportInterrupts gets ``signals`` one by one, the first when
    round 6's first sample settles, the next at the next sample; (snapshot, interrupted, the network, ctrl_c, the
    virtual time of the first signal)."""
    clock = FakeClock()
    net = FakeNetwork(path, clock)
    settings = TraceSettings(DST, interval_s=0.2, max_ttl=2, timeout_s=timeout_s)
    run = TraceRun.of_settings("lab", settings, network_factory=lambda: net, clock=clock, source=SRC)
    ctrl_c = ReportInterrupts()  # (not entered: no handler installed; the test calls it as a signal would)
    ctrl_c.probing(run.wind_down, wind_down_limit_s(settings.effective_timeout_s))
    left = list(signals)
    at: list[float] = []

    def observe(sample):
        if left and (sample.round >= 6 or len(left) < len(signals)):
            at.append(clock.now)
            ctrl_c._interrupt(left.pop(0), None)

    model = load_model("pingplotter")
    try:
        snap, interrupted = runner.run_report("lab", settings, None, model, model.name, use_dns=False, run=run,
                                              observer=observe, on_measured=ctrl_c.measured)  # fmt: skip
    finally:
        model.close()
    return snap, interrupted, net, ctrl_c, at[0]


def sent_to(net: FakeNetwork, ttl: int) -> int:
    return sum(1 for t, _ in net.sent if t == ttl)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_first_signal_waits_for_the_replies_to_the_probes_in_flight_and_counts_them(signum, capfd):
    """Before: the first Ctrl+C or SIGTERM ended the probing at once: of the 6 probes to the destination 2 were
    counted, the 4 whose answers were on their way never read."""
    snap, interrupted, net, ctrl_c, _ = report([signum])
    hops = {h.ttl: h for h in snap.hops}
    probes = sent_to(net, 1), sent_to(net, 2)
    assert probes[1] == 6  # rounds 0-5 (round 6's TTL 1 was answered, its TTL 2 not sent yet)
    assert (hops[1].sent, hops[2].sent) == probes and (hops[1].received, hops[2].received) == probes
    assert not interrupted and ctrl_c.wound_down and ctrl_c.terminated == (signum == signal.SIGTERM)
    words = ("terminated", "signal") if signum == signal.SIGTERM else ("interrupted", "Ctrl+C")
    assert capfd.readouterr().err == (f"pingmos report: {words[0]}: waiting up to 4 s for the replies to the probes "
                                      f"in flight ({words[1]} again: now)\n")  # fmt: skip


def test_a_second_signal_ends_at_once_and_leaves_the_probes_in_flight_out():
    snap, interrupted, net, ctrl_c, _ = report([signal.SIGINT, signal.SIGINT])
    hops = {h.ttl: h for h in snap.hops}
    assert interrupted and ctrl_c.wound_down
    assert hops[2].sent < sent_to(net, 2) and hops[2].received == hops[2].sent  # left out, none counted lost


def test_the_wait_is_bounded():
    # A destination that answers after 30 s, with a 20 s probe timeout: the wait ends WIND_DOWN_MAX_S (10 s) after
    # the signal, the probes then still in flight left out; none counted lost, none counted received.
    far = [FakeHop("198.18.0.2", 2.0), FakeHop(DST, 30_000.0)]
    assert wind_down_limit_s(20.0) == WIND_DOWN_MAX_S
    snap, interrupted, net, ctrl_c, at = report([signal.SIGTERM], path=far, timeout_s=20.0)
    hops = {h.ttl: h for h in snap.hops}
    assert not interrupted and ctrl_c.wound_down
    assert WIND_DOWN_MAX_S <= net.clock.now - at <= WIND_DOWN_MAX_S + 0.3  # not the 20 s timeout
    assert hops[1].sent == sent_to(net, 1) and hops[1].received == hops[1].sent
    assert 2 not in hops and sent_to(net, 2) == 6  # in flight when the wait ended: not a row of lost probes
