"""Long lines: reading a text file a line at a time costs the line's length once, and an mtr --raw log with a line
no mtr writes is refused as soon as that much of it is read (breaker-files: a 30 MB 'd' line kept `report
--session` busy for minutes, the line's text copied and searched again at each 64 KiB block: 8 MB 3.7 s of CPU)."""

import resource
import time

import pytest

from pingmos.cli import main
from pingmos.input_files import InputError, text_lines
from pingmos.session import SessionError, open_session
from pingmos.session.mtr_import import MAX_RAW_LINE_BYTES

LOG_HEAD = "x 0 33000\nh 0 127.0.0.1\np 0 100 33000\n"


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def test_a_32_mb_line_is_read_in_linear_time(tmp_path):
    # The old reader: 2, 4, 8 MB in 0.25, 0.87, 3.7 s of CPU (quadratic): 32 MB about a minute. Now 0.3 s.
    p = tmp_path / "one_line.txt"
    p.write_bytes(b"a" * (32 * 1024 * 1024) + b"\r\nend")
    start = cpu_s()
    lines = list(text_lines(p, 2**30))
    assert cpu_s() - start < 10
    assert [(len(line), ended) for line, ended in lines] == [(32 * 1024 * 1024, True), (3, False)]


@pytest.mark.parametrize("at", [65535, 65536, 65537, 2 * 65536 - 1])
@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_line_ends_across_block_boundaries(tmp_path, at, end):
    # Each end of line placed at and around the 64 KiB block boundary: the lines are those str.splitlines gives.
    text = "a" * (at - 1) + end + "b" * 70000 + end + end + "c" + end + "tail"
    p = tmp_path / "t.txt"
    p.write_bytes(text.encode())
    assert [line for line, _ in text_lines(p, 2**30)] == text.splitlines()


def test_a_line_longer_than_the_limit_is_refused_before_it_is_read_whole(tmp_path):
    p = tmp_path / "long.txt"
    p.write_bytes(b"short\n" + b"a" * (8 * 1024 * 1024))
    lines = text_lines(p, 2**30, "log", max_line_bytes=1000)
    assert next(lines) == ("short", True)
    with pytest.raises(InputError, match=r"long.txt: line 2 is longer than 1000 bytes, so not a log$"):
        next(lines)
    # A line of exactly the limit is a line.
    p.write_bytes(b"a" * 1000 + b"\n" + b"b" * 1000)
    assert [len(line) for line, _ in text_lines(p, 2**30, max_line_bytes=1000)] == [1000, 1000]


@pytest.mark.parametrize(
    "tail",
    [
        "d 0 " + "a" * (30 * 1024 * 1024) + "\n",  # a 'd' (name) line of 30 MB
        "p 0 100 " + "1" * (20 * 1024 * 1024),  # a number of 20 MB, no end of line
        "h 0 " + "1" * (MAX_RAW_LINE_BYTES + 1) + "\n",  # just over the limit
    ],
    ids=["name_30MB", "number_20MB_unended", "address_over_limit"],
)
def test_an_mtr_raw_log_with_a_line_no_mtr_writes_is_refused_at_once(tmp_path, capsys, tail):
    p = tmp_path / "long.mtr.raw"
    p.write_text(LOG_HEAD + tail)
    start = time.process_time()
    with pytest.raises(SessionError, match=rf"line 4 is longer than {MAX_RAW_LINE_BYTES} bytes, so not a report or"):
        open_session(p)
    assert main(["report", "--session", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 4 is longer than" in err and "Traceback" not in err
    assert time.process_time() - start < 10  # was minutes for the 30 MB line


def test_an_mtr_raw_log_with_a_long_name_within_the_limit_still_opens(tmp_path):
    # A 'd' line of 1000 characters (more than a DNS name, less than the line limit): opened, the name cut.
    p = tmp_path / "name.mtr.raw"
    p.write_text(LOG_HEAD + "d 0 " + "n" * 1000 + "\n")
    with open_session(p) as s:
        assert [x.ttl for x in s.samples()] == [1]
