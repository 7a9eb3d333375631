"""No option is silently ignored: in every combination an option either changes what the command does or is
refused with one line naming it (exit 2). The tables below classify every option of ``report``, ``export`` and
``models``; a new option fails ``test_every_option_is_classified`` until it is placed in one.

The resolver is replaced by one that fails the test: no host name is ever looked up here."""

import os
import socket

import pytest

from pingmos.cli import _commands, build_parser, main

DATA = os.path.join(os.path.dirname(__file__), "session", "data")
SESSION = os.path.join(os.path.dirname(__file__), "diagnosis", "data", "live_independent_losses.pmsession")
MTR_RAW = os.path.join(DATA, "lab3.mtr.raw")
MTR_JSON = os.path.join(DATA, "lab3.mtr.json")


@pytest.fixture(autouse=True)
def no_lookup(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"the resolver was asked about {args[:1]}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)


@pytest.fixture(autouse=True)
def no_interval_budget(monkeypatch):
    """The MOS interval stops at a time budget (``scoring.interval.BUDGET_S``), so on a loaded machine two reports
    of the same input may differ in ``mos_ci`` alone; lifted, "the output changed" is the option's doing."""
    from pingmos.scoring import interval

    whole = interval.mos_intervals
    monkeypatch.setattr(interval, "mos_intervals", lambda *a, **k: whole(*a, **{**k, "budget_s": None}))


def run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def refused(argv, option, capsys) -> str:
    code, out, err = run(argv, capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err, (argv, code, err)
    assert option in err, err
    return err


# report --session: each option a value that would change a live trace; with a saved one they set nothing.
PROBING = {
    "count": ["-c", "5"],
    "protocol": ["--protocol", "udp"],
    "port": ["--port", "33434"],
    "ip_version": ["-4"],
    "mode": ["--mode", "raw"],
    "flows": ["--flows", "2"],
    "max_ttl": ["--max-ttl", "2"],
    "timeout": ["--timeout", "5"],
    "no_dns": ["--no-dns"],
    "record": ["--record", "new.pmsession"],
    "witness": ["--witness", "3"],
}
# report --session: each option a value that changes the JSON report of SESSION (or, for --interval, of MTR_RAW)
RESCORING = {
    "window": ["--window", "3"],
    "format": ["--format", "csv"],
    "model": ["--model", "g107"],
    "settings": ["--set", "one_way_pct=90"],
    "time_from": ["--from", "+5"],
    "time_to": ["--to", "+5"],
}
# report options that apply to a live trace only, or to one kind of file (checked by the tests named)
ELSEWHERE = {
    "interval": "test_interval_places_the_rounds_of_an_mtr_raw_log_only",
    "target": "test_interval_places_the_rounds_of_an_mtr_raw_log_only",
    "probe": "tests/session (RIPE Atlas results only; any other file refuses a PROBE)",
    "alerts": "tests/alerts, tests/test_cli.py (rules over the saved samples)",
    "session": "the option that makes the others re-score",
}


def _dests(command: str) -> set[str]:
    parser = _commands(build_parser())[command]
    return {a.dest for a in parser._actions if a.dest != "help"}


def test_every_option_is_classified():
    assert _dests("report") == set(PROBING) | set(RESCORING) | set(ELSEWHERE)
    assert _dests("export") == set(EXPORT_HOPS_ONLY) | {"session", "what", "ttl", "format", "time_from", "time_to",
                                                        "interval", "probe"}  # fmt: skip


@pytest.mark.parametrize("dest", sorted(PROBING))
def test_an_option_that_sets_up_probing_is_refused_with_session(dest, tmp_path, capsys):
    """``report --session F -c 5`` re-scored F as if -c were not there (and --no-dns, --protocol, ... alike)."""
    argv = ["report", "--session", SESSION, *PROBING[dest]]
    argv = [str(tmp_path / a) if a == "new.pmsession" else a for a in argv]
    err = refused(argv, "--session re-scores a saved trace and sends no probe", capsys)
    option = PROBING[dest][0]
    assert err.startswith(f"pingmos report: error: {option.replace('-c', '--count')}: "), err
    assert not (tmp_path / "new.pmsession").exists()


def test_several_such_options_are_named_together(capsys):
    err = refused(["report", "--session", SESSION, "--coun", "5", "-6", "--no-dns"], "drop them", capsys)
    assert "--count, -6, --no-dns: " in err


@pytest.mark.parametrize("dest", sorted(RESCORING))
def test_an_option_that_rescores_changes_the_report_of_a_session(dest, capsys):
    """The counterpart: what is not refused with --session does something (the JSON report differs)."""
    base = ["report", "--session", SESSION, "--format", "json"]
    code, before, _ = run(base, capsys)
    code_after, after, err = run(base + RESCORING[dest], capsys)
    assert code == code_after == 0, err
    assert after != before


def test_interval_places_the_rounds_of_an_mtr_raw_log_only(capsys):
    """--interval with a file that keeps its own times was dropped without a word; an mtr --raw log takes it."""
    code, slow, _ = run(["report", "--session", MTR_RAW, "-i", "2", "--format", "json"], capsys)
    code_fast, fast, _ = run(["report", "--session", MTR_RAW, "-i", "0.5", "--format", "json"], capsys)
    assert code == code_fast == 0 and '"interval_s": 2.0' in slow and '"interval_s": 0.5' in fast
    for path in (SESSION, MTR_JSON):
        err = refused(["report", "--session", path, "-i", "1"], "--interval places the rounds of an mtr --raw log",
                      capsys)  # fmt: skip
        assert "drop --interval" in err
        refused(["export", path, "--interval", "1"], "drop --interval", capsys)
    # TARGET names the destination of an mtr --raw log; a file that names its own refuses one
    refused(["report", "127.0.0.1", "--session", SESSION], "a TARGET is only for an mtr --raw log", capsys)


def test_port_without_a_port_protocol_is_refused_before_any_probe(capsys):
    """``report 127.0.0.1 --port 80`` probed with ICMP echoes, which have no port."""
    err = refused(["report", "127.0.0.1", "-c", "1", "--port", "80"], "--port applies to --protocol udp or tcp", capsys)
    assert "drop --port or give --protocol" in err


def test_from_to_and_probe_without_session_are_refused(capsys):
    refused(["report", "127.0.0.1", "--from", "+1"], "--from/--to select part of a saved trace", capsys)
    refused(["report", "127.0.0.1", "--to", "+1"], "--from/--to select part of a saved trace", capsys)
    refused(["report", "127.0.0.1", "--probe", "7"], "--probe picks a probe of RIPE Atlas results", capsys)


@pytest.mark.parametrize("command", [["score", "--latency", "20"], ["report", "--session", SESSION],
                                     ["export", SESSION]])  # fmt: skip
def test_the_same_setting_twice_is_refused(command, capsys):
    """``--set k=1 --set k=2`` kept the last without a word; which one a user meant is theirs to say."""
    err = refused([*command, "--set", "one_way_pct=40", "--set", "one_way_pct= 60"], "--set one_way_pct", capsys)
    assert "is given twice ('40', then '60'): give each setting once" in err
    code, _, err = run([*command, "--set", "one_way_pct=40", "--set", "buffer=fixed"], capsys)
    assert code == 0, err


EXPORT_HOPS_ONLY = {"window": ["--window", "3"], "model": ["--model", "g107"], "settings": ["--set", "codec=g729a"]}


@pytest.mark.parametrize("what", ["samples", "events"])
@pytest.mark.parametrize("dest", sorted(EXPORT_HOPS_ONLY))
def test_export_refuses_scoring_options_for_what_it_does_not_score(what, dest, capsys):
    option = EXPORT_HOPS_ONLY[dest][0]
    err = refused(["export", SESSION, "--what", what, *EXPORT_HOPS_ONLY[dest]], f"{option} score", capsys)
    assert f"use it with --what hops; --what {what} exports what was recorded" in err
    code, before, _ = run(["export", SESSION, "--what", "hops"], capsys)
    code_after, after, err = run(["export", SESSION, "--what", "hops", *EXPORT_HOPS_ONLY[dest]], capsys)
    assert code == code_after == 0 and after != before, err


def test_models_copy_takes_no_format(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PINGMOS_CONFIG_DIR", str(tmp_path))
    refused(["models", "--copy", "g107", "--format", "json"], "--copy prints the new file's path alone", capsys)
    assert not (tmp_path / "scoring").exists()  # refused before anything was written
    code, out, _ = run(["models", "--copy", "g107"], capsys)
    assert code == 0 and out.strip().endswith("my_g107.py")
