"""A model that fails is said the same way by every format and command: the output is written (JSON and CSV with
``score_error`` per hop, the table with its ``scoring failed`` line), then one stderr line names the model and the
error, and the exit status is 1 (README "Exit status"), as ``pingmos score``'s."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest

from pingmos.cli import main

MTR_RAW = os.path.join(os.path.dirname(__file__), "..", "session", "data", "lab3.mtr.raw")
ROOT = os.geteuid() == 0

BROKEN = """\
from pingmos.scoring.formula_api import r_to_mos


def score_hop(hop):
    r = 93.2 - hop.avg_ms / 40.0
    r = r / 0
    return r, r_to_mos(r)
"""


@pytest.fixture
def f_exc(tmp_path, monkeypatch):
    folder = tmp_path / "config" / "scoring"
    folder.mkdir(parents=True)
    (folder / "f_exc.py").write_text(BROKEN)
    monkeypatch.setenv("PINGMOS_CONFIG_DIR", str(tmp_path / "config"))
    return "f_exc"


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if ": note: " not in line]  # the log's own notes (a probe in flight)


def _one_stderr_line(err: str, command: str) -> str:
    lines = _errors(err)
    assert len(lines) == 1, err
    assert lines[0].startswith(f"pingmos {command}: error: model f_exc failed to score hop")
    assert "f_exc.py:6: ZeroDivisionError" in lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "argv,command",
    [
        (["report", "--session", MTR_RAW], "report"),
        (["report", "--session", MTR_RAW, "--format", "csv"], "report"),
        (["report", "--session", MTR_RAW, "--format", "json"], "report"),
        (["export", MTR_RAW], "export"),
        (["export", MTR_RAW, "--format", "json"], "export"),
    ],
)
def test_a_failing_formula_is_one_stderr_line_and_exit_1_in_every_format(f_exc, capsys, argv, command):
    rc, out, err = _run(capsys, *argv, "--model", f_exc)
    assert rc == 1
    _one_stderr_line(err, command)
    if "json" in argv:
        hops = json.loads(out)["hops"]
        assert all(h["r"] is None and "ZeroDivisionError" in h["score_error"] for h in hops if h["received"])
    elif command == "export" or "csv" in argv:
        rows = list(csv.DictReader(io.StringIO(out)))
        assert rows and all("ZeroDivisionError" in r["score_error"] for r in rows if r["received"] != "0")
        assert all(r["r"] == "" and r["mos"] == "" for r in rows)
    else:
        assert "scoring failed at hop" in out


def test_a_model_that_scores_leaves_score_error_empty_and_exits_0(capsys):
    rc, out, err = _run(capsys, "export", MTR_RAW, "--model", "pingplotter")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rc == 0 and _errors(err) == []
    assert rows and all(r["score_error"] == "" for r in rows)


def test_exporting_samples_never_scores_so_never_fails(f_exc, capsys):
    rc, _, err = _run(capsys, "export", MTR_RAW, "--what", "samples")
    assert rc == 0 and _errors(err) == []


@pytest.mark.skipif(not ROOT, reason="raw sockets need root")
def test_a_live_report_with_a_failing_formula_exits_1_after_its_csv(f_exc, capsys):
    # loopback only, no reverse DNS (BRIEF: network safety)
    rc, out, err = _run(capsys, "report", "127.0.0.1", "--no-dns", "-c", "2", "-i", "0.1", "--model", f_exc,
                        "--format", "csv")  # fmt: skip
    assert rc == 1
    _one_stderr_line(err, "report")
    (row,) = csv.DictReader(io.StringIO(out))
    assert row["address"] == "127.0.0.1" and "ZeroDivisionError" in row["score_error"] and row["mos"] == ""
