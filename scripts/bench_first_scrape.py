#!/usr/bin/env python3
"""How long the monitoring agent's first /metrics scrape takes, and what it shows:
`.venv/bin/python scripts/bench_first_scrape.py [--targets 5] [--stress 2] [--render 100]`.

Not a test: it prints figures. Two parts:

1. **A real agent on loopback** (``pingmos monitor`` with ``--no-dns``, targets 127.0.0.1 ... 127.0.0.N, ICMP,
   metrics on 127.0.0.1): /metrics is scraped every 0.1 s from the agent's start for ``--duration`` seconds.
   Printed: when the port opened, the first scrape's time to answer, the slowest scrapes, when the first window
   series (``pingmos_hop_mos``) and the probe rate (``pingmos_agent_probes_per_second``) appeared, and the probe
   rate the first scrapes showed (before: 0 while probes flowed, until the second refresh pass).
2. **The render of a big agent** (``--render T``, 0 = skip): T targets x 31 hops on the engine's fake paths, in
   this process; the CPU time of the first render of /metrics (nothing formatted yet) and of the next two (what
   changed only). The first was 7 x a later one; under load a scrape's CPU time is stretched by the machine's
   (scripts/bench_monitor.py's first scrape took 5.4 s against 0.7 s for its second, at load 10).

``--tree PATH`` measures another pingmos tree (``git worktree add /tmp/old main``) for a before/after pair;
``--stress N`` runs ``stress-ng --cpu N`` meanwhile (stopped by its pid). Network safety: loopback only, no DNS.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from cpu_stress import StressUnavailable, stress_ng  # scripts/ is sys.path[0] when a script runs

HOPS = 31


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def agent_part(tree: Path, targets: int, duration_s: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "agent.toml"
        cfg.write_text("[agent]\nwindow = 60\nrefresh_s = 5\n" + "".join(
            f'[[target]]\nhost = "127.0.0.{i + 1}"\nname = "t{i + 1}"\n' for i in range(targets)))  # fmt: skip
        port = free_port()
        t0 = time.monotonic()
        agent = subprocess.Popen([sys.executable, "-m", "pingmos", "monitor", str(cfg), "--no-dns", "--listen",
                                  f"127.0.0.1:{port}"], cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True)  # fmt: skip
        log: list[str] = []
        threading.Thread(target=lambda: log.extend(agent.stderr), daemon=True).start()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        scrapes = []  # (sent at s after start, took s, has window series, probe rate or None)
        opened = None
        try:
            while time.monotonic() - t0 < duration_s:
                t1 = time.monotonic()
                try:
                    body = opener.open(f"http://127.0.0.1:{port}/metrics", timeout=60).read().decode()
                except OSError:
                    time.sleep(0.02)
                    continue
                took = time.monotonic() - t1
                opened = opened if opened is not None else t1 - t0
                rate = next((float(line.split()[-1]) for line in body.splitlines()
                             if line.startswith("pingmos_agent_probes_per_second{")), None)  # fmt: skip
                scrapes.append((t1 - t0, took, "\npingmos_hop_mos{" in body, rate))
                time.sleep(0.1)
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=30)
        if not scrapes:
            print(f"agent: no scrape answered in {duration_s:g} s; its log: {' | '.join(log)[-400:]}")
            return
        at, took, _, _ = scrapes[0]
        print(f"agent, {targets} loopback targets: port open {opened:.2f} s after start; first scrape answered in "
              f"{took * 1000:.0f} ms; {len(scrapes)} scrapes")  # fmt: skip
        slow = sorted(scrapes, key=lambda s: -s[1])[:3]
        print("  slowest: " + ", ".join(f"{s[1] * 1000:.0f} ms at {s[0]:.1f} s" for s in slow))
        window = next((s[0] for s in scrapes if s[2]), None)
        rated = [s for s in scrapes if s[3] is not None]
        print(f"  first window series at {window:.1f} s" if window is not None else "  no window series yet")
        if rated:
            early = sorted({round(s[3], 1) for s in rated if s[0] < rated[0][0] + 3})
            print(f"  probe rate first shown at {rated[0][0]:.1f} s, values in its first 3 s: {early} probes/s")
        else:
            print("  probe rate not shown in the run")


def render_part(tree: Path, targets: int) -> None:
    import tomllib

    from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork
    from pingmos.monitor.agent import Agent
    from pingmos.monitor.config import config_from_data
    from pingmos.monitor.metrics import AgentCollector, render_text

    class Paced(FakeNetwork):
        def recv(self, timeout_s):  # virtual time runs 200 x faster than real time
            time.sleep(min(timeout_s, 0.25) / 200.0)
            return super().recv(timeout_s)

    text = '[agent]\nvantage = "lab"\nwindow = 30\n' + "".join(
        f'[[target]]\nhost = "198.18.{i // 200}.{i % 200 + 1}"\nname = "t{i}"\nlabels = {{ site = "s{i % 3}" }}\n'
        for i in range(targets)
    )
    clocks: dict = {}

    def network(cfg):
        clock = clocks.setdefault(cfg.name, FakeClock())
        n = int(cfg.name[1:])
        hops = [FakeHop(f"198.18.{100 + h}.{n % 250 + 1}", 1.0 * h, 0.5) for h in range(1, HOPS)]
        return lambda: Paced([*hops, FakeHop(cfg.host, float(HOPS), 0.5)], clock, seed=n)

    agent = Agent(config_from_data(tomllib.loads(text)), network, lambda cfg: clocks.setdefault(cfg.name, FakeClock()),
                  use_dns=False, log=lambda line: None)  # fmt: skip
    agent.start()
    try:
        deadline = time.monotonic() + 180
        while min(r.counters.samples for r in agent.runners.values()) < HOPS * 40 and time.monotonic() < deadline:
            time.sleep(0.2)
        for r in agent.runners.values():
            r.stop()
        for r in agent.runners.values():
            r.trace.join(5)
        agent.refresh()
        collector = AgentCollector(agent.views, agent.health, "lab")
        cpu = []
        for _ in range(3):
            c0 = time.process_time()
            body = render_text(collector)
            cpu.append(time.process_time() - c0)
        lines = body.count(b"\n")
        print(
            f"render, {targets} targets x {HOPS} hops ({lines} lines): CPU of the first "
            f"{cpu[0]:.3f} s, the next two {cpu[1]:.3f} and {cpu[2]:.3f} s (first / second = {cpu[0] / cpu[1]:.1f})"
        )
    finally:
        agent.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", type=int, default=5, help="loopback targets of part 1 (5, at most 250; 0 = skip)")
    ap.add_argument("--duration", type=float, default=15.0, help="seconds part 1 scrapes the agent (15)")
    ap.add_argument("--render", type=int, default=100, help="targets x 31 hops of part 2 (100; 0 = skip)")
    ap.add_argument("--stress", type=int, default=0, help="run stress-ng --cpu N meanwhile (default: none)")
    ap.add_argument("--tree", help="the pingmos tree to measure (default: this script's)")
    args = ap.parse_args()
    if not 0 <= args.targets <= 250:
        print("bench_first_scrape: --targets must be 0 to 250 (127.0.0.1 to 127.0.0.250)", file=sys.stderr)
        return 2
    tree = Path(args.tree).resolve() if args.tree else Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(tree))
    stress = contextlib.ExitStack()  # stress-ng --cpu N for the run (cpu_stress.stress_ng)
    try:
        stress.enter_context(stress_ng(args.stress, "bench_first_scrape"))
    except StressUnavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        print(f"tree {tree}, stress-ng --cpu {args.stress}, load average {os.getloadavg()[0]:.1f}")
        if args.targets:
            agent_part(tree, args.targets, args.duration)
        if args.render:
            render_part(tree, args.render)
    finally:
        stress.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
