#!/usr/bin/env python3
"""How often is the verdict right, undecided or wrong? Scenarios on the network lab, many runs each (as root).

    sudo .venv/bin/python scripts/bench_verdict.py --runs 10 --interval 0.03

Each scenario builds one lab (tests/netlab: client -> r1 .. r5 -> target, 1 ms per link and direction) and traces
the target ``--runs`` times for the largest round count; the diagnosis (``pingmos.diagnosis.diagnose``, default
thresholds, no echo witness) is taken over the first 30, 100 and 300 rounds of each run, from the same per-round
snapshot builder a session replay uses. A run is *right* when the status and the hop named are the scenario's
truth, *range* when a problem is located to a range of hops (``Diagnosis.location_ttls``) that holds the true hop,
*undecided* when the diagnosis says "not enough samples yet" (or cannot tell), *wrong* otherwise (a problem named
at another hop, a range without the true hop, a router at or after the true start called rate limiting, "no
problem" where there is one, or a problem where there is none): issue 9's target is wrong = 0, printed last as
"wrong in all", after the mean number of hops a range names ("mean hops per range": narrower is more useful).
``--save DIR`` keeps each scenario's samples; ``--load DIR`` judges them again without the lab
(before/after a change on the same samples: run it in each tree).

Hop k is router k (hop 6 the target); loss or delay on link i (link 0: client - r1) first shows at hop i + 1.
Forwarding loss is bursty (the link is down for stretches of about one round, as congestion loss is): the
per-round judgement of pingmos needs a loss to be lost in the same rounds further on (see pingmos/diagnosis.py).
"""

from __future__ import annotations

import argparse
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import pingmos.engine.tracer  # noqa: E402
from pingmos.diagnosis import NO_PROBLEM, PROBLEM, UNDECIDED, diagnose  # noqa: E402
from pingmos.live_trace import LiveTrace  # noqa: E402
from pingmos.scoring import load_model  # noqa: E402
from pingmos.state import TraceState  # noqa: E402
from tests.netlab import Lab, LabError, LinkSpec, RouterSpec, lab_unavailable_reason  # noqa: E402
from tests.netlab.lab import Direction  # noqa: E402
from tests.netlab.relay import in_netns  # noqa: E402

ROUTERS = 5
BASE_MS = 1.0


@dataclass
class Scenario:
    name: str
    truth: str  # PROBLEM or NO_PROBLEM
    at_ttl: int | None  # the hop a right PROBLEM names
    links: dict[int, LinkSpec] = field(default_factory=dict)  # link index -> its impairment (others clean)
    routers: dict[int, RouterSpec] = field(default_factory=dict)  # router k (1-based) -> its spec
    nft: dict[int, str] = field(default_factory=dict)  # router k -> an nftables ruleset loaded into it
    ecmp_router: int | None = None
    reroute: bool = False  # halfway through, router ecmp_router moves the path to its second link


def bursty(loss_pct: float, burst_ms: float) -> LinkSpec:
    """Forwarding loss on a link, client -> target only, in bursts of about ``burst_ms``."""
    return LinkSpec(fwd=Direction(BASE_MS, 0.0, loss_pct, burst_ms), rev=Direction(BASE_MS))


def scenarios(interval_s: float, target: str) -> list[Scenario]:
    burst = interval_s * 1000.0  # a down stretch of about one round
    ratelimit = RouterSpec(icmp_ratelimit_ms=max(1, int(interval_s * 2000)))  # answers about every other probe
    reject = (
        "table ip pmbench {\n  chain fw {\n    type filter hook forward priority 0; policy accept;\n"
        f"    ip daddr {target} reject with icmp type admin-prohibited\n  }}\n}}\n"
    )
    return [
        Scenario("5 % loss at hop 4", PROBLEM, 4, links={3: bursty(5.0, burst)}),
        Scenario("2 % loss at hop 4", PROBLEM, 4, links={3: bursty(2.0, burst)}),
        # Each packet dropped on its own (no burst): the per-round data cannot place it, so right is rare and
        # undecided is the honest answer; what must never happen is a later hop named.
        Scenario("5 % per-packet loss at hop 4", PROBLEM, 4, links={3: bursty(5.0, 0.0)}),
        Scenario("latency +150 ms at hop 4", PROBLEM, 4, links={3: LinkSpec.symmetric(BASE_MS + 150.0)}),
        Scenario("rate-limited router (hop 2)", NO_PROBLEM, None, routers={2: ratelimit}),
        Scenario("rate-limited + lossy (hop 4)", PROBLEM, 4, links={3: bursty(5.0, burst)}, routers={4: ratelimit}),
        Scenario("loss on the target's link", PROBLEM, 6, links={5: bursty(5.0, burst)}),
        # Per-packet drops into the last router look exactly like that router rate limiting with the loss beyond
        # it (its lost rounds and the destination's coincide only by chance, their shares are equal): never hop 6.
        Scenario("5 % per-packet loss into the last router (hop 5)", PROBLEM, 5, links={4: bursty(5.0, 0.0)}),
        # The counterpart: the last router rate limits and the loss is beyond it; never hop 5.
        Scenario(
            "rate-limited last router + loss beyond it",
            PROBLEM,
            6,
            links={5: bursty(5.0, burst)},
            routers={5: ratelimit},
        ),  # fmt: skip
        Scenario("reroute mid-trace (hop 3)", NO_PROBLEM, None, ecmp_router=2, reroute=True),
        Scenario("admin-prohibited at r3", PROBLEM, 4, nft={3: reject}),
    ]


OUTCOMES = ("right", "range", "undecided", "wrong")


def classify(d, sc: Scenario) -> str:
    """right: the status and the hop named are the truth; range: a problem located to a range of hops
    (``Diagnosis.location_ttls``) that holds the true hop, naming no hop wrongly; undecided; wrong: anything
    else, and a router called rate limiting at or after the true start that the scenario does not rate limit
    (its loss is the path's)."""
    if d.status == UNDECIDED:
        return "undecided"
    if sc.truth != PROBLEM:
        return "right" if d.status == NO_PROBLEM else "wrong"
    if d.status != PROBLEM:
        return "wrong"
    if any(t >= sc.at_ttl and t not in sc.routers for t in d.rate_limited_ttls):
        return "wrong"
    if d.deteriorates_at_ttl is not None:
        return "right" if d.deteriorates_at_ttl == sc.at_ttl else "wrong"
    span = getattr(d, "location_ttls", None)  # older trees (before the range) have none
    if span is not None and span[0] <= sc.at_ttl <= span[1]:
        return "range"
    return "wrong"


def build_lab(sc: Scenario, seed: int) -> Lab:
    routers = [sc.routers.get(k, RouterSpec()) for k in range(1, ROUTERS + 1)]
    links = [sc.links.get(i, LinkSpec.symmetric(BASE_MS)) for i in range(ROUTERS + 1)]
    lab = Lab.build(routers, links, seed=seed, ecmp_router=sc.ecmp_router)
    for k, ruleset in sc.nft.items():
        subprocess.run(["ip", "netns", "exec", lab.router_ns[k - 1], "nft", "-f", "-"], input=ruleset, text=True,
                       check=True)  # fmt: skip
    return lab


def route_via(lab: Lab, second: bool) -> None:
    """Everything beyond the ECMP router over one of its two links (a route change for hop k + 1)."""
    k = lab.ecmp_router
    via = f"via 198.19.{k}.2 dev link{k}b" if second else f"via 198.18.{k}.2 dev link{k}"
    batch = "".join(f"route replace 198.18.{j}.0/24 {via}\n" for j in range(k + 1, ROUTERS + 1))
    subprocess.run(["ip", "-n", lab.router_ns[k - 1], "-batch", "-"], input=batch, text=True, check=True)


def one_run(lab: Lab, sc: Scenario, rounds: int, interval_s: float) -> list:
    samples = []
    if sc.reroute:
        route_via(lab, second=False)
    trace = LiveTrace(
        lab.target_addr, "icmp", interval_s, rounds=rounds, thread_context=lambda: in_netns(lab.client_ns)
    )
    trace.add_observer(samples.append)
    timer = threading.Timer(rounds * interval_s / 2, route_via, (lab, True)) if sc.reroute else None
    trace.start()
    if timer is not None:
        timer.start()
    trace.join()
    if timer is not None:
        timer.join()
    status = trace.status()
    trace.close()
    if status.error:
        raise RuntimeError(f"{sc.name}: the trace failed: {status.error}")
    return samples


def diagnosis_at(samples: list, n_rounds: int, target: str, interval_s: float, model):
    """The diagnosis over the run's first ``n_rounds`` rounds, built as a session replay builds it."""
    st = TraceState(target, target, "icmp", interval_s)
    for s in samples:
        if s.round < n_rounds:
            st.apply(s)
    return diagnose(st.snapshot(None, model, "pingplotter"))


def _pickle_name(sc: Scenario) -> str:
    return f"{sc.name.replace(' ', '_').replace('%', 'pct')}.pickle"


def _judge(table: dict, sc: Scenario, run: int, samples: list, counts: list[int], target: str, interval_s: float,
           model) -> None:  # fmt: skip
    for n in counts:
        d = diagnosis_at(samples, n, target, interval_s, model)
        outcome = classify(d, sc)
        table.setdefault((sc.name, n), Counter())[outcome] += 1
        if outcome == "range":
            # How many hops the range names (first..last, both inclusive): the narrower, the more useful.
            table[(sc.name, n)]["range hops"] += d.location_ttls[1] - d.location_ttls[0] + 1
        if outcome == "wrong":
            span = getattr(d, "location_ttls", None)
            print(f"  WRONG {sc.name} run {run} @ {n}: {d.status} {d.deteriorates_at_ttl} {span} "
                  f"rl={d.rate_limited_ttls}: {d.verdict}", file=sys.stderr)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10, help="runs per scenario (10)")
    p.add_argument("--interval", type=float, default=0.03, help="seconds between rounds (0.03)")
    p.add_argument("--rounds", default="30,100,300", help="round counts to judge at (30,100,300)")
    p.add_argument("--only", action="append", default=[], help="run only scenarios whose name contains this")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--save", type=Path, help="also write each scenario's runs (their samples) to DIR/<scenario>.pickle")
    p.add_argument("--load", type=Path, help="judge the runs saved by --save in DIR instead of running the lab "
                   "(before/after on the same samples)")  # fmt: skip
    args = p.parse_args(argv)
    counts = sorted({int(x) for x in args.rounds.split(",")})
    # The product's floor (0.1 s) keeps a user from flooding a path; this bench probes only its own lab and needs
    # hundreds of rounds per run, so it lowers the floor for its own traces.
    pingmos.engine.tracer.MIN_INTERVAL_S = min(pingmos.engine.tracer.MIN_INTERVAL_S, args.interval)
    reason = None if args.load else lab_unavailable_reason()
    if reason:
        print(f"bench_verdict: {reason}", file=sys.stderr)
        return 2
    # SIGTERM ends the bench as Ctrl-C does: the lab of the scenario running is torn down.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    model = load_model("pingplotter")
    probe_target = f"198.18.{ROUTERS}.2"
    table: dict[tuple[str, int], Counter] = {}
    chosen = [s for s in scenarios(args.interval, probe_target) if not args.only or any(o in s.name for o in args.only)]
    started = time.monotonic()
    for i, sc in enumerate(chosen):
        if args.load is not None:
            path = args.load / _pickle_name(sc)
            if not path.exists():
                print(f"bench_verdict: {sc.name}: no saved runs ({path})", file=sys.stderr)
                continue
            with open(path, "rb") as f:
                saved = pickle.load(f)
            for run, samples in enumerate(saved["runs"]):
                _judge(table, sc, run, samples, counts, saved["target"], saved["interval_s"], model)
            continue
        try:
            lab = build_lab(sc, seed=args.seed + i)
        except (LabError, subprocess.CalledProcessError) as exc:
            print(f"bench_verdict: {sc.name}: cannot build the lab: {exc}", file=sys.stderr)
            return 1
        runs = []
        try:
            for run in range(args.runs):
                samples = one_run(lab, sc, max(counts), args.interval)
                runs.append(samples)
                _judge(table, sc, run, samples, counts, lab.target_addr, args.interval, model)
        finally:
            lab.close()
        if args.save is not None:
            args.save.mkdir(parents=True, exist_ok=True)
            with open(args.save / _pickle_name(sc), "wb") as f:
                pickle.dump({"scenario": sc.name, "interval_s": args.interval, "target": lab.target_addr,
                             "runs": runs}, f)  # fmt: skip
        print(f"{sc.name}: done ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    source = f"runs saved in {args.load}" if args.load else f"{args.runs} runs per scenario"
    print(f"bench_verdict: {source}, interval {args.interval:g} s, right / located to a range / undecided / wrong")
    width = max(len(s.name) for s in chosen)
    print(f"{'scenario':<{width}}  " + "  ".join(f"{n:>4} rounds (R/Rg/U/W)" for n in counts))
    for sc in chosen:
        cells = []
        for n in counts:
            c = table.get((sc.name, n), Counter())
            cells.append(f"{c['right']:>6}/{c['range']:>3}/{c['undecided']:>3}/{c['wrong']:>3}  ")
        print(f"{sc.name:<{width}}  " + "  ".join(cells))
    print("mean hops per range (first..last, inclusive; - : no range)")
    for sc in chosen:
        cells = []
        for n in counts:
            c = table.get((sc.name, n), Counter())
            cells.append(f"{c['range hops'] / c['range']:>17.2f}  " if c["range"] else f"{'-':>17}  ")
        print(f"{sc.name:<{width}}  " + "  ".join(cells))
    ranges = sum(c["range"] for c in table.values())
    hops = sum(c["range hops"] for c in table.values())
    print(f"ranges in all: {ranges}, mean hops per range: {hops / ranges if ranges else 0:.2f}")
    wrong = sum(c["wrong"] for c in table.values())
    print(f"wrong in all: {wrong}")
    return 1 if wrong else 0


if __name__ == "__main__":
    if os.environ.get("PYTHONPATH") is None:
        os.environ["PYTHONPATH"] = str(REPO_ROOT)  # the relay runs as `python -m tests.netlab.relay`
    sys.exit(main())
