"""A pingmos session whose first bytes are overwritten is called a damaged session, and what SQLite can still read
is opened (newcomer test, imports2 item 4: it said "not UTF-8 text (byte 102), so not a report or log")."""

import glob
import os
import tempfile
from pathlib import Path

import pytest

from pingmos.cli import main
from pingmos.engine import Sample
from pingmos.session import SessionError, SessionInfo, open_session, save_session

INFO = SessionInfo(target="127.0.0.1", address="127.0.0.1", protocol="icmp", interval_s=1.0, started_at=1000.0)


def recorded(path: Path, rounds: int = 40) -> list[Sample]:
    samples = [
        Sample(r, ttl, r * 2 + ttl, 1000.0 + r, None if (r + ttl) % 9 == 0 else 1.0 + ttl + r % 5 / 10,
               None if (r + ttl) % 9 == 0 else f"127.0.0.{ttl}", ttl == 2 and (r + ttl) % 9 != 0,
               None if (r + ttl) % 9 == 0 else ("echo_reply" if ttl == 2 else "time_exceeded"))
        for r in range(rounds)
        for ttl in (1, 2)
    ]  # fmt: skip
    save_session(path, INFO, samples)
    return samples


def overwrite(path: Path, at: int, data: bytes) -> None:
    with path.open("r+b") as f:
        f.seek(at)
        f.write(data)


def salvage_dirs() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "pingmos-salvage-*")))


def test_a_session_whose_signature_is_overwritten_opens_what_sqlite_reads_with_a_note(tmp_path, capsys):
    path = tmp_path / "run.pingmos"
    samples = recorded(path)
    overwrite(path, 0, b"X" * 16)  # /tmp/nc/bad/corrupt.pingmos
    before = salvage_dirs()
    session = open_session(path)
    assert list(session.samples()) == samples and session.path == str(path)
    (note,) = session.info.extra["notes"]
    assert "first bytes were overwritten" in note and "40 rounds (80 samples)" in note
    session.close()
    assert salvage_dirs() == before  # the repaired copy is gone
    assert path.read_bytes()[:16] == b"X" * 16  # nothing written to the damaged file
    rc = main(["report", "--session", str(path)])
    out, err = capsys.readouterr()
    assert rc == 0 and "127.0.0.1" in out and "40 rounds (80 samples)" in err and "Traceback" not in err
    assert salvage_dirs() == before


def test_the_same_file_under_another_name_is_recognised_by_its_header(tmp_path):
    path = tmp_path / "copy.bin"
    recorded(path, 10)
    overwrite(path, 0, bytes(range(200, 216)))
    assert len(list(open_session(path).samples())) == 20


def one_line(capsys, path: Path) -> str:
    rc = main(["report", "--session", str(path)])
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and "Traceback" not in err
    (line,) = err.strip().splitlines()
    return line


def test_a_session_damaged_beyond_its_signature_says_so_in_one_line(tmp_path, capsys):
    path = tmp_path / "deep.pingmos"
    recorded(path)
    size = path.stat().st_size
    overwrite(path, 0, b"X" * 16)
    overwrite(path, 4096, b"\xff" * (size - 4096))  # every page after the first
    before = salvage_dirs()
    line = one_line(capsys, path)
    assert "a damaged pingmos session (its first 16 bytes, SQLite's signature, are overwritten)" in line
    assert "nothing in it can be read" in line and "not UTF-8" not in line
    assert salvage_dirs() == before


def test_a_file_named_as_a_session_that_is_not_one_is_called_damaged_not_text(tmp_path, capsys):
    path = tmp_path / "junk.pingmos"
    path.write_bytes(b"\x00\xff" * 300)
    line = one_line(capsys, path)
    assert "a damaged pingmos session (named as one, but its first bytes are not SQLite's header)" in line
    other = tmp_path / "junk.bin"
    other.write_bytes(b"\x00\xff" * 300)
    with pytest.raises(SessionError, match="not UTF-8 text"):
        open_session(other)  # another name and no session header: as before


def test_a_text_file_named_as_a_session_is_still_read_as_what_it_is(tmp_path):
    path = tmp_path / "report.pingmos"
    path.write_text("x 0 1\nh 0 127.0.0.1\np 0 1000 1\nx 0 2\np 0 1000 2\nx 0 3\n")
    assert open_session(path).info.source == "mtr --raw"
