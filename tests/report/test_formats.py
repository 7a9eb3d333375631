"""Golden-file tests of the output formats. Regenerate after an intended change with UPDATE_GOLDEN=1."""

import csv
import dataclasses
import io
import json
import os
from pathlib import Path

import pytest

from pingmos.engine.events import Sample
from pingmos.report import formats
from pingmos.report.formats import CSV_FIELDS, FORMATTERS, HOP_FIELDS
from pingmos.scoring import ModelError
from pingmos.scoring.formulas import pingplotter
from pingmos.state import TraceState

GOLDEN = Path(__file__).parent / "golden"


def snapshot():
    st = TraceState("target.lab.test", "198.18.0.9", "icmp", 1.0)
    rtts = {1: [1.1, 1.3, 1.2, 1.0, 1.4], 2: [None] * 5, 3: [136.0, 184.0, None, 115.0, 148.0, 125.0]}
    for ttl, series in rtts.items():
        for r, rtt in enumerate(series):
            responder = None if rtt is None else ("198.18.0.9" if ttl == 3 else f"198.18.0.{ttl + 1}")
            st.apply(Sample(r, ttl, r * 10 + ttl, 1700000000.0 + r, rtt, responder, ttl == 3 and rtt is not None))
    st.apply(Sample(5, 1, 99, 1700000005.0, 1.5, "198.18.0.7"))  # a second responder at hop 1
    names = {"198.18.0.2": "r1.lab.test", "198.18.0.9": "target.lab.test"}.get
    snap = st.snapshot(
        None,
        lambda s: pingplotter.score(s.avg_ms, s.jitter_ms, s.loss_pct),
        "pingplotter",
        names=names,
        probes_sent=17,
        unmatched_replies=2,
    )
    return dataclasses.replace(snap, time_range=(1700000000.0, 1700000005.0), suspicious_replies=1)


@pytest.mark.parametrize("fmt,suffix", [("table", "txt"), ("json", "json"), ("csv", "csv")])
def test_golden(fmt, suffix):
    text = FORMATTERS[fmt](snapshot())
    path = GOLDEN / f"report.{suffix}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_json_has_the_documented_fields_and_nulls():
    doc = json.loads(FORMATTERS["json"](snapshot()))
    for key in (
        "target",
        "address",
        "protocol",
        "interval_s",
        "window",
        "rounds",
        "model",
        "destination_reached",
    ):
        assert key in doc
    assert [h["ttl"] for h in doc["hops"]] == [1, 2, 3]
    for hop in doc["hops"]:
        assert set(HOP_FIELDS) <= set(hop)
    silent = doc["hops"][1]
    assert silent["address"] is None and silent["loss_pct"] == 100.0 and silent["avg_ms"] is None
    # A router with no reply has no responder samples: no R or MOS (R 0 / MOS 1 would say "a call is unusable" of
    # a hop nobody measured), no interval; its loss is what was measured.
    assert silent["mos"] is None and silent["r"] is None and silent["mos_ci"] is None
    assert silent["jitter_ms"] is None and silent.get("score_fallback") is None
    dest = doc["hops"][2]
    # The seed's example with one loss: mean 141.6, jitter 43.25, loss 1/6.
    assert dest["avg_ms"] == 141.6 and dest["jitter_ms"] == 43.25 and dest["loss_pct"] == 16.667
    assert doc["hops"][0]["responders"] == {"198.18.0.2": 5, "198.18.0.7": 1}


def test_csv_parses_back_with_header():
    rows = list(csv.DictReader(io.StringIO(FORMATTERS["csv"](snapshot()))))
    assert tuple(rows[0]) == CSV_FIELDS
    assert [r["ttl"] for r in rows] == ["1", "2", "3"]
    assert rows[1]["address"] == "" and rows[1]["loss_pct"] == "100.0"
    assert rows[0]["responders"] == "198.18.0.2:5;198.18.0.7:1"


def ipv6_snapshot():
    """A v6 path: full-length addresses (39 characters), a compressed one, a silent hop and a long PTR name."""
    dst = "2001:db8:ffff:ffff:ffff:ffff:ffff:9"
    st = TraceState("target.lab.test", dst, "icmp", 0.5)
    responders = {1: "2001:db8::1", 2: None, 3: "2001:db8:abcd:1234:5678:9abc:def0:1", 4: dst}
    rtts = {1: [0.4, 0.5, 0.6, 0.5], 2: [None] * 4, 3: [12.0, 14.5, None, 13.0], 4: [20.0, 21.0, 22.5, 12345.6]}
    for ttl, series in rtts.items():
        for r, rtt in enumerate(series):
            responder = None if rtt is None else responders[ttl]
            st.apply(Sample(r, ttl, r * 10 + ttl, 1700000000.0 + r / 2, rtt, responder, ttl == 4 and rtt is not None))
    names = {
        "2001:db8::1": "gw.lab.test",
        "2001:db8:abcd:1234:5678:9abc:def0:1": "ae-12.core-router-frankfurt-2.backbone.lab.test",
    }.get
    return st.snapshot(None, lambda s: pingplotter.score(s.avg_ms, s.jitter_ms, s.loss_pct), "pingplotter", names)


def assert_aligned(table: str) -> None:
    """Every hop row has each cell where its header is: right-aligned numbers end under the header's end,
    left-aligned text starts under the header's start, and all rows are as long as the header line."""
    lines = table.splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("HOP"))
    header = lines[header_at]
    rows = [line for line in lines[header_at + 1 :] if line[:3].strip().isdigit()]
    assert rows
    pos = 0
    for name, align, _ in formats._COLUMNS:
        start = header.index(name, pos)
        pos = end = start + len(name)
        for row in rows:
            assert len(row) == len(header), (row, header)
            if align == ">":
                assert row[end - 1] != " " and (end == len(row) or row[end] == " "), (name, row)
            elif row[start] != " ":  # an empty NAME cell is all spaces
                assert row[start - 1] == " ", (name, row)


def test_golden_ipv6_columns_grow_to_the_addresses_and_names():
    text = formats.to_table(ipv6_snapshot())
    path = GOLDEN / "report_ipv6.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()
    assert "2001:db8:abcd:1234:5678:9abc:def0:1" in text and "core-router-frankfurt-2.backbone.lab.test" in text
    assert_aligned(text)


def test_ipv4_tables_keep_their_layout():
    text = formats.to_table(snapshot())
    assert_aligned(text)
    assert text.splitlines()[1].startswith("HOP  ADDRESS         NAME                     SENT")


def broken_formula_snapshot(with_fallback: bool):
    """Every hop scored by a formula file that is broken now; with_fallback: the last working version's score."""
    st = TraceState("target.lab.test", "198.18.0.9", "icmp", 1.0)
    for r, (a, b) in enumerate([(1.0, 30.0), (1.2, 34.0), (1.1, None)]):
        st.apply(Sample(r, 1, 2 * r, 1700000000.0 + r, a, "198.18.0.2"))
        st.apply(Sample(r, 2, 2 * r + 1, 1700000000.0 + r, b, "198.18.0.9" if b else None, b is not None))
    path = "/home/me/.config/pingmos/scoring/my_pingplotter.py"

    def scorer(s):
        fallback = pingplotter.score(s.avg_ms, s.jitter_ms, s.loss_pct) if with_fallback else None
        return ModelError(path, 41, "syntax error: expected ':'", fallback)

    return st.snapshot(None, scorer, "my_pingplotter")


def test_a_broken_formula_shows_the_last_working_score_marked_with_the_error():
    snap = broken_formula_snapshot(with_fallback=True)
    good = [pingplotter.score(h.avg_ms, h.jitter_ms, h.loss_pct) for h in snap.hops]
    assert [h.mos for h in snap.hops] == [None, None] and [h.score_fallback for h in snap.hops] == good
    table = formats.to_table(snap)
    path = GOLDEN / "report_fallback.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(table)
    assert table == path.read_text()
    assert_aligned(table)
    row1 = table.splitlines()[2]
    assert row1.endswith(f"{good[0].r:.1f}* {good[0].mos:.2f}*")
    assert "scoring failed at hops 1-2: /home/me/.config/pingmos/scoring/my_pingplotter.py:41: syntax error" in table
    assert "marked * are from the last version of the formula that worked" in table
    doc = json.loads(formats.to_json(snap))
    for hop, score in zip(doc["hops"], good, strict=True):
        assert hop["r"] is None and hop["mos"] is None  # never passed off as this formula's score
        assert hop["score_error"].endswith("my_pingplotter.py:41: syntax error: expected ':'")
        assert hop["score_fallback"] == {"r": round(score.r, 3), "mos": round(score.mos, 3)}
        assert set(HOP_FIELDS) <= set(hop)
    # CSV carries the same fallback in its own columns beside score_error (it had empty r/mos and nothing else).
    rows = list(csv.DictReader(io.StringIO(formats.to_csv(snap))))
    for row, score in zip(rows, good, strict=True):
        assert row["r"] == row["mos"] == "" and row["score_error"].endswith("syntax error: expected ':'")
        assert (float(row["score_fallback_r"]), float(row["score_fallback_mos"])) == (round(score.r, 3),
                                                                                    round(score.mos, 3))  # fmt: skip
    plain = list(csv.DictReader(io.StringIO(formats.to_csv(broken_formula_snapshot(with_fallback=False)))))
    assert [(r["score_fallback_r"], r["score_fallback_mos"]) for r in plain] == [("", "")] * 2


def test_a_broken_formula_without_a_working_version_is_err():
    snap = broken_formula_snapshot(with_fallback=False)
    table = formats.to_table(snap)
    assert_aligned(table)
    assert table.splitlines()[2].endswith("     -  ERR")
    assert "marked *" not in table and "scoring failed at hops 1-2: " in table
    assert all("score_fallback" not in h for h in json.loads(formats.to_json(snap))["hops"])


def test_ttl_ranges():
    assert formats._ttl_ranges([1, 2, 3, 5, 7, 8]) == "1-3, 5, 7-8"
    assert formats._ttl_ranges([4]) == "4"


def test_one_round_is_said_in_the_singular():
    # The header read "1 rounds every 1 s" after `report -c 1`; the verdict's texts said "over 1 rounds" alike.
    from pingmos.diagnosis import rounds_words

    st = TraceState("target.lab.test", "198.18.0.9", "icmp", 1.0)
    st.apply(Sample(0, 1, 1, 1700000000.0, 1.2, "198.18.0.9", True))
    snap = st.snapshot(None, lambda s: pingplotter.score(s.avg_ms, s.jitter_ms, s.loss_pct), "pingplotter")
    assert snap.rounds == 1
    assert ", 1 round every 1 s," in FORMATTERS["table"](snap).splitlines()[0]
    assert (rounds_words(1), rounds_words(2), rounds_words(0)) == ("1 round", "2 rounds", "0 rounds")
