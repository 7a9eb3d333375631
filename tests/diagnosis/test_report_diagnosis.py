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
