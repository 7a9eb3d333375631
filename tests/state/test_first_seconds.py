"""The window's first seconds: the live trace's snapshots (``LiveTrace.snapshot``, what the window's refresher
shows) never leave the destination out once it answered, and the verdict never says it "did not answer".

The real tracer runs on the simulated path in virtual time at 0.2 s a round. The probe that proves the
destination's first reply (the next TTL of the same round, ``engine.path_end``) is lost: a 10 % lossy link does
that in one run of ten (the breaker's MIXED lab). The proof must then come from a later round, not from that
probe's timeout 3 s later (before: no destination row and "the destination did not answer" for 3 s)."""

from __future__ import annotations

from pingmos.diagnosis import diagnose
from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork
from pingmos.engine.wire import probe_ttl
from pingmos.live_trace import LiveTrace
from pingmos.scoring.formulas import pingplotter

SRC, DST = "198.18.0.1", "198.18.4.2"
PATH = [FakeHop(f"198.18.{i}.2", 2.0 * (i + 1)) for i in range(4)] + [FakeHop(DST, 10.0)]
INTERVAL_S = 0.2
ROUNDS = 20


def pp(windows):
    return [pingplotter.score(w.avg_ms, w.jitter_ms, w.loss_pct) for w in windows]


class DropsProbes(FakeNetwork):
    """The simulated path, but the probes numbered in ``drop`` (ttl -> which of that TTL's probes, from 0) are
    lost on the way. Records when the destination's first reply reached us (virtual monotonic s)."""

    def __init__(self, hops, clock, drop: dict[int, set[int]]):
        super().__init__(hops, clock)
        self.drop = drop
        self.per_ttl: dict[int, int] = {}
        self.first_destination_reply: float | None = None

    def send(self, packet, dst):
        ttl = probe_ttl(packet)
        nth = self.per_ttl.get(ttl, 0)
        self.per_ttl[ttl] = nth + 1
        if nth in self.drop.get(ttl, ()):
            self.sent.append((ttl, packet))
            return self.wall(self.clock.now)  # gone: no reply
        return super().send(packet, dst)

    def recv(self, timeout_s):
        out = super().recv(timeout_s)
        if self.first_destination_reply is None and any(self._from_destination(p) for p, _t in out):
            self.first_destination_reply = self.clock.now
        return out

    @staticmethod
    def _from_destination(packet: bytes) -> bool:
        return packet[12:16] == bytes(int(x) for x in DST.split("."))


def watch(drop: dict[int, set[int]]):
    """Run the trace; after every sample the history takes, snapshot it as the window would (last 100 samples)
    and diagnose it. Returns (network, [(virtual time s, destination sample applied?, snapshot, verdict text)])."""
    clock = FakeClock()
    made: list[DropsProbes] = []

    def network():
        made.append(DropsProbes(PATH, clock, drop))
        return made[0]

    trace = LiveTrace(DST, "icmp", INTERVAL_S, network_factory=network, tracer_clock=clock, source=SRC, rounds=ROUNDS)
    seen: list = []
    cache: dict = {}  # as the window keeps one per model
    applied = {"destination": False}

    def after_sample(sample):
        # The engine thread, after the sample is in the history: what any snapshot from now on is built from.
        applied["destination"] |= sample.responder == DST
        snap = trace.snapshot(100, pp, "pingplotter", cache=cache)
        seen.append((clock.now, applied["destination"], snap, diagnose(snap).verdict))

    trace.add_observer(after_sample)
    trace.start()
    assert trace.join(30)
    assert trace.status().error is None
    return made[0], seen


def test_every_snapshot_after_the_destination_answered_shows_it():
    net, seen = watch({})
    assert net.first_destination_reply is not None
    assert any(applied for _t, applied, _s, _v in seen)
    for _t, applied, snap, verdict in seen:
        if applied:
            assert snap.destination_reached, [h.ttl for h in snap.hops]
            assert snap.hops[-1].address == DST and snap.hops[-1].ttl == 5
            assert "did not answer" not in verdict


def test_a_lost_proof_probe_delays_the_destination_by_a_round_not_a_timeout():
    # Round 0's probe at TTL 6 (the one that proves round 0's reply at TTL 5) is lost; so is round 0's at TTL 7.
    net, seen = watch({6: {0}, 7: {0}})
    matched = net.first_destination_reply
    assert matched is not None and matched - 1000.0 < INTERVAL_S  # answered in round 0
    shown = [t for t, _applied, snap, _v in seen if snap.destination_reached]
    assert shown, "the destination never shown"
    delay_s = shown[0] - matched
    # The proof comes from round 1's TTL 6 (sent within a round after round 0's, answered in 12 ms).
    assert delay_s <= INTERVAL_S + 0.05, f"the destination shown {delay_s:.3f} s after its first reply"
    for t, applied, snap, verdict in seen:
        if applied:
            assert snap.destination_reached and snap.hops[-1].address == DST
            assert "did not answer" not in verdict
        if t >= shown[0]:
            assert snap.destination_reached, f"the destination left the rows at {t - matched:.3f} s"
    # Every round's reply at TTL 5 is kept, round 0's too (sent at the start, in virtual wall time).
    final = seen[-1][2]
    assert final.hops[-1].sent >= ROUNDS - 1
    assert min(final.hops[-1].window_rounds) == 0
