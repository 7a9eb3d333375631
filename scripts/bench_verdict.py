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

``--simulate RUNS`` needs no lab and no root: RUNS seeded random paths per shape (``SIM_SHAPES``: per-packet drops,
bursty loss of whole rounds, a rate-limiting router before or at the start, a silent router), each of 4, 6 or 8
hops with the loss starting at hop 1..6 (loss 1-10 %), judged after 30, 100, 300 and 600 rounds (``--rounds``).
It prints, per shape and round count, how many verdicts were wrong (the true start outside the range named, a
router at or after the start called rate limiting; "no problem" above 1 % loss apart), how many located the problem
(decided: a hop named or a range) and the mean hops per range, then "wrong in all: W of V verdicts (R runs with
one)": the target is no wrong verdict in 1000 runs (``--simulate 1000`` prints it in about a minute).

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


# -- simulation (no lab) ---------------------------------------------------------------------------------------------

SIM_SHAPES = (
    "per-packet",
    "burst",
    "partial burst",
    "rate-limited before",
    "rate-limited before a burst",
    "rate-limited at start",
    "silent router",
)
SIM_ROUNDS = (30, 100, 300, 600)
SIM_LOSS_PCT = (1.0, 2.0, 5.0, 10.0)
SIM_HOPS = (4, 6, 8)


def _sim_addr(ttl: int) -> str:
    return f"198.18.{ttl - 1}.2"


def _sim_hop(ttl: int, rtts, rounds):
    """A HopReport of ``rtts`` (ms, NaN lost) over ``rounds``, as the snapshot builder gives it (loss figures only:
    no MOS, so ``diagnose`` judges loss, latency and jitter)."""
    import numpy as np

    from pingmos.hop_report import HopReport
    from pingmos.stats import wilson_interval_pct

    got = rtts[~np.isnan(rtts)]
    sent, recv = len(rtts), len(got)
    jit = float(np.abs(np.diff(got)).mean()) if recv > 1 else None
    return HopReport(
        ttl=ttl, address=_sim_addr(ttl) if recv else None, name=None, responders={_sim_addr(ttl): recv} if recv else {},
        sent=sent, received=recv, loss_pct=100.0 * (sent - recv) / sent,
        loss_ci_pct=wilson_interval_pct(sent - recv, sent), last_ms=None if np.isnan(rtts[-1]) else float(rtts[-1]),
        avg_ms=float(got.mean()) if recv else None, min_ms=float(got.min()) if recv else None,
        max_ms=float(got.max()) if recv else None, stdev_ms=float(got.std(ddof=1)) if recv > 1 else None,
        jitter_ms=jit, r=None, mos=None, window_rounds=rounds, window_rtts_ms=rtts,
        last_answer_at=1000.0 + float(rounds[np.flatnonzero(~np.isnan(rtts))[-1]]) if recv else None,
    )  # fmt: skip


def sim_run(shape: str, rng, counts=SIM_ROUNDS):
    """One simulated path of ``shape``: (truth dict, {rounds: TraceSnapshot of the first that many rounds})."""
    import numpy as np

    from pingmos.hop_report import TraceSnapshot

    hops = int(rng.choice(SIM_HOPS))
    into = int(rng.integers(1, min(6, hops) + 1))
    pct = float(rng.choice(SIM_LOSS_PCT))
    n = max(counts)
    p = pct / 100.0
    lost = np.zeros((hops, n), dtype=bool)
    if shape in ("burst", "rate-limited before a burst"):
        # The link into ``into`` down for whole rounds: every probe beyond it lost that round.
        lost[into - 1 :] |= rng.random(n) < p
    elif shape == "partial burst":
        # The link down ``pct`` % of the time in exponential stretches of about one round (a two-state channel in
        # time); a round's probes go out spread over the interval, each held up by a further 0..1 interval (a
        # busy prober), so a burst may take one hop's probe of a round and miss the next one's.
        sent_at = np.arange(n)[None, :] + (np.arange(hops)[:, None] / hops) + rng.random((hops, n))
        down_mean, up_mean = 1.0, (1.0 - p) / p
        stretches = rng.exponential(1.0, 2 * int((n + 2) / (down_mean + up_mean)) + 64)
        stretches[0::2] *= up_mean  # up, down, up, ... from time 0
        stretches[1::2] *= down_mean
        edges = np.cumsum(stretches)
        while edges[-1] <= sent_at.max():
            edges = np.concatenate((edges, edges[-1] + np.cumsum(rng.exponential([up_mean, down_mean] * 32))))
        down = np.searchsorted(edges, sent_at, side="right") % 2 == 1
        lost[into - 1 :] |= down[into - 1 :]
    else:  # each probe crossing the link dropped on its own
        lost[into - 1 :] |= rng.random((hops - into + 1, n)) < p
    limited: tuple[int, ...] = ()
    if shape.startswith("rate-limited"):
        # A router dropping 30 % of its own replies (ICMP rate limiting), before the start or at it.
        at = into if shape.endswith("at start") else int(rng.integers(1, into)) if into > 1 else None
        if at is not None and at < hops:
            lost[at - 1] |= rng.random(n) < 0.3
            limited = (at,)
    silent = None
    if shape == "silent router" and hops > 2:
        silent = int(rng.integers(1, hops))  # a router that never answers (not the destination)
        lost[silent - 1] = True
    base = 2.0 * np.arange(1, hops + 1)[:, None] + rng.random((hops, n))
    rtts = np.where(lost, np.nan, base)
    out = {}
    for c in counts:
        rounds = np.arange(c, dtype=np.int64)
        rows = tuple(_sim_hop(t, rtts[t - 1, :c], rounds) for t in range(1, hops + 1))
        out[c] = TraceSnapshot(
            target=_sim_addr(hops), address=_sim_addr(hops), protocol="icmp", interval_s=1.0, window=None, rounds=c,
            model="none", destination_reached=True, hops=rows,
        )  # fmt: skip
    truth = {"hops": hops, "into": into, "pct": pct, "limited": limited, "silent": silent}
    return truth, out


def sim_classify(d, truth: dict) -> str:
    """right (the true start named), range (a range that holds it), undecided, or wrong: the true start outside the
    range or hop named, a router at or after the start called rate limiting (other than one the path rate limits);
    apart: "missed", "no problem" said where the destination loses more than 1 %."""
    if d.status == UNDECIDED:
        return "undecided"
    if d.status == NO_PROBLEM:
        # Step 1's own error (the destination's 95 % interval wholly below 1 % by chance), no hop named: counted
        # apart. At 1 % the loss sits on the threshold and either answer is fair.
        return "missed" if truth["pct"] > 1.0 else "undecided"
    into = truth["into"]
    if any(t >= into and t not in truth["limited"] for t in d.rate_limited_ttls):
        return "wrong"
    first, last = d.location_ttls
    if truth["silent"] == into and first == into + 1:
        # The start is a silent router, which says nothing: the answering hop after it is as near as a verdict can
        # come (its words, "look between hop into - 1 and hop into + 1", hold the silent one).
        into += 1
    if not first <= into <= last:
        return "wrong"
    return "right" if d.deteriorates_at_ttl == into else "range"


def simulate(runs: int, counts: list[int], seed: int, shapes: list[str], family_alpha: float | None = None) -> int:
    import numpy as np

    from pingmos.diagnosis import DEFAULT_THRESHOLDS, Thresholds

    th = DEFAULT_THRESHOLDS if family_alpha is None else Thresholds(family_alpha=family_alpha)
    table: dict[tuple[str, int], Counter] = {}
    wrong_runs = 0
    started = time.process_time()
    for si, shape in enumerate(shapes):
        rng = np.random.default_rng([seed, si])
        for run in range(runs):
            truth, snaps = sim_run(shape, rng, counts)
            bad = False
            for c, snap in snaps.items():
                d = diagnose(snap, th)
                outcome = sim_classify(d, truth)
                cell = table.setdefault((shape, c), Counter())
                cell[outcome] += 1
                if outcome == "range":
                    cell["range hops"] += d.location_ttls[1] - d.location_ttls[0] + 1
                if outcome == "wrong":
                    bad = True
                    print(f"  WRONG {shape} run {run} @ {c} {truth}: {d.status} {d.location_ttls} "
                          f"rl={d.rate_limited_ttls}: {d.verdict}", file=sys.stderr)  # fmt: skip
            wrong_runs += bad
    cpu = time.process_time() - started
    print(f"bench_verdict --simulate: {runs} runs per shape (seed {seed}), paths of {'/'.join(map(str, SIM_HOPS))} "
          f"hops, loss {'/'.join(f'{x:g}' for x in SIM_LOSS_PCT)} % from hop 1..6, family level "
          f"{getattr(th, 'family_alpha', 'none (a tree before it)')}; CPU {cpu:.0f} s")  # fmt: skip
    print("per shape and round count: wrong / located (hop named or range, % of runs) / named / mean hops per range")
    width = max(len(s) for s in shapes)
    print(f"{'shape':<{width}}  " + "  ".join(f"{c:>4} rounds W/loc%/named%/hops" for c in counts))
    for shape in shapes:
        cells = []
        for c in counts:
            t = table.get((shape, c), Counter())
            total = sum(t[k] for k in (*OUTCOMES, "missed")) or 1
            loc = 100.0 * (t["right"] + t["range"]) / total
            named = 100.0 * t["right"] / total
            hops = f"{t['range hops'] / t['range']:.2f}" if t["range"] else "-"
            cells.append(f"{t['wrong']:>8}/{loc:>5.1f}/{named:>5.1f}/{hops:>5}  ")
        print(f"{shape:<{width}}  " + "  ".join(cells))
    verdicts = sum(sum(t[k] for k in (*OUTCOMES, "missed")) for t in table.values())
    missed = sum(t["missed"] for t in table.values())
    wrong = sum(t["wrong"] for t in table.values())
    ranges = sum(t["range"] for t in table.values())
    hops = sum(t["range hops"] for t in table.values())
    print(f"mean hops per range: {hops / ranges if ranges else 0:.2f} ({ranges} ranges); \"no problem\" at a loss "
          f"above 1 % (the destination's own interval, step 1; no hop named): {missed}")  # fmt: skip
    print(f"wrong in all: {wrong} of {verdicts} verdicts ({wrong_runs} of {runs * len(shapes)} runs with one)")
    return 1 if wrong else 0


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
    p.add_argument("--simulate", type=int, metavar="RUNS", help="no lab: RUNS simulated paths per shape (SIM_SHAPES), "
                   "judged at 30,100,300,600 rounds unless --rounds says otherwise")  # fmt: skip
    p.add_argument("--family-alpha", type=float, help="with --simulate: diagnose at this family-wise level "
                   "(Thresholds.family_alpha) instead of the default")  # fmt: skip
    args = p.parse_args(argv)
    if args.simulate is not None:
        rounds = args.rounds if "--rounds" in (argv if argv is not None else sys.argv) else "30,100,300,600"
        counts = sorted({int(x) for x in rounds.split(",")})
        shapes = [s for s in SIM_SHAPES if not args.only or any(o in s for o in args.only)]
        return simulate(args.simulate, counts, args.seed, shapes, args.family_alpha)
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
