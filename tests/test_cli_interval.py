"""--interval of report: one check, one message, naming the range of the use (a trace: 0.1 to 60 s; the rounds of
an mtr --raw log given to --session: 0.01 to 3600 s). Before, -i 0 and -i 4000 of a trace named the raw log's range
(argparse's type check) while -i 0.05 named the trace's."""

from __future__ import annotations

import os
import socket

import pytest

from pingmos.cli import main

MTR_RAW = os.path.join(os.path.dirname(__file__), "session", "data", "lab3.mtr.raw")
TRACE = "interval must be within 0.1 and 60.0 for a trace, not "
RAW_LOG = "interval must be within 0.01 and 3600.0 for an mtr --raw log's rounds (--session), not "


@pytest.fixture(autouse=True)
def no_lookup(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the resolver was asked")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.parametrize("value", ["0.05", "0", "4000", "-1", "nan", "inf"])
def test_a_traces_interval_out_of_range_names_the_traces_range(capsys, value):
    with pytest.raises(SystemExit) as exc:
        main(["report", "127.0.0.1", "--no-dns", "-i", value])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1
    assert err.startswith("pingmos report: error: argument --interval/-i: " + TRACE), err


@pytest.mark.parametrize("value", ["0.005", "4000", "0", "nan"])
def test_a_raw_logs_interval_out_of_range_names_the_raw_logs_range(capsys, value):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--session", MTR_RAW, "-i", value])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1
    assert err.startswith("pingmos report: error: argument --interval/-i: " + RAW_LOG), err


def test_a_raw_log_takes_an_interval_a_trace_would_not(capsys):
    assert main(["report", "--session", MTR_RAW, "-i", "0.05"]) == 0
    assert "every 0.05 s" in capsys.readouterr().out


def test_not_a_number_is_said_as_before(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "127.0.0.1", "--no-dns", "-i", "fast"])
    assert exc.value.code == 2
    assert "interval must be a number, not 'fast'" in capsys.readouterr().err
