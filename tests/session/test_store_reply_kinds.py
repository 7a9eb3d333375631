"""Each sample's reply kind and ICMP code survive the session file; files written before they were kept open."""

import sqlite3
from pathlib import Path

import pytest

from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork
from pingmos.engine.tracer import Tracer, TraceSettings
from pingmos.session import SessionError, SessionInfo, open_session, save_session

DATA = Path(__file__).parent / "data"
DST = "198.18.4.2"
INFO = SessionInfo(target=DST, address=DST, protocol="udp", interval_s=1.0, max_ttl=30)


def traced(hops, protocol="udp", rounds=8):
    clock = FakeClock()
    samples = []
    settings = TraceSettings(DST, protocol, rounds=rounds)
    Tracer(settings, FakeNetwork(hops, clock), samples.append, clock, "198.18.0.1").run()
    return samples


def test_reply_kinds_and_codes_round_trip(tmp_path):
    # Router 3 refuses with admin prohibited (3/13): the last row is an unreachable with its code.
    hops = [FakeHop("198.18.0.2", 2.0), FakeHop("198.18.1.2", 4.0), FakeHop("198.18.2.2", 6.0, refuse_code=13)]
    hops += [FakeHop("198.18.3.2", 8.0), FakeHop(DST, 10.0)]
    samples = traced(hops)
    assert {(s.ttl, s.reply, s.icmp_code) for s in samples} == {
        (1, "time_exceeded", None),
        (2, "time_exceeded", None),
        (3, "time_exceeded", None),
        (4, "dest_unreachable", 13),
    }
    save_session(tmp_path / "s.pmsession", INFO, samples)
    with open_session(tmp_path / "s.pmsession") as session:
        assert list(session.samples()) == samples


def test_the_destinations_port_unreachable_is_kept_as_reached_with_code_3(tmp_path):
    samples = traced([FakeHop("198.18.0.2", 2.0), FakeHop(DST, 4.0)], rounds=3)
    save_session(tmp_path / "s.pmsession", INFO, samples)
    with open_session(tmp_path / "s.pmsession") as session:
        last = [s for s in session.samples() if s.ttl == 2]
    assert [(s.reply, s.icmp_code, s.reached) for s in last] == [("dest_unreachable", 3, True)] * 3


def test_a_file_written_before_reply_kinds_opens_with_none():
    with open_session(DATA / "before-reply-kinds.pmsession") as session:
        samples = list(session.samples())
    assert len(samples) > 100
    assert {(s.reply, s.icmp_code) for s in samples} == {(None, None)}
    assert any(s.reached for s in samples)


def test_an_unknown_reply_kind_is_reported_as_damage(tmp_path):
    samples = traced([FakeHop("198.18.0.2", 2.0), FakeHop(DST, 4.0)], rounds=1)
    path = tmp_path / "s.pmsession"
    save_session(path, INFO, samples)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE samples SET reply = 'teapot' WHERE ttl = 1")
    with open_session(path) as session, pytest.raises(SessionError, match="is damaged: sample"):
        list(session.samples())


def test_a_legacy_file_with_a_refusing_router_ends_the_path_there(tmp_path):
    # icmp-unreachable-not-terminal, offline input (recorded before reply kinds were kept): router 3 (198.18.2.2)
    # answers TTL 3 with TTL-exceeded and every TTL from 4 to 30 with admin prohibited. The file says only "who
    # answered where"; router 3 at every TTL from its own to the last leaves one reading: it refused them.
    with open_session(DATA / "legacy-admin-prohibited-hop4.pmsession") as session:
        samples = list(session.samples())
    kinds = {(s.ttl, s.reply) for s in samples if s.responder == "198.18.2.2"}
    assert (3, "time_exceeded") in kinds and (4, "dest_unreachable") in kinds and (30, "dest_unreachable") in kinds
    assert {s.reply for s in samples if s.ttl < 3} == {None}  # nothing else is guessed


def test_the_report_of_that_legacy_file_shows_four_rows_and_the_blocked_hop(capsys):
    import json

    from pingmos.cli import main

    assert main(["report", "--session", str(DATA / "legacy-admin-prohibited-hop4.pmsession"), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [h["ttl"] for h in doc["hops"]] == [1, 2, 3, 4]
    assert doc["hops"][-1]["unreachable"] == "code not recorded, from 198.18.2.2"
    assert doc["diagnosis"]["status"] == "problem" and doc["diagnosis"]["deteriorates_at_ttl"] == 4
    assert "blocked at hop 4 (198.18.2.2)" in doc["diagnosis"]["verdict"]


def test_legacy_inference_needs_a_clear_run_to_the_last_ttl():
    from pingmos.session.legacy_kinds import infer_reply_kinds

    dst = "198.18.4.2"
    # The destination answers last: nothing to infer.
    assert infer_reply_kinds([(1, "198.18.0.2", False), (2, dst, True)], dst) == {}
    # A router at only two TTLs (its own and one more) could be a silent hop's stand-in: unknown.
    assert infer_reply_kinds([(1, "a", False), (2, "r", False), (3, "r", False)], dst) == {}
    # Another address shares a TTL of the run: not a clean refusal.
    answers = [(1, "a", False), (2, "r", False), (3, "r", False), (3, "b", False), (4, "r", False)]
    assert infer_reply_kinds(answers, dst) == {}
    # Three TTLs of one router up to the last: its own TTL-exceeded, then refusals.
    answers = [(1, "a", False), (2, "r", False), (3, "r", False), (4, "r", False)]
    assert infer_reply_kinds(answers, dst) == {
        (2, "r"): "time_exceeded",
        (3, "r"): "dest_unreachable",
        (4, "r"): "dest_unreachable",
    }
