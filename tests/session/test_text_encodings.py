"""Text files from Windows editors: a UTF-8 byte-order mark is dropped, UTF-16 is refused by name, in every reader
that goes through pingmos.input_files (imports, alert rules, the monitor's configuration)."""

import codecs
import os
from pathlib import Path

import pytest

from pingmos.alerts import RulesError, load_rules
from pingmos.cli import main
from pingmos.monitor.config import ConfigError, load_config
from pingmos.session import SessionError, open_session

DATA = Path(__file__).parent / "data"
IMPORTS = ["lab3.mtr.json", "lab3.mtr.raw", "trippy_report.json", "atlas_traceroute.json"]


def no_score(w):
    return None


def rows(path):
    with open_session(path) as s:
        snap = s.snapshot(None, no_score, "none")
    return [(h.ttl, h.address, h.sent, h.received, h.avg_ms, h.jitter_ms) for h in snap.hops]


@pytest.mark.parametrize("name", IMPORTS)
def test_an_import_with_a_utf8_byte_order_mark_opens_as_without(name, tmp_path):
    # Before: "not a pingmos session, an mtr --json report or --raw log, ..." (json refuses a BOM at char 0).
    plain = DATA / name
    marked = tmp_path / name
    marked.write_bytes(codecs.BOM_UTF8 + plain.read_bytes())
    st = os.stat(plain)  # an mtr --raw log is placed by its modification time: the same for both
    os.utime(marked, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert rows(marked) == rows(plain) and rows(plain)


@pytest.mark.parametrize("name", IMPORTS)
def test_utf16_is_refused_by_name_in_one_line(name, tmp_path, capsys):
    path = tmp_path / name
    path.write_bytes(codecs.BOM_UTF16_LE + (DATA / name).read_text(encoding="utf-8").encode("utf-16-le"))
    with pytest.raises(SessionError, match="UTF-16 or UTF-32 text .*save the report or log as UTF-8"):
        open_session(path)
    assert main(["report", "--session", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "UTF-16" in err and "Traceback" not in err


RULES_TOML = '[[rules]]\nmetric = "mos"\nbelow = 3.5\nfor_s = 300\n'


def test_alert_rules_with_a_byte_order_mark(tmp_path):
    # Before: "not valid TOML: Invalid statement (at line 1, column 1)"
    path = tmp_path / "rules.toml"
    path.write_bytes(codecs.BOM_UTF8 + RULES_TOML.encode())
    (rule,) = load_rules(path)
    assert rule.metric == "mos" and rule.threshold == 3.5
    path.write_bytes(RULES_TOML.encode("utf-16"))
    with pytest.raises(RulesError, match="UTF-16 or UTF-32 text"):
        load_rules(path)


def test_a_monitor_configuration_with_a_byte_order_mark(tmp_path):
    # Before: "agent.toml:1: not valid TOML: Invalid statement"
    path = tmp_path / "agent.toml"
    path.write_bytes(codecs.BOM_UTF8 + b'[[target]]\nhost = "127.0.0.1"\nfoo = 1\n')
    # the line numbers of later messages are those of the file as an editor shows it
    with pytest.raises(ConfigError, match=r"agent\.toml:3: target 1: unknown setting 'foo'"):
        load_config(str(path))
    path.write_bytes(codecs.BOM_UTF8 + b'[[target]]\nhost = "127.0.0.1"\n')
    assert [t.host for t in load_config(str(path)).targets] == ["127.0.0.1"]


@pytest.mark.parametrize("name", IMPORTS)
@pytest.mark.parametrize("end", [b"\r", b"\r\n"])
def test_an_import_with_classic_mac_or_windows_line_ends_opens_as_with_unix_ones(name, end, tmp_path):
    # Before: an mtr --raw log with bare CR line ends "holds no probes" (the whole file was one unended line).
    plain = DATA / name
    other = tmp_path / name
    other.write_bytes(plain.read_bytes().replace(b"\n", end))
    st = os.stat(plain)
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert rows(other) == rows(plain) and rows(plain)


@pytest.mark.parametrize("name", IMPORTS)
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le"])
def test_utf16_without_a_byte_order_mark_is_refused_by_name_in_one_line(name, codec, tmp_path, capsys):
    # Before: ASCII in UTF-16 is valid UTF-8 with NULs, so it got the generic "not a pingmos session, ..." line.
    path = tmp_path / name
    path.write_bytes((DATA / name).read_text().encode(codec))
    assert main(["report", "--session", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "UTF-16 or UTF-32 text without a byte-order mark; save" in err
