#!/usr/bin/env python3
"""One `pingmos monitor` agent against many targets on the network lab: CPU share, memory, late rounds, per-hop
accuracy against the lab's configured delays. Needs root (the lab builds network namespaces).

    sudo .venv/bin/python scripts/bench_monitor.py [--targets 100] [--routers 30] [--interval 1] [--duration 60]

The lab is one chain of --routers routers; every target traces through all of it to the lab's destination (so a
target has routers + 1 hops), half of them with ICMP echo, half with UDP to a port of their own (distinct flows;
the agent sends each target's probes from its own socket). The agent runs as its own process inside the lab's
client namespace, exactly as `pingmos monitor` runs anywhere, recording sessions to a temporary directory; the
figures come from /proc (CPU time, resident memory) and from its /metrics (probes, late rounds, per-hop latency).

What limits the figures on a small machine is often the lab, not the agent: every probe to hop k crosses k
user-space relay links there and back. The relay's own lateness is printed beside the agent's accuracy, so an
error can be told apart from the lab's.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pingmos.monitor.metrics import LATE_MIN_S, LATE_SHARE  # noqa: E402
from pingmos.monitor.prober import TIMELINE_ENV  # noqa: E402
from tests.netlab import LinkSpec, uniform_chain  # noqa: E402
from tests.netlab.lab import Lab, lab_unavailable_reason  # noqa: E402
from tests.netlab.relay import in_netns  # noqa: E402

LISTEN = "127.0.0.1:9813"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_SAMPLE = re.compile(r"^([a-z_]+)\{([^}]*)\} (\S+)$", re.MULTILINE)


SCRAPE_S: list[float] = []  # how long each scrape took (Prometheus's default scrape_timeout is 10 s)


def scrape(ns: str, dump: str | None = None) -> list[tuple[str, dict, float]]:
    t0 = time.monotonic()
    with in_netns(ns), _OPENER.open(f"http://{LISTEN}/metrics", timeout=300) as r:
        text = r.read().decode()
    SCRAPE_S.append(time.monotonic() - t0)
    if dump:
        Path(dump).write_text(text)
    out = []
    for name, labels, value in _SAMPLE.findall(text):
        out.append((name, dict(re.findall(r'(\w+)="([^"]*)"', labels)), float(value)))
    return out


def scrape_times() -> str:
    if len(SCRAPE_S) <= 4:
        return ", ".join(f"{s:.1f}" for s in SCRAPE_S) + " s"
    return f"{statistics.median(SCRAPE_S):.2f} s median, {max(SCRAPE_S):.2f} s max ({len(SCRAPE_S)} scrapes)"


def total(samples, name: str) -> float:
    return sum(v for n, _, v in samples if n == name)


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # deleted by the retention meanwhile
        return 0


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (the agent's probing process; a probe helper, alert commands)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def own_cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of the process, every thread (0 when it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    return int(fields[11]) / os.sysconf("SC_CLK_TCK"), int(fields[12]) / os.sysconf("SC_CLK_TCK")


def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of the agent and the processes it runs now (its probing process)."""
    times = [own_cpu_times(p) for p in (pid, *children(pid))]
    return sum(u for u, _ in times), sum(s for _, s in times)


def machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine since boot, all cores (/proc/stat): busy is everything but
    idle, iowait and steal; steal is time the host ran something else while a virtual CPU of ours wanted to run."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    tck = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tck, steal / tck


def child_cpu_seconds(pid: int) -> float:
    return sum(sum(own_cpu_times(p)) for p in children(pid))


def cpu_seconds(pid: int) -> float:
    return sum(cpu_times(pid))


def child_rss_mb(pid: int) -> float:
    total_mb = 0.0
    for p in children(pid):
        with contextlib.suppress(OSError, AttributeError):
            total_mb += rss_mb(p)[0]
    return total_mb


def rss_mb(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    get = lambda key: int(re.search(rf"^{key}:\s+(\d+) kB", status, re.MULTILINE).group(1)) / 1024  # noqa: E731
    return get("VmRSS"), get("VmHWM")


def memory_trend(elapsed: list[float], rss: list[float], blocks: list[float]) -> str:
    """The issue's "memory bounded over a 1-hour run": the resident size at 5, 30 and 60 minutes (the reading
    nearest each) and its least-squares slope after the first 5 minutes (the windows fill and the first session
    files open before), in MB per hour; the same slope of Python's allocated blocks when they were read."""

    def at(minute: float) -> str:
        if elapsed[-1] < minute * 60 - 60:
            return f"{minute:g} min: -"
        i = min(range(len(elapsed)), key=lambda k: abs(elapsed[k] - minute * 60))
        return f"{minute:g} min: {rss[i]:.1f} MB"

    def slope(ys: list[float]) -> float:
        pts = [(t / 3600, y) for t, y in zip(elapsed, ys, strict=False) if t >= 300]
        if len(pts) < 2:
            return math.nan
        mt, my = statistics.fmean(t for t, _ in pts), statistics.fmean(y for _, y in pts)
        den = sum((t - mt) ** 2 for t, _ in pts)
        return sum((t - mt) * (y - my) for t, y in pts) / den if den else math.nan

    line = f"memory over the run: resident {', '.join(at(m) for m in (5, 30, 60))}; slope after 5 min "
    line += f"{slope(rss):+.2f} MB/h"
    if blocks:
        line += f"; Python's allocated blocks {blocks[0]:.0f} -> {blocks[-1]:.0f}, slope {slope(blocks):+.0f}/h"
    return line


def explain_late(path: str, t0: float, t1: float, interval_s: float) -> list[str]:
    """What the probing process's timeline (``prober.Timeline``) says about the rounds due between t0 and t1
    (monotonic s): lateness against the schedule itself (the agent's late_rounds measures against the first
    round's send time), and for the late ones where the time went."""
    rounds, gcs, flushes = [], [], []
    for line in Path(path).read_text().splitlines():
        f = line.split()
        if f[0] == "R" and len(f) == 9:
            due, woke, called, stamp = map(float, f[4:8])
            if t0 <= due <= t1:
                rounds.append((due, woke - due, called - woke, stamp - called, stamp - due, f[8], int(f[2]), f[1]))
        elif f[0] == "G":
            gcs.append((float(f[1]), float(f[2]), int(f[3])))
        elif f[0] == "F":
            flushes.append(tuple(map(float, f[1:4])))
    if not rounds:
        return ["timeline: no rounds noted in the measured time"]
    limit = max(LATE_MIN_S, LATE_SHARE * interval_s)
    ms = lambda xs: "/".join(f"{1000 * x:.1f}" for x in xs)  # noqa: E731
    lat = sorted(r[4] for r in rounds)
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
    out = [f"timeline: {len(rounds)} rounds; first probe's send stamp after its due time: median/p99/p99.9/max "
           f"{ms([pct(0.5), pct(0.99), pct(0.999), lat[-1]])} ms; late (> {limit * 1000:.0f} ms): "
           f"{sum(x > limit for x in lat)}"]  # fmt: skip
    in_gc = [g for g in gcs if t0 <= g[0] <= t1]
    if in_gc:
        long_gc = sorted(g[1] for g in in_gc)
        out.append(f"timeline: {len(in_gc)} garbage collections in the probing process (generation 2: "
                   f"{sum(g[2] == 2 for g in in_gc)}), pause median/max "
                   f"{ms([long_gc[len(long_gc) // 2], long_gc[-1]])} ms")  # fmt: skip
    fl = [(w - d, r - w) for d, w, r in flushes if t0 <= d <= t1]
    if fl:
        wake = sorted(x for x, _ in fl)
        write = sorted(x for _, x in fl)
        out.append(f"timeline: the flusher's 20 ms timer woke late by median/p99/max "
                   f"{ms([wake[len(wake) // 2], wake[int(0.99 * len(wake))], wake[-1]])} ms; its writes to the agent "
                   f"took median/max {ms([write[len(write) // 2], write[-1]])} ms")  # fmt: skip
    late = sorted(r for r in rounds if r[4] > limit)
    # Stalls: late rounds due within a second of each other are one event.
    stalls: list[list[tuple]] = []
    for r in late:
        if stalls and r[0] - stalls[-1][-1][0] < 1.0:
            stalls[-1].append(r)
        else:
            stalls.append([r])
    for group in stalls[:12]:
        a, b = group[0][0], group[-1][0]
        worst = max(group, key=lambda r: r[4])
        protos = collections.Counter(r[5] for r in group)
        threads = collections.Counter(r[6] for r in group)
        gc_s = sum(g[1] for g in gcs if a - 0.5 <= g[0] <= b + 0.5)
        flush_late = max((w - d for d, w, _ in flushes if a - 0.2 <= d <= b + 0.2), default=float("nan"))
        out.append(f"  stall at +{a - t0:.1f} s: {len(group)} late rounds due over {1000 * (b - a):.0f} ms "
                   f"({dict(protos)}, loop threads {dict(sorted(threads.items()))}); worst {1000 * worst[4]:.0f} ms = "
                   f"wake {1000 * worst[1]:.0f} + in the loop before its turn {1000 * worst[2]:.0f} + send "
                   f"{1000 * worst[3]:.0f}; GC {1000 * gc_s:.0f} ms nearby; the flusher's timer late by "
                   f"{1000 * flush_late:.0f} ms")  # fmt: skip
    if len(stalls) > 12:
        out.append(f"  ... {len(stalls) - 12} more stalls")
    # When in the interval the targets' rounds start: all at one instant means every stall hits all or none.
    bins = [0] * 10
    for r in rounds:
        bins[min(9, int(10 * ((r[0] % interval_s) / interval_s)))] += 1
    out.append(f"timeline: rounds starting in each tenth of the interval: {bins}")
    return out


def config(lab: Lab, targets: int, data_dir: str | None, args) -> str:
    lines = [
        "[agent]",
        f'probe_mode = "{args.mode}"',
        *([f'data_dir = "{data_dir}"'] if data_dir else []),
        'vantage = "bench"',
        f"window = {args.window}",
        f"interval_s = {args.interval}",
        f"max_ttl = {len(lab.routers) + 1}",
        "max_probes_per_s = 1000000",
        f"refresh_s = {args.refresh:g}",
        f"session_hours = {args.session_hours:g}",
        f"retention_mb = {args.retention_mb:g}",
        *([f'model = "{args.model}"'] if args.model else []),
        f'mos_interval = "{args.mos_interval}"',
        f"engine_threads = {args.engine_threads}",
    ]
    for i in range(targets):
        lines += ["[[target]]", f'host = "{lab.target_addr}"', f'name = "t{i:03d}"']
        if i % 2:
            lines += ['protocol = "udp"', f"port = {40000 + i}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", type=int, default=100)
    ap.add_argument("--routers", type=int, default=30)
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between a target's rounds (1)")
    ap.add_argument("--delay", type=float, default=1.0, help="one-way delay per link, ms (1)")
    ap.add_argument("--warmup", type=float, help="seconds before measuring (default: until the windows are full, "
                    "window x interval + 10 s, at least 20 s)")  # fmt: skip
    ap.add_argument("--duration", type=float, default=60.0, help="seconds measured (60)")
    ap.add_argument("--window", type=int, default=30, help="samples per hop in the gauges (30)")
    ap.add_argument("--mode", default="auto", help="[agent] probe_mode: auto (unprivileged sockets first), raw ...")
    ap.add_argument("--refresh", type=float, default=5.0, help="[agent] refresh_s: window gauges recomputed (5)")
    ap.add_argument("--session-hours", type=float, default=1.0, help="[agent] session_hours (1)")
    ap.add_argument("--retention-mb", type=float, default=1024.0, help="[agent] retention_mb (1024)")
    ap.add_argument("--model", help="[agent] model (default: the product's default)")
    ap.add_argument("--mos-interval", default="last", help="[agent] mos_interval: last, all, none (last)")
    ap.add_argument("--engine-threads", type=int, default=0,
                    help="[agent] engine_threads: threads sending and receiving (0: one per 25 targets)")  # fmt: skip
    ap.add_argument("--dump", metavar="FILE", help="write the last /metrics scrape to FILE")
    ap.add_argument("--no-record", action="store_true", help="no data_dir: sessions are not recorded")
    ap.add_argument(
        "--rss-log", metavar="FILE", help="append 'elapsed_s rss_mb cpu_s session_mb files' every --every s"
    )
    ap.add_argument("--every", type=float, default=5.0, help="seconds between memory readings (5)")
    ap.add_argument("--timeline", metavar="FILE", help="the probing process notes where each round's first probe "
                    "spent its time (wake-up, interpreter, send; garbage collections; its writes to the agent) "
                    "to FILE, and the late ones are explained")  # fmt: skip
    ap.add_argument("--py-spy", metavar="FILE", help="also profile the agent with py-spy (collapsed stacks to FILE)")
    args = ap.parse_args()
    if args.warmup is None:
        args.warmup = max(20.0, args.window * args.interval + 10.0)
    reason = lab_unavailable_reason()
    if reason:
        print(f"bench_monitor: {reason}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    with Lab.build(*uniform_chain(args.routers, LinkSpec.symmetric(args.delay))) as lab, \
            tempfile.TemporaryDirectory(prefix="pingmos-bench-") as tmp:  # fmt: skip
        print(
            f"lab: {args.routers} routers, {args.delay:g} ms per link each way, built in {time.monotonic() - t0:.1f} s"
        )
        cfg = Path(tmp) / "agent.toml"
        data_dir = None if args.no_record else str(Path(tmp) / "data")
        cfg.write_text(config(lab, args.targets, data_dir, args))
        hops = args.routers + 1
        print(f"agent: {args.targets} targets x {hops} hops every {args.interval:g} s "
              f"(up to {args.targets * hops / args.interval:.0f} probes/s), window {args.window}")  # fmt: skip
        env = dict(os.environ)
        if args.timeline:
            Path(args.timeline).unlink(missing_ok=True)
            env[TIMELINE_ENV] = str(Path(args.timeline).resolve())
        agent = lab.popen([sys.executable, "-m", "pingmos", "monitor", str(cfg), "--listen", LISTEN, "--no-dns"],
                          cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
        try:
            time.sleep(args.warmup)
            if agent.poll() is not None:
                print(agent.stderr.read(), file=sys.stderr)
                return 1
            # CPU and wall time are read just before each of the two scrapes: the counters are taken as a scrape
            # starts rendering, and a scrape on a busy machine can take many seconds to return.
            (user0, sys0), wall0 = cpu_times(agent.pid), time.monotonic()
            child0 = child_cpu_seconds(agent.pid)
            machine0 = machine_cpu()
            before = scrape(lab.client_ns)
            cpu0 = user0 + sys0
            load0 = os.getloadavg()[0]
            lab.reset_relay_stats()
            rss_series: list[float] = []  # resident MB every --every s, at the elapsed seconds beside it
            elapsed: list[float] = []
            blocks_series: list[float] = []  # with --rss-log: the agent's Python heap (allocated blocks)
            spy = None
            if args.py_spy:
                # --gil: only the thread holding the GIL is sampled, i.e. where the agent's Python CPU time goes
                # (without it, threads waiting for the GIL after a system call look busy in that call).
                spy_bin = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
                spy_cmd = [spy_bin, "record", "--pid", str(agent.pid), "--format", "raw", "--gil", "--nonblocking",
                           "--rate", "100", "--duration", str(int(args.duration)), "-o", args.py_spy]  # fmt: skip
                spy = subprocess.Popen(spy_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # An independent reference under the same lab load: a one-socket, single-threaded prober with kernel
            # receive stamps (tests/netlab/probe.py) at a few TTLs, while the agent runs.
            ref_ttls = sorted({1, (hops + 1) // 2, hops})
            reference = lab.probe(ref_ttls, count=40, interval_ms=50.0, timeout_ms=1000.0)
            log = open(args.rss_log, "a") if args.rss_log else None  # noqa: SIM115
            if log:
                print(f"# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {args.targets} targets x {hops} hops, "
                      f"interval {args.interval:g} s; "
                      "elapsed_s rss_mb cpu_s session_mb session_files python_blocks",
                      file=log, flush=True)  # fmt: skip
            while time.monotonic() - wall0 < args.duration:
                time.sleep(max(0.01, min(args.every, args.duration - (time.monotonic() - wall0))))
                rss_series.append(rss_mb(agent.pid)[0])
                elapsed.append(time.monotonic() - wall0)
                if log:
                    files = list(Path(data_dir).rglob("*.pingmos*")) if data_dir else []
                    disk_mb = sum(file_size(f) for f in files) / 1e6
                    blocks = total(scrape(lab.client_ns), "pingmos_agent_python_allocated_blocks")
                    blocks_series.append(blocks)
                    print(f"{elapsed[-1]:.0f} {rss_series[-1]:.1f} {cpu_seconds(agent.pid) - cpu0:.1f} "
                          f"{disk_mb:.1f} {len(files)} {blocks:.0f}", file=log, flush=True)  # fmt: skip
            if log:
                log.close()
            if spy is not None:
                spy.wait()
            (user1, sys1), wall1 = cpu_times(agent.pid), time.monotonic()
            child1, child_rss = child_cpu_seconds(agent.pid), child_rss_mb(agent.pid)
            machine1 = machine_cpu()
            after = scrape(lab.client_ns, args.dump)
            cpu1 = user1 + sys1
            relay = lab.relay_stats()
        finally:
            agent.terminate()
            try:
                _, err = agent.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                agent.kill()
                _, err = agent.communicate()
        wall = wall1 - wall0
        sent = total(after, "pingmos_hop_probes_sent_total") - total(before, "pingmos_hop_probes_sent_total")
        rounds = sum(v for n, lb, v in after if n == "pingmos_hop_probes_sent_total" and lb["hop"] == "1") - sum(
            v for n, lb, v in before if n == "pingmos_hop_probes_sent_total" and lb["hop"] == "1"
        )
        late = total(after, "pingmos_target_late_rounds_total") - total(before, "pingmos_target_late_rounds_total")
        errors = {lb["kind"]: v for n, lb, v in after if n == "pingmos_agent_errors_total" and v}
        rss, hwm = rss_mb(agent.pid) if agent.poll() is None else (rss_series[-1], max(rss_series))
        print(f"measured {wall:.0f} s after {args.warmup:g} s of warm-up; load average (1 min) "
              f"{load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores")  # fmt: skip
        busy, steal = ((b - a) / (wall * os.cpu_count()) for a, b in zip(machine0, machine1, strict=True))
        print(f"the machine meanwhile: {busy:.0%} of its {os.cpu_count()} cores busy (every process, this one's "
              f"lab and agent included), {steal:.1%} stolen by the host (our virtual CPUs waiting)")  # fmt: skip
        print(f"probes settled: {sent / wall:.0f}/s ({sent:.0f}); rounds {rounds:.0f} "
              f"(due {args.targets * wall / args.interval:.0f}), late {late:.0f} "
              f"({100 * late / max(rounds, 1):.2f} %)")  # fmt: skip
        per = 1e6 / max(sent, 1)
        print(f"CPU: {(cpu1 - cpu0) / wall:.1%} of one core ({per * (cpu1 - cpu0):.0f} us per probe: "
              f"user {per * (user1 - user0):.0f}, system {per * (sys1 - sys0):.0f}), the agent's processes together; "
              f"its probing process {(child1 - child0) / wall:.1%} "
              f"({per * (child1 - child0):.0f} us per probe)")  # fmt: skip
        step = max(1, len(rss_series) // 12)
        shown = ", ".join(f"{x:.0f}" for x in rss_series[::step])
        print(f"memory: resident {rss_series[0]:.0f} -> {rss_series[-1]:.0f} MB over the run "
              f"(every {args.every * step:g} s: {shown}), peak {max(hwm, max(rss_series)):.0f} MB; "
              f"its probing process {child_rss:.0f} MB")  # fmt: skip
        if wall >= 600:
            print(memory_trend(elapsed, rss_series, blocks_series))
        print(f"errors: {errors or 'none'}; a scrape of /metrics took {scrape_times()}")
        # Per-hop accuracy: the window's mean RTT against the configured round trip to that hop.
        err_ms, loss = [], []
        for name, lb, v in after:
            if name == "pingmos_hop_latency_seconds" and v == v:
                err_ms.append(v * 1000.0 - lab.path_rtt_ms(int(lb["hop"])))
            if name == "pingmos_hop_loss_ratio" and v == v:
                loss.append(v)
        if err_ms:
            q = statistics.quantiles(err_ms, n=20)
            print(f"per-hop mean RTT - configured ({len(err_ms)} hops): mean {statistics.fmean(err_ms):+.2f} ms, "
                  f"median {statistics.median(err_ms):+.2f}, p95 {q[-1]:+.2f}, max {max(err_ms):+.2f} ms")  # fmt: skip
        by_ttl: dict[int, list[float]] = {}
        for name, lb, v in after:
            if name == "pingmos_hop_latency_seconds" and v == v:
                by_ttl.setdefault(int(lb["hop"]), []).append(v * 1000.0)
        for ttl in ref_ttls:
            ref = [r["rtt_ms"] for r in reference[ttl]["replies"] if r.get("rtt_ms") is not None]
            if ref and by_ttl.get(ttl):
                ours = statistics.fmean(by_ttl[ttl])
                print(f"hop {ttl:2d}: configured {lab.path_rtt_ms(ttl):5.1f} ms, reference prober "
                      f"{statistics.fmean(ref):5.1f} ms ({len(ref)} replies), pingmos mean over targets {ours:5.1f} ms "
                      f"({ours - statistics.fmean(ref):+.1f} vs the reference)")  # fmt: skip
        if loss:
            print(f"per-hop loss (configured 0): mean {statistics.fmean(loss):.2%}, max {max(loss):.2%}")
        lateness = [d["lateness_mean_ms"] for link in relay for d in (link["fwd"], link["rev"])]
        overflow = sum(d["overflow"] + d["write_errors"] for link in relay for d in (link["fwd"], link["rev"]))
        print(f"the lab's relay: mean lateness per link {statistics.fmean(lateness):.2f} ms (x {2 * hops} link "
              f"crossings to the last hop = {statistics.fmean(lateness) * 2 * hops:.1f} ms), overflow/write errors "
              f"{overflow}")  # fmt: skip
        problems = sorted(
            {
                re.sub(r"\bt\d{3}\b", "tNNN", line)
                for line in err.splitlines()
                if "probing via" not in line
                and "reloaded" not in line
                and "metrics at" not in line
                and "monitoring" not in line
            }
        )
        for line in problems[:10]:
            print(f"agent log: {line}")
        if args.timeline:
            for line in explain_late(args.timeline, wall0, wall1, args.interval):
                print(line)
        if "Traceback" in err:
            print(err[-3000:], file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
