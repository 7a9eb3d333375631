import pytest

from pingmos.engine.scheduler import RoundScheduler


def test_ttls_are_spread_across_the_interval():
    s = RoundScheduler(interval_s=1.0, max_ttl=4, start=0.0, rounds=2)
    assert s.due(0.0) == [(0, 1)]
    assert s.due(0.2) == []
    assert s.due(0.25) == [(0, 2)]
    assert s.due(0.75) == [(0, 3), (0, 4)]
    assert s.next_due() == pytest.approx(1.0)
    assert s.due(2.0) == [(1, 1), (1, 2), (1, 3), (1, 4)]
    assert s.finished and s.next_due() is None and s.due(10.0) == []


def test_destination_found_mid_round_cuts_the_round_and_later_rounds():
    s = RoundScheduler(interval_s=1.0, max_ttl=30, start=0.0)
    assert s.due(0.1) == [(0, 1), (0, 2), (0, 3), (0, 4)]
    s.set_destination_ttl(3)
    assert s.due(0.9) == []  # TTL 5.. of round 0 are never sent
    assert s.next_due() == pytest.approx(1.0)
    # Round 1 spreads 3 TTLs over the interval.
    assert s.due(1.0) == [(1, 1)]
    assert s.due(1.34) == [(1, 2)]
    assert s.due(1.67) == [(1, 3)]
    assert s.next_due() == pytest.approx(2.0)


def test_destination_keeps_the_lowest_ttl():
    s = RoundScheduler(interval_s=1.0, max_ttl=30, start=0.0)
    s.set_destination_ttl(8)
    s.set_destination_ttl(6)
    s.set_destination_ttl(7)
    assert s.destination_ttl == 6 and s.last_ttl == 6


def test_skip_to_after_a_stall_sends_no_backlog():
    s = RoundScheduler(interval_s=1.0, max_ttl=2, start=0.0)
    s.due(0.6)
    s.skip_to(100.0)
    assert s.due(100.0) == [(1, 1)]
    assert s.next_due() == pytest.approx(100.5)


def test_bad_settings():
    with pytest.raises(ValueError):
        RoundScheduler(0.0, 30, 0.0)
    with pytest.raises(ValueError):
        RoundScheduler(1.0, 0, 0.0)


def test_ahead_sends_the_rounds_next_probes_early_but_never_the_next_round():
    s = RoundScheduler(interval_s=0.1, max_ttl=6, start=0.0, rounds=2)
    # TTLs every 16.7 ms: a 40 ms window takes the round's next two with the one due, not the next round's first.
    assert s.due(0.0, 0.04) == [(0, 1), (0, 2), (0, 3)]
    assert s.next_due() == pytest.approx(0.05)
    assert s.due(0.05, 0.04) == [(0, 4), (0, 5), (0, 6)]
    assert s.due(0.09, 0.04) == []  # round 1 is due at 0.1, however close
    assert s.due(0.1, 0.0) == [(1, 1)]
    assert s.due(0.1, 0.0) == []
