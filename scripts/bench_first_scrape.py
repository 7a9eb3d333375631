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
   this process; the CPU time of the first render of /metrics (nothing formatted yet), of a second one (nothing
   changed: every window line is reused) and of a render after every target's window was recomputed (what a
   live agent's scrape costs: windows are recomputed every ``refresh_s``, 5 s, and Prometheus scrapes every
   15 s), median of ``--repeat`` such renders each, and whether the text is byte for byte what
   prometheus_client's ``generate_latest`` writes. The first was 7 x a later one (per-hop family objects), then
   2.7-2.9 x the second: mostly not a first-time cost but the window lines, which the second reuses and a live
   agent's next scrape does not (after a refresh: 0.21 s against 0.23 s for the first, 0.08 s for the second).

``--tree PATH`` measures another pingmos tree (``git worktree add /tmp/old main``); ``--compare OLD`` measures
part 2 of OLD and of this tree in turn, ``--pairs`` times, each in a process of its own, and prints each one's
medians and the ratios (the figures the issue's target is measured by). ``--stress N`` runs ``stress-ng --cpu N``
meanwhile (stopped by its pid). Network safety: loopback only, no DNS.
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


def render_part(tree: Path, targets: int, repeat: int = 3) -> dict:
    import tomllib

    from prometheus_client import CollectorRegistry, generate_latest

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
        views, health = agent.views(), agent.health()  # fixed: the renders and generate_latest see the same
        state = {"views": views}
        collector = AgentCollector(lambda: state["views"], lambda: health, "lab")

        def cpu_of_render() -> tuple[float, bytes]:
            c0 = time.process_time()
            body = render_text(collector)
            return time.process_time() - c0, body

        first, body = cpu_of_render()
        registry = CollectorRegistry(auto_describe=False)
        registry.register(AgentCollector(lambda: state["views"], lambda: health, "lab"))
        exact = body == generate_latest(registry)
        second = sorted(cpu_of_render()[0] for _ in range(repeat))[repeat // 2]
        refreshed = []
        for _ in range(repeat):
            agent.refresh()  # every target's window recomputed: new snapshots
            state["views"] = agent.views()
            refreshed.append(cpu_of_render()[0])
        after = sorted(refreshed)[repeat // 2]
        lines = body.count(b"\n")
        print(
            f"render, {targets} targets x {HOPS} hops ({lines} lines, {'identical to' if exact else 'DIFFERENT from'} "
            f"generate_latest's): CPU of the first {first:.3f} s, a second (nothing changed) {second:.3f} s, one "
            f"after every window was recomputed {after:.3f} s (medians of {repeat}); first / second "
            f"{first / second:.1f}, first / after a refresh {first / after:.1f}"
        )
        return {"first": first, "second": second, "after": after, "exact": exact, "lines": lines}
    finally:
        agent.close()


def compare(old: Path, targets: int, pairs: int, repeat: int) -> None:
    """Part 2 of ``old`` and of this tree in turn, each in a process of its own; their medians and ratios."""
    import json
    import statistics

    this = Path(__file__).resolve().parents[1]
    got: dict[Path, list[dict]] = {old: [], this: []}
    for _ in range(pairs):
        for tree in (old, this):
            out = subprocess.run(
                [sys.executable, __file__, "--tree", str(tree), "--targets", "0", "--render", str(targets),
                 "--repeat", str(repeat), "--json"],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            got[tree].append(json.loads(out.strip().splitlines()[-1]))
    med = {
        t: {k: statistics.median(r[k] for r in runs) for k in ("first", "second", "after")} for t, runs in got.items()
    }
    for tree, m in med.items():
        exact = all(r["exact"] for r in got[tree])
        print(f"{tree}: {targets} x {HOPS} hops, {pairs} runs: CPU first {m['first']:.3f} s, "
              f"second {m['second']:.3f} s, after a refresh {m['after']:.3f} s; "
              f"first / second {m['first'] / m['second']:.2f}, first / after a refresh {m['first'] / m['after']:.2f}; "
              f"text identical to generate_latest's: {exact}")  # fmt: skip
    o, n = med[old], med[this]
    print(f"this / old: first render {n['first'] / o['first']:.2f}, second {n['second'] / o['second']:.2f}, after a "
          f"refresh {n['after'] / o['after']:.2f}")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", type=int, default=5, help="loopback targets of part 1 (5, at most 250; 0 = skip)")
    ap.add_argument("--duration", type=float, default=15.0, help="seconds part 1 scrapes the agent (15)")
    ap.add_argument("--render", type=int, default=100, help="targets x 31 hops of part 2 (100; 0 = skip)")
    ap.add_argument("--stress", type=int, default=0, help="run stress-ng --cpu N meanwhile (default: none)")
    ap.add_argument("--tree", help="the pingmos tree to measure (default: this script's)")
    ap.add_argument("--compare", help="part 2 of this pingmos tree (the old one) and of this script's, in turn")
    ap.add_argument("--pairs", type=int, default=3, help="runs of each tree with --compare (3)")
    ap.add_argument("--repeat", type=int, default=3, help="renders of each kind per run; their median (3)")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # --compare's child: one line of figures
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
        if args.compare:
            compare(Path(args.compare).resolve(), args.render, args.pairs, args.repeat)
            return 0
        if args.targets:
            agent_part(tree, args.targets, args.duration)
        if args.render:
            figures = render_part(tree, args.render, args.repeat)
            if args.json:
                import json

                print(json.dumps(figures))
    finally:
        stress.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
