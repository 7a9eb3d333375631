#!/usr/bin/env python3
"""Bring up a network lab by hand (as root) and keep it until Ctrl-C: client -> r1 .. rN -> target.

    sudo .venv/bin/python scripts/lab.py --routers 5 --delay 2 --jitter 0.3 --loss 1 --silent 3 --ratelimit 2:500

Every link gets the same delay/jitter/loss in each direction (per direction, so a hop K routers away sees
about 2*K*delay), except the links given with --link: link I joins router I to router I+1 (link 0: client -> r1,
link N: rN -> target), so an impairment on link I first shows at hop I+1:

    scripts/lab.py --routers 4 --delay 1 --link 3:loss=10            # 10 % per-packet loss into hop 4, both ways
    scripts/lab.py --routers 4 --link 2:loss=5,burst=200,dir=fwd     # 5 % loss in 200 ms bursts, client -> target
    scripts/lab.py --routers 4 --link 1:jitter=8                     # +-8 ms jitter on link 1

It prints the namespaces, the address and name of every hop, and the commands to run
pingmos and mtr inside the client namespace; Ctrl-C (or SIGTERM) tears it all down.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import signal
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.netlab import Lab, LabError, LinkSpec, RouterSpec, lab_unavailable_reason  # noqa: E402


def _ratelimit(text: str) -> tuple[int, int]:
    try:
        hop, ms = (int(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HOP:MS (e.g. 2:500), not {text!r}") from None
    return hop, ms


LINK_KEYS = ("delay", "jitter", "loss", "burst", "dir")


def _link(text: str) -> tuple[int, dict[str, str]]:
    """ "I:key=value,..." (keys: delay, jitter, loss, burst in ms/%, dir both|fwd|rev) -> (I, {key: value})."""
    index, sep, rest = text.partition(":")
    try:
        i = int(index)
        items = dict(item.split("=", 1) for item in rest.split(",")) if sep and rest else {}
    except ValueError:
        items = None
    if not items or not set(items) <= set(LINK_KEYS):
        raise argparse.ArgumentTypeError(
            f"expected I:key=value,... with keys {', '.join(LINK_KEYS)} (e.g. 3:loss=10,dir=fwd), not {text!r}"
        )
    return i, items


def link_spec(items: dict[str, str], base: LinkSpec) -> LinkSpec:
    """The LinkSpec of one --link: the given keys over the base link's values; dir picks the impaired direction
    (the other keeps the base). ValueError for a bad number or direction."""
    direction = items.get("dir", "both")
    if direction not in ("both", "fwd", "rev"):
        raise ValueError(f"dir must be both, fwd or rev, not {direction!r}")
    numbers = {}
    for key, field in (("delay", "delay_ms"), ("jitter", "jitter_ms"), ("loss", "loss_pct"), ("burst", "burst_ms")):
        if key in items:
            try:
                numbers[field] = float(items[key])
            except ValueError:
                raise ValueError(f"{key} must be a number, not {items[key]!r}") from None
    impaired = dataclasses.replace(base.fwd, **numbers)
    return LinkSpec(
        fwd=impaired if direction in ("both", "fwd") else base.fwd,
        rev=impaired if direction in ("both", "rev") else base.rev,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--routers", type=int, default=5, help="routers between client and target (5)")
    p.add_argument("--delay", type=float, default=2.0, help="one-way delay per link and direction, ms (2)")
    p.add_argument("--jitter", type=float, default=0.0, help="+- uniform jitter per link and direction, ms (0)")
    p.add_argument("--loss", type=float, default=0.0, help="loss per link and direction, percent (0)")
    p.add_argument("--silent", type=int, action="append", default=[], metavar="K", help="router K never answers")
    p.add_argument(
        "--ratelimit",
        type=_ratelimit,
        action="append",
        default=[],
        metavar="K:MS",
        help="router K sends at most one ICMP error per MS ms (kernel icmp_ratelimit, burst 6)",
    )
    p.add_argument(
        "--link",
        type=_link,
        action="append",
        default=[],
        metavar="I:SPEC",
        help="link I (0: client-r1 .. N: rN-target) gets its own impairment, e.g. 3:loss=10,dir=fwd (keys: delay, "
        "jitter, loss, burst in ms/%%, dir both|fwd|rev); its effect first shows at hop I+1",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the relay's loss and jitter draws (0)")
    args = p.parse_args(argv)
    if not 1 <= args.routers <= 250:
        p.error("--routers must be within 1 and 250")
    for k in args.silent + [k for k, _ in args.ratelimit]:
        if not 1 <= k <= args.routers:
            p.error(f"router {k} does not exist (1..{args.routers})")
    for i, _ in args.link:
        if not 0 <= i <= args.routers:
            p.error(f"link {i} does not exist (0..{args.routers}: link I joins router I to router I+1)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    reason = lab_unavailable_reason()
    if reason:
        print(f"lab.py: {reason}", file=sys.stderr)
        return 2
    limits = dict(args.ratelimit)
    routers = [RouterSpec(icmp_ratelimit_ms=limits.get(k), silent=k in args.silent) for k in range(1, args.routers + 1)]
    try:
        link = LinkSpec.symmetric(args.delay, args.jitter, args.loss)
        links = [link] * (args.routers + 1)
        for i, items in args.link:
            links[i] = link_spec(items, links[i])
    except ValueError as exc:
        print(f"lab.py: {exc}", file=sys.stderr)
        return 2

    # SIGTERM ends the lab like Ctrl-C does; so does SIGINT where it was inherited as ignored (a script's `lab.py &`
    # ignores it, and `kill -INT` then left the lab up).
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        lab = Lab.build(routers, links, seed=args.seed)
    except LabError as exc:
        print(f"lab.py: {exc}", file=sys.stderr)
        return 1
    try:
        py = shlex.quote(sys.executable)
        client = f"ip netns exec {lab.client_ns}"
        print(lab.describe())
        print()
        print(f"configured round trip to the target: {lab.path_rtt_ms(len(lab.hop_addrs)):g} ms")
        print("run inside the client namespace (its resolver is the lab's DNS: names rK.lab.test):")
        pythonpath = f"PYTHONPATH={shlex.quote(str(REPO_ROOT))}"
        print(f"  {client} env {pythonpath} {py} -m pingmos report {lab.target_addr} -i 0.2")
        print(f"  {client} mtr -n -i 0.2 {lab.target_addr}")
        print(f"  {client} bash          # a shell in the client namespace")
        print(f"relay log: {lab.relay_log}; control socket: {lab.control_socket}")
        print("Ctrl-C tears the lab down.", flush=True)
        while True:
            signal.pause()
    except KeyboardInterrupt:
        print("\ntearing down ...", file=sys.stderr)
    finally:
        lab.close()
    return 0


if __name__ == "__main__":
    if os.environ.get("PYTHONPATH") is None:
        os.environ["PYTHONPATH"] = str(REPO_ROOT)  # the relay runs as `python -m tests.netlab.relay`
    sys.exit(main())
