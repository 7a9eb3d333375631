"""An mtr --raw log names no target: the destination is the host answering at the highest TTL and at a lower one,
with no other host beyond its first (newcomer F20: a real log whose destination answered at positions 5, 6 and 8,
its one probe at 7 lost, was read as "target unknown, destination not reached", the verdict passing over hop 6's
8 % loss)."""

from pathlib import Path

from pingmos.session import open_session
from pingmos.session.mtr_import import _RawLog

DATA = Path(__file__).parent / "data"


def test_a_destination_whose_ttls_beyond_it_are_not_adjacent_is_found():
    session = open_session(DATA / "lab5-gap.mtr.raw")
    assert session.info.address == "198.18.5.2"
    ttls = {s.ttl for s in session.samples()}
    assert max(ttls) == 6  # the probes beyond the destination (positions 6-8, TTLs 7-9) are dropped
    assert not any("target is unknown" in note for note in session.info.extra.get("notes", ()))


def _log(answered: dict[str, set[int]]) -> _RawLog:
    log = _RawLog("t.raw", 0, 0)
    log.answered_at = answered
    return log


def test_a_router_at_two_ttls_with_hosts_beyond_it_is_not_the_destination():
    # A route change can show one router at two TTLs; it is no destination while another host answers further on.
    assert _log({"198.18.0.2": {0, 3}, "198.18.1.2": {1, 4}}).destination() is None
    assert _log({"198.18.0.2": {0}, "198.18.5.2": {4, 5, 7}}).destination() == "198.18.5.2"
    assert _log({"198.18.0.2": {0}, "198.18.5.2": {7}}).destination() is None  # one TTL: maybe a router
