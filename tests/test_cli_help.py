"""Every sub-command's --help prints (argparse formats help strings with %, so a stray '%' only fails here)."""

import pytest

from pingmos.cli import main


@pytest.mark.parametrize(
    "argv", [["--help"], ["report", "--help"], ["score", "--help"], ["models", "--help"], ["export", "--help"]]
)
def test_help_prints_and_exits_0(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: pingmos")


def _help(argv, capsys) -> str:
    import re

    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return re.sub(r"\s+", " ", capsys.readouterr().out)  # argparse wraps at the terminal's width


def test_monitor_summary_window_and_report_window_are_told_apart(capsys):
    """``monitor --window`` (a switch: a GUI table) and ``report --window N`` (a sample count) read alike. The
    monitor's help says it takes no value ("on/off:" read as if it took one, ``--window on``)."""
    monitor = _help(["monitor"], capsys)
    assert "--summary-window, --window" in monitor and "a switch, no value: also open the summary window" in monitor
    for command in ("report", "export"):
        text = _help([command], capsys)
        assert "--window N" in text and "a sample count" in text, command


def test_monitor_window_keeps_its_first_spelling():
    from pingmos.cli import build_parser

    parser = build_parser()
    for spelling in ("--window", "--summary-window"):
        assert parser.parse_args(["monitor", "agent.toml", spelling]).window is True
    assert parser.parse_args(["monitor", "agent.toml"]).window is False


def test_score_jitter_stdev_help_says_what_it_is(capsys):
    text = _help(["score"], capsys)
    assert "--jitter-stdev MS standard deviation of the per-packet jitter values in ms" in text
    assert "not of the RTT itself" in text and "asterisk model" in text


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_is_the_installed_distributions(flag, capsys):
    # Newcomer F13: there was no way to say which pingmos a bug report is about.
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        main([flag])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"pingmos {version('pingmos')}\n"
