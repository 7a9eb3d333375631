"""A probe written twice is counted once (breaker C, imports-fidelity item 2).

/tmp/breakC/odd_dup.csv (a samples export with 19 of its rows repeated) showed 19 rounds and 19 probes sent at hop
1 for a run of 10; odd_dupx.mtr.raw (mtr --raw with every ``x`` line twice) showed hop 1 at 50 % loss for 0 %, the
repeated probe never answered. An IPv6 hop inside an IPv4 mtr report was scored as if measured.
"""

import json
from pathlib import Path

import pytest

from pingmos.cli import main
from pingmos.session import SessionError, open_session
from pingmos.session.mtr_import import MTR_SEQ_CYCLE, parse_mtr_raw

DATA = Path(__file__).parent / "data" / "breakC"


def test_a_samples_export_with_repeated_rows_counts_each_probe_once(capsys):
    assert main(["report", "--session", str(DATA / "dup_rows.samples.csv"), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["rounds"] == 10 and doc["hops"][0]["sent"] == 10 and doc["hops"][0]["received"] == 10  # was 19
    assert "19 row(s) repeat an earlier one exactly" in err and "first: line 63" in err


def write_rows(tmp_path: Path, rows: list[str]) -> Path:
    head = "round,ttl,seq,sent_at,sent_at_utc,rtt_ms,lost,responder,reached,reply,icmp_code"
    p = tmp_path / "s.csv"
    p.write_text("\n".join([head, *rows]) + "\n")
    return p


ANSWERED = "0,1,7,1000.0,,2.5,false,198.18.0.2,false,time_exceeded,"
LOST = "0,1,7,1000.0,,,true,,false,,"


def test_two_outcomes_for_one_probe_are_refused_in_one_line(tmp_path, capsys):
    path = write_rows(tmp_path, [ANSWERED, "0,2,8,1000.0,,,true,,false,,", LOST])
    assert main(["report", "--session", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "line 4: round 0, ttl 1 again, with another outcome than" in err and "line 2" in err


def test_a_samples_json_with_a_repeated_sample_counts_it_once(tmp_path):
    sample = {"round": 0, "ttl": 1, "seq": 7, "sent_at": 1000.0, "rtt_ms": 2.5, "lost": False,
              "responder": "198.18.0.2", "reached": True}  # fmt: skip
    p = tmp_path / "s.json"
    p.write_text(json.dumps([sample, dict(sample, round=1, seq=8, sent_at=1001.0), sample]))
    with open_session(p) as s:
        assert len(list(s.samples())) == 2
        assert any("1 row(s) repeat an earlier one exactly" in n for n in s.info.extra["notes"])


def test_an_mtr_raw_log_with_repeated_x_lines_counts_each_probe_once(capsys):
    assert main(["report", "--session", str(DATA / "dup_x.mtr.raw"), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    hop1 = json.loads(out)["hops"][0]
    assert (hop1["sent"], hop1["received"], hop1["loss_pct"]) == (10, 10, 0.0)  # was 20, 10, 50.0
    assert "61 'x' line(s) repeat a probe already sent" in err and "first: line 2" in err


def test_an_answered_probe_written_again_is_not_a_lost_one():
    log = "x 0 33000\nh 0 198.18.0.2\np 0 2000 33000\nx 0 33000\nx 0 33001\np 0 2100 33001\nx 0 33002\n"
    s = parse_mtr_raw(log)
    assert [(x.round, x.rtt_ms) for x in s.samples()] == [(0, 2.0), (1, 2.1)]
    assert any("1 'x' line(s) repeat" in n and "line 4" in n for n in s.info.extra["notes"])


def test_mtrs_own_reuse_of_a_sequence_number_is_a_new_probe():
    # mtr's sequence numbers come round after 32536 probes: the same number then is a new probe (lost here).
    lines = ["x 0 33000"]
    lines += [f"x 1 {33001 + i % (MTR_SEQ_CYCLE - 1)}" for i in range(MTR_SEQ_CYCLE - 1)]
    lines += ["x 0 33000", "h 0 198.18.0.2", "p 0 2000 33000", "x 0 33001", "p 0 2000 33001"]
    s = parse_mtr_raw("\n".join(lines) + "\n")
    hop1 = [x for x in s.samples() if x.ttl == 1]
    assert [x.rtt_ms for x in hop1] == [None, 2.0, 2.0]
    assert not any("repeat" in n for n in s.info.extra.get("notes", []))


def test_an_ipv6_hop_in_an_ipv4_mtr_report_is_refused_in_one_line(capsys):
    assert main(["report", "--session", str(DATA / "v6_hop_in_v4.mtr.json")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert "hop 3 of the mtr report is IPv6 (2001:db8::1) but the target (dst) is IPv4 (198.18.5.2)" in err


def test_an_mtr_raw_log_naming_hosts_of_both_families_is_refused():
    with pytest.raises(SessionError, match=r"line 4 .*host 2001:db8::1 is IPv6 but the log's hosts are IPv4"):
        parse_mtr_raw("x 0 1\nh 0 198.18.0.2\nx 1 2\nh 1 2001:db8::1\n")
