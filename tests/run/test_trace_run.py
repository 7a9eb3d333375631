"""TraceRun, the one way the report, the window and the agent set up and run a trace: on the simulated path in
virtual time (FakeNetwork); nothing is sent."""

import errno

import pytest

from pingmos import run as run_module
from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork
from pingmos.engine.mode import NoProbeMode
from pingmos.engine.network import NoPermission
from pingmos.engine.resolve import ResolveError
from pingmos.live_trace import LiveTrace
from pingmos.run import NETWORK, OPEN, PERMISSION, RESOLVE, SETTINGS, RunError, TraceRun

DST = "198.18.0.9"
PATH = [FakeHop("198.18.0.2", 2.0), FakeHop("198.18.0.5", 5.0), FakeHop(DST, 9.0)]


def simulated(clock: FakeClock, **kw) -> TraceRun:
    return TraceRun(DST, network_factory=lambda: FakeNetwork(PATH, clock), clock=clock, source="198.18.0.1", **kw)


def test_a_run_resolves_opens_probes_and_hands_every_sample_to_each_observer_in_order():
    clock = FakeClock()
    first, second = [], []
    run = simulated(clock, rounds=3, interval_s=0.5)
    run.add_observer(first.append)
    run.add_observer(lambda s: second.append((s, len(first))))  # called after the first observer, for each sample
    settings = run.resolve()
    assert (run.address, settings.address, settings.rounds, settings.interval_s) == (DST, DST, 3, 0.5)
    run.run()
    run.close()
    # 3 rounds x 3 hops, and TTL 4 once in the first round before the destination had answered at TTL 3
    assert run.network is None and run.probes_sent == 10 and run.unmatched_replies == 0
    assert first == [s for s, _ in second] and [n for _, n in second] == list(range(1, 10))
    assert sorted({s.round for s in first}) == [0, 1, 2] and {s.ttl for s in first} == {1, 2, 3}
    assert all(s.rtt_ms is not None for s in first) and first[-1].responder == DST


def test_a_resumed_run_continues_the_round_numbers():
    clock = FakeClock()
    seen = []
    run = simulated(clock, rounds=2, first_round=5)
    run.add_observer(seen.append)
    run.run()  # resolves and opens on its own
    assert sorted({s.round for s in seen}) == [5, 6]


def test_the_name_is_resolved_by_the_one_family_policy(monkeypatch):
    asked = []

    def resolve_target(target, version):
        asked.append(version)
        if version == 4:
            raise ResolveError(f"{target!r} has no IPv4 address")
        return "2001:db8::9"

    monkeypatch.setattr(run_module, "resolve_target", resolve_target)
    assert TraceRun("dual.example").resolve().address == "2001:db8::9" and asked == [4, 6]
    asked.clear()
    with pytest.raises(RunError) as failed:
        TraceRun("dual.example", ip_version=4).resolve()
    assert asked == [4] and failed.value.stage == RESOLVE
    assert str(failed.value) == "'dual.example' has no IPv4 address"
    assert failed.value.words == "'dual.example' has no IPv4 address. Check the host name, or give an IP address."


def test_each_failure_says_its_stage_in_words():
    with pytest.raises(RunError) as bad:
        TraceRun(DST, interval_s=0.0).resolve()
    assert bad.value.stage == SETTINGS and bad.value.message.startswith("cannot trace with these settings: interval")

    def no_mode():
        raise NoProbeMode("pingmos cannot send TCP probes from this process. You can: ...")

    with pytest.raises(RunError) as denied:
        TraceRun(DST, network_factory=no_mode).open()
    assert denied.value.stage == PERMISSION and str(denied.value).startswith("pingmos cannot send TCP probes")
    assert isinstance(denied.value.__cause__, NoPermission)

    def broken():
        raise OSError(errno.EMFILE, "Too many open files")

    with pytest.raises(RunError) as unopened:
        TraceRun(DST, network_factory=broken).open()
    assert unopened.value.stage == OPEN and "Too many open files" in unopened.value.message


def test_a_network_failure_mid_trace_keeps_what_was_handed_out():
    clock = FakeClock()

    class Failing(FakeNetwork):
        def send(self, packet, dst):
            if len(self.sent) >= 4:
                raise OSError(errno.ENETUNREACH, "Network is unreachable")
            return super().send(packet, dst)

    seen = []
    run = TraceRun(DST, rounds=5, network_factory=lambda: Failing(PATH, clock), clock=clock, source="198.18.0.1")
    run.add_observer(seen.append)
    with pytest.raises(RunError) as failed:
        run.run()
    run.close()
    assert failed.value.stage == NETWORK and failed.value.__cause__.errno == errno.ENETUNREACH
    assert run.probes_sent == 4 and len(seen) == 3  # the first round's samples, settled before the failure


def test_stop_before_the_tracer_starts_sends_nothing():
    clock = FakeClock()
    run = simulated(clock)
    run.stop()
    run.run()
    assert run.probes_sent == 0


def test_the_live_trace_reports_the_runs_words_not_a_windows():
    # The agent logs LiveTrace's status too: no toolbar or Start button in it (the window words it itself:
    # tests/gui/test_reach_gui.py).
    def no_mode():
        raise NoProbeMode("pingmos cannot send TCP probes. You can: use ICMP or UDP (--protocol icmp / udp)")

    trace = LiveTrace(DST, network_factory=no_mode)
    trace.start()
    assert trace.join(5)
    status = trace.status()
    assert status.error_stage == PERMISSION and "(--protocol icmp / udp)" in status.error
    assert "Protocol box" not in status.error and "press Start" not in status.error
