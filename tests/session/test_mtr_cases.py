"""The failing cases of issue 14 (other tools' bug reports replayed on pingmos), each as the right value.

Inputs in data/cases/ are copied from the shared case folders: real mtr 0.95 output on a 5-hop lab (target
198.18.4.2 at hop 5) unless the name says hand-made (rcv_gt_snt, count_300, t1_javg, ptr_names)."""

import csv
import io
import json
from pathlib import Path

import pytest

from pingmos.cli import main
from pingmos.report.formats import to_table
from pingmos.scoring.formulas import pingplotter
from pingmos.session import SessionError, open_session

CASES = Path(__file__).parent / "data" / "cases"


def scorer(w):
    return pingplotter.score(w.avg_ms, w.jitter_ms, w.loss_pct)


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


# -- mtr-import-reached-wrong: "reached" from the target's address, not from the last row ------------------------


def test_a_json_report_cut_short_by_max_ttl_does_not_reach_its_destination(capsys):
    rc, out, _ = run(capsys, "report", "--session", str(CASES / "mtr_json_maxttl2.json"), "--format", "json")
    doc = json.loads(out)
    assert rc == 0 and doc["destination_reached"] is False and doc["target"] == "198.18.4.2"
    assert "within thresholds" not in doc["diagnosis"]["verdict"]
    rc, out, _ = run(capsys, "report", "--session", str(CASES / "mtr_json_maxttl2.json"))
    assert "destination not reached" in out.splitlines()[0]


def test_a_raw_log_without_a_destination_answer_has_an_unknown_target(capsys):
    s = open_session(CASES / "mtr_raw_maxttl2.txt")
    assert s.info.target == "" and not any(x.reached for x in s.samples())
    snap = s.snapshot(None, scorer, "pp")
    assert snap.destination_reached is False
    assert to_table(snap).startswith("pingmos report: target unknown,")
    # A raw log of a reached target: the target answers at two TTLs (hops 5 and 6), so it is found.
    s = open_session(CASES / "complete.mtr-raw.txt")
    assert s.info.address == "198.18.4.2" and s.snapshot(None, scorer, "pp").destination_reached
    # The target may be given for a raw log (TARGET with --session).
    rc, out, _ = run(capsys, "report", "--session", str(CASES / "mtr_raw_maxttl2.txt"), "198.18.1.2", "--format",
                     "json")  # fmt: skip
    assert rc == 0 and json.loads(out)["destination_reached"] is True


def test_a_json_report_naming_hosts_by_name_cannot_tell_whether_it_reached(tmp_path):
    p = tmp_path / "names.json"
    p.write_text(
        '{"report": {"mtr": {"dst": "www.example.test", "tests": 2}, "hubs": ['
        '{"count": "1", "host": "r1.lab.test", "Loss%": "0.0", "Snt": "2", "Avg": "1.5"}]}}'
    )
    snap = open_session(p).snapshot(None, scorer, "pp")
    assert snap.destination_reached is None
    assert "destination reached: unknown" in to_table(snap).splitlines()[0]


def test_a_json_report_of_an_address_target_naming_its_hosts_cannot_tell_whether_it_reached(capsys):
    # Real mtr 0.95 output (`mtr --json 198.18.5.2` on a 6-hop lab, names shown: its default): dst is an address,
    # the hosts are names, the last one (target.lab.test) being dst's own. This read "destination not reached".
    path = str(CASES / "mtr_json_names_dst_address.json")
    snap = open_session(path).snapshot(None, scorer, "pp")
    assert snap.hops[-1].address == "target.lab.test" and snap.destination_reached is None
    rc, out, _ = run(capsys, "report", "--session", path)
    assert rc == 0 and "destination reached: unknown" in out.splitlines()[0]
    assert "destination not reached" not in out and "did not answer" not in out


# -- mtr-json-field-subset: any -o field selection; counts from what is there; impossible values refused ---------


@pytest.mark.parametrize("name", ["min_o_LS.json", "mtr_json_o_LS.json"])
def test_loss_and_sent_only_reports_have_received_counts_and_no_scores(name, capsys):
    s = open_session(CASES / name)
    snap = s.snapshot(None, scorer, "pp")
    last = snap.hops[-1]
    assert (last.sent, last.received, last.loss_pct) == (4, 4, 0.0)
    assert last.loss_ci_pct[0] == 0.0 and round(last.loss_ci_pct[1]) == 49
    assert last.avg_ms is None and last.mos is None and last.r is None
    assert any("no latency fields" in n for n in s.info.extra["notes"])
    rc, out, err = run(capsys, "report", "--session", str(CASES / name))
    assert rc == 0 and "within thresholds" not in out and "no latency fields" in err
    assert "4    4   0.0    0.0-49.0" in out


def test_sent_received_drop_without_loss_opens():
    snap = open_session(CASES / "mtr_json_o_SRD.json").snapshot(None, scorer, "pp")
    assert [(h.ttl, h.sent, h.received, h.loss_pct) for h in snap.hops] == [(t, 4, 4, 0.0) for t in range(1, 6)]
    assert snap.destination_reached is True


@pytest.mark.parametrize(
    "name,message",
    [
        ("rcv_gt_snt.json", "hop 2 of the mtr report is unreadable: Rcv 5 is more than Snt 3"),
        ("count_300.json", "count 300 is not a hop number"),
    ],
)
def test_impossible_hubs_are_refused_in_one_line(name, message, capsys):
    with pytest.raises(SessionError, match=message):
        open_session(CASES / name)
    rc, out, err = run(capsys, "report", "--session", str(CASES / name))
    assert rc == 2 and out == "" and err.count("\n") == 1 and name in err and "Traceback" not in err


# -- mtr-raw-mpls-line: every record type of mtr's FORMATS; unknown letters skipped and counted -------------------


def test_a_raw_log_with_an_mpls_line_opens_like_the_same_log_without_it():
    with_mpls = open_session(CASES / "mtr_raw_with_mpls.txt")
    text = (CASES / "mtr_raw_with_mpls.txt").read_text().replace("m 1 24001 0 1 1\n", "")
    from pingmos.session.mtr_import import parse_mtr_raw

    without = parse_mtr_raw(text)
    assert list(with_mpls.samples()) != [] and [
        (x.round, x.ttl, x.rtt_ms, x.responder) for x in with_mpls.samples()
    ] == [(x.round, x.ttl, x.rtt_ms, x.responder) for x in without.samples()]
    hops = with_mpls.snapshot(None, scorer, "pp").hops
    assert (hops[1].address, hops[1].sent, hops[1].received) == ("198.18.1.2", 2, 2)


def test_unknown_record_letters_are_skipped_with_a_count():
    from pingmos.session.mtr_import import parse_mtr_raw

    s = parse_mtr_raw("x 0 1\nh 0 198.18.0.2\nz 0 what ever\np 0 1000 1\nz 0 again\nx 0 2\np 0 1000 2\n")
    assert [x.rtt_ms for x in s.samples()] == [1.0, 1.0]
    assert any("'z' x2" in n for n in s.info.extra["notes"])


# -- mtr-raw-end-of-log: probes in flight are not lost; a cut last line is dropped with a note --------------------


@pytest.mark.parametrize("name", ["killed_after_last_send.mtr-raw.txt", "truncated_last_line.mtr-raw.txt"])
def test_the_end_of_a_raw_log_makes_no_loss(name, capsys):
    s = open_session(CASES / name)
    dest = s.snapshot(None, scorer, "pp").hops[-1]
    assert (dest.ttl, dest.sent, dest.received, dest.loss_pct) == (5, 1, 1, 0.0)
    assert dest.mos == pytest.approx(4.40, abs=0.01)
    notes = s.info.extra["notes"]
    assert any("1 probe(s) still in flight" in n for n in notes)
    assert ("incomplete" in " ".join(notes)) == name.startswith("truncated")
    rc, out, err = run(capsys, "report", "--session", str(CASES / name))
    assert rc == 0 and "Quality deteriorates" not in out and "in flight" in err


def test_sequence_numbers_reused_never_give_a_lost_probe_an_earlier_reply():
    from pingmos.session.mtr_import import parse_mtr_raw

    # Two numbers in turn (mtr's cycle is 32536; the same number twice in a row to one TTL is a line written twice,
    # test_import_duplicates).
    log = (
        "x 0 33000\nh 0 198.18.0.2\nh 0 198.18.0.2\np 0 1000 33000\n"  # round 0: answered
        "x 0 33001\n"  # round 1: lost
        "x 0 33000\n"  # round 2 reuses the number and is lost ...
        "x 0 33001\n"  # round 3: lost
        "x 0 33000\np 0 3000 33000\n"  # ... round 4 reuses it again and is answered
        "p 0 9000 33000\n"  # a duplicate reply: no outstanding probe any more
        "x 0 33002\np 0 4000 33002\n"
    )
    s = parse_mtr_raw(log)
    assert [x.rtt_ms for x in s.samples()] == [1.0, None, None, None, 3.0, 4.0]
    assert any("1 reply line(s) matched no outstanding probe" in n for n in s.info.extra["notes"])


# -- mtr-json-javg-as-jitter: one jitter definition whatever the source ----------------------------------------


def test_mtrs_javg_is_converted_to_pingmoss_jitter(capsys):
    hop = open_session(CASES / "t1_javg.json").snapshot(None, scorer, "pp").hops[0]
    assert hop.jitter_ms == pytest.approx(9.5, abs=0.001)  # 6.333 x 3/2, PingPlotter's mean |difference|
    rc, out, _ = run(capsys, "score", "--model", "pingplotter", "--samples", "777,788,780", "--format", "json")
    assert rc == 0 and hop.mos == pytest.approx(json.loads(out)["mos"], abs=0.002)


# -- csv-formula-injection ---------------------------------------------------------------------------------------


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(capsys):
    for argv in (
        ["report", "--session", str(CASES / "ptr_names.mtr-raw.txt"), "--model", "pingplotter", "--format", "csv"],
        ["export", str(CASES / "ptr_names.mtr-raw.txt"), "--model", "pingplotter", "--format", "csv"],
    ):
        rc, out, _ = run(capsys, *argv)
        rows = list(csv.DictReader(io.StringIO(out)))
        assert rc == 0
        assert [r["name"] for r in rows] == ['\'=HYPERLINK("http://example.invalid/x","r1")', "'+cmd|'/C.calc'!A0"]
        for row in rows:
            assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values())
            assert row["model"] == "pingplotter" and row["window"] == "all" and row["from_utc"].endswith("Z")


# -- loss-display-rounding ---------------------------------------------------------------------------------------


def one_hop_log(n: int, lost: set[int]) -> str:
    """The case's gen.py: one hop, n rounds, the probes of the rounds in ``lost`` lost (mtr --raw)."""
    out = ["x 0 33000", "h 0 198.18.0.2", "p 0 2000 33000"]
    for r in range(1, n):
        out.append(f"x 0 {33000 + r}")
        if r not in lost:
            out.append(f"p 0 2000 {33000 + r}")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize(
    "n,lost,loss_cell,ci_cell", [(2000, {500, 1500}, "0.1", "0.0-0.4"), (3000, {1500}, "0.03", "0.0-0.2")]
)
def test_small_loss_is_never_printed_as_zero(tmp_path, capsys, n, lost, loss_cell, ci_cell):
    p = tmp_path / "log.mtr-raw.txt"
    p.write_text(one_hop_log(n, lost))
    rc, out, _ = run(capsys, "report", "--session", str(p))
    row = out.splitlines()[2].split()
    assert rc == 0 and row[:6] == ["1", "198.18.0.2", str(n), str(n - len(lost)), loss_cell, ci_cell]


def test_mtr_json_shapes_names_and_addresses_silent_hubs_and_skipped_hop_numbers(tmp_path):
    """mtr -b ("name (address)"), IPv6, "???" hubs, hop numbers that skip (mtr -f, or hubs mtr left out), and the
    0.8x style with numbers as strings."""
    p = tmp_path / "b.json"
    p.write_text(
        json.dumps(
            {
                "report": {
                    "mtr": {"src": "c", "dst": "2001:db8::9", "tos": "0x0", "tests": "4"},
                    "hubs": [
                        {"count": "2", "host": "gw.lab.test (2001:db8::1)", "Loss%": "0.0%", "Snt": "4",
                         "Avg": "1.50"},
                        {"count": "3", "host": "???", "Loss%": "100.0", "Snt": "4", "Avg": "0.00"},
                        {"count": "6", "host": "target.lab.test (2001:DB8:0::9)", "Loss%": "25.00", "Snt": "4",
                         "Avg": "9.25", "Javg": "1.00"},
                    ],
                }
            }
        )
    )  # fmt: skip
    snap = open_session(p).snapshot(None, scorer, "pp")
    rows = [(h.ttl, h.address, h.name, h.sent, h.received, h.loss_pct, h.avg_ms) for h in snap.hops]
    assert rows == [
        (2, "2001:db8::1", "gw.lab.test", 4, 4, 0.0, 1.5),
        (3, None, None, 4, 0, 100.0, None),
        (6, "2001:DB8:0::9", "target.lab.test", 4, 3, 25.0, 9.25),
    ]
    assert snap.hops[2].jitter_ms == pytest.approx(1.5)  # Javg 1.0 x 3/2
    assert snap.destination_reached is True  # the same IPv6 address, written differently


# -- reports without probe counts (mtr -o without S, R, D): open, unknowns as unknown, scored from what is there ---


@pytest.mark.parametrize("fields", ["NBAW", "LA", "M", "J"])
def test_a_report_without_probe_counts_opens_with_the_counts_unknown(fields, capsys):
    """Real mtr 0.95 output on loopback: ``mtr -n --json -c 3 -i 0.2 -o FIELDS 127.0.0.1``."""
    name = f"mtr_json_loopback_o_{fields}.json"
    s = open_session(CASES / name)
    snap = s.snapshot(None, scorer, "pp")
    (hop,) = snap.hops
    # Never 0 and never the header's "tests" (3): the file holds no per-hop count.
    assert (hop.sent, hop.received, hop.loss_ci_pct) == (None, None, None) and snap.rounds is None
    assert any("no probe counts" in n for n in s.info.extra["notes"])
    assert hop.jitter_ms is None  # Javg needs the number of replies to be turned into pingmos's jitter; Jttr is not one
    if fields == "LA":  # loss and average: scored from them
        assert hop.loss_pct == 0.0 and hop.avg_ms == 0.033 and hop.mos is not None
    else:  # no loss figure: MOS unknown, and the notes say why
        assert hop.loss_pct is None and hop.mos is None and any("no loss field" in n for n in s.info.extra["notes"])
    assert snap.destination_reached is True
    rc, out, err = run(capsys, "report", "--session", str(CASES / name))
    header, _, row = out.splitlines()[:3]
    assert rc == 0 and "rounds unknown" in header and row.split()[2:4] == ["-", "-"] and "no probe counts" in err
    assert "diagnosis (undecided)" in out and "no loss interval" in out
    rc, out, _ = run(capsys, "report", "--session", str(CASES / name), "--format", "json")
    doc = json.loads(out)
    assert rc == 0 and doc["rounds"] is None and (doc["hops"][0]["sent"], doc["hops"][0]["received"]) == (None, None)
    rc, out, _ = run(capsys, "report", "--session", str(CASES / name), "--format", "csv")
    row = next(csv.DictReader(io.StringIO(out)))
    assert rc == 0 and (row["sent"], row["received"], row["loss_ci_low_pct"]) == ("", "", "")
