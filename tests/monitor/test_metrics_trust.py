"""/metrics shows no number it cannot defend: no window figures from a handful of samples, none from samples that
aged out while the trace could not send, a floor for a path that never reaches its destination, no target_up 0
before a target was tried, and the probe rate measured after every pass however the targets are sliced."""

from __future__ import annotations

import errno
import time
import tomllib

import pytest

from pingmos.engine.fake_network import WALL_EPOCH, FakeClock
from pingmos.hop_report import HopReport, TraceSnapshot
from pingmos.monitor.agent import Agent
from pingmos.monitor.config import config_from_data
from pingmos.monitor.metrics import RTT_BUCKETS_S, path_end
from pingmos.scoring.interval import MIN_SAMPLES
from tests.monitor.test_agent import CONFIG, PATHS, PacedFakeNetwork, make_agent, one, scrape, wait_for


def test_below_the_minimum_of_samples_the_window_gauges_are_absent():
    # The breaker's start-up scrape: MOS 4.403, loss 0.0 and a jitter from 3 probes. Now: only the probe count.
    agent, clocks = make_agent(CONFIG)
    agent.start()
    try:
        wait_for(agent, "provider", 3 * 4)
        agent.refresh(WALL_EPOCH + clocks["provider"].now)
        snap = agent.runners["provider"].snapshot
        assert 0 < snap.hops[0].sent < MIN_SAMPLES, snap.hops[0].sent
        m = scrape(agent)
        provider = lambda name: [s for s in m.get(name, []) if s.labels["target"] == "provider"]  # noqa: E731
        for name in ("pingmos_hop_mos", "pingmos_hop_r_factor", "pingmos_hop_loss_ratio",
                     "pingmos_hop_latency_seconds", "pingmos_hop_jitter_seconds", "pingmos_target_mos"):  # fmt: skip
            assert provider(name) == [], name
        assert one(m, "pingmos_hop_window_probes", target="provider", hop="1") == snap.hops[0].sent
        assert one(m, "pingmos_hop_info", target="provider", hop="1", position="first") == 1
        wait_for(agent, "provider", 3 * (MIN_SAMPLES + 2))
        agent.refresh(WALL_EPOCH + clocks["provider"].now)
        m = scrape(agent)
        assert one(m, "pingmos_hop_mos", target="provider", hop="1") > 4.0
        assert one(m, "pingmos_target_mos", target="provider") > 1.0
    finally:
        agent.close()


class FailingNetwork(PacedFakeNetwork):
    """The lab's `ip route add unreachable`: once ``broken`` is set, every send fails with EHOSTUNREACH."""

    broken = False

    def send(self, packet, dst):
        if FailingNetwork.broken:
            raise OSError(errno.EHOSTUNREACH, "No route to host")
        return super().send(packet, dst)


def test_while_the_trace_cannot_send_its_window_ages_out_and_the_target_is_down():
    # The breaker's first finding: 50 s after the route went away the last hop still showed MOS 4.378, loss 0 and
    # window_probes 30; no sample arrived, so nothing else could say otherwise.
    doc = tomllib.loads(CONFIG.split("[[target]]")[0] + f'[[target]]\nhost = "{list(PATHS)[0]}"\nname = "pbx"\n')
    clock = FakeClock()
    FailingNetwork.broken = False
    agent = Agent(config_from_data(doc), lambda cfg: (lambda: FailingNetwork(PATHS[cfg.host], clock, seed=7)),
                  lambda cfg: clock, use_dns=False, log=lambda line: None)  # fmt: skip
    agent.start()
    try:
        runner = agent.runners["pbx"]
        wait_for(agent, "pbx", 3 * 45)
        runner.refresh(WALL_EPOCH + clock.now)
        m = scrape(agent)
        assert one(m, "pingmos_hop_window_probes", target="pbx", hop="1") == 40
        assert one(m, "pingmos_target_up", target="pbx") == 1
        FailingNetwork.broken = True
        deadline = time.monotonic() + 20
        while not (runner.trace.status().error and not runner.trace.status().running):
            assert time.monotonic() < deadline, "the trace never stopped on its send error"
            time.sleep(0.05)
        runner.tick(WALL_EPOCH + clock.now)
        assert "No route to host" in runner.trace.status().error
        # As long as the trace sends nothing, the window's time passes over its samples: half of it (a sample
        # fewer per interval), then all of it.
        cfg = runner.cfg
        # (Set, not shifted: the real time since the last sample, long on a loaded machine, is not in the figure.)
        runner._last_sample_mono = time.monotonic() - (cfg.window * cfg.interval_s / 2 + runner._settle_s)
        runner.refresh(WALL_EPOCH + clock.now)
        m = scrape(agent)
        left = one(m, "pingmos_hop_window_probes", target="pbx", hop="1")
        # (Less the rounds in flight when the send failed: their probes were abandoned, their fate is unknown.)
        assert cfg.window / 2 - 2 - runner._settle_s / cfg.interval_s <= left <= cfg.window / 2 + 2, left
        assert one(m, "pingmos_target_up", target="pbx") == 0
        runner._last_sample_mono = time.monotonic() - (cfg.window * cfg.interval_s + runner._settle_s + 1)
        runner.refresh(WALL_EPOCH + clock.now)
        m = scrape(agent)
        assert one(m, "pingmos_hop_window_probes", target="pbx", hop="1") == 0
        for name in ("pingmos_hop_mos", "pingmos_hop_loss_ratio", "pingmos_target_mos", "pingmos_target_r_factor"):
            assert name not in m, (name, m.get(name))
        assert one(m, "pingmos_target_up", target="pbx") == 0  # PingmosTargetUnmeasured pages on this
    finally:
        FailingNetwork.broken = False
        agent.close()


def _hop(ttl: int, address: str | None, sent: int, received: int, mos: float | None) -> HopReport:
    return HopReport(ttl=ttl, address=address, name=None, responders={}, sent=sent, received=received,
                     loss_pct=100.0 * (sent - received) / sent, loss_ci_pct=None, last_ms=None, avg_ms=5.0,
                     min_ms=None, max_ms=None, stdev_ms=None, jitter_ms=1.0, r=None if mos is None else 93.0,
                     mos=mos)  # fmt: skip


def _snap(reached: bool, *hops: HopReport) -> TraceSnapshot:
    return TraceSnapshot(target="t", address="198.18.9.9", protocol="icmp", interval_s=1.0, window=30,
                         rounds=max(h.sent for h in hops), model="g107-jb", destination_reached=reached,
                         hops=hops)  # fmt: skip


def test_a_path_that_never_reaches_its_destination_is_no_call():
    # The breaker's second finding: r1 answers every probe with net-unreachable; its own round trip scores 4.40.
    unreachable = _snap(False, _hop(1, "198.18.0.2", 30, 30, 4.40))
    assert path_end(unreachable) == (0.0, 1.0)
    assert path_end(_snap(False, _hop(1, None, 30, 0, None))) == (0.0, 1.0)  # nothing answers
    reached = _snap(True, _hop(1, "198.18.0.2", 30, 30, 4.40), _hop(2, "198.18.9.9", 30, 27, 3.9))
    assert path_end(reached) == (93.0, 3.9)
    assert path_end(_snap(True, _hop(1, "198.18.9.9", 30, 0, None))) == (0.0, 1.0)  # the destination went silent
    assert path_end(_snap(False, _hop(1, "198.18.0.2", MIN_SAMPLES - 1, 9, 4.4))) is None  # not enough rounds


def test_target_up_is_absent_until_the_targets_first_attempt():
    agent, _ = make_agent(CONFIG)  # not started: no target tried yet
    agent.runners = {}
    for cfg in agent.config.targets:
        agent.runners[cfg.name] = agent._runner(cfg)
    m = scrape(agent)
    assert "pingmos_target_up" not in m
    assert one(m, "pingmos_agent_targets") == 2
    agent.close()


def test_every_full_pass_measures_the_probe_rate_however_the_targets_are_sliced(monkeypatch):
    # 51 targets refreshed a fifth (11) at a time: the turn wrapped to 4, 8, ... and seldom landed on 51, so the
    # rate stayed absent for a minute or more (61 s and 110 s in the breaker's run).
    agent, _ = make_agent(CONFIG)
    agent.runners = {f"t{i}": object() for i in range(51)}
    refreshed, passes = [], []
    monkeypatch.setattr(agent, "_refresh_one", lambda runner, now: refreshed.append(runner))
    monkeypatch.setattr(agent, "_after_pass", lambda now, retention: passes.append(len(refreshed)))
    for _ in range(20):
        agent._refresh_some(0.0, 1 / 5)
    assert len(refreshed) == 20 * 11
    assert passes == [55, 110, 154, 209]  # a pass ends with the slice that completes 51 windows (4 past: the next)
    agent.runners = {}
    agent.close()


def test_rtt_buckets_are_fine_enough_for_voip_delays():
    # The breaker's 30 ms path: nothing between 25 and 50 ms, median interpolated to 37.5 ms, p95 to 48.75 ms.
    ms = [b * 1000 for b in RTT_BUCKETS_S]
    assert ms[0] <= 1.0 and 1000.0 <= ms[-1] <= 2000.0
    inside = [b for b in ms if 10 <= b <= 300]
    assert all(b / a <= 1.25 + 1e-9 for a, b in zip(inside, inside[1:], strict=False)), inside
    assert len(RTT_BUCKETS_S) <= 30  # x 31 hops x 100 targets: the histogram stays within ~100,000 series


def test_the_summary_window_says_what_metrics_says_of_a_path_ending_at_an_unreachable():
    # The summary window showed the last hop's own MOS: r1's round trip, 4.40, for a destination never reached.
    pytest.importorskip("PySide6")
    from pingmos.gui.summary import summary_row
    from pingmos.monitor.metrics import TargetView

    snap = _snap(False, _hop(1, "198.18.0.2", 30, 30, 4.40))
    view = TargetView(name="dead", labels=(), model="g107-jb", up=True, counters=({}, 0, 0), snapshot=snap,
                      diagnosis_status="problem", diagnosis_ttl=1)  # fmt: skip
    texts, _keys, mos, _loss = summary_row(view, "198.18.9.9")
    assert mos == 1.0 and "1.00" in texts
