"""`export --what samples` writes the samples as it reads them: its memory does not grow with the session, and its
text is the one the whole list gave (``json.dumps(..., indent=1)``, the CSV writer), byte for byte.

scripts/bench_raw_import.py (``--command csv --command json``) measures the whole command's peak RSS and CPU."""

import contextlib
import io
import json
import math
import os
import random
import tracemalloc

from pingmos import cli
from pingmos.cli import main
from pingmos.engine.events import Sample
from pingmos.export import _sample_row, samples_to_csv, samples_to_json, write_samples_csv, write_samples_json
from pingmos.input_files import finite_json
from tests.session.test_raw_import_memory import write_log


def odd_samples(count: int, seed: int) -> list[Sample]:
    """Samples with every kind of value a file may hold: lost, non-finite times, text a spreadsheet or JSON
    escapes, reply kinds and codes or none."""
    rng = random.Random(seed)
    return [
        Sample(rng.randrange(10**6), rng.randrange(1, 256), rng.randrange(65536),
               rng.choice([1.7e9 + rng.random() * 1e6, math.inf, math.nan, -5.0, 1e300]),
               rng.choice([None, rng.random() * 100, 1e-300, math.nan]),
               rng.choice([None, "198.18.0.1", 'a"b,\n\\c\u00e9\x00', "=cmd", "-1"]),
               rng.random() < 0.5, rng.choice([None, "echo-reply", "ttl-exceeded"]), rng.choice([None, 0, 3]))
        for _ in range(count)
    ]  # fmt: skip


def test_the_streamed_json_is_the_whole_lists_dump_byte_for_byte():
    for count in (0, 1, 2, 2047, 2048, 2049, 4097):  # either side of the rows a write holds
        samples = odd_samples(count, count)
        for ttl in (None, 7):
            chosen = [s for s in samples if ttl is None or s.ttl == ttl]
            whole = json.dumps(finite_json([_sample_row(s) for s in chosen], {}), indent=1, allow_nan=False) + "\n"
            assert samples_to_json(samples, ttl) == whole
            out = io.StringIO()
            assert write_samples_json(iter(samples), out, ttl) == len(chosen)
            assert out.getvalue() == whole


def test_the_streamed_csv_writes_a_few_thousand_rows_at_a_time():
    samples = odd_samples(5000, 1)
    writes = []

    class Out:
        def write(self, text):
            writes.append(text)

    assert write_samples_csv(iter(samples), Out()) == 5000
    assert "".join(writes) == samples_to_csv(samples)
    assert len(writes) == 3 and all(w.endswith("\n") for w in writes)  # 2048 + 2048 + the rest (header first)


def export_peak_bytes(argv: list[str]) -> tuple[int, int]:
    """(exit code, tracemalloc's peak) of ``pingmos export`` in this process, its output to /dev/null."""
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        tracemalloc.start()
        try:
            rc = main(argv)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return rc, peak


def test_the_samples_export_of_a_long_log_takes_memory_for_the_log_not_for_its_text(tmp_path, monkeypatch):
    """12,000 probes read, 8,000 samples exported (2.4 MB of JSON): the peak is the log's arrays and what is held
    of the output, 3.4 MB (JSON) and 3.5 MB (CSV); 5.3 MB each at 30,000 probes. d734ee9 held every Sample and the
    whole text: 63 and 9.7 MB at 30,000 probes; holding the whole text alone would add its 2.4 MB here."""
    monkeypatch.setattr(cli._HeldOutput, "HOLD_CHARS", 256 * 1024)
    log = str(write_log(tmp_path / "long.raw", 4_000))
    for fmt in ("json", "csv"):
        rc, peak = export_peak_bytes(["export", log, "--what", "samples", "--format", fmt])
        assert rc == 0
        # Opening the log peaks at up to 120 bytes a probe read (test_raw_import_memory): 1.4 MB.
        assert peak < 4.5e6, (fmt, peak / 8_000)


def test_an_output_larger_than_what_is_held_is_the_same_text_and_notes_come_first(tmp_path, monkeypatch, capsys):
    log = str(write_log(tmp_path / "l.raw", 3000))
    argv = ["export", log, "--what", "samples", "--format", "json"]
    assert main(argv) == 0
    whole, notes = capsys.readouterr()
    printed = []
    monkeypatch.setattr(cli, "_print_notes", lambda command, lines: printed.append(list(lines)))
    monkeypatch.setattr(cli._HeldOutput, "HOLD_CHARS", 1000)
    emitted = []
    monkeypatch.setattr(cli, "_emit", lambda text: emitted.append((len(printed), text)))
    assert main(argv) == 0
    # 6,000 samples, 2,048 objects a write: written in four pieces as they came, the same text
    assert "".join(text for _, text in emitted) == whole and len(emitted) == 4
    assert all(n == 1 for n, _ in emitted)  # the notes once, before the first piece of output
    assert json.loads(whole)[0]["ttl"] == 1


def test_bad_input_found_before_the_output_is_written_leaves_only_its_line(tmp_path, capsys):
    log = str(write_log(tmp_path / "l.raw", 50))
    assert main(["export", log, "--what", "samples", "--ttl", "9"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "no probe was sent at TTL 9 in this session" in err
    assert "it has samples at TTL 1-2" in err
