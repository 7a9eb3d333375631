"""The agent's probing process (monitor.prober): real probes to loopback sent by a child, samples streamed to the
agent; a child that dies is reported in one line and replaced; an observer's error ends one trace only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest

from pingmos.monitor.agent import Agent
from pingmos.monitor.config import config_from_data
from pingmos.monitor.prober import TIMELINE_ENV, opened_round
from tests.monitor.test_agent import one, scrape

CONFIG = """
[agent]
interval_s = 0.2
max_ttl = 2
[[target]]
host = "127.0.0.1"
name = "icmp"
[[target]]
host = "127.0.0.1"
name = "udp"
protocol = "udp"
port = 33434
"""


def _agent(log: list[str]) -> Agent:
    return Agent(config_from_data(tomllib.loads(CONFIG), "agent.toml"), use_dns=False, log=log.append,
                 probe_process=True)  # fmt: skip


def _samples(agent: Agent) -> dict[str, int]:
    return {name: r.counters.samples for name, r in agent.runners.items()}


def _wait(agent: Agent, done, timeout_s: float = 30.0) -> bool:
    """Run the agent's tick (restarts) until ``done()`` or the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        agent.tick()
        if done():
            return True
        time.sleep(0.1)
    return False


def _children() -> list[int]:
    return _children_of(os.getpid())


def test_the_agent_probes_from_a_child_process():
    log: list[str] = []
    agent = _agent(log)
    agent.start()
    try:
        assert _wait(agent, lambda: all(n >= 10 for n in _samples(agent).values())), (_samples(agent), log)
        children = _children()
        assert len(children) == 1, children
        # No engine thread in the agent: its traces' probes are the child's.
        assert not [t.name for t in threading.enumerate() if t.name.startswith("pingmos-trace-loop")]
        for runner in agent.runners.values():
            status = runner.trace.status()
            assert status.running and status.error is None
            assert status.probes_sent >= 10
            sent, received = runner.counters.copy()[0][1][:2]
            assert received >= 10 and received >= sent - 2  # answered: loopback's TTL 1 is the destination
        # Where the send times came from, counted by the child and served as a counter: loopback stamps on
        # transmit, so the kernel's stamps (the Python fallback may count a few: a stamp the kernel queued late).
        assert _wait(agent, lambda: sum(agent.prober.send_stamps) >= 20), agent.prober.send_stamps
        kernel, python = agent.prober.send_stamps
        sent = sum(r.trace.status().probes_sent for r in agent.runners.values())
        assert kernel >= 10 and kernel > python and kernel + python <= sent + 2, (kernel, python, sent)
        metrics = scrape(agent)
        assert one(metrics, "pingmos_agent_send_stamps_total", source="kernel") >= kernel
        assert one(metrics, "pingmos_agent_send_stamps_total", source="python") >= python
    finally:
        agent.close()
    assert agent.prober is not None and not agent.prober.alive
    assert _children() == []
    assert not [line for line in log if "probing process" in line], log


def test_a_probing_process_that_dies_is_reported_and_replaced():
    log: list[str] = []
    agent = _agent(log)
    agent.start()
    try:
        assert _wait(agent, lambda: all(n >= 5 for n in _samples(agent).values())), (_samples(agent), log)
        (first,) = _children()
        os.kill(first, signal.SIGKILL)
        assert _wait(agent, lambda: any("probing process ended" in line for line in log))
        ended = [line for line in log if "probing process" in line]
        assert ended == ["the probing process ended (signal 9); its 2 trace(s) stop and are started again on a new one"]
        before = _samples(agent)
        # The traces restart (after 1 s) on a new child and go on counting.
        assert _wait(agent, lambda: all(_samples(agent)[n] >= before[n] + 10 for n in before)), (_samples(agent), log)
        assert _children() not in ([], [first])
        assert agent.errors.get("trace") == 2
    finally:
        agent.close()
    assert _children() == []


def test_an_observers_error_ends_that_trace_only():
    log: list[str] = []
    agent = _agent(log)

    def broken(sample) -> None:
        raise ValueError("observer broke")

    agent.start()
    try:
        agent.runners["icmp"].trace.add_observer(broken)
        assert _wait(agent, lambda: agent.runners["icmp"].trace.status().error is not None)
        assert "observer broke" in agent.runners["icmp"].trace.status().error
        before = _samples(agent)["udp"]
        assert _wait(agent, lambda: _samples(agent)["udp"] >= before + 10)
        assert agent.prober.alive
    finally:
        agent.close()


def test_the_child_alone_says_what_is_wrong_in_one_line():
    r = subprocess.run([sys.executable, "-m", "pingmos.monitor.prober"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "usage" in r.stderr, r.stderr


def test_the_timeline_notes_where_each_rounds_first_probe_spent_its_time(tmp_path, monkeypatch):
    # Diagnostics (bench_monitor.py --timeline): for every round, due <= woke <= called <= the kernel's stamp, in
    # one monotonic clock; the flusher's wakes too.
    path = tmp_path / "timeline.txt"
    monkeypatch.setenv(TIMELINE_ENV, str(path))
    log: list[str] = []
    agent = _agent(log)
    agent.start()
    try:

        def rounds() -> dict[str, list[list[str]]]:
            out: dict[str, list[list[str]]] = {}
            for line in path.read_text().splitlines() if path.exists() else []:
                if line.startswith("R "):
                    out.setdefault(line.split()[8], []).append(line.split())
            return out

        assert _wait(agent, lambda: len(rounds()) == 2 and all(len(v) >= 10 for v in rounds().values())), log
    finally:
        agent.close()
    for protocol, rows in rounds().items():
        numbers = [int(r[3]) for r in rows]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), (protocol, numbers)
        for r in rows:
            due, woke, called, stamp = map(float, r[4:8])
            assert due <= woke + 1e-6 and woke <= called and called <= stamp + 0.001, (protocol, r)
            assert stamp - due < 60.0, r
    assert any(line.startswith("F ") for line in path.read_text().splitlines())


def test_the_timeline_finds_the_round_a_call_began():
    # (round, next TTL) before and after a call of Tracer.advance: which round's TTL-1 probe it sent.
    assert opened_round((3, 1), (3, 2)) == 3 and opened_round((3, 31), (4, 2)) == 4
    assert opened_round((3, 2), (3, 5)) is None and opened_round((3, 31), (4, 1)) is None
    assert opened_round((3, 1), (4, 1)) == 3  # a round of one TTL (the destination at TTL 1)
    assert opened_round((3, 2), (5, 1)) == 4 and opened_round((3, 1), (3, 1)) is None


def test_the_child_ends_when_its_pipe_closes():
    proc = subprocess.Popen([sys.executable, "-m", "pingmos.monitor.prober", str(os.getpid()), "1"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
    proc.stdin.close()
    try:
        assert proc.wait(30) == 0
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the probing process did not end with its pipe")


def test_a_stop_signalled_to_the_whole_group_ends_the_agent_cleanly(tmp_path):
    """A terminal, ``timeout`` and systemd's stop (KillMode=control-group) signal the agent and its probing process
    at once. The child must not die of it: the agent ends it through its pipe, so no crash is logged, no new
    probing process is started during the shutdown, and every sample reaches the session file."""
    import socket
    import urllib.request

    from pingmos.session import open_session

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tmp_path / "agent.toml"
    cfg.write_text(
        f'[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "{tmp_path / "data"}"\ninterval_s = 0.2\nmax_ttl = 2\n'
        '[[target]]\nhost = "127.0.0.1"\nname = "icmp"\n'
    )
    proc = subprocess.Popen([sys.executable, "-m", "pingmos", "monitor", str(cfg), "--no-dns"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        received = 0.0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and received < 10:
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.3)
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
            except OSError:
                continue
            for line in text.splitlines():
                if line.startswith("pingmos_hop_probes_received_total{") and 'hop="1"' in line:
                    received = float(line.rsplit(" ", 1)[1])
        assert received >= 10, received
        probers = _children_of(proc.pid)
        assert len(probers) == 1, probers
        os.killpg(proc.pid, signal.SIGTERM)  # what systemctl stop does to the unit's cgroup
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 143, err  # SIGTERM: stopped in order
    assert "probing process" not in err, err
    assert "stopped; session files closed" in err, err
    assert _children_of(proc.pid) == []
    files = sorted((tmp_path / "data").rglob("*"))
    assert len([f for f in files if f.suffix == ".pingmos"]) == 1, (files, err.splitlines())
    (path,) = (tmp_path / "data").rglob("*.pingmos")
    with open_session(path) as session:
        answered = sum(1 for s in session.samples() if s.ttl == 1 and s.rtt_ms is not None)
    assert answered >= received  # what /metrics had counted was written before the agent ended


def _children_of(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if fields[1] == str(pid) and b"pingmos.monitor.prober" in cmdline:
            out.append(int(stat.parent.name))
    return out
