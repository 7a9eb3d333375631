"""A samples export (CSV) is read a row at a time: memory holds its text and its samples, not every row as a dict
besides nor a four-bytes-a-character copy of the text (breaker-files: a 41 MB export of 400,000 samples took
921 MB to open and 925 MB for report --session; now 286 and 290 MB, the same numbers)."""

import csv
import io
import tracemalloc
from pathlib import Path

import pytest

from pingmos.cli import main
from pingmos.export import sample_context, write_samples_csv
from pingmos.session import SessionError, open_session
from pingmos.session.samples_import import samples_from_csv

SESSION = Path(__file__).parent.parent / "diagnosis" / "data" / "live_independent_losses.pmsession"


@pytest.fixture(scope="module")
def export_rows():
    """The header and rows of the samples export of a recorded 200-round, 5-hop session (1000 rows)."""
    out = io.StringIO()
    with open_session(SESSION) as s:
        write_samples_csv(s.samples(), out, context=sample_context(s.info))
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    return rows[0], rows[1:]


def long_export(header, rows, copies: int) -> str:
    """``copies`` runs of the rows one after the other, each 200 rounds and 20 s later, as one export."""
    r, t, utc = header.index("round"), header.index("sent_at"), header.index("sent_at_utc")
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for k in range(copies):
        for row in rows:
            row = list(row)
            row[r], row[t], row[utc] = str(int(row[r]) + 200 * k), repr(float(row[t]) + 20.0 * k), ""
            w.writerow(row)
    return out.getvalue()


def test_reading_an_export_takes_a_few_times_its_text_not_twenty(export_rows):
    text = long_export(*export_rows, copies=20)  # 20,000 samples, 2 MB
    tracemalloc.start()
    try:
        session = samples_from_csv(text, "x.csv")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(list(session.samples())) == 20_000 and session.info.address == "198.18.4.2"
    # Before: 37.9 MB at peak for the 2.0 MB text (19 times it); now 8.5 MB (4.3 times).
    assert peak < 8 * len(text), (peak, len(text))


@pytest.mark.parametrize("end", ["\r\n", "\r"])
def test_windows_and_classic_mac_line_ends_read_as_unix_ones(export_rows, tmp_path, capsys, end):
    text = long_export(*export_rows, copies=1)
    unix, other = tmp_path / "unix.csv", tmp_path / "other.csv"
    unix.write_text(text)
    other.write_bytes(text.replace("\n", end).encode())
    outs = []
    for p in (unix, other):
        assert main(["report", "--session", str(p), "--format", "json"]) == 0
        outs.append(capsys.readouterr().out.replace(str(p.name), "FILE"))
    assert outs[0] == outs[1]


def test_a_row_after_the_first_thousand_is_still_checked(export_rows):
    # One pass, row by row: a damaged row far into the file is still found and named by its line.
    header, rows = export_rows
    text = long_export(header, rows, copies=3).split("\n")
    text[2500] = text[2500].replace("false", "maybe", 1)
    with pytest.raises(SessionError, match=r"^x.csv: line 2501: lost must be true or false$"):
        samples_from_csv("\n".join(text), "x.csv")
