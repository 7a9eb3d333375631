"""One trace, one address family, in every file kind read: an IPv6 address among IPv4 ones (or the reverse) is
refused in one line naming both places, as mtr's importers already did (breaker-files: RIPE Atlas results with a
reply "from": "::1" in an af 4 run, a Trippy hop host, a samples export's responder and a pingmos report's hop
were scored as if measured: Atlas's hop 1 showed '198.18.0.2 +1' with responders '198.18.0.2 80 %, ::1 20 %' and a
route change '::1 -> 198.18.0.2'). Files of one family, IPv6 included, open as before. RIPE Atlas runs listing a
hop twice (each probe counted twice: hop 2 9 sent of 6) or whose af contradicts dst_addr are refused too."""

import copy
import csv
import io
import json
from pathlib import Path

import pytest

from pingmos.cli import main
from pingmos.session import SessionError, open_session

DATA = Path(__file__).parent / "data"
V6 = {
    "198.18.0.2": "2001:db8::2",
    "198.18.1.2": "2001:db8:1::2",
    "198.18.1.3": "2001:db8:1::3",
    "198.18.2.2": "2001:db8:2::2",
}


def atlas():
    return json.loads((DATA / "atlas_traceroute.json").read_text())


def trippy():
    return json.loads((DATA / "trippy_report.json").read_text())


def to_v6(doc):
    """The same document with every lab IPv4 address replaced by an IPv6 one (and Atlas's af set to 6)."""
    text = json.dumps(doc)
    for v4, v6 in V6.items():
        text = text.replace(f'"{v4}"', f'"{v6}"')
    return json.loads(text.replace('"af": 4', '"af": 6'))


def samples_text(capsys, fmt, src=DATA / "atlas_traceroute.json"):
    """The samples export of ``src`` (the Atlas fixture), as pingmos export writes it."""
    capsys.readouterr()
    assert main(["export", str(src), "--what", "samples", "--format", fmt]) == 0
    return capsys.readouterr().out


def report_doc(tmp_path, capsys):
    assert main(["report", "--session", str(DATA / "trippy_report.json"), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def mixed_atlas(tmp_path, capsys):
    doc = atlas()
    doc[0]["result"][0]["result"][1]["from"] = "::1"
    return doc, "run 1 of the RIPE Atlas results is unreadable: hop 1: from ::1 is IPv6 but dst_addr 198.18.2.2 is IPv4"


def mixed_trippy_host(tmp_path, capsys):
    doc = trippy()
    doc["hops"][1]["hosts"][1]["ip"] = "2001:db8::3"  # not the hop's first host: the one the table does not show
    return doc, "hop 2 of the Trippy report is unreadable: ttl 2's host 2001:db8::3 is IPv6 but the target 198.18.2.2"


def mixed_trippy_target(tmp_path, capsys):
    doc = trippy()
    doc["info"]["target"]["ip"] = "2001:db8:2::2"
    return doc, "ttl 1's host 198.18.0.2 is IPv4 but the target 2001:db8:2::2 is IPv6"


def mixed_samples_csv(tmp_path, capsys):
    rows = list(csv.reader(io.StringIO(samples_text(capsys, "csv"))))
    col = rows[0].index("responder")
    line = next(i for i, r in enumerate(rows) if i and r[col])
    rows[line + 2][col] = "2001:db8::9" if rows[line + 2][col] else rows[line + 2][col]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    assert "2001:db8::9" in out.getvalue()
    return out.getvalue(), "the responder 2001:db8::9 is IPv6 but the run's address 198.18.2.2 is IPv4"


def mixed_samples_json(tmp_path, capsys):
    doc = json.loads(samples_text(capsys, "json"))
    next(s for s in doc[3:] if s["responder"])["responder"] = "2001:db8::9"
    return doc, "the responder 2001:db8::9 is IPv6 but the run's address 198.18.2.2 is IPv4"


def mixed_report(tmp_path, capsys):
    doc = report_doc(tmp_path, capsys)
    doc["hops"][1]["responders"] = {"198.18.1.2": 7, "2001:db8::7": 1}
    return doc, "hops[1]'s responder 2001:db8::7 is IPv6 but the target's address 198.18.2.2 is IPv4"


@pytest.mark.parametrize(
    "make",
    [mixed_atlas, mixed_trippy_host, mixed_trippy_target, mixed_samples_csv, mixed_samples_json, mixed_report],
)
def test_an_address_of_the_other_family_is_refused_in_one_line(tmp_path, capsys, make):
    doc, message = make(tmp_path, capsys)
    p = tmp_path / "mixed.txt"
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    with pytest.raises(SessionError, match="one address family, so the file was edited or two traces were joined"):
        open_session(p)
    assert main(["report", "--session", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


@pytest.mark.parametrize("kind", ["atlas", "trippy"])
def test_a_file_of_ipv6_addresses_only_opens(tmp_path, kind):
    p = tmp_path / f"{kind}_v6.json"
    p.write_text(json.dumps(to_v6(atlas() if kind == "atlas" else trippy())))
    with open_session(p) as s:
        assert s.info.address == "2001:db8:2::2"
        snap = s.snapshot(None, lambda w: None, "none")
    assert [h.address for h in snap.hops if h.address] == ["2001:db8::2", "2001:db8:1::2", "2001:db8:2::2"]


def test_an_ipv6_samples_export_opens_again(tmp_path, capsys):
    p = tmp_path / "v6.json"
    p.write_text(json.dumps(to_v6(atlas())))
    q = tmp_path / "v6.samples.csv"
    q.write_text(samples_text(capsys, "csv", p))
    with open_session(q) as s:
        assert {x.responder for x in s.samples()} - {None} == {"2001:db8::2", "2001:db8:1::2", "2001:db8:2::2"}


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d[0]["result"].insert(1, copy.deepcopy(d[0]["result"][1])), "hop 2 is listed twice"),
        (lambda d: d[0].update(af=6), "af 6 but dst_addr 198.18.2.2 is IPv4"),
        (lambda d: d[0].update(af="4"), 'af "4" but dst_addr 198.18.2.2 is IPv4'),
        (lambda d: d[0]["result"][0].update(hop="1"), 'hop "1" is not a whole number within 1 and 255'),
    ],
    ids=["hop_twice", "af_6", "af_text", "hop_text"],
)
def test_an_atlas_run_that_contradicts_itself_is_refused(tmp_path, capsys, change, message):
    doc = atlas()
    change(doc)
    p = tmp_path / "atlas.json"
    p.write_text(json.dumps(doc))
    assert main(["report", "--session", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"run 1 of the RIPE Atlas results is unreadable: {message}" in err, err
