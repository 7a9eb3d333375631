#!/usr/bin/env python3
"""Benchmark the probe engine against mtr on the network lab (as root): `.venv/bin/python scripts/bench_engine.py`.

Not a test: it prints figures.

1. Side by side: a 6-hop lab path (5 routers, 2 ms per link and direction). `pingmos report` and `mtr` run at the
   same time in the client namespace at 10 rounds/s. Per hop: each tool's average and their difference, and each
   tool's own probes as a kernel-stamped capture on the client's link saw them ("wire": what the network really
   took), so a difference can be pinned on the tool that has it. Then CPU seconds per 1000 probes of each (user +
   system, from wait4() of each process; mtr's figure includes mtr-packet), total and marginal (a 1-round run
   subtracted, which removes start-up: Python imports for pingmos), and their ratio. Then pingmos's marginal
   once more without its end-of-run snapshot (hop statistics, MOS and the MOS's bootstrap interval, 200 resamples
   per hop through the model: work a one-round run skips and mtr does not do at all), timed inside its process:
   what probing costs it (send, receive, match, fold each sample into the history), beside mtr's marginal.
2. Sustained rate: a 30-hop lab path (29 routers, 0.5 ms per link and direction) at 10 rounds/s for ~20 s, pingmos
   and mtr at once: the probe rate pingmos sustained and how far its rounds fell behind schedule (both from the
   capture), per-hop averages of both tools, and the drift of pingmos's own probes between the first and the last
   quarter of the run.

``--repo PATH`` (repeatable) runs another pingmos tree (e.g. ``git worktree add /tmp/old 47cbff7``); with two or
more, each tree's parts 1 and 2 run one after the other in the same run, each beside its own mtr, and the last
lines give each tree's ratios (marginal and probing; the issue's target is the marginal one at 30 hops).

mtr runs under SCHED_FIFO (`chrt -f 5`): it stamps replies in user space, and on a busy 2-core machine its
figures would otherwise carry its own wake-up latency (see tests/lab/test_mtr_crosscheck.py). pingmos runs as a
normal process: it uses the kernel's receive stamps.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.netlab import Lab, LinkSpec, lab_unavailable_reason, uniform_chain  # noqa: E402
from tests.netlab.lab import CapturedProbe  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36
STARTUP_RUNS = 3


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    cpu_s: float  # user + system of the process and every descendant we could account for
    pids: list[int]  # the process and the descendants seen while it ran


class Child:
    """A process in the lab whose CPU time we account exactly: wait4() on it, and on its descendants, which are
    reparented to us (we are a child subreaper) if it does not reap them itself."""

    def __init__(self, lab: Lab, argv: list[str]):
        # Files, not pipes: nobody reads a pipe while we sit in wait4(). They live as long as this Child.
        self._out = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        self._err = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        self.proc = lab.popen(argv, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err, text=True)
        self.descendants: set[int] = set()

    def look_for_descendants(self) -> None:
        todo = [self.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            for kid in map(int, kids):
                if kid not in self.descendants:
                    self.descendants.add(kid)
                todo.append(kid)

    def wait(self) -> Finished:
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
        for pid in self.descendants:
            try:  # an orphan reparented to us; one its parent reaped is already in the parent's rusage
                _, _, usage = os.wait4(pid, 0)
            except ChildProcessError:
                continue
            cpu += usage.ru_utime + usage.ru_stime
        self._out.seek(0)
        self._err.seek(0)
        pids = [self.proc.pid, *self.descendants]
        return Finished(self.proc.returncode, self._out.read(), self._err.read(), cpu, pids)

    def running(self) -> bool:
        # WNOWAIT: look without reaping, so wait4() still gets the rusage (Popen.poll() would reap it).
        return os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None


def run_together(lab: Lab, argvs: list[list[str]]) -> list[Finished]:
    """Start every argv in the client namespace at once; wait for all; CPU of each."""
    children = [Child(lab, argv) for argv in argvs]
    while any(c.running() for c in children):
        for c in children:
            c.look_for_descendants()
        time.sleep(0.05)
    return [c.wait() for c in children]


# `pingmos report` run through this: the same command line, and on stderr the CPU its end-of-run snapshot took
# (hop statistics, MOS, and the MOS's bootstrap interval: 200 resamples per hop through the model), which a report
# of a few rounds skips (fewer than 10 samples a hop) and mtr has no counterpart for. Measured around the call in
# the process itself (user + system of every thread, and of any child it waited for: a user formula's worker).
REPORT_CPU_TAG = "bench_engine: snapshot_cpu_s="
REPO_ENV = "PINGMOS_BENCH_REPO"  # the tree whose pingmos the children run (--repo)
PINGMOS_WRAPPER = f"""
import atexit, os, resource, sys
# The tree under test first (--repo): the lab puts its own repository on PYTHONPATH ahead of ours.
sys.path.insert(0, os.environ["{REPO_ENV}"])
import pingmos
if os.path.dirname(os.path.dirname(os.path.abspath(pingmos.__file__))) != os.environ["{REPO_ENV}"]:
    sys.exit("bench_engine: pingmos was imported from " + pingmos.__file__)
from pingmos.state import trace

def cpu():
    usages = map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return sum(r.ru_utime + r.ru_stime for r in usages)

spent = [0.0]
snapshot = trace.TraceState.snapshot

def timed(*args, **kw):
    start = cpu()
    try:
        return snapshot(*args, **kw)
    finally:
        spent[0] += cpu() - start

trace.TraceState.snapshot = timed
atexit.register(lambda: print("{REPORT_CPU_TAG}%.6f" % spent[0], file=sys.stderr))
from pingmos.cli import main
sys.argv[0] = "pingmos"
sys.exit(main(sys.argv[1:]))
"""


def snapshot_cpu_s(stderr: str) -> float:
    """What PINGMOS_WRAPPER printed: CPU seconds in the report's end-of-run snapshot."""
    for line in stderr.splitlines():
        if line.startswith(REPORT_CPU_TAG):
            return float(line[len(REPORT_CPU_TAG) :])
    raise SystemExit(f"bench_engine: pingmos did not say its snapshot's CPU time: {stderr.strip()[-2000:]}")


def pingmos_argv(target: str, count: int, interval_s: float, timeout_s: float) -> list[str]:
    return [
        sys.executable,
        "-c",
        PINGMOS_WRAPPER,
        "report",
        target,
        "-c",
        str(count),
        "-i",
        str(interval_s),
        "--timeout",
        str(timeout_s),
        "--no-dns",
        "--format",
        "json",
    ]


def mtr_argv(target: str, count: int, interval_s: float, max_ttl: int = 30) -> list[str]:
    return ["chrt", "-f", "5", "mtr", "-n", "--json", "-c", str(count), "-i", str(interval_s), "-G", "1"] + [
        "-m",
        str(max_ttl),
        target,
    ]


def by_tool(probes: list[CapturedProbe], mtr_pids: list[int]) -> tuple[list[CapturedProbe], list[CapturedProbe]]:
    """(pingmos's probes, mtr's probes): mtr-packet uses its pid as the ICMP identifier."""
    mtr_idents = {pid & 0xFFFF for pid in mtr_pids}
    pm = [p for p in probes if p.key[0] == "icmp" and p.key[1] not in mtr_idents]
    mtr = [p for p in probes if p.key[0] == "icmp" and p.key[1] in mtr_idents]
    return pm, mtr


def wire_avg(probes: list[CapturedProbe], ttl: int) -> float | None:
    rtts = [p.rtt_ms for p in probes if p.ttl == ttl and p.rtt_ms is not None]
    return statistics.fmean(rtts) if rtts else None


def fmt(value: float | None, width: int = 8, decimals: int = 3) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{decimals}f}"


def diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def side_by_side(lab: Lab, rounds: int, interval_s: float) -> tuple[dict, dict, list[CapturedProbe], list, list]:
    """pingmos and mtr at once; returns pingmos's JSON, mtr's JSON, the capture and both Finished."""
    target = lab.target_addr
    with lab.capture() as cap:
        argvs = [pingmos_argv(target, rounds, interval_s, 1.0), mtr_argv(target, rounds, interval_s)]
        pm, mtr = run_together(lab, argvs)
    for name, f in (("pingmos", pm), ("mtr", mtr)):
        if f.returncode != 0:
            raise SystemExit(f"{name} failed ({f.returncode}): {f.stderr.strip()[-2000:]}")
    if cap.dropped:
        print(f"warning: the capture dropped {cap.dropped} packets", file=sys.stderr)
    return json.loads(pm.stdout), json.loads(mtr.stdout), cap.probes(), pm, mtr


def print_hops(lab: Lab, doc: dict, mtr_doc: dict, pm_wire: list, mtr_wire: list) -> list[float]:
    hubs = {i: h for i, h in enumerate(mtr_doc["report"]["hubs"], start=1)}
    print(
        f"{'hop':>3}  {'address':<13} {'config':>7} {'pingmos':>8} {'mtr':>8} {'pm-mtr':>8} | "
        f"{'wire pm':>8} {'wire mtr':>8} {'pm-wire':>8} {'mtr-wire':>8} | {'loss pm':>7} {'loss mtr':>8}"
    )
    diffs = []
    for hop in doc["hops"]:
        ttl = hop["ttl"]
        m = hubs.get(ttl, {})
        w_pm, w_mtr = wire_avg(pm_wire, ttl), wire_avg(mtr_wire, ttl)
        d = diff(hop["avg_ms"], m.get("Avg"))
        if d is not None:
            diffs.append(d)
        print(
            f"{ttl:>3}  {hop['address'] or '???':<13} {lab.path_rtt_ms(ttl):>7.1f} {fmt(hop['avg_ms'])} "
            f"{fmt(m.get('Avg'))} {fmt(d)} | {fmt(w_pm)} {fmt(w_mtr)} {fmt(diff(hop['avg_ms'], w_pm))} "
            f"{fmt(diff(m.get('Avg'), w_mtr))} | {fmt(hop['loss_pct'], 7, 1)} {fmt(m.get('Loss%'), 8, 1)}"
        )
    return diffs


def cpu_line(label: str, pm_cpu: float, pm_probes: float, mtr_cpu: float, mtr_probes: float) -> float:
    pm_k = 1000 * pm_cpu / pm_probes if pm_probes else float("nan")
    mtr_k = 1000 * mtr_cpu / mtr_probes if mtr_probes else float("nan")
    print(
        f"  {label:<40} pingmos {pm_k:7.3f} s ({pm_cpu:5.2f} s / {pm_probes:5.0f} probes)  "
        f"mtr {mtr_k:6.3f} s ({mtr_cpu:5.2f} s / {mtr_probes:5.0f} probes)  ratio pingmos/mtr {pm_k / mtr_k:5.2f}"
    )
    return pm_k / mtr_k


def part1(rounds: int) -> tuple[tuple[float, int, float, int, float], tuple[float, float]]:
    print(f"== 1. side by side: 6 hops, 2 ms per link and direction, {rounds} rounds at 0.1 s, at the same time ==")
    with Lab.build(*uniform_chain(5, LinkSpec.symmetric(2.0))) as lab:
        doc, mtr_doc, probes, pm, mtr = side_by_side(lab, rounds, 0.1)
        pm_wire, mtr_wire = by_tool(probes, mtr.pids)
        diffs = print_hops(lab, doc, mtr_doc, pm_wire, mtr_wire)
        worst, mean = max(map(abs, diffs)), statistics.fmean(diffs)
        print(f"  per-hop avg, pingmos - mtr: max |diff| {worst:.3f} ms, mean {mean:+.3f} ms")
        # Start-up cost: the same with one round (mean of STARTUP_RUNS, it varies by a tenth of a second); the
        # difference is the cost of the extra probes alone.
        ones = []
        for _ in range(STARTUP_RUNS):
            _, _, probes1, pm1, mtr1 = side_by_side(lab, 1, 0.1)
            pm_wire1, mtr_wire1 = by_tool(probes1, mtr1.pids)
            ones.append((pm1.cpu_s, len(pm_wire1), mtr1.cpu_s, len(mtr_wire1), snapshot_cpu_s(pm1.stderr)))
    pm1_s, pm1_n, mtr1_s, mtr1_n, snap1_s = (statistics.fmean(col) for col in zip(*ones, strict=True))
    snap_s = snapshot_cpu_s(pm.stderr)
    print("CPU seconds per 1000 probes (user + system; mtr includes mtr-packet):")
    cpu_line("whole run", pm.cpu_s, len(pm_wire), mtr.cpu_s, len(mtr_wire))
    cpu_line(f"one-round run (start-up, mean of {STARTUP_RUNS})", pm1_s, pm1_n, mtr1_s, mtr1_n)
    marginal = cpu_line(
        "marginal (whole - one-round)",
        pm.cpu_s - pm1_s,
        len(pm_wire) - pm1_n,
        mtr.cpu_s - mtr1_s,
        len(mtr_wire) - mtr1_n,
    )
    probing = probing_line(
        pm.cpu_s - snap_s - (pm1_s - snap1_s), len(pm_wire) - pm1_n, mtr.cpu_s - mtr1_s, len(mtr_wire) - mtr1_n
    )
    print(f"  (pingmos's end-of-run snapshot took {snap_s:.2f} s of its whole run, {snap1_s:.2f} s of a one-round run)")
    return (pm1_s, pm1_n, mtr1_s, mtr1_n, snap1_s), (marginal, probing)


def probing_line(pm_cpu: float, pm_probes: float, mtr_cpu: float, mtr_probes: float) -> float:
    """The marginal without pingmos's end-of-run snapshot: what probing costs (sending, receiving, matching, and
    each sample folded into the report's history), the figure to hold against mtr's marginal."""
    return cpu_line("marginal, probing (the snapshot taken out)", pm_cpu, pm_probes, mtr_cpu, mtr_probes)


def part2(rounds: int, startup: tuple[float, int, float, int, float] | None) -> tuple[float, float] | None:
    routers = 29
    print()
    print(f"== 2. sustained rate: 30 hops, 0.5 ms per link and direction, {rounds} rounds at 0.1 s, with mtr ==")
    with Lab.build(*uniform_chain(routers, LinkSpec.symmetric(0.5))) as lab:
        started = time.monotonic()
        doc, mtr_doc, probes, pm, mtr = side_by_side(lab, rounds, 0.1)
        wall_s = time.monotonic() - started
        relay = lab.relay_stats()
        pm_wire, mtr_wire = by_tool(probes, mtr.pids)
        diffs = print_hops(lab, doc, mtr_doc, pm_wire, mtr_wire)
    tx = sorted(p.tx_ns for p in pm_wire)
    span_s = (tx[-1] - tx[0]) / 1e9
    firsts = sorted(p.tx_ns for p in pm_wire if p.ttl == 1)  # one per round
    lags_ms = [(t - firsts[0]) / 1e6 - r * 100.0 for r, t in enumerate(firsts)]
    print(
        f"pingmos sent {len(pm_wire)} probes in {span_s:.2f} s: {len(pm_wire) / span_s:.1f} probes/s, "
        f"{(len(firsts) - 1) / ((firsts[-1] - firsts[0]) / 1e9):.3f} rounds/s (asked: 10); round start behind "
        f"schedule: max {max(lags_ms):+.2f} ms, last round {lags_ms[-1]:+.2f} ms, "
        f"{sum(lag > 5.0 for lag in lags_ms)} of {len(lags_ms)} rounds more than 5 ms late"
    )
    mtr_tx = sorted(p.tx_ns for p in mtr_wire)
    print(f"mtr sent {len(mtr_wire)} probes in {(mtr_tx[-1] - mtr_tx[0]) / 1e9:.2f} s (both runs took {wall_s:.1f} s)")
    wire_replies = sum(1 for p in pm_wire if p.rtt_ms is not None and p.ttl <= len(doc["hops"]))
    print(
        f"pingmos counted {sum(h['received'] for h in doc['hops'])} replies, the wire saw {wire_replies} to its "
        f"probes up to the destination; it set aside {doc['unmatched_replies']} replies to mtr's probes"
    )
    worst, mean = max(map(abs, diffs)), statistics.fmean(diffs)
    print(f"per-hop avg, pingmos - mtr: max |diff| {worst:.3f} ms, mean {mean:+.3f} ms")
    # Drift: quarter by quarter of the run, the two tools' probes to each hop as the wire saw them. Each tool's
    # report is its wire figure plus its own (constant) measurement error, shown above as pm-wire / mtr-wire.
    n_hops = len(doc["hops"])
    print("quarter by quarter: pingmos's probes - mtr's probes to the same hop, as the wire saw them (ms)")
    edges = [tx[0] + (tx[-1] - tx[0]) * q // 4 for q in range(5)]
    for q in range(4):
        pm_q = [p for p in pm_wire if edges[q] <= p.tx_ns <= edges[q + 1]]
        mtr_q = [p for p in mtr_wire if edges[q] <= p.tx_ns <= edges[q + 1]]
        ds = [diff(wire_avg(pm_q, t), wire_avg(mtr_q, t)) for t in range(1, n_hops + 1)]
        ds = [d for d in ds if d is not None]
        if not ds:  # a heavily loaded machine can leave pingmos's rounds so late that mtr had finished by then
            print(f"  quarter {q + 1}: no hop probed by both tools in this quarter")
            continue
        print(
            f"  quarter {q + 1}: max |diff| {max(map(abs, ds)):.3f}, mean {statistics.fmean(ds):+.3f}; "
            f"pingmos's probes to hop {n_hops} took {fmt(wire_avg(pm_q, n_hops), 0)} ms on the wire"
        )
    late_max = max(max(s["fwd"]["lateness_max_ms"], s["rev"]["lateness_max_ms"]) for s in relay)
    link_hops = sum(s["fwd"]["packets_in"] + s["rev"]["packets_in"] for s in relay)
    print(f"relay: worst delivery lateness {late_max:.2f} ms over {link_hops} packet-link traversals")
    print("CPU seconds per 1000 probes (user + system; mtr includes mtr-packet):")
    cpu_line("whole run", pm.cpu_s, len(pm_wire), mtr.cpu_s, len(mtr_wire))
    snap_s = snapshot_cpu_s(pm.stderr)
    ratios = None
    if startup is not None:
        pm1, pm1_probes, mtr1, mtr1_probes, snap1 = startup
        marginal = cpu_line(
            "minus part 1's one-round run",
            pm.cpu_s - pm1,
            len(pm_wire) - pm1_probes,
            mtr.cpu_s - mtr1,
            len(mtr_wire) - mtr1_probes,
        )
        pm_probing_s = pm.cpu_s - snap_s - (pm1 - snap1)
        probing = probing_line(pm_probing_s, len(pm_wire) - pm1_probes, mtr.cpu_s - mtr1, len(mtr_wire) - mtr1_probes)
        ratios = (marginal, probing)
    print(f"  (pingmos's end-of-run snapshot took {snap_s:.2f} s)")
    print(f"  pingmos used {100 * pm.cpu_s / wall_s:.1f} % of one CPU, mtr {100 * mtr.cpu_s / wall_s:.1f} %")
    return ratios


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=100, help="rounds of part 1 (100, i.e. 10 s)")
    p.add_argument("--sustain-rounds", type=int, default=200, help="rounds of part 2 (200, i.e. 20 s)")
    p.add_argument(
        "--repo",
        action="append",
        type=Path,
        help="the pingmos tree to run (a checkout, e.g. `git worktree add /tmp/old 47cbff7`); give it twice or "
        "more to run the trees one after the other in this run, each beside its own mtr (default: this tree)",
    )
    args = p.parse_args(argv)
    repos = [r.resolve() for r in args.repo or [REPO_ROOT]]
    for repo in repos:
        if not (repo / "pingmos" / "__init__.py").is_file():
            print(f"bench_engine: {repo} is not a pingmos tree (no pingmos/__init__.py)", file=sys.stderr)
            return 2
    reason = lab_unavailable_reason()
    if reason:
        print(f"bench_engine: {reason}", file=sys.stderr)
        return 2
    for tool in ("mtr", "chrt"):
        if shutil.which(tool) is None:
            print(f"bench_engine: {tool} is not installed (bash scripts/setup_env installs it)", file=sys.stderr)
            return 2
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    summary = []
    for repo in repos:
        os.environ[REPO_ENV] = str(repo)  # the pingmos children import this tree's package (PINGMOS_WRAPPER)
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"machine: {os.cpu_count()} CPUs, load average {load} (load delays pingmos's wake-ups, not its stamps)")
        print(f"pingmos from {repo}")
        startup, six = part1(args.rounds)
        thirty = part2(args.sustain_rounds, startup)
        summary.append((repo, six, thirty))
        print()
    print("CPU per probe, pingmos / mtr, marginal and probing (the issue's target: marginal <= 1.3):")
    for repo, six, thirty in summary:
        line = f"  6 hops {six[0]:.2f}x, {six[1]:.2f}x"
        if thirty is not None:
            line += f"; 30 hops {thirty[0]:.2f}x, {thirty[1]:.2f}x"
        print(f"{line}  ({repo})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
