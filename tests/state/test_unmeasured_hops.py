"""No number for a hop that gave no samples (HopReport.unmeasured): a silent router has no R, MOS or MOS interval in
any front end (report table, JSON, CSV, exports, /metrics, alerts, the timeline's MOS curve, a reopened summary),
while a destination that lost every probe keeps its measured floor, MOS 1."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from pingmos.alerts import AlertEngine, AlertRule
from pingmos.engine.events import Sample
from pingmos.export import hop_table
from pingmos.hop_report import no_responder_samples
from pingmos.monitor.metrics import AgentCollector, AgentHealth, TargetView
from pingmos.report.formats import FORMATTERS
from pingmos.scoring import load_model
from pingmos.session.model import HopSummary, SessionInfo
from pingmos.session.replay import summary_snapshot
from pingmos.state import TraceState

DST = "198.18.0.9"
T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def model():
    with load_model("g107-jb") as m:
        yield m


def _state(rounds: int, destination_from: int = 0, destination_until: int | None = None) -> TraceState:
    """Hop 1 answers, hop 2 never does (a silent router), hop 3 is the destination, answering in rounds
    [destination_from, destination_until)."""
    st = TraceState("target.lab.test", DST, "icmp", 1.0)
    for r in range(rounds):
        answers = destination_from <= r < (destination_until if destination_until is not None else rounds)
        st.apply(Sample(r, 1, 3 * r, T0 + r, 1.0 + 0.1 * (r % 3), "198.18.0.2"))
        st.apply(Sample(r, 2, 3 * r + 1, T0 + r, None, None))
        st.apply(Sample(r, 3, 3 * r + 2, T0 + r, 5.0 + 0.2 * (r % 4) if answers else None, DST if answers else None,
                        answers))  # fmt: skip
    return st


def test_the_predicate():
    assert no_responder_samples(0, 100.0, path_end=False)
    assert not no_responder_samples(0, 100.0, path_end=True)  # the destination: every probe lost is measured
    assert not no_responder_samples(3, 70.0, path_end=False)
    assert no_responder_samples(None, 100.0, path_end=False)  # a report without counts, all lost
    assert not no_responder_samples(None, 50.0, path_end=False)


def test_a_silent_router_has_no_score_the_destination_has_its_own(model):
    snap = _state(20).snapshot(None, model, "g107-jb")
    r1, silent, dest = snap.hops
    assert silent.address is None and silent.received == 0 and silent.loss_pct == 100.0
    assert silent.unmeasured and not silent.destination
    assert silent.r is None and silent.mos is None and silent.mos_ci is None and not silent.score_detail
    assert dest.destination and not dest.unmeasured and dest.mos > 4.0
    assert not r1.unmeasured and r1.mos > 4.0


def test_a_destination_that_lost_every_probe_keeps_the_measured_floor(model):
    # Answered in rounds 0-9, silent in the window of the last 10: still the destination, every probe lost.
    snap = _state(30, destination_until=10).snapshot(10, model, "g107-jb")
    dest = snap.hops[-1]
    assert snap.destination_reached and dest.destination and dest.received == 0 and dest.sent == 10
    assert not dest.unmeasured and dest.r == 0.0 and dest.mos == 1.0


def test_a_router_that_stopped_answering_keeps_its_address_but_gets_no_score(model):
    st = TraceState("target.lab.test", DST, "icmp", 1.0)
    for r in range(30):
        st.apply(Sample(r, 1, 2 * r, T0 + r, 1.0 if r < 10 else None, "198.18.0.2" if r < 10 else None))
        st.apply(Sample(r, 2, 2 * r + 1, T0 + r, 5.0, DST, True))
    hop = st.snapshot(10, model, "g107-jb").hops[0]
    assert hop.address == "198.18.0.2" and hop.received == 0 and hop.unmeasured and hop.mos is None


def test_report_table_json_csv_and_exports_say_nothing_for_the_silent_router(model):
    snap = _state(20).snapshot(None, model, "g107-jb")
    table = FORMATTERS["table"](snap).splitlines()
    row = next(line for line in table if line.startswith("  2  ???"))
    assert row.split()[-2:] == ["-", "-"], row  # R and MOS
    assert "1.00" not in row and " 0.0 " not in row.split("100.0", 1)[1]
    for text in (FORMATTERS["json"](snap), hop_table(snap, "json")):
        hop = json.loads(text)["hops"][1]
        assert hop["r"] is None and hop["mos"] is None and hop["mos_ci"] is None and hop["loss_pct"] == 100.0
        assert json.loads(text)["hops"][2]["mos"] > 4.0
    for text in (FORMATTERS["csv"](snap), hop_table(snap, "csv")):
        rows = [r for r in csv.DictReader(io.StringIO(text)) if not r["ttl"].startswith("#")]
        silent = next(r for r in rows if r["ttl"] == "2")
        assert silent["r"] == silent["mos"] == silent["mos_ci_low"] == silent["mos_ci_high"] == ""
        assert float(next(r for r in rows if r["ttl"] == "3")["mos"]) > 4.0


def test_metrics_have_no_score_series_for_the_silent_router(model):
    snap = _state(20).snapshot(None, model, "g107-jb")
    view = TargetView("t", (), "g107-jb", True, ({}, 0, 0), snap, None, None)
    health = AgentHealth(probes_per_s=None, errors={}, targets=1, rss_bytes=None)
    collector = AgentCollector(lambda: [view], lambda: health, "lab")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AgentCollector(lambda: [view], lambda: health, "lab"))
    text = collector.render().decode()
    assert text == generate_latest(registry).decode()  # the fast text and prometheus_client's agree

    def hops(name: str) -> set[str]:
        return {line.split('hop="')[1].split('"')[0] for line in text.splitlines() if line.startswith(name + "{")}

    for name in ("pingmos_hop_mos", "pingmos_hop_r_factor", "pingmos_hop_latency_seconds"):
        assert hops(name) == {"1", "3"}, name
    assert hops("pingmos_hop_loss_ratio") == {"1", "2", "3"}  # its loss is measured: every probe unanswered


def _feed(engine: AlertEngine, st_rounds: int, destination_until: int | None = None) -> None:
    for r in range(st_rounds):
        answers = destination_until is None or r < destination_until
        engine.feed(Sample(r, 1, 3 * r, T0 + r, 1.0, "198.18.0.2"))
        engine.feed(Sample(r, 2, 3 * r + 1, T0 + r, None, None))
        engine.feed(Sample(r, 3, 3 * r + 2, T0 + r, 5.0 if answers else None, DST if answers else None, answers))


def test_a_mos_alert_on_a_silent_router_never_fires(model):
    rules = [
        AlertRule("router", "mos", 3.5, window_s=20.0, ttl=2),
        AlertRule("end", "mos", 3.5, window_s=20.0),
        AlertRule("router loss", "loss_pct", 50.0, window_s=20.0, ttl=2),
    ]
    engine = AlertEngine(rules, DST, model)
    _feed(engine, 40)
    events = engine.evaluate(T0 + 40)
    assert [e.rule for e in events] == ["router loss"]  # its loss is measured; its MOS is not
    # The destination losing every probe is a measured floor: that rule fires.
    engine = AlertEngine([AlertRule("end", "mos", 3.5, window_s=20.0)], DST, model)
    _feed(engine, 60, destination_until=20)
    assert [e.rule for e in engine.evaluate(T0 + 60)] == ["end"]


def test_the_timeline_has_no_mos_points_for_a_router_silent_in_them(model):
    pytest.importorskip("PySide6")
    from pingmos.gui.refresher import mos_over_time

    t = T0 + np.arange(40.0)
    rtts = np.array([1.0] * 20 + [np.nan] * 20)
    _, router = mos_over_time(t, rtts, 10, model.score_many, path_end=False)
    _, end = mos_over_time(t, rtts, 10, model.score_many, path_end=True)
    # The destination's windows that got no reply are its floor; a router's are no point at all. Every other
    # point is the same.
    floor = end == 1.0
    assert floor[-1] and floor.sum() >= 2 and np.isnan(router[floor]).all()
    assert np.array_equal(router[~floor], end[~floor], equal_nan=True) and np.isfinite(router[~floor]).any()


def test_a_reopened_summary_gives_a_silent_router_no_score(model):
    def hop(ttl, address, received, avg):
        return HopSummary(ttl=ttl, address=address, name=None, sent=10, received=received,
                          loss_pct=100.0 * (10 - received) / 10, last_ms=avg, avg_ms=avg, min_ms=avg, max_ms=avg,
                          stdev_ms=0.0 if avg else None, jitter_ms=0.0 if avg else None)  # fmt: skip

    info = SessionInfo(target=DST, address=DST, protocol="icmp", interval_s=1.0, started_at=T0,
                       extra={"destination_reached": True})  # fmt: skip
    summaries = (hop(1, "198.18.0.2", 10, 1.0), hop(2, None, 0, None), hop(3, DST, 0, None))
    snap = summary_snapshot(info, summaries, model, "g107-jb")
    assert snap.hops[1].unmeasured and snap.hops[1].mos is None and snap.hops[1].r is None
    assert snap.hops[2].destination and snap.hops[2].mos == 1.0  # the destination lost every probe: measured
    # A report that cannot say it reached the destination: its last all-lost row is no measurement either.
    info = SessionInfo(target=DST, address=DST, protocol="icmp", interval_s=1.0, started_at=T0,
                       extra={"destination_reached": False})  # fmt: skip
    snap = summary_snapshot(info, summaries, model, "g107-jb")
    assert snap.hops[2].unmeasured and snap.hops[2].mos is None
