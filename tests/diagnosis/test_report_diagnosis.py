"""The report's diagnosis: a `diagnosis` object in JSON (status, rounds_needed), a footer line in the table; a
producer's own (one made with an echo witness) wins."""

import dataclasses
import json

from pingmos.diagnosis import Diagnosis, diagnose
from pingmos.report.formats import to_json, to_table
from tests.diagnosis.test_diagnosis import snapshot


def test_json_has_the_diagnosis_object_and_the_table_a_footer():
    snap = snapshot([(2, 0), (4, 30), (6, 0)], rounds=400)
    doc = json.loads(to_json(snap))
    d = doc["diagnosis"]
    assert d["status"] == "no-problem" and d["rounds_needed"] is None
    assert d["deteriorates_at_ttl"] is None and d["rate_limited_ttls"] == [2]
    assert d["verdict"].startswith("No path problem")
    assert to_table(snap).splitlines()[-1] == "diagnosis (no-problem): " + d["verdict"]


def test_undecided_says_how_many_more_rounds_in_json_and_table():
    snap = snapshot([(2, 0), (4, 0), (6, 0)], rounds=50)
    d = json.loads(to_json(snap))["diagnosis"]
    assert d["status"] == "undecided" and d["rounds_needed"] == diagnose(snap).rounds_needed > 0
    assert f"about {d['rounds_needed']} more rounds" in to_table(snap).splitlines()[-1]


def test_a_diagnosis_the_producer_made_with_more_evidence_is_the_one_shown():
    own = Diagnosis(2, (1,), "Witnessed.", status="problem")
    snap = dataclasses.replace(snapshot([(2, 0), (4, 0)]), diagnosis=own)
    assert json.loads(to_json(snap))["diagnosis"] == {
        "status": "problem",
        "deteriorates_at_ttl": 2,
        "location_ttls": [2, 2],  # the new field: the one hop supported, as a range of one
        "rate_limited_ttls": [1],
        "rounds_needed": None,
        "per_round": True,
        "verdict": "Witnessed.",
    }
    assert to_table(snap).endswith("diagnosis (problem): Witnessed.\n")


def test_a_range_is_said_in_every_format_with_the_verdict_lines_words():
    import csv
    import io

    from pingmos.diagnosis import range_words
    from pingmos.export import hop_table
    from pingmos.report.formats import to_csv

    # A lossy router right after a clean one, in front of a destination losing as much: hops 4-5 (the range).
    snap = snapshot([(2, 0), (4, 0), (6, 0), (8, 10), (10, 10)], rounds=300)
    d = diagnose(snap)
    assert d.status == "problem" and d.deteriorates_at_ttl is None and d.location_ttls == (4, 5)
    doc = json.loads(to_json(snap))["diagnosis"]
    assert doc["location_ttls"] == [4, 5] and doc["deteriorates_at_ttl"] is None
    assert (
        range_words((4, 5)) in doc["verdict"] and to_table(snap).splitlines()[-1] == f"diagnosis (problem): {d.verdict}"
    )
    # CSV said nothing of the diagnosis: each hop of the range now says the graph's words, the others nothing.
    for text in (to_csv(snap), hop_table(snap, "csv")):
        rows = list(csv.DictReader(io.StringIO(text)))
        marks = {int(r["ttl"]): r["diagnosis"] for r in rows}
        assert marks == {
            1: "",
            2: "",
            3: "",
            4: "problem between hop 3 and hop 5",
            5: "problem between hop 3 and hop 5",
        }
        assert marks[4] == d.short == range_words((4, 5), short=True)
    one = snapshot([(2, 0), (4, 30), (6, 0), (8, 0), (10, 0)], link_loss=(4, 6))
    d1 = diagnose(one)
    assert d1.deteriorates_at_ttl == 4 and d1.rate_limited_ttls == (2,)
    marks = {int(r["ttl"]): r["diagnosis"] for r in csv.DictReader(io.StringIO(to_csv(one)))}
    assert marks == {1: "", 2: "rate-limited (does not carry on)", 3: "", 4: "problem starts at hop 4", 5: ""}
