"""pingmos's own JSON report opened again (``report --session REPORT.json``, ``export REPORT.json``): the hops' totals
come back as written, scored again with any model; a damaged report is one line, exit 2."""

import json
from pathlib import Path

import pytest

from pingmos.cli import main
from pingmos.report.formats import SCHEMA_VERSION
from pingmos.session import SessionError, open_session, report_import

DATA = Path(__file__).parent / "data"
DIAGNOSIS = Path(__file__).parent.parent / "diagnosis" / "data"
SOURCES = [
    DIAGNOSIS / "live_independent_losses.pmsession",  # a recorded session: 200 rounds, 5 hops
    DIAGNOSIS / "admin_prohibited_hop4.pmsession",  # the path ends at hop 4 with an ICMP unreachable
    DATA / "lab3.mtr.json",  # totals with names for addresses
    DATA / "trippy_report.json",
]
KEPT = ("ttl", "address", "name", "responders", "sent", "received", "loss_pct", "loss_ci_pct", "last_ms", "avg_ms")
KEPT += ("min_ms", "max_ms", "stdev_ms", "jitter_ms", "unreachable")


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def report_json(source, capsys, *options):
    code, out, _ = run(["report", "--session", source, "--format", "json", *options], capsys)
    assert code == 0
    return out


def test_the_schema_version_read_is_the_one_written():
    assert report_import.SCHEMA_VERSION == SCHEMA_VERSION


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_a_saved_json_report_reopens_with_every_hop_as_written(source, tmp_path, capsys):
    # Before: "REPORT.json: JSON, but not a pingmos session, an mtr --json report ..." (exit 2).
    saved = tmp_path / "report.json"
    saved.write_text(report_json(source, capsys, "--model", "pingplotter"))
    before = json.loads(saved.read_text())
    after = json.loads(report_json(saved, capsys, "--model", "pingplotter"))
    assert [[h.get(k) for k in KEPT] for h in after["hops"]] == [[h.get(k) for k in KEPT] for h in before["hops"]]
    for key in ("target", "address", "protocol", "interval_s", "rounds", "destination_reached", "time_range"):
        assert after[key] == before[key], key
    # PingPlotter's formula needs only the totals (average, jitter, loss): the same MOS from the reopened report
    assert [h["mos"] for h in after["hops"]] == pytest.approx([h["mos"] for h in before["hops"]], abs=0.002)
    # Re-scored with its own model and settings, the report's own diagnosis comes back (round by round where it was)
    assert after["diagnosis"] == before["diagnosis"]
    # another model scores the totals: the loss is judged from counts
    assert json.loads(report_json(saved, capsys, "--model", "g107-jb"))["diagnosis"]["per_round"] is False
    # export reads it too, and its hop table (the same document) reopens as well
    code, out, err = run(["export", saved, "--format", "json"], capsys)
    assert code == 0 and "holds each hop's totals" in err
    again = tmp_path / "export.json"
    again.write_text(out)
    assert [h["sent"] for h in json.loads(report_json(again, capsys))["hops"]] == [h["sent"] for h in before["hops"]]


def test_the_path_ending_at_an_unreachable_stays_ended(tmp_path, capsys):
    saved = tmp_path / "report.json"
    saved.write_text(report_json(DIAGNOSIS / "admin_prohibited_hop4.pmsession", capsys))
    doc = json.loads(report_json(saved, capsys))
    assert doc["diagnosis"]["status"] == "problem" and doc["diagnosis"]["deteriorates_at_ttl"] == 4
    assert doc["hops"][-1]["unreachable"] and "blocked at hop 4" in doc["diagnosis"]["verdict"]


def test_no_window_or_range_applies_to_totals(tmp_path, capsys):
    saved = tmp_path / "report.json"
    saved.write_text(report_json(DIAGNOSIS / "live_independent_losses.pmsession", capsys))
    code, out, err = run(["report", "--session", saved, "--window", "10"], capsys)
    assert code == 2 and out == "" and "holds only its totals per hop" in err and err.count("\n") == 1


def _damage(doc, change):
    hop = doc["hops"][-1]
    if change == "newer schema":
        doc["schema_version"] = SCHEMA_VERSION + 1
    elif change == "received > sent":
        hop["received"] = hop["sent"] + 1
    elif change == "loss not from the counts":
        hop["loss_pct"] = 1.0
    elif change == "ttl twice":
        doc["hops"].append(dict(hop))
    elif change == "avg above max":
        hop["avg_ms"] = hop["max_ms"] + 1
    elif change == "address with a space":
        hop["address"] = "198.18.4.2 x"
    elif change == "hop not an object":
        doc["hops"][0] = "hop"
    elif change == "count as text":
        hop["sent"] = "200"
    elif change == "negative time":
        hop["min_ms"] = -1
    elif change == "interval zero":
        doc["interval_s"] = 0
    elif change == "protocol":
        doc["protocol"] = "sctp"
    elif change == "responders beyond replies":
        hop["responders"] = {"198.18.4.2": hop["received"] + 1}
    elif change == "no target":
        del doc["target"]
    elif change == "time range backwards":
        doc["time_range"]["to"] = doc["time_range"]["from"] - 1
    # An R or MOS no model gives (scoring.model.check_result holds every model to R 0..150, MOS 1..4.5): shown as
    # the file's own before (breaker-files: R 1000.0 beside MOS 4.40).
    elif change == "r beyond any model's":
        doc["hops"][1]["r"] = 1000
    elif change == "negative r":
        doc["hops"][1]["r"] = -3
    elif change == "mos above 4.5":
        doc["hops"][1]["mos"] = 4.8
    elif change == "mos_ci above 4.5":
        doc["hops"][1]["mos_ci"] = [4.0, 4.7]
    return doc


DAMAGE = {
    "newer schema": "a pingmos report of schema_version 2; this pingmos reads version 1",
    "received > sent": "hops[4] (ttl 5): received 201 is more than sent 200",
    "loss not from the counts": "hops[4] (ttl 5): loss_pct 1 does not follow from sent 200 and received 184",
    "ttl twice": "hops[5] repeats ttl 5",
    "avg above max": "min_ms 11.217, avg_ms 16.591 and max_ms 15.591 are not in order",
    "address with a space": "address '198.18.4.2 x' is not an address",
    "hop not an object": "hops[0]: not an object",
    "count as text": "sent is '200', not a whole number",
    "negative time": "min_ms -1 is out of range",
    "interval zero": "interval_s 0 is out of range",
    "protocol": "protocol is 'sctp', not one of icmp, udp, tcp",
    "responders beyond replies": "responders holds '198.18.4.2': 185",
    "no target": "target is None, not text",
    "time range backwards": "time_range ends (",
    "r beyond any model's": "hops[1]: r 1000 is out of range (0 to 150)",
    "negative r": "hops[1]: r -3 is out of range (0 to 150)",
    "mos above 4.5": "hops[1]: mos 4.8 is out of range (1 to 4.5)",
    "mos_ci above 4.5": "hops[1]: mos_ci 4.7 is out of range (1 to 4.5)",
}


@pytest.mark.parametrize("change", DAMAGE)
def test_a_damaged_report_is_one_line_naming_hop_and_field(change, tmp_path, capsys):
    doc = json.loads(report_json(DIAGNOSIS / "live_independent_losses.pmsession", capsys))
    path = tmp_path / "report.json"
    path.write_text(json.dumps(_damage(doc, change)))
    with pytest.raises(SessionError) as exc:
        open_session(path)
    assert str(exc.value).startswith(f"{path}: ") and DAMAGE[change] in str(exc.value), str(exc.value)
    code, out, err = run(["report", "--session", path], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "what, fmt, words",
    [
        (
            "hops",
            "csv",
            "a hop table pingmos wrote as CSV, for spreadsheets: it is not read back; export the "
            "samples (export --what samples) or write the report with --format json",
        ),
        ("events", "csv", "an event log pingmos exported (export --what events): alerts, no samples to score"),
    ],  # raw samples, CSV and JSON, are read back (tests/session/test_samples_import.py)
)
def test_what_pingmos_writes_but_does_not_read_back_says_so(what, fmt, words, tmp_path, capsys):
    # Before: "not a pingmos session, an mtr --json report or --raw log, ..." for pingmos's own output.
    code, out, _ = run(["export", DIAGNOSIS / "live_independent_losses.pmsession", "--what", what, "--format", fmt],
                       capsys)  # fmt: skip
    path = tmp_path / f"{what}.{fmt}"
    path.write_text(out)
    code, out, err = run(["report", "--session", path], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and words in err, err
