"""What bounds an agent's work and memory: late rounds counted as defined, MOS intervals only where asked, window
refreshes spread over time, one writer for every session, and memory that stays flat however long it runs."""

from __future__ import annotations

import gc
import threading
import time
import tomllib
import tracemalloc
from contextlib import nullcontext

import pytest

from pingmos.engine.events import Sample
from pingmos.monitor import agent as agent_module
from pingmos.monitor.agent import TargetRunner
from pingmos.monitor.config import config_from_data
from pingmos.monitor.metrics import TargetCounters
from pingmos.scoring import load_model
from pingmos.session import open_session
from tests.monitor.test_agent import CONFIG, make_agent, wait_for

T0 = 1_700_000_000.0


def first_probe(round_no: int, sent_at: float) -> Sample:
    return Sample(round_no, 1, round_no + 1, sent_at, 1.0, "198.18.0.2", False, "time_exceeded")


def test_a_round_is_late_when_its_first_probe_leaves_late_and_skipped_rounds_count_too():
    c = TargetCounters(interval_s=1.0)
    times = [T0, T0 + 1.0, T0 + 2.09]  # 90 ms late: within max(50 ms, 10 % of 1 s)
    for r, t in enumerate(times):
        c.observe(first_probe(r, t))
    assert c.late_rounds == 0
    c.observe(first_probe(3, T0 + 3.2))  # 200 ms late
    assert c.late_rounds == 1
    # The engine's schedule does not move for a delay shorter than the interval: round 4, due at T0 + 4, is late
    # when it leaves at T0 + 4.2 as well (a process that lags behind its schedule has every round late).
    c.observe(first_probe(4, T0 + 4.2))
    assert c.late_rounds == 2
    c.observe(first_probe(5, T0 + 5.01))
    assert c.late_rounds == 2
    # A 2.5 s stall: round 6 leaves 2.5 s late, and the two rounds due meanwhile were never sent; the engine starts
    # its schedule again from there (engine.scheduler.skip_to), and so does the count.
    c.observe(first_probe(6, T0 + 8.5))
    assert c.late_rounds == 2 + 3
    # Other TTLs and samples of older rounds settling late (a timeout) do not count.
    c.observe(Sample(6, 2, 99, T0 + 8.53, None, None))
    c.observe(first_probe(4, T0 + 4.2))
    c.observe(first_probe(7, T0 + 9.5))
    assert c.late_rounds == 5


def test_late_rounds_are_judged_in_monotonic_time_and_from_each_start_of_the_trace(monkeypatch):
    from pingmos.monitor import metrics

    offset = [T0]
    monkeypatch.setattr(metrics, "wall_minus_monotonic", lambda: offset[0])
    c = TargetCounters(interval_s=1.0)
    c.observe(first_probe(0, T0))
    c.observe(first_probe(1, T0 + 1.0))
    # The wall clock steps 300 ms forward: the send stamps with it, the rounds are on time all the same.
    offset[0] += 0.3
    c.observe(first_probe(2, T0 + 2.3))
    c.observe(first_probe(3, T0 + 3.3))
    assert c.late_rounds == 0
    c.observe(first_probe(4, T0 + 4.5))  # 200 ms late in monotonic time
    assert c.late_rounds == 1
    # The trace stopped and starts again 400 ms into an interval: a new schedule, not 400 ms late forever.
    c.new_schedule()
    for r in (6, 7, 8):
        c.observe(first_probe(r, T0 + r + 0.7))
    assert c.late_rounds == 1


def mos_interval_agent(which: str | None):
    text = CONFIG if which is None else CONFIG.replace('vantage = "lab"', f'vantage = "lab"\nmos_interval = "{which}"')
    agent, clocks = make_agent(text)
    agent.start()
    try:
        wait_for(agent, "provider", 3 * 45)
        for _ in range(3):  # an update scores at most 400 resamples (two hops' intervals): the rest come next
            agent.refresh()
        return [h.mos_ci for h in agent.runners["provider"].snapshot.hops]
    finally:
        agent.close()


def test_by_default_only_the_last_hop_gets_a_mos_interval():
    # Each interval is ~200 model evaluations per hop: an agent gives it where a call's quality is read.
    assert config_from_data(tomllib.loads(CONFIG)).mos_interval == "last"
    first, middle, last = mos_interval_agent(None)
    assert first is None and middle is None
    assert last is not None and last[0] <= last[1]


@pytest.mark.parametrize("which, expected", [("all", [True, True, True]), ("none", [False, False, False])])
def test_every_hop_or_none_gets_a_mos_interval_when_asked(which, expected):
    assert [ci is not None for ci in mos_interval_agent(which)] == expected


def test_a_bad_mos_interval_setting_is_one_line_naming_the_key(tmp_path):
    from pingmos.monitor.config import ConfigError, load_config

    path = tmp_path / "a.toml"
    path.write_text("[agent]\nmos_interval = 'some'\n[[target]]\nhost = 'a'\n")
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert "a.toml" in str(err.value) and ":2" in str(err.value) and "mos_interval" in str(err.value)


def test_windows_are_recomputed_a_share_at_a_time_and_every_target_in_turn():
    agent, _ = make_agent(CONFIG)
    agent.start()
    try:
        wait_for(agent, "provider", 3 * 5)
        wait_for(agent, "silent", 3 * 5)
        agent._refresh_some(time.time(), 0.5)
        done = {n: r.snapshot is not None for n, r in agent.runners.items()}
        assert sorted(done.values()) == [False, True]
        agent._refresh_some(time.time(), 0.5)
        assert all(r.snapshot is not None for r in agent.runners.values())
    finally:
        agent.close()


def test_one_writer_thread_flushes_every_targets_session(tmp_path, monkeypatch):
    monkeypatch.setattr(agent_module, "RECORD_FLUSH_S", 0.2)
    agent, clocks = make_agent(CONFIG, tmp_path)
    # Threads of this agent only: a recorder another test left behind has a writer thread of the same name.
    before = set(threading.enumerate())
    agent.start()
    try:
        wait_for(agent, "provider", 3 * 5)
        agent.refresh()  # opens the session files
        wait_for(agent, "provider", 3 * 15)
        writers = [t for t in set(threading.enumerate()) - before if t.name == "pingmos-session-writer"]
        assert len(writers) == 1  # one for all targets, not one per target
        path = agent.runners["provider"].open_session_path()
        deadline = time.monotonic() + 10
        while True:
            with open_session(path) as s:
                written = sum(1 for _ in s.samples())
            if written >= 3 * 10 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert written >= 3 * 10  # written while the agent runs, not only at its close
    finally:
        agent.close()


def test_memory_stays_flat_however_long_a_target_runs():
    """Hours of samples through a target's whole per-sample path (history, counters, alert rules) and its window
    refreshes: what Python holds after 2,000 rounds and after 8,000 rounds is the same within a few kB."""
    doc = tomllib.loads(CONFIG)
    cfg = config_from_data(doc).targets[0]
    model = load_model(cfg.model, dict(cfg.model_settings))
    runner = TargetRunner(cfg, model, None, 1.0, None, None, nullcontext, None, lambda kind: None, lambda line: None)
    path = ["198.18.0.2", "198.18.0.3", "198.18.0.99"]

    def run(rounds: range) -> None:
        for r in rounds:
            t = T0 + r
            for ttl, who in enumerate(path, start=1):
                lost = r % 7 == 3 and ttl == 3
                rtt = None if lost else 2.0 * ttl + (r % 5)
                runner.trace.apply(
                    Sample(
                        r,
                        ttl,
                        r * 3 + ttl,
                        t,
                        rtt,
                        None if lost else who,
                        ttl == 3 and not lost,
                        None if lost else ("echo_reply" if ttl == 3 else "time_exceeded"),
                    )  # fmt: skip
                )
            if r % 10 == 0:
                runner.tick(t + 5.0)
            if r % 200 == 0:
                runner.refresh(t + 5.0)

    try:
        run(range(0, 2000))
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.take_snapshot()
            run(range(2000, 8000))
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
        grown = sum(d.size_diff for d in after.compare_to(before, "filename"))
        assert grown < 64 * 1024, [str(d) for d in after.compare_to(before, "lineno")[:5]]
        # The window is what stays: at most about window + a trimming step per hop.
        assert runner.trace.history.samples == 8000 * 3
        assert max(h.n for h in runner.trace.history.hops.values()) <= cfg.window + max(64, cfg.window // 4)
        assert runner.counters.copy()[1] == 8000 * 3
    finally:
        runner.close()
        model.close()


def test_every_target_is_probed_by_a_few_engine_threads_not_one_each():
    """Without fake clocks the agent's targets share engine.TraceLoop threads (TARGETS_PER_ENGINE_THREAD each):
    every target is traced, by two loop threads for 30 targets, and each target's own thread only waits."""
    from pingmos.engine.fake_network import FakeHop, FakeNetwork
    from pingmos.monitor.agent import TARGETS_PER_ENGINE_THREAD, Agent
    from tests.engine.test_trace_loop import RealTimeClock

    n = TARGETS_PER_ENGINE_THREAD + 5
    targets = "".join(f'[[target]]\nhost = "198.18.2.{i + 1}"\nname = "t{i}"\n' for i in range(n))
    doc = tomllib.loads(f"[agent]\ninterval_s = 0.1\nwindow = 20\nmax_ttl = 4\n{targets}")

    def network(cfg):
        hops = [FakeHop("198.18.0.2", 1.0), FakeHop("198.18.0.3", 2.0), FakeHop(cfg.host, 3.0)]
        return lambda: FakeNetwork(hops, RealTimeClock())

    before = set(threading.enumerate())
    three = dict(doc, agent=dict(doc["agent"], engine_threads=3))
    unstarted = Agent(config_from_data(three), network, use_dns=False, log=lambda line: None)
    assert len(unstarted.loops) == 3
    unstarted.close()
    agent = Agent(config_from_data(doc), network, use_dns=False, log=lambda line: None)
    agent.start()
    try:
        for name in agent.runners:
            wait_for(agent, name, 3 * 5)
        loops = [t for t in set(threading.enumerate()) - before if t.name.startswith("pingmos-trace-loop")]
        assert len(loops) == 2 == len(agent.loops)
        agent.refresh()
        for runner in agent.runners.values():
            snap = runner.snapshot
            assert snap.destination_reached and [h.ttl for h in snap.hops] == [1, 2, 3]
            assert snap.hops[-1].avg_ms == pytest.approx(3.0, abs=2.0)
    finally:
        agent.close()
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive() and "pingmos" in t.name]


def test_a_bad_engine_threads_setting_is_one_line_naming_the_key(tmp_path):
    from pingmos.monitor.config import ConfigError, load_config

    path = tmp_path / "a.toml"
    path.write_text("[agent]\nengine_threads = 2.5\n[[target]]\nhost = 'a'\n")
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert "a.toml" in str(err.value) and ":2" in str(err.value) and "engine_threads" in str(err.value)
