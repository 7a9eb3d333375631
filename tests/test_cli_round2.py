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
        "pingmos: 's1.pingmos' is a file here: to re-score it, pingmos report --session s1.pingmos; to trace a host "
        "of that name: pingmos -- s1.pingmos\n",
    ),
    (["report", "agent.toml"], "'agent.toml' is a file name, not a host (and no such file is here)"),
    (["agent.toml"], "to trace a host of that name: pingmos -- agent.toml\n"),
    # a command's name, or a typo of one, as report's TARGET (e00f7bd guarded the window's lone word only)
    (["report", "export", "-c", "1"], "'export' is a command, not a host; to trace a host of that name: pingmos "),
    (["report", "exprot"], "'exprot' is a typo of the command 'export', not a host"),
    (["report", "-c", "1", "Modles"], "a typo of the command 'models'"),
    (["report", "help"], "for help: pingmos report --help"),
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
