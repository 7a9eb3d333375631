"""The whole tracer on a simulated path, in virtual time: pacing, matching, loss, destination detection."""

import pytest

from pingmos.engine.fake_network import WALL_EPOCH, FakeClock, FakeHop, FakeNetwork
from pingmos.engine.packets import IcmpEchoTemplate, build_destination_reply, build_time_exceeded
from pingmos.engine.tracer import Tracer, TraceSettings

SRC, DST = "198.18.0.1", "198.18.0.99"


def trace(hops, rounds=20, protocol="icmp", interval_s=1.0, max_ttl=30, timeout_s=None, seed=1, setup=None):
    clock = FakeClock()
    net = FakeNetwork(hops, clock, seed=seed)
    samples = []
    settings = TraceSettings(DST, protocol, interval_s, max_ttl, timeout_s, rounds)
    tracer = Tracer(settings, net, samples.append, clock=clock, source=SRC)
    if setup:
        setup(tracer, net)
    tracer.run()
    return tracer, net, samples


def by_ttl(samples):
    out = {}
    for s in samples:
        out.setdefault(s.ttl, []).append(s)
    return out


PATH = [
    FakeHop("198.18.0.2", 2.0),
    FakeHop("198.18.0.3", 4.0),
    FakeHop("198.18.0.4", 6.0),
    FakeHop(DST, 8.0),
]


@pytest.mark.parametrize("protocol", ["icmp", "udp"])
def test_every_round_gives_one_sample_per_hop_with_exact_rtts(protocol):
    tracer, net, samples = trace(PATH, rounds=10, protocol=protocol)
    hops = by_ttl(samples)
    assert sorted(hops) == [1, 2, 3, 4]
    for ttl, expected in zip((1, 2, 3, 4), (2.0, 4.0, 6.0, 8.0), strict=True):
        assert len(hops[ttl]) == 10
        assert sorted(s.round for s in hops[ttl]) == list(range(10))
        assert all(s.rtt_ms == pytest.approx(expected, abs=1e-3) for s in hops[ttl])
        assert all(s.responder == PATH[ttl - 1].address for s in hops[ttl])
    assert all(s.reached for s in hops[4]) and not any(s.reached for s in hops[3])
    assert tracer.destination_ttl == 4


def test_no_ttl_beyond_the_destination_once_it_answered():
    _, net, samples = trace(PATH, rounds=5)
    ttls = [ttl for ttl, _ in net.sent]
    # The first round's TTLs are spread over 1 s (33 ms apart); the destination answers TTL 4 in 8 ms. Its claim
    # is proved by one probe beyond it (TTL 5 must not be a router's time-exceeded), then TTL 5 and beyond are
    # never sent again.
    assert ttls.count(5) == 1 and max(ttls) == 5
    assert len(ttls) == 5 * 4 + 1


def test_probes_beyond_the_destination_sent_before_it_was_known_are_not_hops():
    # At 0.1 s and 30 TTLs, TTLs are 3.3 ms apart: TTLs 5-6 leave before the 8 ms echo reply is back.
    _, net, samples = trace(PATH, rounds=3, interval_s=0.1)
    assert max(ttl for ttl, _ in net.sent) > 4
    assert max(s.ttl for s in samples) == 4


def test_silent_router_is_lost_every_time_and_later_hops_are_fine():
    path = [FakeHop("198.18.0.2", 2.0), FakeHop(None, 4.0), FakeHop("198.18.0.4", 6.0), FakeHop(DST, 8.0)]
    _, _, samples = trace(path, rounds=8)
    hops = by_ttl(samples)
    assert [s.rtt_ms for s in hops[2]] == [None] * 8
    assert all(s.rtt_ms == pytest.approx(6.0, abs=1e-3) for s in hops[3])
    assert len(hops[4]) == 8


def test_loss_is_counted_as_lost_samples_never_zero_ms():
    path = PATH[:3] + [FakeHop(DST, 8.0, loss_pct=30.0)]
    _, _, samples = trace(path, rounds=200, seed=7)
    dest = by_ttl(samples)[4]
    lost = sum(s.rtt_ms is None for s in dest)
    assert len(dest) == 200
    assert 30 < lost < 90  # binomial(200, 0.3): mean 60, sd 6.5
    assert all(s.rtt_ms is None or s.rtt_ms == pytest.approx(8.0, abs=1e-3) for s in dest)


def test_replies_after_the_timeout_are_lost_not_late_samples():
    path = PATH[:3] + [FakeHop(DST, 1500.0)]
    _, _, samples = trace(path, rounds=3, timeout_s=1.0)
    # The destination never answers in time, so it is never "found"; its TTL shows as lost.
    assert all(s.rtt_ms is None for s in by_ttl(samples)[4])


def test_jitter_reaches_the_samples():
    path = PATH[:3] + [FakeHop(DST, 8.0, jitter_ms=4.0)]
    _, _, samples = trace(path, rounds=50)
    rtts = [s.rtt_ms for s in by_ttl(samples)[4]]
    assert min(rtts) >= 7.999 and max(rtts) <= 12.001 and max(rtts) - min(rtts) > 2.0


def test_other_programs_replies_are_ignored():
    def inject_foreign(tracer, net):
        # Another pinger (identifier differs) on the same host: its replies reach our raw socket too.
        other = IcmpEchoTemplate(SRC, DST, ident=(tracer._templates[0].ident + 1) & 0xFFFF)
        for seq in range(1, 200):
            net.inject(build_destination_reply(other.packet(64, seq)), delay_s=seq * 0.01)
            net.inject(build_time_exceeded(other.packet(1, seq), "198.18.0.2"), delay_s=seq * 0.01)

    tracer, _, samples = trace(PATH, rounds=5, setup=inject_foreign)
    assert tracer.matcher.unmatched == 2 * 199
    assert len(samples) == 5 * 4


def test_stop_from_another_thread_ends_the_run():
    import threading

    clock = FakeClock()
    net = FakeNetwork(PATH, clock)
    tracer = Tracer(TraceSettings(DST, rounds=None), net, lambda s: None, clock=clock, source=SRC)
    t = threading.Thread(target=tracer.run)
    t.start()
    tracer.stop()
    t.join(timeout=5)
    assert not t.is_alive()


@pytest.mark.parametrize(
    "kwargs",
    [{"interval_s": 0.05}, {"interval_s": 61}, {"protocol": "sctp"}, {"max_ttl": 0}, {"rounds": 0}],
)
def test_settings_out_of_range_are_refused(kwargs):
    with pytest.raises(ValueError):
        TraceSettings(DST, **kwargs).validate()


def test_default_timeout_is_3s_or_the_interval():
    assert TraceSettings(DST, interval_s=1.0).effective_timeout_s == 3.0
    assert TraceSettings(DST, interval_s=10.0).effective_timeout_s == 10.0
    assert TraceSettings(DST, timeout_s=0.5).effective_timeout_s == 0.5


def test_replies_that_came_before_a_send_error_are_kept():
    """A network read late (kernel receive stamps) still holds the replies of the last round when the next send
    fails (a firewall rule mid-trace): they are read when the tracer finishes, not lost with the run."""
    clock = FakeClock()
    net = FakeNetwork(PATH, clock)
    samples = []
    tracer = Tracer(TraceSettings(DST, "icmp", 0.1, 4, None, 10), net, samples.append, clock=clock, source=SRC)
    tracer.begin()
    start = clock.now
    while clock.now < start + 0.095:  # round 0: TTLs 1-4, 25 ms apart; no reply read meanwhile
        tracer.advance(clock.now)
        clock.now += 0.005
    assert sorted(ttl for ttl, _ in net.sent) == [1, 2, 3, 4] and samples == []

    def refused(packet, dst):
        raise PermissionError(1, "Operation not permitted")

    net.send = refused
    clock.now = start + 0.101
    with pytest.raises(PermissionError):
        tracer.advance(clock.now)  # round 1's first probe
    tracer.finish()
    assert sorted((s.round, s.ttl) for s in samples) == [(0, 1), (0, 2), (0, 3), (0, 4)]
    by_hop = sorted(samples, key=lambda s: s.ttl)
    assert all(s.rtt_ms == pytest.approx(hop.rtt_ms, abs=1e-3) for s, hop in zip(by_hop, PATH, strict=True))


# A path whose destination answers 1.5 s after a probe leaves: at 1 round/s, probes of two rounds are in flight.
SLOW_PATH = [FakeHop("198.18.0.2", 2.0), FakeHop(DST, 1500.0)]


def wound_down_at_round(rounds_before: int, how: str):
    """Trace SLOW_PATH (interval 1 s, timeout 3 s) and, when the first sample of round ``rounds_before`` settles,
    call ``tracer.<how>()``; returns (tracer, network, samples, (the clock, probes sent) then, the clock at the end)."""
    clock = FakeClock()
    net = FakeNetwork(SLOW_PATH, clock)
    samples, at = [], []

    def observe(sample):
        samples.append(sample)
        if sample.round == rounds_before and not at:
            at.append((clock.now, tracer.probes_sent))
            getattr(tracer, how)()

    tracer = Tracer(TraceSettings(DST, "icmp", 1.0, 30, 3.0, None), net, observe, clock=clock, source=SRC)
    tracer.run()
    return tracer, net, samples, at[0], clock.now


def test_a_trace_wound_down_sends_nothing_more_and_settles_every_probe_in_flight():
    """wind_down (the agent's orderly stop): the probes already sent are waited for, at most their timeout, and
    every one is settled: the answers that come in time are counted as answers, not lost and not left out."""
    tracer, net, samples, (then, sent_then), end = wound_down_at_round(3, "wind_down")
    assert tracer.probes_sent == sent_then  # nothing sent after it
    # Every probe sent to a hop has its sample (those beyond the destination, sent before it answered, are no hop).
    assert len(samples) == len([ttl for ttl, _ in net.sent if ttl <= 2])
    assert all(s.rtt_ms is not None for s in samples)  # the answers that came after it count, none is lost
    # Among them the destination's answers then in flight (1.5 s on their way).
    assert [s for s in samples if s.sent_at - WALL_EPOCH + s.rtt_ms / 1000.0 > then + 0.1]
    assert end - then <= 3.0 + 0.3  # the timeout at most (plus a wake's 0.25 s)


def test_a_trace_stopped_at_once_counts_no_probe_in_flight_as_lost():
    """stop() (a second signal): the trace ends now; the probes in flight are left out, never counted lost."""
    tracer, net, samples, (then, sent_then), end = wound_down_at_round(3, "stop")
    assert end - then <= 0.3
    assert len(samples) < len([ttl for ttl, _ in net.sent if ttl <= 2])  # the destination's answers in flight
    assert all(s.rtt_ms is not None for s in samples)
