"""mtr output opened as sessions: --raw logs become exact raw samples, --json reports their per-hop totals.
The data files were written by mtr 0.95 on the network lab (3 hops, 10 % loss each way on the r1-r2 link)."""

from pathlib import Path

import pytest

from pingmos.scoring.formulas import pingplotter
from pingmos.session import SessionError, SessionInfo, open_session, save_session
from pingmos.session.mtr_import import parse_mtr_json, parse_mtr_raw

DATA = Path(__file__).parent / "data"


def scorer(w):
    return pingplotter.score(w.avg_ms, w.jitter_ms, w.loss_pct)


def test_an_mtr_raw_log_becomes_the_probes_it_records():
    s = open_session(DATA / "lab3.mtr.raw", interval_s=0.1)
    assert s.info.source == "mtr --raw" and s.info.address == "198.18.2.2"
    samples = list(s.samples())
    # mtr sent TTLs 4 and 5 in its first round before it knew the target answers at TTL 3: not hops.
    assert {x.ttl for x in samples} == {1, 2, 3}
    by_ttl = {t: [x for x in samples if x.ttl == t] for t in (1, 2, 3)}
    # The last probe to TTL 2 has no reply when the log ends: in flight, outcome unknown, so not counted.
    assert [len(v) for v in by_ttl.values()] == [5, 4, 5]
    assert any("1 probe(s) still in flight" in n for n in s.info.extra["notes"])
    assert [x.rtt_ms for x in by_ttl[1]] == [2.17, 2.171, 2.336, 2.261, 2.234]  # p lines, usec / 1000
    assert [x.rtt_ms is None for x in by_ttl[2]] == [False, True, False, False]
    assert all(x.reached == (x.rtt_ms is not None) for x in by_ttl[3])
    assert [x.round for x in by_ttl[3]] == [0, 1, 2, 3, 4]
    assert by_ttl[3][1].sent_at - by_ttl[3][0].sent_at == pytest.approx(0.1)
    assert s.names() == {"198.18.0.2": "r1.lab.test", "198.18.1.2": "r2.lab.test", "198.18.2.2": "target.lab.test"}
    snap = s.snapshot(None, scorer, "pingplotter")
    assert [(h.sent, h.received) for h in snap.hops] == [(5, 5), (4, 3), (5, 4)]
    assert snap.destination_reached and snap.hops[0].name == "r1.lab.test"
    assert snap.hops[0].avg_ms == pytest.approx((2.17 + 2.171 + 2.336 + 2.261 + 2.234) / 5)


def test_an_imported_raw_log_can_be_saved_as_a_session_and_replays_the_same(tmp_path):
    s = open_session(DATA / "lab3.mtr.raw")
    save_session(tmp_path / "s", s.info, s.samples(), names=s.names())
    again = open_session(tmp_path / "s")
    assert again.info.source == "mtr --raw"
    assert again.snapshot(3, scorer, "pp") == s.snapshot(3, scorer, "pp")


def test_an_mtr_json_report_carries_mtrs_totals_and_is_scored_from_them():
    s = open_session(DATA / "lab3.mtr.json")
    assert s.info.source == "mtr --json" and list(s.samples()) == []
    snap = s.snapshot(None, scorer, "pingplotter")
    hop2 = snap.hops[1]
    assert (hop2.ttl, hop2.address, hop2.sent, hop2.received, hop2.loss_pct) == (2, "r2.lab.test", 10, 8, 20.0)
    assert (hop2.avg_ms, hop2.min_ms, hop2.max_ms, hop2.stdev_ms, hop2.last_ms) == (6.32, 6.255, 6.512, 0.085, 6.275)
    # mtr's Javg 0.054 counts the first of 8 replies as a jitter of 0: PingPlotter's mean |difference| is 8/7 of it.
    assert hop2.jitter_ms == pytest.approx(0.054 * 8 / 7)
    expected = pingplotter.score(6.32, 0.054 * 8 / 7, 20.0)
    assert hop2.mos == expected.mos and hop2.r == expected.r
    with pytest.raises(SessionError, match="window or a time range"):
        s.snapshot(5, scorer, "pingplotter")


def test_an_mtr_json_report_without_rcv_or_javg_derives_received_and_leaves_jitter_unknown():
    s = open_session(DATA / "lab3-n.mtr.json")
    hops = s.snapshot(None, scorer, "pp").hops
    assert [(h.address, h.sent, h.received) for h in hops] == [
        ("198.18.0.2", 10, 10),
        ("198.18.1.2", 10, 4),
        ("198.18.2.2", 10, 8),
    ]
    assert all(h.jitter_ms is None for h in hops)


def test_silent_hops_in_an_mtr_report_have_no_numbers():
    text = (
        '{"report": {"mtr": {"dst": "198.18.1.2"}, "hubs": ['
        '{"count": 1, "host": "???", "Loss%": 100.0, "Snt": 4, "Last": 0.0, "Avg": 0.0, "Best": 0.0, '
        '"Wrst": 0.0, "StDev": 0.0},'
        '{"count": 2, "host": "198.18.1.2", "Loss%": 0.0, "Snt": 4, "Last": 5.0, "Avg": 5.0, "Best": 5.0, '
        '"Wrst": 5.0, "StDev": 0.0}]}}'
    )
    hops = parse_mtr_json(text).snapshot(None, scorer, "pp").hops
    assert hops[0].address is None and hops[0].avg_ms is None and hops[0].loss_pct == 100.0
    # Sent and all lost at a router: no responder samples, so no score (R 0 / MOS 1 is a destination's figure).
    assert (hops[0].r, hops[0].mos) == (None, None) and hops[0].unmeasured
    assert hops[1].received == 4 and hops[1].mos is not None


@pytest.mark.parametrize(
    "text,match",
    [
        ("x 0 1\np 0 abc 1\n", "line 2"),
        ("x 0 1\n#q 0 1 1\n", "line 2"),
        ("x 0 1\nh 0 \x1b[31mred\n", "line 2"),
        ("x 0 1\np 0 -5 1\n", "negative"),
        ("h 0 198.18.0.2\n", "no probes"),
        ("x 999 1\n", "line 1"),
    ],
)
def test_a_broken_raw_log_names_the_line(text, match):
    with pytest.raises(SessionError, match=match):
        parse_mtr_raw(text)


@pytest.mark.parametrize(
    "text", ['{"report": {}}', '{"report": {"mtr": {}, "hubs": [{"count": 1}]}}', "[1, 2]", "{not json"]
)
def test_a_broken_json_report_is_refused(tmp_path, text):
    p = tmp_path / "r.json"
    p.write_text(text)
    with pytest.raises(SessionError, match=str(p)):
        open_session(p)


def test_a_session_info_survives_json():
    info = SessionInfo("t", "198.18.0.1", "udp", 0.5, 20, 1.7e9, "pingmos", {"window": 10})
    assert SessionInfo.from_json(info.to_json()) == info
