"""Properties of the path's end under any sequence of route lengths, refusing routers, losses and forgeries, on the
simulated path in virtual time: every probe within the path gives exactly one sample (none held back for good,
none twice), each round's samples are TTLs 1..m without gaps, and once the path has been stable for a few rounds
the end is where the path ends."""

from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork
from pingmos.engine.tracer import Tracer, TraceSettings
from pingmos.engine.wire import build_destination_reply, probe_ttl

DST = "198.18.9.2"
ROUNDS = 24
STABLE = 6  # the last rounds keep the final path


def hops_for(length, refuse_at):
    hops = [FakeHop(f"198.18.{i}.2", 1.0 + i) for i in range(length - 1)] + [FakeHop(DST, float(length))]
    if refuse_at is not None and refuse_at < length - 1:
        hops[refuse_at] = FakeHop(hops[refuse_at].address, hops[refuse_at].rtt_ms, refuse_code=13)
    return hops


changes = st.lists(
    st.tuples(st.integers(1, ROUNDS - STABLE - 1), st.integers(2, 7), st.none() | st.integers(0, 5)), max_size=4
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=st.integers(2, 7),
    route_changes=changes,
    forge_ttls=st.sets(st.integers(1, 7), max_size=3),
    protocol=st.sampled_from(["icmp", "udp"]),
)
def test_every_probe_within_the_path_gives_one_sample_and_the_end_settles(first, route_changes, forge_ttls, protocol):
    plan = {0: hops_for(first, None)}
    for round_no, length, refuse_at in route_changes:
        plan[round_no] = hops_for(length, refuse_at)
    final = plan[max(plan)]

    class Network(FakeNetwork):
        def send(self, packet, dst):
            at = super().send(packet, dst)
            if probe_ttl(packet) in forge_ttls:  # a forged "reached" ahead of every answer at these TTLs
                self.inject(build_destination_reply(packet), 0.0001)
            return at

    clock = FakeClock()
    net = Network(plan[0], clock)
    samples = []
    seen = set()

    def on_sample(s):
        if s.round not in seen:
            seen.add(s.round)
            if s.round in plan:
                net.hops = plan[s.round]
        samples.append(s)

    tracer = Tracer(TraceSettings(DST, protocol, 0.5, 12, 1.0, ROUNDS), net, on_sample, clock, "198.18.0.1")
    tracer.run()

    by_round = defaultdict(list)
    for s in samples:
        by_round[s.round].append(s.ttl)
    for round_no, ttls in by_round.items():
        assert len(ttls) == len(set(ttls)), (round_no, sorted(ttls))  # never twice
        assert sorted(ttls) == list(range(1, max(ttls) + 1)), (round_no, sorted(ttls))  # no gaps
    assert sorted(by_round) == list(range(ROUNDS))  # every round gave samples
    # The final path: the end is its destination, or the refusing router's next TTL.
    refuser = next((i for i, h in enumerate(final) if h.refuse_code is not None), None)
    want = len(final) if refuser is None else refuser + 2
    assert tracer.destination_ttl == want
    assert tracer.destination_reached is (refuser is None)
    last = [s for s in samples if s.round >= ROUNDS - 2]
    assert max(s.ttl for s in last) == want
