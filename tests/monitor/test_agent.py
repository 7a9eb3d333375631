"""The agent on the engine's simulated path: metrics from real traces, reload keeping unchanged targets, sessions,
retention, and promtool's verdict on what /metrics serves."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import time
import tomllib
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pingmos.engine.fake_network import WALL_EPOCH, FakeClock, FakeHop, FakeNetwork
from pingmos.monitor.agent import Agent, apply_retention
from pingmos.monitor.config import config_from_data
from pingmos.monitor.metrics import RTT_BUCKETS_S, AgentCollector
from pingmos.session import open_session

DST = "198.18.0.99"
PATHS = {
    DST: [FakeHop("198.18.0.2", 2.0, jitter_ms=1.0), FakeHop("198.18.0.3", 20.0, 4.0, loss_pct=30.0),
          FakeHop(DST, 22.0, 4.0, loss_pct=30.0)],
    "198.18.7.7": [FakeHop(None, 0.0)] * 3,  # nothing answers at all
}  # fmt: skip

CONFIG = f"""
[agent]
vantage = "lab"
window = 40
[[alert]]
metric = "loss_pct"
above = 1.0
window_s = 20
[[target]]
host = "{DST}"
name = "provider"
labels = {{ site = "berlin" }}
[[target]]
host = "198.18.7.7"
name = "silent"
"""


class PacedFakeNetwork(FakeNetwork):
    """Virtual time that also passes in real time, ``speedup`` times faster: an endless trace trickles."""

    speedup = 100.0

    def recv(self, timeout_s):
        time.sleep(min(timeout_s, 0.25) / self.speedup)
        return super().recv(timeout_s)


def make_agent(text: str, data_dir=None) -> tuple[Agent, dict]:
    doc = tomllib.loads(text)
    if data_dir is not None:
        doc["agent"]["data_dir"] = str(data_dir)
    clocks: dict[str, FakeClock] = {}

    def network(cfg):
        clock = clocks.setdefault(cfg.name, FakeClock())
        return lambda: PacedFakeNetwork(PATHS[cfg.host], clock, seed=7)

    agent = Agent(config_from_data(doc), network, lambda cfg: clocks.setdefault(cfg.name, FakeClock()),
                  use_dns=False, log=lambda line: None)  # fmt: skip
    return agent, clocks


def wait_for(agent: Agent, name: str, samples: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while agent.runners[name].counters.samples < samples:
        assert time.monotonic() < deadline, f"{name}: only {agent.runners[name].counters.samples} samples"
        time.sleep(0.05)


def scrape(agent: Agent) -> dict[str, list]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AgentCollector(agent.views, agent.health, agent.config.vantage))
    text = generate_latest(registry).decode()
    out: dict[str, list] = {"__text__": text}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append(s)
    return out


def one(metrics, name, **labels):
    found = [s for s in metrics.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, found)
    return found[0].value


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    agent, clocks = make_agent(CONFIG, data)
    agent.start()
    try:
        wait_for(agent, "provider", 3 * 60)
        wait_for(agent, "silent", 30 * 12)  # 12 rounds of its 30 TTLs: more than the minimum of 10
        agent.refresh(WALL_EPOCH + clocks["provider"].now)
        yield agent, clocks, data
    finally:
        agent.close()


def test_per_hop_series_follow_the_conventions_and_the_samples(running):
    agent, _, _ = running
    m = scrape(agent)
    snap = agent.runners["provider"].snapshot
    assert [h.ttl for h in snap.hops] == [1, 2, 3] and snap.destination_reached
    for hop, where in zip(snap.hops, ("first", "intermediate", "last"), strict=True):
        labels = dict(target="provider", hop=str(hop.ttl), site="berlin", vantage="lab")
        info = dict(labels, address=hop.address, position=where)
        assert one(m, "pingmos_hop_info", **info) == 1
        # The window gauges carry the hop's identity only: the responder and position are in pingmos_hop_info.
        for s in m["pingmos_hop_mos"] + m["pingmos_hop_loss_ratio"]:
            assert "address" not in s.labels and "position" not in s.labels, s
        assert one(m, "pingmos_hop_loss_ratio", **labels) == pytest.approx(hop.loss_pct / 100)
        assert one(m, "pingmos_hop_latency_seconds", **labels) == pytest.approx(hop.avg_ms / 1000)
        assert one(m, "pingmos_hop_jitter_seconds", **labels) == pytest.approx(hop.jitter_ms / 1000)
        assert one(m, "pingmos_hop_mos", model="g107-jb", **labels) == pytest.approx(hop.mos)
        assert one(m, "pingmos_hop_r_factor", model="g107-jb", **labels) == pytest.approx(hop.r)
        assert one(m, "pingmos_hop_window_probes", **labels) == hop.sent == 40
    assert snap.hops[0].loss_pct == 0 and 10 < snap.hops[2].loss_pct < 60  # the fake path's 30 % loss
    assert snap.hops[2].mos < snap.hops[0].mos
    # A call to the target: the destination's figures, on series whose labels do not move with the path.
    assert one(m, "pingmos_target_mos", target="provider", model="g107-jb") == pytest.approx(snap.hops[2].mos)
    assert one(m, "pingmos_target_r_factor", target="provider", model="g107-jb") == pytest.approx(snap.hops[2].r)
    # Counters: every settled probe, received ones in the histogram (hop 1 answers in 2-3 ms).
    sent = one(m, "pingmos_hop_probes_sent_total", target="provider", hop="1")
    got = one(m, "pingmos_hop_probes_received_total", target="provider", hop="1")
    assert sent >= 60 and got == sent
    assert one(m, "pingmos_hop_rtt_seconds_count", target="provider", hop="1") == got
    assert one(m, "pingmos_hop_rtt_seconds_bucket", target="provider", hop="1", le="0.001") == 0
    assert one(m, "pingmos_hop_rtt_seconds_bucket", target="provider", hop="1", le="0.005") == got
    assert len([s for s in m["pingmos_hop_rtt_seconds_bucket"] if s.labels["hop"] == "1"
                and s.labels["target"] == "provider"]) == len(RTT_BUCKETS_S) + 1  # fmt: skip
    lost3 = one(m, "pingmos_hop_probes_sent_total", target="provider", hop="3") - one(
        m, "pingmos_hop_probes_received_total", target="provider", hop="3")  # fmt: skip
    assert lost3 > 0
    assert one(m, "pingmos_hop_info", target="provider", hop="3", address=DST, position="last") == 1
    assert one(m, "pingmos_target_destination_reached", target="provider") == 1
    assert one(m, "pingmos_target_up", target="provider") == 1
    assert one(m, "pingmos_target_hops", target="provider") == 3
    assert one(m, "pingmos_hop_route_changes_total", target="provider", hop="2") == 0
    assert one(m, "pingmos_target_path_id", target="provider") > 0
    states = {s.labels["pingmos_target_diagnosis"]: s.value for s in m["pingmos_target_diagnosis"]
              if s.labels["target"] == "provider"}  # fmt: skip
    assert sum(states.values()) == 1 and set(states) == {"problem", "no_problem", "undecided"}
    assert one(m, "pingmos_agent_targets") == 2
    assert {s.labels["kind"] for s in m["pingmos_agent_errors_total"]} >= {"trace", "session", "scoring"}


def test_a_target_where_nothing_answers_still_has_series_and_is_alertable(running):
    agent, _, _ = running
    m = scrape(agent)
    last = dict(target="silent", hop="1")
    assert one(m, "pingmos_hop_info", position="last", address="", **last) == 1
    assert one(m, "pingmos_hop_loss_ratio", **last) == 1.0
    # A hop nobody measured has no latency, R or MOS series (hop_report.no_responder_samples); the target's do.
    for name in ("pingmos_hop_latency_seconds", "pingmos_hop_mos", "pingmos_hop_r_factor"):
        assert [s for s in m.get(name, []) if s.labels["target"] == "silent"] == [], name
    # No call gets through: the floor of the scale, where the shipped MOS rule reads it.
    assert one(m, "pingmos_target_mos", target="silent") == 1.0
    assert one(m, "pingmos_target_r_factor", target="silent") == 0.0
    assert one(m, "pingmos_hop_probes_received_total", target="silent", hop="1") == 0
    assert one(m, "pingmos_hop_probes_sent_total", target="silent", hop="1") > 0
    assert one(m, "pingmos_target_destination_reached", target="silent") == 0
    assert one(m, "pingmos_alert_firing", target="silent", rule="loss above 1.0") == 0  # not yet evaluated


def test_alert_rules_run_as_in_the_report(running):
    agent, clocks, _ = running
    runner = agent.runners["provider"]
    runner.refresh(WALL_EPOCH + clocks["provider"].now)
    runner.tick(WALL_EPOCH + clocks["provider"].now)
    assert runner.alerts.firing() == ["loss above 1.0"]  # the destination loses ~30 %
    # The event carries the window's one diagnosis, as /metrics and the report show it.
    d, event = runner.last_diagnosis, runner.events[-1]
    assert (event.diagnosis_status, event.diagnosis_words) == (d.status, d.short)
    # An undecided diagnosis with nothing more to say ends the line "; diagnosis (undecided)" (alerts.py).
    said = f"; diagnosis ({d.status})" if d.short in ("", d.status) else f"; diagnosis ({d.status}): {d.short}"
    assert event.message.endswith(said), event.message
    m = scrape(agent)
    assert one(m, "pingmos_alert_firing", target="provider", rule="loss above 1.0") == 1


def test_promtool_finds_nothing_to_complain_about(running):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus; scripts/setup_env installs it as root)")
    text = scrape(running[0])["__text__"]
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr


def test_reload_keeps_unchanged_targets_with_their_samples(running):
    agent, _, _ = running
    kept = agent.runners["provider"]
    before = kept.counters.samples
    changed = CONFIG.replace('name = "silent"', 'name = "silent"\ninterval_s = 2.0')
    doc = tomllib.loads(changed)
    doc["agent"]["data_dir"] = agent.config.data_dir
    silent_before = agent.runners["silent"]
    assert agent.reload(config_from_data(doc)) == (1, 1, 0)
    assert agent.runners["provider"] is kept and kept.trace.running and kept.counters.samples >= before
    assert agent.runners["silent"] is not silent_before and agent.runners["silent"].cfg.interval_s == 2.0
    doc["target"] = doc["target"][:1]
    assert agent.reload(config_from_data(doc)) == (1, 0, 1)
    m = scrape(agent)
    assert {s.labels["target"] for s in m["pingmos_hop_probes_sent_total"]} == {"provider"}
    assert one(m, "pingmos_agent_targets") == 1


def test_every_target_is_recorded_to_its_own_session(tmp_path):
    agent, clocks = make_agent(CONFIG, tmp_path)
    agent.start()
    try:
        wait_for(agent, "provider", 30)
        agent.refresh(WALL_EPOCH + clocks["provider"].now)
        wait_for(agent, "provider", 60)
        agent.tick(WALL_EPOCH + clocks["provider"].now)
    finally:
        agent.close()
    files = sorted(p.relative_to(tmp_path).parts[0] for p in tmp_path.glob("*/*.pingmos"))
    assert files == ["provider", "silent"]
    with open_session(next(tmp_path.glob("provider/*.pingmos"))) as s:
        assert s.info.target == "provider" and s.info.address == DST
        assert s.info.extra["labels"] == {"site": "berlin"} and s.info.extra["window"] == 40
        # Every sample the counters saw, the ones before the file was opened too.
        assert s.sample_count() == agent.runners["provider"].counters.samples
        assert [e.kind for e in s.events()] == ["alert-fire"]


def test_an_agent_stopped_before_its_first_refresh_still_records_what_it_measured(tmp_path):
    # The session file is opened by a target's first refresh, a few seconds after the start; a stop before it
    # (a quick restart, a bad deploy rolled back) must not drop the samples held for it.
    agent, _ = make_agent(CONFIG, tmp_path)
    agent.start()
    try:
        wait_for(agent, "provider", 30)
    finally:
        agent.close()
    (path,) = tmp_path.glob("provider/*.pingmos")
    with open_session(path) as s:
        assert s.info.target == "provider" and s.info.address == DST
        assert s.sample_count() == agent.runners["provider"].counters.samples >= 30


def test_the_first_scrape_shows_what_is_known_and_no_probe_rate_before_one_was_measured():
    """Before the first refresh pass the agent has measured no probe rate: the gauge is absent (it read 0 probes/s
    while probes flowed, for the first two passes: ~12 s at refresh_s 5); the counters are there, the window
    series not yet. The first pass measures the rate from the start."""
    agent, _ = make_agent(CONFIG)
    before_start = time.monotonic()
    agent.start()
    after_start = time.monotonic()
    try:
        wait_for(agent, "provider", 30)
        m = scrape(agent)
        assert "pingmos_agent_probes_per_second" not in m
        assert one(m, "pingmos_agent_targets") == 2 and one(m, "pingmos_target_up", target="provider") == 1
        assert sum(s.value for s in m["pingmos_hop_probes_sent_total"] if s.labels["target"] == "provider") >= 30
        assert "pingmos_hop_mos" not in m and "pingmos_hop_loss_ratio" not in m  # no window computed yet
        counted = lambda: sum(r.counters.samples for r in agent.runners.values())  # noqa: E731
        low, t1 = counted(), time.monotonic()
        agent.refresh()
        t2, high = time.monotonic(), counted()
        rate = one(scrape(agent), "pingmos_agent_probes_per_second")
        # Samples since the start over the time since the start, both read within the pass.
        assert low / (t2 - before_start) <= rate <= high / (t1 - after_start)
    finally:
        agent.close()


def test_retention_deletes_old_files_then_the_oldest_while_too_large(tmp_path):
    now = time.time()
    paths = []
    for i, age_days in enumerate((10, 3, 2, 1, 0)):
        p = tmp_path / "t" / f"{i}.pingmos"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"x" * 1000)
        os.utime(p, (now - age_days * 86400, now - age_days * 86400))
        paths.append(p)
    deleted = apply_retention(str(tmp_path), 7 * 86400, 2500, {paths[1]}, now, lambda line: None)
    # 10 days: too old. Then 4000 bytes > 2500: the oldest closed ones go (paths[1] is open and stays).
    assert deleted == [paths[0], paths[2], paths[3]]
    assert [p.exists() for p in paths] == [False, True, False, False, True]


def test_the_mos_interval_is_served_where_the_model_gives_one(running):
    agent, _, _ = running
    view = agent.runners["provider"].view()
    hops = list(view.snapshot.hops)
    hops[0] = dataclasses.replace(hops[0], mos_ci=(4.1, 4.4))
    view = dataclasses.replace(view, snapshot=dataclasses.replace(view.snapshot, hops=tuple(hops)))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AgentCollector(lambda: [view], agent.health, "lab"))
    m = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            m.setdefault(s.name, []).append(s)
    assert one(m, "pingmos_hop_mos_ci_lower", hop="1") == 4.1 and one(m, "pingmos_hop_mos_ci_upper", hop="1") == 4.4
    # The other hops: as the snapshot has it (the interval from the scoring, or no series where there is none).
    for hop in hops[1:]:
        lower = [s.value for s in m.get("pingmos_hop_mos_ci_lower", []) if s.labels["hop"] == str(hop.ttl)]
        assert lower == ([] if hop.mos_ci is None else [pytest.approx(hop.mos_ci[0])])


def test_sessions_roll_and_old_ones_are_deleted_by_retention(tmp_path):
    text = CONFIG.replace("window = 40", "window = 40\nsession_hours = 1\nretention_days = 1")
    agent, clocks = make_agent(text, tmp_path)
    agent.start()
    try:
        wait_for(agent, "provider", 30)
        now = WALL_EPOCH + clocks["provider"].now
        agent.refresh(now)
        first = agent.runners["provider"].open_session_path()
        agent.refresh(now + 1800)  # within the hour: the same file
        assert agent.runners["provider"].open_session_path() == first
        wait_for(agent, "provider", 60)
        agent.refresh(now + 3600)  # an hour on: a new file, the first one closed and complete
        second = agent.runners["provider"].open_session_path()
        assert second != first and first.exists()
        with open_session(first) as s:
            assert s.sample_count() >= 30
        os.utime(first, (now - 2 * 86400, now - 2 * 86400))  # two days old
        agent.refresh(now + 3601)
        assert not first.exists() and second.exists()  # the open file is never deleted
    finally:
        agent.close()


def test_the_shipped_rules_page_for_a_target_where_nothing_answers(tmp_path):
    """The silent target's own series, as the agent serves them, fed to promtool's rule tests with the shipped
    rules: after 5 minutes both pages fire (MOS low: the floor for a call to the target; loss: nothing received)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus; scripts/setup_env installs it as root)")
    agent, clocks = make_agent(CONFIG)
    agent.start()
    try:
        wait_for(agent, "silent", 30 * 12)
        agent.refresh(WALL_EPOCH + clocks["silent"].now)
        m = scrape(agent)
    finally:
        agent.close()

    def series(sample) -> str:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()) if v)  # "" = no label for Prometheus
        return f"{sample.name}{{{labels}}}"

    silent = lambda name: [s for s in m[name] if s.labels["target"] == "silent"]  # noqa: E731
    inputs = []
    for s in silent("pingmos_target_mos") + silent("pingmos_hop_info"):
        inputs.append({"series": series(s), "values": f"{s.value:g}x15"})
    for s in silent("pingmos_hop_probes_sent_total") + silent("pingmos_hop_probes_received_total"):
        # The counters go on as they are: every probe sent, none received.
        per_min = 60 if s.name.endswith("sent_total") else 0
        inputs.append({"series": series(s), "values": f"{s.value:g}+{per_min}x15"})
    assert any('position="last"' in i["series"] for i in inputs)
    firing = 'ALERTS{alertstate="firing", target="silent"}'
    test = {
        "rule_files": [str(Path(__file__).resolve().parents[2] / "resources/prometheus/pingmos.rules.yml")],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": inputs,
                "promql_expr_test": [
                    {"expr": f"count by (alertname) ({firing})", "eval_time": "4m", "exp_samples": []},
                    {
                        "expr": f"count by (alertname) ({firing})",
                        "eval_time": "12m",
                        "exp_samples": [
                            {"labels": '{alertname="PingmosLossHigh"}', "value": 1},
                            {"labels": '{alertname="PingmosMOSLow"}', "value": 1},
                        ],
                    },
                ],
            }
        ],
    }
    path = tmp_path / "silent.test.yml"
    path.write_text(json.dumps(test))  # JSON is YAML
    r = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr


def test_the_fast_text_is_exactly_what_prometheus_client_writes(running):
    from pingmos.monitor.metrics import render_text

    agent = running[0]
    views = agent.views()
    # A user's label value with every character the format escapes.
    odd = dataclasses.replace(views[0], name='a "quoted" \\ name', labels=(("site", 'x\\y\n"z"'),))
    # Hops with reverse-DNS names to escape, a MOS interval, a silent one, and a diagnosis naming a hop.
    hops = [dataclasses.replace(h, name=f'r{h.ttl}."x"\\\n', mos_ci=(3.9, 4.2)) for h in views[0].snapshot.hops]
    hops[-1] = dataclasses.replace(hops[-1], address=None, name=None, mos_ci=None)
    snapshot = dataclasses.replace(views[0].snapshot, hops=tuple(hops))
    named = dataclasses.replace(
        views[0], name="named", snapshot=snapshot, diagnosis_status="problem", diagnosis_ttl=2, diagnosis_span=(2, 2)
    )
    # A problem located to a range of hops: no hop series (a range is no number), in both renderings; its first and
    # last hop in series of their own.
    ranged = dataclasses.replace(named, name="ranged", diagnosis_ttl=None, diagnosis_span=(3, 5))
    calm = dataclasses.replace(
        named, name="calm", diagnosis_status="no_problem", diagnosis_ttl=None, diagnosis_span=None
    )
    health = agent.health()  # frozen, as the views are: the two renderings must see the same numbers
    collector = AgentCollector(lambda: [*views, odd, named, ranged, calm], lambda: health, "lab")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    fast = render_text(collector)
    assert fast == generate_latest(registry)
    hop_lines = [ln for ln in fast.splitlines() if ln.startswith(b"pingmos_target_diagnosis_hop{")]
    assert any(b'target="named"' in ln and ln.endswith(b" 2.0") for ln in hop_lines)
    assert not any(b'target="ranged"' in ln for ln in hop_lines)
    for end, ranged_ttl in ((b"first", b" 3.0"), (b"last", b" 5.0")):
        lines = [ln for ln in fast.splitlines() if ln.startswith(b"pingmos_target_diagnosis_" + end + b"_hop{")]
        assert any(b'target="ranged"' in ln and ln.endswith(ranged_ttl) for ln in lines), lines
        assert any(b'target="named"' in ln and ln.endswith(b" 2.0") for ln in lines), lines
        assert not any(b'target="calm"' in ln for ln in lines)  # no problem: absent
    assert any(b'pingmos_target_diagnosis="problem"' in ln and b'target="ranged"' in ln and ln.endswith(b" 1.0")
               for ln in fast.splitlines() if ln.startswith(b"pingmos_target_diagnosis{"))  # fmt: skip
    assert fast.count(b"\n") > 100 and b'site="x\\\\y\\n\\"z\\""' in fast
    assert b'name="r1.\\"x\\"\\\\\\n"' in fast and b"pingmos_hop_mos_ci_lower{" in fast


def test_metrics_are_served_over_http_plain_and_gzipped(running):
    import gzip
    import socket
    import urllib.error
    import urllib.request

    from pingmos.monitor.metrics import render_text
    from pingmos.monitor.serve import start_metrics_server

    agent = running[0]
    collector = AgentCollector(agent.views, agent.health, "lab")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = start_metrics_server("127.0.0.1", port, collector)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
            plain = r.read()
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Accept-Encoding": "gzip"})
        with opener.open(req, timeout=30) as r:
            assert r.headers["Content-Encoding"] == "gzip"
            zipped = gzip.decompress(r.read())
        with pytest.raises(urllib.error.HTTPError) as err:
            opener.open(f"http://127.0.0.1:{port}/other", timeout=30)
        assert err.value.code == 404
    finally:
        server.shutdown()
        server.server_close()
    # The counters move between requests: compare the series, not the values.
    names = lambda text: sorted(line.rsplit(" ", 1)[0] for line in text.decode().splitlines())  # noqa: E731
    assert names(plain) == names(zipped) == names(render_text(collector))


def test_the_cached_text_follows_the_counters_and_the_windows_between_scrapes(running):
    """AgentCollector.render keeps each target's window lines until its snapshot changes and each counter line's
    labels for ever: scrape after scrape it still writes exactly what prometheus_client writes."""
    agent, clocks, _ = running
    state = {"views": agent.views(), "health": agent.health()}
    collector = AgentCollector(lambda: state["views"], lambda: state["health"], "lab")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    first = collector.render()
    assert first == generate_latest(registry)
    wait_for(agent, "provider", agent.runners["provider"].counters.samples + 6)
    state["views"] = agent.views()  # the counters moved; the snapshots are the same objects
    second = collector.render()
    assert second == generate_latest(registry) and second != first
    agent.refresh(WALL_EPOCH + clocks["provider"].now)
    state["views"] = agent.views()[1:]  # new snapshots, and a target gone (as after a reload)
    third = collector.render()
    assert third == generate_latest(registry) and b'target="provider"' not in third


def test_a_first_scrape_builds_the_families_per_target_not_per_hop(running, monkeypatch):
    """What a first scrape waited for: nothing formatted yet, it built every family of the agent once per hop of
    every target to find each counter line's labels (100 targets x 31 hops: 0.53 s of CPU against 0.07 s for a
    later scrape, 5.4 s against 0.7 s of wall time at load 10; scripts/bench_first_scrape.py). Now the counter
    lines' labels are formatted directly, and so are the window series (each target's family objects were built
    at every scrape after its window changed); the text is still prometheus_client's, byte for byte."""
    agent = running[0]
    views, health = agent.views(), agent.health()
    collector = AgentCollector(lambda: views, lambda: health, "lab")
    built = []
    real = AgentCollector._families
    monkeypatch.setattr(AgentCollector, "_families", lambda self, *a: built.append(a) or real(self, *a))
    text = collector.render()
    hops = sum(len(v.counters[0]) for v in views)
    assert hops > len(views) and len(built) == 2  # the headers, and the rest (up, late rounds, alerts, SIP)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AgentCollector(lambda: views, lambda: health, "lab"))
    assert text == generate_latest(registry)


def test_a_failing_formula_shared_by_targets_costs_one_deadline_per_pass_not_one_per_target(tmp_path, monkeypatch):
    """Targets with the same model share one loaded model; a formula that overruns answers every target after the
    first with its error at once (back-off in time, scoring.sandbox.parent), instead of each target waiting out
    the deadline again (the back-off used to count calls: the second target ran it again, the fourth too)."""
    from pingmos.scoring import user_scoring_dir

    monkeypatch.setenv("PINGMOS_CONFIG_DIR", str(tmp_path / "config"))
    folder = user_scoring_dir()
    folder.mkdir(parents=True)
    (folder / "loopy.py").write_text('"""Loops."""\n\ndef score_hop(hop):\n    while True:\n        pass\n')
    targets = "".join(f'[[target]]\nhost = "{DST}"\nname = "t{i}"\n' for i in range(4))
    agent, clocks = make_agent(f'[agent]\nvantage = "lab"\nwindow = 40\nmodel = "loopy"\n{targets}')
    agent.start()
    try:
        for i in range(4):
            wait_for(agent, f"t{i}", 10)
        model = agent.runners["t0"].model
        assert all(agent.runners[f"t{i}"].model is model for i in range(4))  # one loaded model for all
        for i in range(4):
            agent.runners[f"t{i}"].refresh(WALL_EPOCH + clocks[f"t{i}"].now)
        for i in range(4):
            errors = {h.score_error for h in agent.runners[f"t{i}"].snapshot.hops if h.received}
            assert len(errors) == 1 and "ran longer than" in next(iter(errors)), errors
        versions = list(model._versions.values())
        assert [v.failures for v in versions] == [1]  # it ran once for the four targets
    finally:
        agent.close()


def test_the_agent_s_diagnosis_state_carries_a_range_to_the_metrics():
    # /metrics' first/last hop series read this: a range had no number at all (the hop series is absent for it).
    from pingmos.diagnosis import Diagnosis
    from pingmos.hop_report import TraceSnapshot
    from pingmos.monitor.agent import diagnosis_state

    snap = TraceSnapshot("198.18.0.9", "198.18.0.9", "icmp", 1.0, None, 10, "pingplotter", True, ())
    ranged = Diagnosis(None, (), "v.", status="problem", location_ttls=(3, 5))
    assert diagnosis_state(snap, ranged) == ("problem", None, (3, 5))
    assert diagnosis_state(snap, Diagnosis(4, (), "v.", status="problem")) == ("problem", 4, (4, 4))
    assert diagnosis_state(snap, Diagnosis(None, (), "v.", status="undecided")) == ("undecided", None, None)
