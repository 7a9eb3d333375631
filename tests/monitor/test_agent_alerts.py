"""The agent's own alert rules when a target is down: a destination that has not answered since the agent started
pages (log, /metrics, command); a reload carries a firing episode over to a restarted target and ends the episode
of a removed target or rule with a clear saying so; an event's diagnosis judges the rule's own window."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

from pingmos.engine.events import Sample
from pingmos.engine.fake_network import WALL_EPOCH, FakeClock, FakeHop
from pingmos.monitor.agent import Agent
from pingmos.monitor.config import config_from_data
from pingmos.session import open_session
from tests.monitor.test_agent import PacedFakeNetwork, one, scrape

DOWN = [FakeHop("198.18.0.2", 2.0), FakeHop("198.18.0.3", 4.0), FakeHop(None, 0.0)]  # the destination never answers
UP = [FakeHop("198.18.0.2", 2.0), FakeHop("198.18.0.3", 4.0), FakeHop("198.18.9.9", 6.0)]
PATHS = {"198.18.9.8": DOWN, "198.18.9.7": DOWN, "198.18.9.9": UP}
RULE = "MOS below 3.5"


def config_text(out: Path, dest_max_ttl: int = 6, udp: bool = True, below: float = 3.5) -> str:
    text = f"""
[agent]
vantage = "lab"
window = 40
[[alert]]
name = "{RULE}"
metric = "mos"
below = {below}
window_s = 10
for_s = 5
min_samples = 5
command = ["/bin/sh", "-c", 'env | grep ^PINGMOS_ALERT_ > "$0/$PINGMOS_ALERT_STATE-$PINGMOS_ALERT_TARGET"', "{out}"]
[[target]]
host = "198.18.9.8"
name = "dest"
max_ttl = {dest_max_ttl}
"""
    if udp:
        text += '[[target]]\nhost = "198.18.9.7"\nname = "dest-udp"\nmax_ttl = 6\n'
    return text


def make_agent(text: str, data_dir: Path, log: list[str]) -> tuple[Agent, dict[str, FakeClock]]:
    clocks: dict[str, FakeClock] = {}

    def network(cfg):
        clock = clocks.setdefault(cfg.name, FakeClock())
        return lambda: PacedFakeNetwork(PATHS[cfg.host], clock, seed=7)

    agent = Agent(load(text, data_dir), network, lambda cfg: clocks.setdefault(cfg.name, FakeClock()),
                  use_dns=False, log=log.append)  # fmt: skip
    return agent, clocks


def load(text: str, data_dir: Path):
    doc = tomllib.loads(text)
    doc["agent"]["data_dir"] = str(data_dir)
    return config_from_data(doc)


def tick_after(agent: Agent, clocks: dict[str, FakeClock], name: str, seconds: float) -> None:
    """Let ``seconds`` of the target's virtual time pass, then tick it at that moment (its wall-clock time)."""
    clock = clocks[name]
    start, deadline = clock.now, time.monotonic() + 60.0
    while clock.now < start + seconds:
        assert time.monotonic() < deadline, f"{name}: virtual time stuck at {clock.now}"
        time.sleep(0.01)
    agent.runners[name].tick(WALL_EPOCH + clock.now)


def read_env(path: Path, timeout_s: float = 30.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    while not path.exists() or not path.read_text().endswith("\n"):
        assert time.monotonic() < deadline, f"the rule's command wrote no {path.name}"
        time.sleep(0.05)
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def fire_both(agent, clocks, log) -> None:
    for name in ("dest", "dest-udp"):
        tick_after(agent, clocks, name, 3.0)
        agent.runners[name].refresh(WALL_EPOCH + clocks[name].now)  # opens its session file, as the agent's loop
        for _ in range(4):  # 20 s: ten samples to know the value, then for_s = 5 of it
            tick_after(agent, clocks, name, 5.0)
        assert agent.runners[name].alerts.firing() == [RULE], (name, log)


def test_a_destination_that_never_answered_pages(tmp_path, shared_dir):
    # The breaker's finding: hop 5 lost everything from before the agent started; after 50 s /metrics had MOS 1
    # at the last hop, yet alert_firing was 0 and no command ran (the rule skipped a destination never seen).
    log: list[str] = []
    agent, clocks = make_agent(config_text(shared_dir, udp=False), tmp_path / "data", log)
    agent.start()
    try:
        for _ in range(4):
            tick_after(agent, clocks, "dest", 5.0)
        m = scrape(agent)
        assert one(m, "pingmos_alert_firing", target="dest", rule=RULE) == 1, log
        env = read_env(shared_dir / "fire-dest")
    finally:
        agent.close()
    fired = [line for line in log if f"{RULE} fired for dest" in line]
    assert len(fired) == 1 and "MOS 1.00 at hop 6, the end of the path (the destination has not answered)" in fired[0]
    assert env["PINGMOS_ALERT_TTL"] == "6" and env["PINGMOS_ALERT_VALUE"] == "1.000"
    assert env["PINGMOS_ALERT_PATH_END"] == "the destination has not answered"


def test_a_reload_carries_an_episode_over_and_ends_the_removed_ones_with_a_clear(tmp_path, shared_dir):
    log: list[str] = []
    data = tmp_path / "data"
    agent, clocks = make_agent(config_text(shared_dir), data, log)
    agent.start()
    try:
        fire_both(agent, clocks, log)
        read_env(shared_dir / "fire-dest-udp")
        # dest's max_ttl changes (it restarts), dest-udp is removed.
        assert agent.reload(load(config_text(shared_dir, dest_max_ttl=5, udp=False), data)) == (0, 1, 1)
        new = agent.runners["dest"]
        assert new.alerts.firing() == [RULE]  # the episode goes on in the restarted target
        assert one(scrape(agent), "pingmos_alert_firing", target="dest", rule=RULE) == 1
        ended = read_env(shared_dir / "clear-dest-udp")
        assert ended["PINGMOS_ALERT_REASON"] == "removed by reload" and ended["PINGMOS_ALERT_VALUE"] == ""
        assert ended["PINGMOS_ALERT_MESSAGE"] == f"{RULE} cleared for dest-udp: ended: removed by reload"
        for _ in range(4):  # 20 s more of the outage: no second fire, no clear
            tick_after(agent, clocks, "dest", 5.0)
        assert new.alerts.firing() == [RULE] and [e.kind for e in new.events] == []
        # A changed rule ends the episode, which the new rule judges anew.
        assert agent.reload(load(config_text(shared_dir, dest_max_ttl=5, udp=False, below=3.0), data)) == (0, 1, 0)
        changed = read_env(shared_dir / "clear-dest")
        assert changed["PINGMOS_ALERT_MESSAGE"] == f"{RULE} cleared for dest: ended: changed by reload"
        assert agent.runners["dest"].alerts.firing() == []
    finally:
        agent.close()
    lines = [line for line in log if " cleared for " in line]
    assert lines == [f"{RULE} cleared for dest-udp: ended: removed by reload",
                     f"{RULE} cleared for dest: ended: changed by reload"]  # fmt: skip
    assert len([line for line in log if f"{RULE} fired for dest:" in line]) == 1
    (udp_session,) = data.glob("dest-udp/*.pingmos")
    with open_session(udp_session) as s:
        kinds = [(e.kind, e.data.get("reason")) for e in s.events()]
    assert kinds == [("alert-fire", None), ("alert-clear", "removed by reload")]


def test_an_events_diagnosis_judges_the_rules_window(tmp_path):
    # 20 s clean, 40 s of an outage beyond hop 1, then 30 s clean. The target's window (40 rounds) still holds the
    # outage when the 10-s rule clears: the clear said "loss 0.0 % ...; diagnosis (problem): problem starts at hop 2".
    doc = config_text(tmp_path, udp=False).replace('metric = "mos"\nbelow = 3.5', 'metric = "loss_pct"\nabove = 1.0')
    doc = doc.replace("command = ", "# command = ").replace(RULE, "loss above 1")
    agent, _ = make_agent(doc, tmp_path / "data", [])
    runner = agent._runner(agent.config.targets[0])
    try:
        for i in range(90):
            t = WALL_EPOCH + i
            for ttl in (1, 2, 3):
                lost = 20 <= i < 60 and ttl > 1
                who = None if lost else ("198.18.9.8" if ttl == 3 else f"198.18.0.{ttl + 1}")
                runner.trace.apply(Sample(i, ttl, i * 3 + ttl, t + ttl * 0.01, None if lost else 2.0 * ttl, who,
                                          ttl == 3 and not lost, None if lost else "echo_reply"))  # fmt: skip
            runner.refresh(t + 0.5)
            runner.tick(t + 0.5)
        fire, clear = runner.events
        assert (fire.kind, clear.kind) == ("fire", "clear") and clear.value == 0.0
        assert runner.last_diagnosis.status == "problem"  # the longer window still holds the outage
        assert clear.diagnosis_status != "problem" and "problem starts" not in clear.message, clear.message
        assert fire.diagnosis_status == "problem" and fire.diagnosis_ttl == 2, fire.message
    finally:
        runner.close()
        agent.close()
