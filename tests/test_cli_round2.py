"""Round 2 of the command line, from a newcomer's findings: typos and file names never reach the resolver, a
--record name that cannot be created is refused before any probe, a full disk is exit 1, ASCII numbers only, echoed
input cut short, Ctrl+C is exit 130 with one line."""

import errno
import os
import socket

import pytest

from pingmos.cli import main


@pytest.fixture
def no_lookup(monkeypatch):
    """The system resolver must not be asked: every call fails the test."""
    asked = []

    def refuse(*args, **kwargs):
        asked.append(args[0] if args else kwargs)
        raise AssertionError(f"the resolver was asked about {args[:1]}")

    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        monkeypatch.setattr(socket, name, refuse)
    return asked


@pytest.fixture
def no_window(monkeypatch):
    """The window is never opened (on a tree without the check, the test fails instead of waiting on it)."""
    import pingmos.cli as cli
    from pingmos.gui import app

    opened = []
    monkeypatch.setattr(app, "run", lambda target=None: opened.append(target) or 0)
    monkeypatch.setattr(cli, "_become_invoking_user", lambda keep_raw_sockets: None)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    return opened


def _run(argv):
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


WORDS_NOT_HOSTS = [
    # a file of this folder where a host is expected: re-score it, or trace a host of that name after --
    (
        ["report", "s1.pingmos", "-c", "1"],
        "pingmos report: error: 's1.pingmos' is a file here: to re-score it, pingmos report --session s1.pingmos; "
        "to trace a host of that name: pingmos report -- s1.pingmos\n",
    ),
    (
        ["s1.pingmos"],
        "pingmos: 's1.pingmos' is a file here: File > Open... shows it in the window, pingmos report --session "
        "s1.pingmos re-scores it in the terminal; to trace a host of that name: pingmos -- s1.pingmos\n",
    ),
    # a path is no host name: no "pingmos -- PATH" hint (it answered "is a network (address/prefix)")
    (["./s1.pingmos"], "re-scores it in the terminal\n"),
    (
        ["report", "./s1.pingmos"],
        "'./s1.pingmos' is a file here: to re-score it, pingmos report --session ./s1.pingmos\n",
    ),
    (["report", "agent.toml"], "'agent.toml' is a file name, not a host (and no such file is here)"),
    (["agent.toml"], "to trace a host of that name: pingmos -- agent.toml\n"),
    # a command's name, or a typo of one, as report's TARGET (e00f7bd guarded the window's lone word only)
    (["report", "export", "-c", "1"], "'export' is a command, not a host; to trace a host of that name: pingmos "),
    (["report", "exprot"], "'exprot' is a typo of the command 'export', not a host"),
    (["report", "-c", "1", "Modles"], "a typo of the command 'models'"),
    (["report", "help"], "for help: pingmos report --help"),
    # another tool's command, far from every name of pingmos's: "pingmos trace" looked up the name "trace"
    (["trace"], "'trace' is not a command of pingmos (pingmos report HOST traces in the terminal, pingmos HOST in "),
    (["Calc"], "the calculator is pingmos score --latency MS"),
    (["report", "mtr", "-c", "1"], "to trace a host of that name: pingmos report -- mtr\n"),
]


@pytest.mark.parametrize("argv, words", WORDS_NOT_HOSTS)
def test_a_file_or_command_word_as_the_host_is_refused_without_a_lookup(
    argv, words, tmp_path, monkeypatch, capsys, no_lookup, no_window
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s1.pingmos").write_bytes(b"")
    code = _run(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1, (code, err)
    assert words in err, err
    assert no_lookup == []


def test_after_double_dash_such_a_word_is_a_host(tmp_path, monkeypatch, capsys):
    """``report -- export`` traces a host named "export": the resolver (a stand-in) is asked."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s1.pingmos").write_bytes(b"")
    asked = []

    def nothing_known(host, *args, **kwargs):
        asked.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nothing_known)
    assert _run(["report", "-4", "--", "export"]) == 2
    assert _run(["report", "-4", "-c", "1", "--", "s1.pingmos"]) == 2
    assert asked == ["export", "s1.pingmos"]
    assert "cannot resolve 'export'" in capsys.readouterr().err


def test_help_alone_shows_the_help(capsys, no_lookup):
    assert main(["help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: pingmos") and "exit status:" in out
    assert no_lookup == []


def test_a_record_name_too_long_is_refused_before_anything_is_sent(tmp_path, monkeypatch, capsys, no_lookup):
    """Before: OSError "File name too long" as a traceback, exit 1, after the probe sockets were opened."""
    import pingmos.run

    def no_trace(*args, **kwargs):
        raise AssertionError("a trace was set up before the --record name was checked")

    monkeypatch.setattr(pingmos.run, "TraceRun", no_trace)
    name = str(tmp_path / ("x" * 300 + ".pingmos"))
    code = _run(["report", "127.0.0.1", "--no-dns", "-c", "2", "-i", "0.1", "--record", name])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert "cannot create the session file: File name too long" in err and "\u2026" in err and len(err) < 300
    existing = tmp_path / "old.pingmos"
    existing.write_bytes(b"")
    assert _run(["report", "127.0.0.1", "--no-dns", "-c", "1", "--record", str(existing)]) == 2
    assert "the file exists already" in capsys.readouterr().err


def test_a_full_disk_when_the_session_file_is_created_is_exit_1(tmp_path, monkeypatch, capsys):
    """The README: 1 for a recording that cannot be written (a full disk); it was 2, as for bad input."""
    import pingmos.session.store as store

    path = str(tmp_path / "a.pingmos")
    real_open = os.open

    def full(file, *args, **kwargs):
        if os.fspath(file) == path:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(store.os, "open", full)
    code = _run(["report", "127.0.0.1", "--no-dns", "-c", "1", "-i", "0.1", "--record", path])
    out, err = capsys.readouterr()
    if code == 77:
        pytest.skip("no probe sockets here")
    assert code == 1 and out == "", err
    assert err == f"pingmos report: error: {path}: cannot create the session file: No space left on device\n"


# -- Ctrl+C: exit 130 and one line, at any moment ------------------------------------------------------------------


def test_ctrl_c_while_a_file_is_read_is_exit_130_and_one_line(monkeypatch, capsys):
    """Before: a KeyboardInterrupt traceback out of report --session / export of a large file."""
    import pingmos.session

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pingmos.session, "open_session", interrupted)
    for argv in (["report", "--session", "big.txt"], ["export", "big.txt", "--what", "samples"]):
        assert main(argv) == 130
        out, err = capsys.readouterr()
        assert out == "" and err == "pingmos: interrupted\n"


def test_ctrl_c_during_the_start_up_imports_is_exit_130_and_one_line(monkeypatch, capsys):
    """``pingmos`` (the entry point) and ``python -m pingmos`` import pingmos.cli, the engine and the scoring
    registry first: a Ctrl+C there was a traceback too."""
    import importlib.abc
    import sys

    import pingmos.__main__ as entry

    class CtrlC(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "pingmos.cli":
                raise KeyboardInterrupt
            return None

    monkeypatch.delitem(sys.modules, "pingmos.cli")
    monkeypatch.setattr(sys, "meta_path", [CtrlC(), *sys.meta_path])
    assert entry.run() == 130
    assert capsys.readouterr().err == "pingmos: interrupted\n"


def test_ctrl_c_to_the_process_group_while_a_formula_loops(tmp_path):
    """As a terminal sends it: SIGINT to pingmos and its sandbox worker. Before: a traceback from the sandbox's
    poll, and the process killed by the signal (exit -2)."""
    import signal
    import subprocess
    import sys
    import time

    folder = tmp_path / "scoring"
    folder.mkdir()
    (folder / "spin.py").write_text('"""Loops."""\n\n\ndef score_hop(hop):\n    while True:\n        pass\n')
    env = dict(os.environ, PINGMOS_CONFIG_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pingmos", "score", "--model", "spin", "--latency", "80"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(1.0)  # the start-up imports, or the formula's first second of CPU time: 130 either way
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err == "pingmos: interrupted\n" and out == ""


# -- ASCII numbers only; echoed input cut short; a platform plugin that does not exist --------------------------

NOT_ASCII = [
    (["score", "--latency", "\u0661\u0662"], "latency must be a number in ASCII digits (0-9)"),
    (["score", "--latency", "10", "--jitter", "\uff15"], "jitter must be a number in ASCII digits"),
    (["report", "127.0.0.1", "-c", "\u0967\u0966"], "count must be a whole number in ASCII digits"),
    (["score", "--samples", "10,\u0661\u0662"], "'\u0661\u0662' is neither a latency in ms nor x"),
    (["score", "--latency", "10", "--set", "buffer_ms=\u0666\u0660"], "setting 'buffer_ms' takes a number"),
    (["export", "RAW", "--from", "+\u0661"], "give it in ASCII digits (0-9)"),
]


@pytest.mark.parametrize("argv, words", NOT_ASCII)
def test_numbers_in_other_scripts_are_refused(argv, words, capsys, no_lookup):
    """Python's int() and float() read any script's digits: '--latency \u0661\u0662' was taken as 12."""
    raw = os.path.join(os.path.dirname(__file__), "session", "data", "lab3.mtr.raw")
    code = _run([raw if a == "RAW" else a for a in argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert words in err, err


def test_echoed_input_is_cut_short(tmp_path, monkeypatch, capsys):
    """A 10,000-character model name, a formula raising a 1 MB message: each error line stays short."""
    monkeypatch.setenv("PINGMOS_CONFIG_DIR", str(tmp_path))
    (tmp_path / "scoring").mkdir()
    (tmp_path / "scoring" / "huge.py").write_text(
        '"""Raises."""\n\n\ndef score_hop(hop):\n    raise ValueError("x" * 1_000_000)\n'
    )
    assert _run(["score", "--latency", "10", "--model", "m" * 10_000]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 700 and "m" * 79 + "\u2026'" in err and "known: " in err
    assert _run(["score", "--latency", "10", "--model", "huge"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 700 and err.rstrip("\n").endswith("\u2026"), err[-100:]


def test_a_platform_plugin_that_does_not_exist_is_one_line_and_exit_2(monkeypatch, capsys):
    """``QT_QPA_PLATFORM=bogus pingmos``: Qt aborted (exit 134) after a page of advice."""
    import pingmos.cli as cli
    from pingmos.gui import app

    monkeypatch.setattr(app, "run", lambda target=None: pytest.fail("the window was opened"))
    monkeypatch.setattr(cli, "_become_invoking_user", lambda keep_raw_sockets: None)
    monkeypatch.delenv("QT_QPA_PLATFORM_PLUGIN_PATH", raising=False)
    monkeypatch.delenv("QT_PLUGIN_PATH", raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "bogus")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pingmos: error: QT_QPA_PLATFORM=bogus names no Qt platform plugin") and "offscreen" in err
    assert err.count("\n") == 1
    for name in ("offscreen", "minimal:enable_fonts", "bogus;offscreen", "wayland-egl"):
        assert cli._missing_platform_plugin({"QT_QPA_PLATFORM": name}) is None, name


def test_the_open_dialog_lists_the_exports_pingmos_reads_back():
    """export --what samples and report --format json/csv files open in the window; the filter hid *.csv."""
    from pingmos.gui.session_actions import OPEN_FILTER

    filters = OPEN_FILTER.split(";;")
    assert filters[0] == "pingmos sessions (*.pingmos)"  # what Save session as proposes first
    assert any("*.csv" in f and "*.json" in f for f in filters)
