"""Imported totals that contradict themselves are refused with one line, not shown (newcomer test, imports2).

mtr --json: Loss% against Snt and Rcv (mtr leaves its one probe in flight out of Loss%, and prints one decimal),
Snt against Rcv + Drop, Best <= Avg <= Wrst; Trippy alike (loss_pct has two decimals). RIPE Atlas results hold
per-packet replies only, so pingmos computes their totals and they cannot contradict each other.
"""

import json
from pathlib import Path

import pytest

from pingmos.cli import main
from pingmos.session import SessionError, open_session

DATA = Path(__file__).parent / "data"


def mtr_doc(**hub) -> dict:
    base = {"count": 1, "host": "127.0.0.1", "Last": 0.049, "Avg": 0.05, "Best": 0.044, "Wrst": 0.057}
    base.update(hub)
    return {"report": {"mtr": {"src": "vm", "dst": "127.0.0.1", "tests": 10}, "hubs": [base]}}


def write(tmp_path: Path, doc: dict, name: str = "r.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return p


def refused(capsys, path: Path) -> str:
    """The CLI's one line for ``path``: exit 2, no traceback."""
    rc = main(["report", "--session", str(path)])
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_an_mtr_loss_that_does_not_follow_from_snt_and_rcv_is_refused(tmp_path, capsys):
    # /tmp/nc/imp/m_loss.json: Snt 10, Rcv 10, Loss% 50 was shown as LOSS% 50.0 beside a 95 % CI of 0.0-27.8.
    line = refused(capsys, write(tmp_path, mtr_doc(**{"Loss%": 50.0, "Snt": 10, "Rcv": 10})))
    assert "hop 1" in line and "Loss% 50.0 does not follow from the counts (Snt 10 and Rcv 10 give 0.0 %)" in line


@pytest.mark.parametrize(
    ("snt", "rcv", "loss"),
    [
        (10, 10, 0.0),
        (10, 9, 10.0),
        (3, 2, 33.3),  # one decimal: 33.33 rounds to 33.3
        (3, 1, 66.7),
        (10, 9, 0.0),  # mtr's last probe in flight: (10 - 1 - 9) / (10 - 1)
        (7, 5, 16.7),  # in flight: 1 - 5/6 = 16.67 %
        (0, 0, 0.0),
    ],
)
def test_an_mtr_loss_within_its_rounding_or_a_probe_in_flight_opens(tmp_path, snt, rcv, loss):
    s = open_session(write(tmp_path, mtr_doc(**{"Loss%": loss, "Snt": snt, "Rcv": rcv})))
    (hop,) = s.summaries()
    assert (hop.sent, hop.received, hop.loss_pct) == (snt, rcv, loss)


@pytest.mark.parametrize(("snt", "rcv", "loss"), [(3, 2, 33.4), (10, 9, 5.0), (1000, 900, 10.5), (10, 0, 50.0)])
def test_an_mtr_loss_beyond_its_rounding_is_refused(tmp_path, snt, rcv, loss):
    with pytest.raises(SessionError, match="does not follow from the counts"):
        open_session(write(tmp_path, mtr_doc(**{"Loss%": loss, "Snt": snt, "Rcv": rcv})))


def test_mtr_counts_that_do_not_add_up_are_refused(tmp_path):
    with pytest.raises(SessionError, match=r"Snt 10, Rcv 5 and Drop 2 do not add up"):
        open_session(write(tmp_path, mtr_doc(**{"Snt": 10, "Rcv": 5, "Drop": 2})))
    (hop,) = open_session(write(tmp_path, mtr_doc(**{"Snt": 10, "Rcv": 5, "Drop": 4}), "f.json")).summaries()
    assert (hop.sent, hop.received) == (10, 5)  # one in flight


def test_mtr_times_out_of_order_are_refused(tmp_path, capsys):
    # /tmp/nc/imp/m_order.json: Best 9 > Avg 1 > Wrst 0.5 was shown as is.
    line = refused(capsys, write(tmp_path, mtr_doc(**{"Loss%": 0.0, "Snt": 5, "Best": 9.0, "Avg": 1.0, "Wrst": 0.5})))
    assert "Best 9.0, Avg 1.0, Wrst 0.5" in line and "are not in order (Best <= Avg <= Wrst" in line
    with pytest.raises(SessionError, match="not in order"):
        open_session(write(tmp_path, mtr_doc(**{"Snt": 5, "Rcv": 5, "Last": 0.2, "Wrst": 0.057}), "l.json"))


def test_mtr_times_equal_within_their_rounding_open(tmp_path):
    # Avg printed to 2 decimals may sit a rounding step outside Best and Wrst printed to 3.
    doc = mtr_doc(**{"Snt": 5, "Rcv": 5, "Best": 0.046, "Avg": 0.05, "Wrst": 0.049, "Last": 0.046})
    (hop,) = open_session(write(tmp_path, doc)).summaries()
    assert hop.avg_ms == 0.05


def test_the_mtr_fixtures_still_open():
    for name in ("lab3.mtr.json", "lab3-n.mtr.json", "trippy_report.json", "trippy_jitter.json"):
        assert open_session(DATA / name).summaries()


def trippy_doc(**hop) -> dict:
    doc = json.loads((DATA / "trippy_report.json").read_text())
    doc["hops"][0].update(hop)
    return doc


def test_a_trippy_loss_that_does_not_follow_from_its_counts_is_refused(tmp_path, capsys):
    line = refused(capsys, write(tmp_path, trippy_doc(loss_pct="50.00", sent=10, recv=10)))
    assert "loss_pct 50.00 does not follow from the counts (sent 10 and recv 10 give 0.00 %)" in line
    s = open_session(write(tmp_path, trippy_doc(loss_pct="33.33", sent=3, recv=2), "ok.json"))
    assert s.summaries()[0].loss_pct == pytest.approx(33.33)


def test_trippy_times_out_of_order_are_refused(tmp_path, capsys):
    line = refused(capsys, write(tmp_path, trippy_doc(best="99.0")))
    assert "best 99.0" in line and "are not in order" in line


def test_an_mtr_report_without_target_or_hops_says_what_it_lacks(tmp_path, capsys):
    # /tmp/nc/bad/nohubs2.json said "... nothing can be said about the path to ." (an empty target name).
    line = refused(capsys, write(tmp_path, {"report": {"mtr": {}, "hubs": []}}))
    assert "lists no hops (report.hubs is empty) and names no target (report.mtr.dst" in line
    doc = mtr_doc(**{"Snt": 5, "Rcv": 5})
    del doc["report"]["mtr"]["dst"]
    assert "names no target" in refused(capsys, write(tmp_path, doc, "nodst.json"))


def test_a_raw_log_without_answers_says_its_file_does_not_name_the_target(tmp_path, capsys):
    # A raw log where nothing answered said "nothing can be said about the path to ." (an empty target name).
    log = tmp_path / "silent.raw"
    log.write_text("".join(f"x {i % 3} {33000 + i}\n" for i in range(30)))
    rc = main(["report", "--session", str(log)])
    out, _ = capsys.readouterr()
    assert rc == 0 and "the path (to a target the file does not name)" in out and "path to ." not in out
