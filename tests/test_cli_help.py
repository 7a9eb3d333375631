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
