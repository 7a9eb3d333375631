"""Where the path ends, on the simulated path in virtual time: reply kinds and codes, routes that get longer and
shorter (reroute-dest-dropped), routers that refuse with destination unreachable (icmp-unreachable-not-terminal),
and forged replies that must not cut the trace short (issue 15: replies prove themselves)."""

from collections import Counter

import pytest

from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork
from pingmos.engine.tracer import Tracer, TraceSettings
from pingmos.engine.wire import (
    build_destination_reply,
    build_time_exceeded,
    build_unreachable,
    probe_fields,
    with_ip_header,
)

SRC4, SRC6 = "198.18.0.1", "2001:db8::1"
DST4, DST6 = "198.18.4.2", "2001:db8:4::2"


def path(version, n=5, **last):
    """n hops, 1 ms apart; the last is the destination."""
    if version == 4:
        routers = [f"198.18.{i}.2" for i in range(n - 1)]
        dst = DST4
    else:
        routers = [f"2001:db8:{i + 10}::2" for i in range(n - 1)]
        dst = DST6
    return [FakeHop(a, 2.0 * (i + 1)) for i, a in enumerate(routers)] + [FakeHop(dst, 2.0 * n, **last)]


def run(hops, protocol="icmp", rounds=10, net_class=FakeNetwork, on_round=None, interval_s=1.0, **kw):
    """Trace ``hops`` for ``rounds``; ``on_round(round, net)`` runs when a round's first sample arrives."""
    clock = FakeClock()
    net = net_class(hops, clock)
    samples = []
    seen_rounds = set()

    def on_sample(s):
        if on_round is not None and s.round not in seen_rounds:
            seen_rounds.add(s.round)
            on_round(s.round, net)
        samples.append(s)

    v6 = ":" in hops[-1].address
    settings = TraceSettings(hops[-1].address, protocol, interval_s, 30, None, rounds, **kw)
    tracer = Tracer(settings, net, on_sample, clock=clock, source=SRC6 if v6 else SRC4)
    tracer.run()
    return tracer, net, samples


def rows(samples):
    """ttl -> Counter of (responder, reply kind, code, reached)."""
    out = {}
    for s in samples:
        out.setdefault(s.ttl, Counter())[(s.responder, s.reply, s.icmp_code, s.reached)] += 1
    return out


@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize(
    ("protocol", "dest_kind", "dest_code"),
    [("icmp", "echo_reply", None), ("udp", "dest_unreachable", "port"), ("tcp", "tcp_rst", None)],
)
def test_every_sample_keeps_its_reply_kind_and_code(version, protocol, dest_kind, dest_code):
    hops = path(version, 3)
    tracer, _, samples = run(hops, protocol, rounds=4)
    code = (4 if version == 6 else 3) if dest_code == "port" else None
    got = rows(samples)
    assert got[1] == Counter({(hops[0].address, "time_exceeded", None, False): 4})
    assert got[3] == Counter({(hops[2].address, dest_kind, code, True): 4})
    assert sorted(got) == [1, 2, 3] and tracer.destination_ttl == 3 and tracer.destination_reached
    assert tracer.suspicious_replies == 0


@pytest.mark.parametrize("version", [4, 6])
def test_a_tcp_syn_ack_is_kept_as_such(version):
    class SynAck(FakeNetwork):
        def deliver_at(self, due, packet):
            if packet[6 if version == 6 else 9] == 6:  # our RST-ACK: make it a SYN-ACK (flags byte 13)
                off = 40 if version == 6 else 20
                packet = packet[: off + 13] + b"\x12" + packet[off + 14 :]
            super().deliver_at(due, packet)

    _, _, samples = run(path(version, 3), "tcp", rounds=2, net_class=SynAck)
    assert {s.reply for s in samples if s.ttl == 3} == {"tcp_syn_ack"}


def test_a_longer_route_is_followed_beyond_the_old_destination():
    # reroute-dest-dropped "longer": 4 hops for the first round, then 5 for good.
    short, long_ = path(4, 4), path(4, 5)

    def reroute(round_no, net):
        if round_no == 1:
            net.hops = long_

    tracer, net, samples = run(short, rounds=30, on_round=reroute)
    dest = [s for s in samples if s.reached]
    assert tracer.destination_ttl == 5 and tracer.destination_reached
    # The destination is measured at TTL 5 from round 2 on (round 1's TTL 4 answer told us the path grew).
    assert {s.round for s in dest if s.ttl == 5} >= set(range(3, 30))
    assert not any(s.reached for s in samples if s.ttl == 4 and s.round >= 2)
    hop4 = Counter(s.responder for s in samples if s.ttl == 4 and s.round >= 2)
    assert hop4 == Counter({"198.18.3.2": 28})  # the router, never labelled as the destination


def test_a_transient_shortening_finds_the_real_destination_again():
    # reroute-dest-dropped "shorter then longer": 5 hops, 4 hops for rounds 5-9, 5 hops again.
    five, four = path(4, 5), path(4, 4)
    sent_rounds = {}

    def reroute(round_no, net):
        net.hops = four if 5 <= round_no < 10 else five

    tracer, net, samples = run(five, rounds=20, on_round=reroute)
    for ttl, _packet in net.sent:
        sent_rounds[ttl] = sent_rounds.get(ttl, 0) + 1
    reached_at = {s.round: s.ttl for s in samples if s.reached}
    assert all(reached_at[r] == 5 for r in range(0, 5))
    assert all(reached_at[r] == 4 for r in range(6, 10))
    assert all(reached_at[r] == 5 for r in range(11, 20))
    assert tracer.destination_ttl == 5 and tracer.suspicious_replies == 0
    # Each TTL's row holds one responder kind per round: the router at TTL 4 is never "reached".
    assert all(s.responder == "198.18.3.2" for s in samples if s.ttl == 4 and not s.reached and s.rtt_ms)


@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize("protocol", ["icmp", "udp", "tcp"])
def test_a_router_refusing_with_admin_prohibited_ends_the_path_there(version, protocol):
    # icmp-unreachable-not-terminal, variant 1: router 3 refuses every probe it would forward (3/10; ICMPv6 1/1).
    hops = path(version, 5)
    code = 1 if version == 6 else 10
    hops[2] = FakeHop(hops[2].address, hops[2].rtt_ms, refuse_code=code)
    tracer, net, samples = run(hops, protocol, rounds=6)
    got = rows(samples)
    assert sorted(got) == [1, 2, 3, 4]
    assert got[4] == Counter({(hops[2].address, "dest_unreachable", code, False): 6})
    assert tracer.destination_ttl == 4 and not tracer.destination_reached
    sent = Counter(ttl for ttl, _ in net.sent)
    assert max(sent) == 5 and sent[5] == 1  # one probe beyond proved it, then no more


def test_host_unreachable_from_the_last_router_ends_the_path_at_the_destinations_hop():
    # Variant 2: router 4 answers 3/1 for the target: the trace ends at hop 5, marked, not 30 rows of router 4.
    hops = path(4, 5)
    hops[3] = FakeHop(hops[3].address, hops[3].rtt_ms, refuse_code=1)
    tracer, _, samples = run(hops, rounds=4)
    assert rows(samples)[5] == Counter({("198.18.3.2", "dest_unreachable", 1, False): 4})
    assert max(s.ttl for s in samples) == 5 and tracer.destination_ttl == 5


def test_when_the_refusing_router_forwards_again_the_destination_is_found():
    hops = path(4, 5)
    refusing = list(hops)
    refusing[2] = FakeHop(hops[2].address, hops[2].rtt_ms, refuse_code=13)

    def lift(round_no, net):
        net.hops = refusing if round_no < 4 else hops

    tracer, _, samples = run(refusing, rounds=12, on_round=lift)
    assert tracer.destination_ttl == 5 and tracer.destination_reached
    assert {s.round for s in samples if s.reached and s.ttl == 5} >= set(range(6, 12))


@pytest.mark.parametrize("version", [4, 6])
def test_a_port_unreachable_from_another_address_of_the_target_counts_as_reached(version):
    other = "198.18.9.9" if version == 4 else "2001:db8:9::9"
    hops = path(version, 4, answer_from=other)
    tracer, _, samples = run(hops, "udp", rounds=5)
    last = [s for s in samples if s.ttl == 4]
    assert len(last) == 5 and all(s.reached and s.responder == other for s in last)
    assert tracer.destination_ttl == 4 and max(s.ttl for s in samples) == 4


def test_a_routers_firewall_rejecting_with_port_unreachable_is_a_refusal_not_the_destination():
    # iptables REJECT answers port unreachable by default: from router 3, which answered TTL 3 itself.
    hops = path(4, 5)
    hops[2] = FakeHop(hops[2].address, hops[2].rtt_ms, refuse_code=3)
    tracer, _, samples = run(hops, "udp", rounds=5)
    assert rows(samples)[4] == Counter({("198.18.2.2", "dest_unreachable", 3, False): 5})
    assert tracer.destination_ttl == 4 and not tracer.destination_reached and max(s.ttl for s in samples) == 4


# --- Forgeries: replies that do not prove themselves ------------------------------------------------------


class Forger(FakeNetwork):
    """Sends, before the genuine answer, a forged reply to every probe ``forge(fields, probe)`` returns bytes for."""

    forge = None

    def send(self, packet, dst):
        at = super().send(packet, dst)
        forged = type(self).forge(probe_fields(packet), packet)
        if forged is not None:
            self.inject(forged, 0.0005)
        return at


def forging(fn):
    return type("F", (Forger,), {"forge": staticmethod(fn)})


def assert_intact(tracer, samples, n=5, rounds=10):
    got = rows(samples)
    assert sorted(got) == list(range(1, n + 1))
    for ttl in range(1, n):
        assert sum(got[ttl].values()) == rounds
        assert all(not reached and kind == "time_exceeded" for (_a, kind, _c, reached) in got[ttl])
    assert all(reached for (_a, _k, _c, reached) in got[n]) and sum(got[n].values()) == rounds
    assert tracer.destination_ttl == n


@pytest.mark.parametrize("version", [4, 6])
def test_a_forged_echo_reply_from_another_address_is_refused(version):
    liar = "198.18.77.7" if version == 4 else "2001:db8:77::7"

    def forge(f, probe):
        if f["ttl"] == 1:  # a probe's identifier and sequence, from an address we did not probe
            return build_destination_reply(probe, liar)
        return None

    tracer, _, samples = run(path(version), rounds=10, net_class=forging(forge))
    assert_intact(tracer, samples)
    assert tracer.suspicious_replies == 10


@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize("ttl", [1, 2])
def test_a_port_unreachable_claiming_the_targets_source_at_a_low_ttl_does_not_end_the_trace(version, ttl):
    def forge(f, probe):
        if f["ttl"] == ttl and f["seq"] % 3 == 0:  # the target's own address, the probe's own quote
            return build_destination_reply(probe)
        return None

    tracer, _, samples = run(path(version), "udp", rounds=10, net_class=forging(forge))
    assert_intact(tracer, samples)
    assert tracer.suspicious_replies == sum(1 for s in samples if s.ttl == ttl and s.seq % 3 == 0)
    assert tracer.suspicious_replies > 0


@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize("flags", [b"\x12", b"\x14"])
def test_a_forged_syn_ack_or_rst_does_not_end_the_trace(version, flags):
    off = 40 if version == 6 else 20

    def forge(f, probe):
        if f["ttl"] == 1:  # a TCP answer with the target's address, for TTL 1: the router is ahead of it
            packet = bytearray(build_destination_reply(probe))
            packet[off + 13] = flags[0]
            return bytes(packet)
        return None

    tracer, _, samples = run(path(version), "tcp", rounds=10, net_class=forging(forge))
    assert_intact(tracer, samples)
    assert tracer.suspicious_replies == 10


@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize("which", ["src", "dst"])
def test_an_icmp_error_quoting_another_source_or_destination_is_refused(version, which):
    other = "198.18.66.6" if version == 4 else "2001:db8:66::6"

    def forge(f, probe):
        if f["ttl"] != 2:
            return None
        quoted = bytearray(probe)
        if version == 4:
            quoted[12 if which == "src" else 16 : 16 if which == "src" else 20] = bytes(map(int, other.split(".")))
        else:
            import socket

            start = 8 if which == "src" else 24
            quoted[start : start + 16] = socket.inet_pton(socket.AF_INET6, other)
        # A time-exceeded (a fake hop) and an unreachable (a fake end) for a probe that is not ours.
        return build_unreachable(bytes(quoted), path(version)[-1].address, 4 if version == 6 else 3)

    tracer, _, samples = run(path(version), "udp", rounds=10, net_class=forging(forge))
    assert_intact(tracer, samples)
    assert tracer.suspicious_replies == 10


def test_a_forged_time_exceeded_from_a_wrong_quote_does_not_make_a_hop():
    def forge(f, probe):
        if f["ttl"] == 5:  # the destination's TTL: a fake router there would lengthen the path
            quoted = bytearray(probe)
            quoted[16:20] = bytes([198, 18, 66, 6])
            return build_time_exceeded(bytes(quoted), "198.18.66.1")
        return None

    tracer, _, samples = run(path(4), "icmp", rounds=10, net_class=forging(forge))
    assert_intact(tracer, samples)


def test_a_lone_early_reached_is_counted_and_the_real_answer_of_that_probe_still_counts():
    # The forged port unreachable arrives first; the router's genuine time-exceeded for the same probe arrives a
    # moment later and is the sample kept: no loss is invented at TTL 2.
    def forge(f, probe):
        return build_destination_reply(probe) if f["ttl"] == 2 else None

    tracer, _, samples = run(path(4), "udp", rounds=10, net_class=forging(forge))
    hop2 = [s for s in samples if s.ttl == 2]
    assert len(hop2) == 10 and all(s.rtt_ms == pytest.approx(4.0, abs=1e-3) for s in hop2)
    assert all(s.responder == "198.18.1.2" and s.reply == "time_exceeded" for s in hop2)
    assert tracer.suspicious_replies == 10


def test_unproved_replies_leave_no_trace_in_an_ipv4_packet_without_a_quote():
    # An error too short to quote a probe is not even a reply.
    from pingmos.engine.wire import parse_reply

    assert parse_reply(with_ip_header("198.18.0.2", SRC4, 1, bytes([11, 0, 0, 0, 0, 0, 0, 0]) + bytes(12))) is None


def test_a_claim_still_waiting_when_the_trace_ends_is_judged_and_nothing_is_held_back():
    from pingmos.engine.events import Sample
    from pingmos.engine.path_end import PathEnd

    path_end = PathEnd(max_ttl=30)
    emitted = []
    for ttl in (1, 2):
        path_end.on_sent(0, ttl)
    emitted += path_end.on_sample(Sample(0, 1, 1, 0.0, 1.0, "198.18.0.2", False, "time_exceeded"), ("k", 1)).emit
    claim = Sample(0, 2, 2, 0.0, 2.0, DST4, True, "echo_reply")
    assert path_end.on_sample(claim, ("k", 2)).emit == []  # held until TTL 3 of round 0 has answered
    assert path_end.pending and path_end.end_ttl is None
    decision = path_end.finish()  # the trace stopped before TTL 3 went out
    assert decision.emit == [claim] and decision.retire == [("k", 2)]
    assert path_end.end_ttl == 2 and path_end.end_reached and not path_end.pending


class ForgesOnceLosesItsProof(FakeNetwork):
    """Round 0's probe at TTL 2 is swallowed and answered by a forged "reached" from the target's address (a
    port unreachable quoting it), and round 0's probe at TTL 3, the one that would disprove it, is lost: the
    claim can only be judged by a later round."""

    def __init__(self, hops, clock):
        super().__init__(hops, clock)
        self.seen: Counter = Counter()

    def send(self, packet, dst):
        ttl = probe_fields(packet)["ttl"]
        self.seen[ttl] += 1
        if self.seen[ttl] == 1 and ttl in (2, 3):
            self.sent.append((ttl, packet))
            if ttl == 2:
                self.inject(build_destination_reply(packet), 0.0005)
            return self.wall(self.clock.now)
        return super().send(packet, dst)


def test_a_claim_whose_proof_probe_is_lost_is_judged_by_the_next_round_and_a_router_there_refuses_it():
    # Round 1's TTL 3 is answered by a router (time exceeded): the forged end at TTL 2 is refused, not accepted
    # because round 0's TTL 3 was lost (which settles only at its timeout).
    tracer, _, samples = run(path(4), "udp", rounds=10, interval_s=0.2, net_class=ForgesOnceLosesItsProof)
    got = rows(samples)
    assert sorted(got) == [1, 2, 3, 4, 5]
    assert tracer.destination_ttl == 5 and tracer.path.suspicious == 1
    assert all(not reached for (_a, _k, _c, reached) in got[2])  # the forged reply is no hop's sample
    assert sum(got[2].values()) == 10 and sum(got[3].values()) == 10  # round 0's lost: counted lost
