"""Export of raw samples, the hop table and the event log: parse back to what was measured."""

import csv
import io
import json

from pingmos.engine.events import Sample
from pingmos.export import SAMPLE_FIELDS, events_to_csv, events_to_json, hop_table, samples_to_csv, samples_to_json
from pingmos.report.formats import to_csv, to_json
from pingmos.scoring.formulas import pingplotter
from pingmos.session import SessionEvent
from pingmos.state import TraceState

SAMPLES = [
    Sample(0, 1, 11, 1700000000.25, 1.5, "198.18.0.2"),
    Sample(0, 2, 12, 1700000000.5, None, None),
    Sample(1, 1, 13, 1700000001.25, 0.0, "198.18.0.2"),
    Sample(1, 2, 14, 1700000001.5, 7.125, "198.18.1.2", True),
]


def test_samples_csv_keeps_lost_as_empty_and_zero_as_zero():
    rows = list(csv.DictReader(io.StringIO(samples_to_csv(SAMPLES))))
    assert tuple(rows[0]) == SAMPLE_FIELDS and len(rows) == 4
    assert rows[1]["rtt_ms"] == "" and rows[1]["lost"] == "true" and rows[1]["responder"] == ""
    assert rows[2]["rtt_ms"] == "0.0" and rows[2]["lost"] == "false"
    assert rows[0]["sent_at_utc"] == "2023-11-14T22:13:20.250000Z"
    assert float(rows[3]["rtt_ms"]) == 7.125 and rows[3]["reached"] == "true"


def test_samples_of_one_hop_as_json():
    doc = json.loads(samples_to_json(SAMPLES, ttl=2))
    assert [d["seq"] for d in doc] == [12, 14]
    assert doc[0]["rtt_ms"] is None and doc[0]["lost"] is True and doc[1]["rtt_ms"] == 7.125


def test_the_hop_table_is_the_reports():
    st = TraceState("t", "198.18.1.2", "icmp", 1.0)
    for s in SAMPLES:
        st.apply(s)
    snap = st.snapshot(None, lambda w: pingplotter.score(w.avg_ms, w.jitter_ms, w.loss_pct), "pingplotter")
    assert hop_table(snap, "csv") == to_csv(snap) and hop_table(snap, "json") == to_json(snap)


def test_the_event_log():
    events = [SessionEvent(1700000000.0, "alert-fire", {"rule": "loss", "value": 3.5})]
    rows = list(csv.DictReader(io.StringIO(events_to_csv(events))))
    assert rows[0]["kind"] == "alert-fire" and json.loads(rows[0]["data"]) == {"rule": "loss", "value": 3.5}
    assert json.loads(events_to_json(events))[0]["data"]["value"] == 3.5


def test_a_time_range_selects_the_events_too(tmp_path, capsys):
    # Before: export --what events --from/--to wrote every event of the session, whatever the range.
    from pingmos.cli import main
    from pingmos.session import SessionInfo, save_session

    path = tmp_path / "s.pmsession"
    samples = [Sample(r, 1, r, 1700000000.0 + r, 1.0, "198.18.0.2", True) for r in range(10)]
    events = [SessionEvent(1700000000.0 + t, "note", {"n": t}) for t in (1.5, 8.5, 12.0)]  # the last after the run
    save_session(path, SessionInfo("198.18.0.2", "198.18.0.2", interval_s=1.0), samples, events)

    def exported(*rng):
        assert main(["export", str(path), "--what", "events", "--format", "json", *rng]) == 0
        return [e["data"]["n"] for e in json.loads(capsys.readouterr().out)]

    assert exported() == [1.5, 8.5, 12.0]
    assert exported("--to", "+5") == [1.5]
    assert exported("--from", "+5") == [8.5, 12.0]  # an end not given is open: alerts settle after their samples
    assert exported("--from", "+2", "--to", "+9") == [8.5]
