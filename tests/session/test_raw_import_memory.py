"""An mtr --raw log is read a line at a time into compact arrays, and a log too large to open is refused in one
line before the memory is spent (newcomer test, imports2 item 1: a 73 MB log of 2 million probes peaked at 3.4 GB).

scripts/bench_raw_import.py measures the whole command (peak RSS and CPU time) before and after.
"""

import tracemalloc
from pathlib import Path

import pytest

from pingmos.cli import main
from pingmos.session import SessionError, mtr_import, open_session

DATA = Path(__file__).parent / "data"


def write_log(path: Path, rounds: int, hops: int = 3, lose_every: int = 7) -> Path:
    """A log of ``rounds`` x ``hops`` probes on loopback addresses (never sent: a file); the target answers the
    last two TTLs, as in mtr's logs (it probes beyond the target), so the last is dropped as beyond it."""
    lines = []
    seq = 33000
    for r in range(rounds):
        for pos in range(hops):
            lines.append(f"x {pos} {seq}")
            if (r + pos) % lose_every:
                host = "127.0.0.1" if pos >= hops - 2 else f"127.0.{pos + 1}.1"
                lines += [f"h {pos} {host}", f"p {pos} {1000 + 500 * pos + r % 97} {seq}"]
            seq = 33000 if seq == 65535 else seq + 1
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_raw_log_is_held_in_arrays_not_a_python_object_per_probe(tmp_path):
    # 18,000 probes: 70 bytes a probe at the peak, 17 held (57 and 17 at 60,000, 4,500 and 180 on the old tree), so
    # the bounds below tell the two apart at a third of the cost.
    log = write_log(tmp_path / "big.raw", 6_000)
    tracemalloc.start()
    try:
        session = open_session(log)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Kept: the first two hops' probes, but for the last to a hop when unanswered (in flight at the end).
    assert 12_000 - 2 <= sum(1 for _ in session.samples()) <= 12_000 and session.info.address == "127.0.0.1"
    # On main: 4,500 bytes a probe at the peak (the text, its lines, lists of lists) and 180 held (Sample objects).
    print(f"{peak / 18_000:.0f} bytes a probe at the peak, {held / 18_000:.0f} held")
    assert peak / 18_000 < 120 and held / 18_000 < 60, (peak, held)


def test_the_samples_are_those_of_the_log_in_round_order(tmp_path):
    session = open_session(write_log(tmp_path / "l.raw", 50, hops=4))
    samples = list(session.samples())
    by_round = list(session.samples_by_round())
    assert by_round == sorted(samples, key=lambda s: s.round)
    assert [s.round for s in samples if s.ttl == 2] == list(range(len([s for s in samples if s.ttl == 2])))
    lost = [s for s in samples if s.rtt_ms is None]
    assert lost and all(s.responder is None and not s.reached for s in lost)
    reached = [s for s in samples if s.reached]
    assert reached and {s.ttl for s in reached} == {3} and {s.responder for s in reached} == {"127.0.0.1"}
    assert max(s.ttl for s in samples) == 3  # the probes beyond the target are dropped
    first = next(s for s in samples if s.ttl == 1 and s.rtt_ms is not None)
    assert first.rtt_ms == pytest.approx(1.0 + first.round % 97 / 1000) and first.responder == "127.0.1.1"
    route = session.route()
    assert [(e.ttl, e.responder) for e in route] == [(1, "127.0.1.1"), (2, "127.0.2.1"), (3, "127.0.0.1")]
    assert sum(e.replies for e in route) == len(samples) - len(lost)


def test_the_fixture_reads_the_same_from_text_and_from_the_file():
    text = (DATA / "lab3.mtr.raw").read_text()
    from_text = list(mtr_import.parse_mtr_raw(text, started_at=0.0).samples())
    from_file = list(open_session(DATA / "lab3.mtr.raw").samples())
    assert [(s.round, s.ttl, s.seq, s.rtt_ms, s.responder, s.reached) for s in from_text] == [
        (s.round, s.ttl, s.seq, s.rtt_ms, s.responder, s.reached) for s in from_file
    ]


def one_line_refusal(capsys, path: Path) -> str:
    rc = main(["report", "--session", str(path)])
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and "Traceback" not in err
    (line,) = err.strip().splitlines()
    return line


def test_a_log_of_more_probes_to_one_hop_than_pingmos_scores_is_refused_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(mtr_import, "MAX_RAW_PROBES_PER_HOP", 100)
    line = one_line_refusal(capsys, write_log(tmp_path / "long.raw", 150))
    assert "records more than 100 probes to hop 1 (line " in line and "split -l" in line
    assert open_session(write_log(tmp_path / "ok.raw", 100)).samples()


def test_a_log_of_more_probes_than_pingmos_opens_is_refused_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(mtr_import, "MAX_RAW_PROBES", 1000)
    line = one_line_refusal(capsys, write_log(tmp_path / "wide.raw", 400))
    assert "records more than 1,000 probes (line " in line and "more than pingmos opens from one log" in line


def test_the_limits_keep_the_largest_accepted_log_under_a_gigabyte():
    # The MOS interval's bootstrap: one chunk of resampled windows at a time, at least one window of the longest
    # hop (about 60 bytes a resampled value); about 75 bytes a probe besides. Measured: 621 MB with every probe of
    # the largest log at one hop (scripts/bench_raw_import.py).
    from pingmos.scoring.interval import MAX_CHUNK_VALUES

    longest = min(mtr_import.MAX_RAW_PROBES_PER_HOP, mtr_import.MAX_RAW_PROBES)
    assert max(longest, MAX_CHUNK_VALUES) * 60 + mtr_import.MAX_RAW_PROBES * 75 < 1.0e9


def test_a_raw_log_with_a_line_that_is_not_utf8_names_the_line(tmp_path):
    p = tmp_path / "bad.raw"
    p.write_bytes(b"x 0 1\nh 0 127.0.0.1\np 0 100 1\nd 0 caf\xe9\n")
    with pytest.raises(SessionError, match=r"bad.raw: not UTF-8 text \(line 4, byte 37\)"):
        open_session(p)


def test_every_probe_of_a_log_may_go_to_one_hop(tmp_path):
    """A hop's MOS interval no longer holds 50 resampled windows at once (2.6 kB a probe), so one hop may have as
    many probes as a log (4,000,000: 621 MB, scripts/bench_raw_import.py); d734ee9 refused more than 250,000."""
    assert mtr_import.MAX_RAW_PROBES_PER_HOP >= mtr_import.MAX_RAW_PROBES
    session = open_session(write_log(tmp_path / "one-hop.raw", 250_001, hops=1))
    assert len(session) == 250_001 and {s.ttl for s in session.samples()} == {1}
