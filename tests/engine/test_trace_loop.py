"""One thread driving many tracers (``engine.TraceLoop``, the monitoring agent's engine): every probe of every
tracer is sent and settled as when each runs alone, real sockets are waited on together, a stop or a failing
network ends only its own tracer, and the caller of ``drive`` gets what ended it."""

from __future__ import annotations

import contextlib
import os
import threading
import time

import pytest

from pingmos.engine import TraceLoop, Tracer, TraceSettings
from pingmos.engine.fake_network import FakeHop, FakeNetwork
from pingmos.engine.udp_socket_network import UdpSocketNetwork


class RealTimeClock:
    """A FakeNetwork clock that is real monotonic time (setting it does nothing): the fake path then answers in
    real time, as the loop (which keeps real time) needs."""

    @property
    def now(self) -> float:
        return time.monotonic()

    @now.setter
    def now(self, _value: float) -> None:
        pass

    def monotonic(self) -> float:
        return time.monotonic()


def path(dst: str, hops: int, rtt_ms: float = 2.0) -> list[FakeHop]:
    return [FakeHop(f"198.18.1.{i}", rtt_ms * i) for i in range(1, hops)] + [FakeHop(dst, rtt_ms * hops)]


def drive_in_thread(loop: TraceLoop, tracer: Tracer) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def body():
        try:
            loop.drive(tracer)
            outcome["ok"] = True
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            outcome["error"] = exc

    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t, outcome


def finish_all(loop: TraceLoop, runs: list[tuple[threading.Thread, dict]]) -> None:
    """Wait for every driven tracer to end well, then close the loop (also when one did not)."""
    try:
        for t, outcome in runs:
            t.join(30)
            assert outcome == {"ok": True}
    finally:
        loop.close()


def test_many_tracers_in_one_thread_send_and_settle_every_probe():
    loop = TraceLoop()
    samples: dict[int, list] = {}
    runs = []
    for i in range(20):
        dst = f"198.18.9.{i + 1}"
        settings = TraceSettings(address=dst, interval_s=0.1, max_ttl=8, timeout_s=0.5, rounds=4)
        network = FakeNetwork(path(dst, 5), RealTimeClock(), seed=i)
        got = samples.setdefault(i, [])
        runs.append(drive_in_thread(loop, Tracer(settings, network, got.append, source="198.18.0.1")))
    finish_all(loop, runs)
    for got in samples.values():
        # 4 rounds x 5 hops (TTLs past the destination are not reported), every one answered at its hop's RTT.
        assert sorted((s.round, s.ttl) for s in got) == [(r, t) for r in range(4) for t in range(1, 6)]
        assert all(s.rtt_ms is not None and s.rtt_ms == pytest.approx(2.0 * s.ttl, abs=1.0) for s in got)
        assert all(s.reached for s in got if s.ttl == 5)
    assert loop.traces == 0


def test_real_sockets_are_waited_on_together():
    # UDP to a closed loopback port: the kernel's port unreachable (from the error queue) ends the path at TTL 1.
    loop = TraceLoop()
    got: list = []
    runs = []
    for _ in range(3):
        settings = TraceSettings(address="127.0.0.1", protocol="udp", interval_s=0.1, max_ttl=3, rounds=5,
                                 timeout_s=1.0)  # fmt: skip
        runs.append(drive_in_thread(loop, Tracer(settings, UdpSocketNetwork(), got.append)))
    finish_all(loop, runs)
    assert len(got) == 3 * 5 and all(s.ttl == 1 and s.reached and s.rtt_ms is not None for s in got)


class FailingNetwork(FakeNetwork):
    def send(self, packet, dst):
        if len(self.sent) >= 3:
            raise OSError("the interface went away")
        return super().send(packet, dst)


def test_a_stop_or_a_failing_network_ends_only_its_own_tracer():
    loop = TraceLoop()
    endless = TraceSettings(address="198.18.9.1", interval_s=0.1, max_ttl=4, timeout_s=0.5)
    stopped = Tracer(endless, FakeNetwork(path("198.18.9.1", 3), RealTimeClock()), lambda s: None)
    failing = Tracer(
        TraceSettings(address="198.18.9.2", interval_s=0.1, max_ttl=4, timeout_s=0.5),
        FailingNetwork(path("198.18.9.2", 3), RealTimeClock()),
        lambda s: None,
    )
    kept: list = []
    other = Tracer(
        TraceSettings(address="198.18.9.3", interval_s=0.1, max_ttl=4, timeout_s=0.5),
        FakeNetwork(path("198.18.9.3", 3), RealTimeClock()),
        kept.append,
    )
    try:
        (t1, o1), (t2, o2), (t3, o3) = (drive_in_thread(loop, t) for t in (stopped, failing, other))
        t2.join(10)
        assert isinstance(o2.get("error"), OSError) and "went away" in str(o2["error"])
        time.sleep(0.5)
        stopped.stop()
        t1.join(5)
        assert o1 == {"ok": True} and stopped.probes_sent > 3
        before = len(kept)
        time.sleep(0.5)
        assert t3.is_alive() and len(kept) > before  # the third one goes on
    finally:
        loop.close()
    t3.join(5)
    assert o3 == {"ok": True}  # close() ends what is left as a stop does
    with pytest.raises(RuntimeError):
        loop.drive(other)


def test_an_observer_error_reaches_the_caller_of_drive():
    def observer(sample):
        raise ValueError("observer broke")

    loop = TraceLoop()
    tracer = Tracer(
        TraceSettings(address="198.18.9.1", interval_s=0.1, max_ttl=3, timeout_s=0.5, rounds=2),
        FakeNetwork(path("198.18.9.1", 3), RealTimeClock()),
        observer,
    )
    try:
        with pytest.raises(ValueError, match="observer broke"):
            loop.drive(tracer)
    finally:
        loop.close()


class ReadyNetwork(FakeNetwork):
    """A fake path with a descriptor that is readable from the start (replies waiting when the loop first wakes,
    as after a burst), noting the order of its sends and reads. ``stamps_replies`` as the class says."""

    stamps_replies = True

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.order: list[str] = []
        self._r, self._w = os.pipe()
        os.write(self._w, b"x")

    def poll_fds(self):
        return [self._r]

    def send(self, packet, dst):
        self.order.append("send")
        return super().send(packet, dst)

    def recv(self, timeout_s):
        self.order.append("recv")
        with contextlib.suppress(BlockingIOError):
            os.set_blocking(self._r, False)
            os.read(self._r, 64)
        return super().recv(timeout_s)

    def close(self):
        super().close()
        os.close(self._r)
        os.close(self._w)


class ReadStampedNetwork(ReadyNetwork):
    stamps_replies = False  # a reply's time is taken when it is read: reading after a send adds the send to it


def run_alone(tracer: Tracer) -> None:
    tracer.run()


def drive_in_loop(tracer: Tracer) -> None:
    loop = TraceLoop()
    try:
        loop.drive(tracer)
    finally:
        loop.close()


@pytest.mark.parametrize("driver", [drive_in_loop, run_alone], ids=["TraceLoop", "Tracer.run"])
@pytest.mark.parametrize(("network", "first"), [(ReadyNetwork, "send"), (ReadStampedNetwork, "recv")])
def test_a_due_probe_leaves_before_the_waiting_replies_are_read_where_that_changes_no_rtt(network, first, driver):
    """The first wake has round 0 due and replies waiting. A network that stamps its replies in the kernel is sent
    to first (its replies give the same RTTs read later, and each read ahead of the send delayed it: up to tens
    of ms under load, scripts/bench_loop_order.py); one stamped when read is read first, as before. The agent's
    loop and a trace run alone (the report, the window) wake in the same order."""
    net = network(path("198.18.9.1", 3), RealTimeClock())
    samples = []
    tracer = Tracer(TraceSettings(address="198.18.9.1", interval_s=0.1, max_ttl=3, timeout_s=0.5, rounds=2), net,
                    samples.append)  # fmt: skip
    try:
        driver(tracer)
    finally:
        net.close()
    assert net.order[0] == first, net.order[:5]
    assert tracer.probes_sent == 2 * 3 and net.order.count("recv") >= 1
    assert len(samples) == 2 * 3  # every probe settled (answered, or lost where the fake's pipe went quiet)
    assert tracer.probes_sent == 2 * 3 and net.order.count("recv") >= 1


def test_a_tracer_wound_down_in_the_loop_settles_its_probes_in_flight_and_ends_without_its_next_round():
    """The agent's orderly stop: a tracer told ``wind_down`` sends nothing more, its answers still on their way
    (here 0.3 s) are waited for and counted, and it ends once they are in, not when its next round would have
    been due (5 s later) nor after the whole timeout (2 s)."""
    dst = "198.18.9.1"
    net = FakeNetwork([FakeHop("198.18.1.1", 2.0), FakeHop(dst, 300.0)], RealTimeClock())
    samples: list = []
    settings = TraceSettings(address=dst, interval_s=5.0, max_ttl=2, timeout_s=2.0)
    tracer = Tracer(settings, net, samples.append, source="198.18.0.1")
    loop = TraceLoop()
    run = drive_in_thread(loop, tracer)
    try:
        deadline = time.monotonic() + 10.0
        while len(net.sent) < 2 and time.monotonic() < deadline:  # round 0: TTL 1 now, TTL 2 at 2.5 s
            time.sleep(0.01)
        assert len(net.sent) == 2
        wound_at = time.monotonic()
        tracer.wind_down()
        run[0].join(10.0)
        took_s = time.monotonic() - wound_at
        assert run[1] == {"ok": True}
    finally:
        loop.close()
    assert len(net.sent) == 2 and [(s.ttl, s.rtt_ms is not None) for s in samples] == [(1, True), (2, True)]
    assert took_s < 1.5, took_s  # the 0.3 s answer, and a check every 0.1 s; loaded machines included


def test_a_tracer_wound_down_with_nothing_in_flight_ends_at_once_not_at_its_next_round():
    """Waited on through its socket (no packet will wake the loop for it), a tracer wound down between rounds
    (60 s apart) ends within the loop's checks, not when its next round would have been due."""
    loop = TraceLoop()
    got: list = []
    settings = TraceSettings(address="127.0.0.1", protocol="udp", interval_s=60.0, max_ttl=1, timeout_s=1.0)
    network = UdpSocketNetwork()
    tracer = Tracer(settings, network, got.append)
    run = drive_in_thread(loop, tracer)
    try:
        deadline = time.monotonic() + 10.0
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
        assert got  # round 0 answered (a port unreachable): nothing in flight
        wound_at = time.monotonic()
        tracer.wind_down()
        run[0].join(10.0)
        took_s = time.monotonic() - wound_at
        assert run[1] == {"ok": True}
    finally:
        loop.close()
        network.close()
    assert took_s < 2.0, took_s  # the loop's checks come every 0.1 s; a loaded machine may be slower
    assert tracer.probes_sent == 1 and len(got) == 1
