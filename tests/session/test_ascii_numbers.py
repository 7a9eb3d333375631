"""Numbers written as text are read in ASCII decimal notation only, in every file and option: float() and int()
also take any script's digits ('\u0661\u0662' is 12), '1_000', 'nan' and 'inf', which no tool writes for a
measurement and which read as numbers nobody wrote (input_files.decimal_text / whole_text)."""

import csv
import io
import json

import pytest

from pingmos.calculator import parse_samples
from pingmos.input_files import decimal_text, whole_text
from pingmos.scoring.settings import KIND_FLOAT, Setting
from pingmos.session import SessionError, open_session
from pingmos.session.mtr_import import parse_mtr_raw
from tests.session.test_samples_import import _csv_rows

ARABIC_12 = "\u0661\u0662"


@pytest.mark.parametrize("text, value", [("12", 12.0), (" -0.5 ", -0.5), (".5", 0.5), ("1e3", 1000.0), ("7.", 7.0)])
def test_decimal_notation_is_read(text, value):
    assert decimal_text(text) == value


@pytest.mark.parametrize("text", [ARABIC_12, "1_000", "nan", "inf", "-Infinity", "0x10", "", "1e400", "9" * 41])
def test_anything_else_is_refused_with_the_text_in_ascii(text):
    with pytest.raises(ValueError) as exc:
        decimal_text(text)
    assert str(exc.value).isascii()


@pytest.mark.parametrize("text", [ARABIC_12, "1_0", "1.0", "+", "0x10", " "])
def test_a_whole_number_is_digits_only(text):
    with pytest.raises(ValueError):
        whole_text(text)
    assert whole_text(" 42 ") == 42 and whole_text("-3") == -3


@pytest.mark.parametrize("line", [f"x {ARABIC_12[0]} 33000", "x 0 33_000", f"p 0 {ARABIC_12} 33000"])
def test_an_mtr_raw_log_with_other_digits_names_the_line(line):
    text = "x 0 33000\nh 0 198.18.0.2\n" + line + "\n"
    with pytest.raises(SessionError, match="line 3"):
        parse_mtr_raw(text)
    assert len(list(parse_mtr_raw(text.replace(line, "p 0 2170 33000")).samples())) == 1  # the same log in 0-9


def test_an_mtr_json_string_field_in_other_digits_is_refused(tmp_path):
    doc = {
        "report": {
            "mtr": {"dst": "198.18.0.2", "tests": "10"},
            "hubs": [{"count": "1", "host": "198.18.0.2", "Loss%": "0.0%", "Snt": "10", "Rcv": "10",
                      "Last": "1.0", "Avg": "\u0661", "Best": "1.0", "Wrst": "1.0", "StDev": "0.0"}],
        }
    }  # fmt: skip
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(SessionError, match="Avg"):
        open_session(path)
    doc["report"]["hubs"][0]["Avg"] = "1"  # the same report in 0-9 opens: only the digits were wrong
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert open_session(path) is not None


def test_a_samples_export_cell_in_other_digits_is_refused(tmp_path, capsys):
    rows = _csv_rows(tmp_path, capsys)
    rows[1]["rtt_ms"] = ARABIC_12
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "arabic.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    with pytest.raises(SessionError, match="line 3: rtt_ms .* is not a number"):
        open_session(path)


def test_the_calculator_and_model_settings_take_ascii_digits_only():
    with pytest.raises(ValueError, match="neither a latency"):
        parse_samples(f"{ARABIC_12},20,x")
    assert parse_samples("12,20,x") is not None
    buffer_ms = Setting("buffer_ms", KIND_FLOAT, 60.0)
    with pytest.raises(ValueError, match="takes a number"):
        buffer_ms.parse("\u0666\u0660")
    assert buffer_ms.parse(" 60 ") == 60.0
