"""Trippy JSON reports and RIPE Atlas traceroute results opened as sessions (fixtures explained in data/README.md)."""

import json
from pathlib import Path

import pytest

from pingmos.cli import main
from pingmos.session import SessionError, SeveralProbes, open_session

DATA = Path(__file__).parent / "data"


def no_score(w):
    return None


def test_a_trippy_report_carries_its_totals_with_unknowns_as_unknown():
    s = open_session(DATA / "trippy_report.json")
    assert s.info.source == "trippy --mode json" and s.info.address == "198.18.2.2"
    assert s.info.target == "target.lab.test" and list(s.samples()) == []
    snap = s.snapshot(None, no_score, "none")
    rows = [(h.ttl, h.address, h.name, h.sent, h.received, h.loss_pct, h.avg_ms) for h in snap.hops]
    assert rows == [
        (1, "198.18.0.2", "r1.lab.test", 10, 10, 0.0, 2.40),
        (2, "198.18.1.2", "r2a.lab.test", 10, 8, 20.0, 6.32),
        (3, None, None, 10, 0, 100.0, None),  # Trippy's "0.00" times of a silent hop are no measurement
        (4, "198.18.2.2", "target.lab.test", 10, 9, 10.0, 12.44),
    ]
    assert snap.hops[0].min_ms == 2.20 and snap.hops[0].max_ms == 2.71 and snap.hops[0].stdev_ms == 0.15
    # Trippy's javg seeds with the first RTT: not convertible, so unknown rather than a wrong number.
    assert all(h.jitter_ms is None for h in snap.hops)
    assert snap.destination_reached is True
    assert any("several addresses answered (198.18.1.2, 198.18.1.3)" in n for n in s.info.extra["notes"])


def test_ripe_atlas_results_become_one_sample_per_packet():
    s = open_session(DATA / "atlas_traceroute.json")
    assert s.info.source == "RIPE Atlas" and s.info.address == "198.18.2.2" and s.info.extra["prb_id"] == "1001"
    samples = list(s.samples())
    by_ttl = {t: [x.rtt_ms for x in samples if x.ttl == t] for t in (1, 2, 3)}
    # run 1 then run 2; a duplicate, a late packet and an unsent packet (error) are no samples
    assert by_ttl == {
        1: [2.31, 2.4, 2.2, 2.25, 2.35],
        2: [None, 6.3, 6.4, None, None, None],
        3: [12.4, 12.5, None, 12.2, 12.3, 12.6],
    }
    assert {x.sent_at for x in samples} == {1700000000.0, 1700000900.0}
    assert all(x.reached == (x.ttl == 3 and x.rtt_ms is not None) for x in samples)
    snap = s.snapshot(None, no_score, "none")
    assert snap.destination_reached and [(h.sent, h.received) for h in snap.hops] == [(5, 5), (6, 2), (6, 5)]
    assert any("3 packet entries" in n for n in s.info.extra["notes"])


def test_other_tools_files_work_on_the_command_line(capsys):
    for name in ("trippy_report.json", "atlas_traceroute.json"):
        assert main(["report", "--session", str(DATA / name), "--format", "json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["destination_reached"] is True and doc["target"] == "target.lab.test"


@pytest.mark.parametrize(
    "doc,match",
    [
        ({"info": {"target": {"ip": "nope"}}, "hops": []}, "info.target.ip"),
        ({"info": {"target": {"ip": "198.18.0.1"}}, "hops": [{"ttl": 1, "sent": 2, "recv": 3, "hosts": []}]},
         "recv 3 is more than sent 2"),
        ({"info": {"target": {"ip": "198.18.0.1"}}, "hops": [{"ttl": 256, "sent": 1, "recv": 0}]}, "ttl 256"),
        ([{"type": "traceroute", "prb_id": 1, "dst_addr": "198.18.0.1"},
          {"type": "traceroute", "prb_id": 2, "dst_addr": "198.18.0.1"}], "2 probes"),
        ([{"type": "traceroute", "prb_id": 1, "dst_addr": "198.18.0.1", "timestamp": 1,
           "result": [{"hop": 1, "result": [{"from": "198.18.0.1", "rtt": -3}]}]}], "rtt '-3'"),
        ([{"type": "traceroute", "prb_id": 1, "dst_addr": "198.18.0.1", "timestamp": 1,
           "result": [{"hop": 300, "result": []}]}], "hop 300 is not"),
        ({"something": "else"}, "JSON, but not"),
    ],
)  # fmt: skip
def test_broken_reports_of_other_tools_are_refused_in_one_line(tmp_path, doc, match):
    p = tmp_path / "f.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(SessionError, match=match):
        open_session(p)


# -- RIPE Atlas results of several probes (data/atlas_multi_probe.json, explained in data/README.md) -------------

MULTI = DATA / "atlas_multi_probe.json"


def test_several_probes_are_refused_in_one_line_naming_them(capsys):
    with pytest.raises(SeveralProbes) as err:
        open_session(MULTI)
    assert err.value.probes == ((1001, 2), (1002, 2), (1003, 1))
    rc = main(["report", "--session", str(MULTI)])
    out, message = capsys.readouterr()
    assert rc == 2 and out == "" and message.count("\n") == 1 and "Traceback" not in message
    assert "3 probes" in message and "1001 (2 runs), 1002 (2 runs), 1003 (1 run)" in message
    assert "--probe ID" in message


def test_one_probe_is_chosen_and_only_its_runs_are_read(capsys):
    s = open_session(MULTI, probe=1002)
    assert s.info.extra["prb_id"] == "1002" and s.info.extra["runs"] == 2
    assert {x.responder for x in s.samples()} == {"198.18.5.2", "198.18.6.2", "198.18.2.2", None}
    snap = s.snapshot(None, no_score, "none")
    assert [(h.ttl, h.address, h.sent, h.received) for h in snap.hops] == [
        (1, "198.18.5.2", 6, 6),
        (2, "198.18.6.2", 6, 5),
        (3, "198.18.2.2", 6, 5),
    ]
    assert snap.destination_reached
    # probe 1003 never reached the target: its own verdict, not pooled with the others
    assert open_session(MULTI, probe=1003).snapshot(None, no_score, "none").destination_reached is False
    assert main(["report", "--session", str(MULTI), "--probe", "1001", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [h["address"] for h in doc["hops"]] == ["198.18.0.2", "198.18.2.2"] and doc["hops"][0]["sent"] == 6
    assert main(["export", str(MULTI), "--probe", "1003", "--what", "samples", "--format", "json"]) == 0
    samples = json.loads(capsys.readouterr().out)
    assert samples and {x["responder"] for x in samples} <= {"198.18.7.2", None}


@pytest.mark.parametrize(
    "argv,message",
    [
        (["report", "--session", str(MULTI), "--probe", "9"], "no run of probe 9; they hold probes 1001"),
        (["report", "--session", str(DATA / "trippy_report.json"), "--probe", "1"], "PROBE is only for RIPE Atlas"),
        (["report", "--session", str(DATA / "lab3.mtr.raw"), "--probe", "1"], "PROBE is only for RIPE Atlas"),
        (["report", "198.18.0.1", "--probe", "1"], "use it with --session"),
    ],
)
def test_a_wrong_probe_is_one_line(argv, message, capsys):
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and message in err and err.count("\n") == 1
