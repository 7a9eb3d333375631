"""The report's diagnosis: a `diagnosis` object in JSON, a footer line in the table; a producer's own wins."""

import dataclasses
import json

from pingmos.diagnosis import Diagnosis
from pingmos.report.formats import to_json, to_table
from tests.diagnosis.test_diagnosis import snapshot


def test_json_has_the_diagnosis_object_and_the_table_a_footer():
    snap = snapshot([(2, 0), (4, 60), (6, 0)])
    doc = json.loads(to_json(snap))
    assert doc["diagnosis"]["deteriorates_at_ttl"] is None and doc["diagnosis"]["rate_limited_ttls"] == [2]
    assert doc["diagnosis"]["verdict"].startswith("No path problem")
    assert to_table(snap).splitlines()[-1] == "diagnosis: " + doc["diagnosis"]["verdict"]


def test_a_diagnosis_the_producer_made_with_more_evidence_is_the_one_shown():
    snap = dataclasses.replace(snapshot([(2, 0), (4, 0)]), diagnosis=Diagnosis(2, (1,), "Witnessed."))
    assert json.loads(to_json(snap))["diagnosis"] == {
        "deteriorates_at_ttl": 2,
        "rate_limited_ttls": [1],
        "verdict": "Witnessed.",
    }
    assert to_table(snap).endswith("diagnosis: Witnessed.\n")
