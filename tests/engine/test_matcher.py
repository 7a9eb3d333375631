from pingmos.engine.matcher import Matcher, Outstanding
from pingmos.engine.packets import Reply, ReplyKind

DST = "198.18.0.9"


def _error(kind, responder, key, code=0):
    """An ICMP error about a probe to DST: it quotes the probe's header (source unchecked: no source given)."""
    return Reply(kind, responder, key, code, "198.18.0.1", DST)


def _probe(round_no, ttl, seq, sent_at=100.0, deadline=10.0):
    return Outstanding(round_no, ttl, seq, sent_at, deadline)


def test_match_by_key_not_by_order():
    m = Matcher(DST)
    m.add(("icmp", 7, 1), _probe(0, 1, 1, sent_at=100.000))
    m.add(("icmp", 7, 2), _probe(0, 2, 2, sent_at=100.010))
    # The reply to the second probe arrives first.
    s2 = m.match(_error(ReplyKind.TIME_EXCEEDED, "198.18.0.3", ("icmp", 7, 2)), 100.030)
    s1 = m.match(_error(ReplyKind.TIME_EXCEEDED, "198.18.0.2", ("icmp", 7, 1)), 100.031)
    assert (s2.ttl, s2.responder, round(s2.rtt_ms, 6)) == (2, "198.18.0.3", 20.0)
    assert (s1.ttl, s1.responder, round(s1.rtt_ms, 6)) == (1, "198.18.0.2", 31.0)
    assert not s1.reached and not s2.reached
    assert len(m) == 0


def test_foreign_duplicate_and_late_replies_are_ignored():
    m = Matcher(DST)
    m.add(("icmp", 7, 1), _probe(0, 1, 1, deadline=5.0))
    assert m.match(Reply(ReplyKind.ECHO_REPLY, DST, ("icmp", 8, 1)), 100.01) is None  # other identifier
    assert m.match(Reply(ReplyKind.ECHO_REPLY, DST, ("icmp", 7, 1)), 100.01).reached
    assert m.match(Reply(ReplyKind.ECHO_REPLY, DST, ("icmp", 7, 1)), 100.02) is None  # duplicate
    m.add(("icmp", 7, 2), _probe(1, 1, 2, deadline=6.0))
    lost = m.expire(6.0)
    assert [(s.seq, s.rtt_ms, s.responder) for s in lost] == [(2, None, None)]
    assert m.match(Reply(ReplyKind.ECHO_REPLY, DST, ("icmp", 7, 2)), 109.0) is None  # after its timeout
    assert m.unmatched == 3


def test_expire_in_deadline_order_and_next_deadline():
    m = Matcher(DST)
    for seq in range(1, 5):
        m.add(("icmp", 1, seq), _probe(0, seq, seq, deadline=float(seq)))
    m.match(_error(ReplyKind.TIME_EXCEEDED, "198.18.0.2", ("icmp", 1, 1)), 100.0)
    assert m.next_deadline() == 2.0
    assert [s.seq for s in m.expire(3.5)] == [2, 3]
    assert m.next_deadline() == 4.0
    assert m.expire(3.9) == []


def test_unreachable_from_destination_counts_as_reached_but_not_from_a_router():
    m = Matcher(DST)
    m.add(("udp", 4000, 33434, 1), _probe(0, 5, 1))
    m.add(("udp", 4000, 33434, 2), _probe(0, 2, 2))
    assert m.match(_error(ReplyKind.UNREACHABLE, DST, ("udp", 4000, 33434, 1), 3), 100.01).reached
    assert not m.match(_error(ReplyKind.UNREACHABLE, "198.18.0.3", ("udp", 4000, 33434, 2), 1), 100.01).reached


def test_drop_beyond_forgets_probes_past_the_destination():
    m = Matcher(DST)
    for ttl in range(1, 6):
        m.add(("icmp", 1, ttl), _probe(0, ttl, ttl, deadline=1.0))
    m.drop_beyond(3)
    assert sorted(s.ttl for s in m.expire(2.0)) == [1, 2, 3]
