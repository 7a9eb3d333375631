"""Golden-file tests of the output formats. Regenerate after an intended change with UPDATE_GOLDEN=1."""

import csv
import io
import json
import os
from pathlib import Path

import pytest

from pingmos.engine.events import Sample
from pingmos.report.formats import CSV_FIELDS, FORMATTERS, HOP_FIELDS
from pingmos.scoring import pingplotter
from pingmos.trace_state import TraceState

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
    return st.snapshot(
        None,
        lambda s: pingplotter.score(s.avg_ms, s.jitter_ms, s.loss_pct),
        "pingplotter",
        names=names,
        probes_sent=17,
        unmatched_replies=2,
    )


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
    assert silent["mos"] is None and silent["jitter_ms"] is None
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
