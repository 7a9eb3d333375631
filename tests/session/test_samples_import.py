"""pingmos's raw samples export (``export --what samples``, CSV and JSON) opened again as a session: its hop table
and diagnosis equal those of the session it came from; what the export does not record is taken from the samples
(and noted), and a damaged file is one line naming the row and field, exit 2."""

import csv
import io
import json
from pathlib import Path

import pytest

from pingmos.cli import main
from pingmos.engine import Sample
from pingmos.session import SessionError, SessionInfo, open_session, save_session

DATA = Path(__file__).parent / "data"
DIAGNOSIS = Path(__file__).parent.parent / "diagnosis" / "data"


@pytest.fixture(autouse=True)
def no_interval_budget(monkeypatch):
    """The MOS interval stops at a time budget (``scoring.interval.BUDGET_S``): on a loaded machine one report may
    run out before a hop that the other reaches (its ``mos_ci`` and verdict then say "no interval"), and the two
    would differ in that alone. The comparison here is of what the files hold, so the budget is lifted."""
    from pingmos.scoring import interval

    whole = interval.mos_intervals
    monkeypatch.setattr(interval, "mos_intervals", lambda *a, **k: whole(*a, **{**k, "budget_s": None}))


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _without_names(doc: dict) -> dict:
    """A JSON report without what an export cannot hold: reverse-DNS names and the file's kind (``mode``)."""
    doc = dict(doc)
    doc.pop("mode")
    names = [hop["name"] for hop in doc["hops"] if hop["name"]]
    doc["hops"] = [{k: v for k, v in hop.items() if k != "name"} for hop in doc["hops"]]
    if doc.get("diagnosis"):  # the verdict names a hop "hop 3 (198.18.2.2, target.lab.test)"
        verdict = doc["diagnosis"]["verdict"]
        for name in names:
            verdict = verdict.replace(f", {name})", ")")
        doc["diagnosis"] = {**doc["diagnosis"], "verdict": verdict}
    return doc


def _lab_session(path: Path, protocol: str = "icmp") -> Path:
    """A session of every kind of sample: answered hops, a lost one, the destination's answers with their kind
    (an echo reply, a TCP SYN-ACK, or a UDP probe's port unreachable), 30 rounds 0.5 s apart."""
    dest = "198.18.3.2"
    kind, code = {"icmp": ("echo_reply", None), "tcp": ("tcp_syn_ack", None), "udp": ("dest_unreachable", 3)}[protocol]
    samples = []
    for r in range(30):
        t = 1_796_000_000.0 + 0.5 * r
        samples.append(Sample(r, 1, 4 * r, t, 1.25 + r % 3, "198.18.0.2", False, "time_exceeded"))
        lost = r % 7 == 3
        samples.append(Sample(r, 2, 4 * r + 1, t + 0.01, None if lost else 5.5, None if lost else "198.18.1.2",
                              False, None if lost else "time_exceeded"))  # fmt: skip
        samples.append(Sample(r, 3, 4 * r + 2, t + 0.02, 9.0 + (r % 5) / 4, dest, True, kind, code))
    save_session(path, SessionInfo(dest, dest, protocol, 0.5, 30, samples[0].sent_at), samples,
                 names={"198.18.0.2": "r1.lab.test"})  # fmt: skip
    return path


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize(
    "source",
    [
        "lab",
        DIAGNOSIS / "live_independent_losses.pmsession",  # 200 rounds recorded on the lab, 5 hops
        DIAGNOSIS / "admin_prohibited_hop4.pmsession",  # the path ends at hop 4 with an ICMP unreachable
        DATA / "lab3.mtr.raw",
    ],
)
def test_an_export_of_samples_rescores_as_the_session_it_came_from(source, fmt, tmp_path, capsys):
    # Before: "raw samples pingmos exported ...: they are not read back" (JSON), "a CSV table pingmos wrote" (CSV).
    if source == "lab":
        source = _lab_session(tmp_path / "lab.pmsession")
    code, exported, _ = run(["export", source, "--what", "samples", "--format", fmt], capsys)
    path = tmp_path / f"samples.{fmt}"
    path.write_text(exported)
    for options in ([], ["--model", "pingplotter", "--window", "4"], ["--from", "+1", "--to", "+3"]):
        code, original, _ = run(["report", "--session", source, "--format", "json", *options], capsys)
        code_again, again, err = run(["report", "--session", path, "--format", "json", *options], capsys)
        assert code_again == code, err
        if code != 0:  # a range beside the session's only round: refused alike
            continue
        original, again = json.loads(original), json.loads(again)
        assert again["mode"] == f"samples export session samples.{fmt}"
        # The export carries the run's target and protocol (columns): the same where the destination never
        # answered too (it was "", "the target is unknown").
        assert "the target is unknown" not in err
        assert _without_names(again) == _without_names(original)
    # and the export of the export is the export
    code, exported_again, _ = run(["export", path, "--what", "samples", "--format", fmt], capsys)
    assert code == 0 and exported_again == exported


@pytest.mark.parametrize("protocol", ["icmp", "udp", "tcp"])
def test_the_protocol_is_told_by_the_destinations_answer(protocol, tmp_path, capsys):
    source = _lab_session(tmp_path / "lab.pmsession", protocol)
    code, exported, _ = run(["export", source, "--what", "samples"], capsys)
    (tmp_path / "s.csv").write_text(exported)
    with open_session(tmp_path / "s.csv") as session:
        assert (session.info.protocol, session.info.interval_s, session.info.address) == (protocol, 0.5, "198.18.3.2")
        assert session.info.extra == {}  # nothing had to be assumed: no note


def test_an_export_without_the_reply_columns_opens_with_a_note(tmp_path, capsys):
    """Exports written before ``reply``/``icmp_code`` were columns: the kinds are unknown, as in old sessions."""
    source = _lab_session(tmp_path / "lab.pmsession")
    code, exported, _ = run(["export", source, "--what", "samples"], capsys)
    rows = list(csv.reader(io.StringIO(exported)))
    old = tmp_path / "old.csv"
    old.write_text("".join(",".join(row[:9]) + "\n" for row in rows))
    code, out, err = run(["report", "--session", old], capsys)
    assert code == 0 and "shown as icmp" in err and " 30   30 " in out


def _csv_rows(tmp_path, capsys) -> list[dict]:
    source = _lab_session(tmp_path / "lab.pmsession")
    code, exported, _ = run(["export", source, "--what", "samples"], capsys)
    return list(csv.DictReader(io.StringIO(exported)))


DAMAGE = {
    "rtt_ms": ("-1", "line 3: rtt_ms -1 is out of range"),
    "ttl": ("0", "line 3: ttl 0 is out of range (1 to 255)"),
    "round": ("x", "line 3: round 'x' is not a whole number"),
    "sent_at": ("nan", "line 3: sent_at 'nan' is not a number"),
    "lost": ("yes", "line 3: lost must be true or false"),
    "responder": ("router-1", "line 3: responder 'router-1' is not an IP address"),
    "reply": ("pong", "line 3: reply 'pong': reply must be one of echo_reply"),
    "icmp_code": ("3", "line 3: icmp_code is only for a dest_unreachable reply"),
}


@pytest.mark.parametrize("field", DAMAGE)
def test_a_damaged_samples_export_is_one_line_naming_the_line_and_field(field, tmp_path, capsys):
    rows = _csv_rows(tmp_path, capsys)
    value, words = DAMAGE[field]
    rows[1][field] = value
    path = tmp_path / "damaged.csv"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue())
    with pytest.raises(SessionError) as exc:
        open_session(path)
    assert str(exc.value) == f"{path}: " + str(exc.value).split(": ", 1)[1] and words in str(exc.value), exc.value
    code, out, err = run(["report", "--session", path], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and words in err, err


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda doc: doc[0].update(rtt_ms=None), "sample 1: lost is false but rtt_ms is empty"),
        (lambda doc: doc[1].update(responder=None), "sample 2: an answered sample has none"),
        (lambda doc: doc[2].update(reached=True, rtt_ms=None, lost=True, responder=None, reply=None),
         "sample 3: a lost sample cannot have reached the destination"),
        (lambda doc: doc[0].update(ttl="1"), "sample 1: ttl is not a whole number"),
        (lambda doc: doc[0].pop("seq"), "sample 1: seq is missing"),
    ],
)  # fmt: skip
def test_a_damaged_json_export_names_the_sample(change, words, tmp_path, capsys):
    source = _lab_session(tmp_path / "lab.pmsession")
    code, exported, _ = run(["export", source, "--what", "samples", "--format", "json"], capsys)
    doc = json.loads(exported)
    change(doc)
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(doc))
    code, out, err = run(["report", "--session", path], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and words in err, err


def test_options_a_samples_export_does_not_take_are_refused(tmp_path, capsys):
    source = _lab_session(tmp_path / "lab.pmsession")
    code, exported, _ = run(["export", source, "--what", "samples"], capsys)
    (tmp_path / "s.csv").write_text(exported)
    code, _, err = run(["report", "--session", tmp_path / "s.csv", "198.18.3.2"], capsys)
    assert code == 2 and "a TARGET is only for an mtr --raw log" in err
    code, _, err = run(["report", "--session", tmp_path / "s.csv", "-i", "2"], capsys)
    assert code == 2 and "drop --interval" in err
