"""The monitor's rule command that cannot run is one log line naming the target and the rule, and an
alert-command-failed event in the target's session (where its alerts are); repeats are held back."""

from __future__ import annotations

import tomllib

from pingmos.engine.fake_network import WALL_EPOCH, FakeClock
from pingmos.monitor.agent import Agent
from pingmos.monitor.config import config_from_data
from pingmos.session import open_session
from tests.monitor.test_agent import CONFIG, PATHS, PacedFakeNetwork, wait_for

WITH_COMMAND = CONFIG.replace("window_s = 20\n", 'window_s = 20\ncommand = ["/nonexistent/x"]\n', 1)


def test_a_missing_command_is_one_log_line_and_one_session_event_while_it_repeats(tmp_path):
    assert WITH_COMMAND != CONFIG
    doc = tomllib.loads(WITH_COMMAND)
    doc["agent"]["data_dir"] = str(tmp_path)
    clocks: dict[str, FakeClock] = {}

    def network(cfg):
        clock = clocks.setdefault(cfg.name, FakeClock())
        return lambda: PacedFakeNetwork(PATHS[cfg.host], clock, seed=7)

    log: list[str] = []
    agent = Agent(config_from_data(doc), network, lambda cfg: clocks.setdefault(cfg.name, FakeClock()),
                  use_dns=False, log=log.append)  # fmt: skip
    agent.start()
    try:
        wait_for(agent, "provider", 60)
        runner = agent.runners["provider"]
        runner.refresh(WALL_EPOCH + clocks["provider"].now)
        runner.tick(WALL_EPOCH + clocks["provider"].now)
        assert runner.alerts.firing() == ["loss above 1.0"]  # the destination loses ~30 %
        for _ in range(2):  # the same command failing again (the rule firing again later)
            runner.commands.dispatch(runner.alerts.rules, [runner.events[-1]])
        assert runner.commands.wait(30)
    finally:
        agent.close()
    failed = [line for line in log if "could not run" in line]
    assert failed == [
        "provider: alert rule 'loss above 1.0': alert command /nonexistent/x could not run: No such file or directory"
    ]
    with open_session(next(tmp_path.glob("provider/*.pingmos"))) as s:
        logged = [e.data["message"] for e in s.events() if e.kind == "alert-command-failed"]
    assert logged == [failed[0].removeprefix("provider: ")]
