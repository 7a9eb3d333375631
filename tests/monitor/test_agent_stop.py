"""An agent's orderly stop waits for the probes in flight: the answers on their way are counted, a probe is counted
lost only once its own timeout passed, and a second signal stops at once, leaving the probes in flight out of
every counter rather than counting them lost."""

from __future__ import annotations

import contextlib
import signal
import socket
import time
import tomllib

import pytest

from pingmos.engine.fake_network import FakeHop, FakeNetwork
from pingmos.monitor.agent import Agent
from pingmos.monitor.config import config_from_data
from tests.engine.test_trace_loop import RealTimeClock

DST = "198.18.0.99"
# The destination answers 0.8 s after each probe: at 0.2 s a round, four rounds' answers are always on their way.
SLOW = [FakeHop("198.18.0.2", 1.0), FakeHop(DST, 800.0)]
CONFIG = f"""
[agent]
interval_s = 0.2
max_ttl = 2
[[target]]
host = "{DST}"
name = "slow"
timeout_s = 3.0
"""


def slow_agent(log: list[str]) -> Agent:
    # Real time (one engine.TraceLoop thread, as the agent runs), on the simulated path: no socket, no root.
    return Agent(config_from_data(tomllib.loads(CONFIG)), lambda cfg: lambda: FakeNetwork(SLOW, RealTimeClock()),
                 use_dns=False, log=log.append)  # fmt: skip


def counted(agent: Agent) -> tuple[int, int, int]:
    """(probes sent by the tracer, probes counted sent, counted received) over every hop of the one target."""
    runner = agent.runners["slow"]
    hops = runner.counters.copy()[0]
    return (runner.trace.status().probes_sent, sum(h[0] for h in hops.values()), sum(h[1] for h in hops.values()))


def run_until_answers_are_in_flight(agent: Agent) -> None:
    agent.start()
    deadline = time.monotonic() + 30.0
    while counted(agent)[2] < 10:  # answered probes at both hops: the destination's 0.8 s answers are flowing
        assert time.monotonic() < deadline, counted(agent)
        time.sleep(0.05)
    sent, settled, _ = counted(agent)
    assert sent - settled >= 3, (sent, settled)  # several probes on their way


def test_a_stopped_agent_waits_for_the_answers_on_their_way_and_counts_them():
    log: list[str] = []
    agent = slow_agent(log)
    run_until_answers_are_in_flight(agent)
    agent.stop(signal.SIGTERM)
    started = time.monotonic()
    agent.close()
    took_s = time.monotonic() - started
    sent, settled, received = counted(agent)
    # Every probe sent has its fate counted, and none was lost: the answers that came after the signal count.
    assert settled == sent and received == sent, (sent, settled, received)
    assert took_s < 3.0 + 1.0 + 2.0, took_s  # the timeout and the margin at most (a loaded machine: 2 s more)
    assert any(line.startswith("stopping: waiting up to 4 s for the replies") for line in log), log
    assert not any("left out" in line for line in log), log


def test_a_second_signal_stops_at_once_and_counts_no_probe_in_flight_as_lost():
    log: list[str] = []
    agent = slow_agent(log)
    run_until_answers_are_in_flight(agent)
    agent.stop(signal.SIGTERM)
    agent.stop(signal.SIGTERM)  # again: the operator does not want to wait
    started = time.monotonic()
    agent.close()
    took_s = time.monotonic() - started
    sent, settled, received = counted(agent)
    assert settled < sent, (sent, settled)  # the probes in flight are left out ...
    assert received == settled  # ... and none of them is counted lost
    assert took_s < 0.8, took_s  # not one answer's 0.8 s waited for
    assert agent.stopped_by == signal.SIGTERM


def test_the_probing_process_counts_a_probe_lost_only_once_its_timeout_passed():
    """The agent's own probing process (real UDP sockets to loopback): probes to a port where a socket takes them
    and never answers are all lost, and on stop the last ones are waited for until their timeout passed (1 s,
    the configured one) and then counted lost, not left out and not counted lost earlier."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        port = sink.getsockname()[1]
        config = (
            f'[agent]\ninterval_s = 0.2\nmax_ttl = 1\n[[target]]\nhost = "127.0.0.1"\nname = "sink"\n'
            f'protocol = "udp"\nport = {port}\ntimeout_s = 1.0\n'
        )
        log: list[str] = []
        agent = Agent(config_from_data(tomllib.loads(config)), use_dns=False, log=log.append, probe_process=True)
        agent.start()
        try:
            runner = agent.runners["sink"]
            deadline = time.monotonic() + 30.0
            while runner.counters.samples < 5:  # five probes lost: each after its 1 s timeout
                assert time.monotonic() < deadline, (runner.counters.samples, log)
                agent.tick()
                time.sleep(0.05)
            agent.stop(signal.SIGTERM)
            stopping = time.monotonic()
        finally:
            agent.close()
        took_s = time.monotonic() - stopping
        sink.setblocking(False)
        arrived = 0  # every probe the probing process sent (TTL 1 reaches loopback's socket)
        with contextlib.suppress(BlockingIOError):
            while sink.recv(2048) is not None:
                arrived += 1
    hops = runner.counters.copy()[0]
    assert sum(h[1] for h in hops.values()) == 0  # nothing answers
    assert sum(h[0] for h in hops.values()) == arrived, (hops, arrived)  # every probe sent counted, as lost
    assert 0.7 <= took_s < 1.0 + 1.0 + 2.0, took_s  # its last probes' timeout was waited for, and no longer


@pytest.mark.parametrize("change", ["removed", "changed"])
def test_a_reload_waits_for_the_answers_of_the_targets_it_stops(change):
    log: list[str] = []
    agent = slow_agent(log)
    try:
        run_until_answers_are_in_flight(agent)
        old = agent.runners["slow"]
        doc = tomllib.loads(CONFIG)
        if change == "removed":
            doc["target"][0]["name"] = "other"  # a target of another name: "slow" is removed, "other" starts
        else:
            doc["target"][0]["timeout_s"] = 2.0  # the same name with another setting: restarted
        started = time.monotonic()
        kept, fresh, removed = agent.reload(config_from_data(doc))
        took_s = time.monotonic() - started
        assert (kept, fresh, removed) == ((0, 1, 1) if change == "removed" else (0, 1, 0))
        hops = old.counters.copy()[0]
        sent, settled, received = (
            old.trace.status().probes_sent,
            sum(h[0] for h in hops.values()),
            sum(h[1] for h in hops.values()),
        )
        # Every probe the stopped trace sent has its fate counted there, none lost: the answers on their way when
        # the reload came were waited for (before, the reload stopped it at once: 14 sent, 10 counted, 4 left out).
        assert not old.trace.running and settled == sent and received == sent, (sent, settled, received)
        assert took_s < 3.0 + 1.0 + 2.0, took_s
        assert any(line.startswith("reload: waiting up to 4 s for the replies to the probes in flight of slow")
                   for line in log), log  # fmt: skip
        assert not any("left out" in line for line in log), log
    finally:
        agent.stop(signal.SIGTERM)
        agent.close()
