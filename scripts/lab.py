#!/usr/bin/env python3
"""Bring up a network lab by hand (as root) and keep it until Ctrl-C: client -> r1 .. rN -> target.

    sudo .venv/bin/python scripts/lab.py --routers 5 --delay 2 --jitter 0.3 --loss 1 --silent 3 --ratelimit 2:500

Every link gets the same delay/jitter/loss in each direction (per direction, so a hop K routers away sees
about 2*K*delay). It prints the namespaces, the address and name of every hop, and the commands to run
pingmos and mtr inside the client namespace; Ctrl-C (or SIGTERM) tears it all down.
"""

from __future__ import annotations

import argparse
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
    p.add_argument("--seed", type=int, default=0, help="seed of the relay's loss and jitter draws (0)")
    args = p.parse_args(argv)
    if not 1 <= args.routers <= 250:
        p.error("--routers must be within 1 and 250")
    for k in args.silent + [k for k, _ in args.ratelimit]:
        if not 1 <= k <= args.routers:
            p.error(f"router {k} does not exist (1..{args.routers})")
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
    except ValueError as exc:
        print(f"lab.py: {exc}", file=sys.stderr)
        return 2

    # SIGTERM ends the lab like Ctrl-C does; so does SIGINT where it was inherited as ignored (a script's `lab.py &`
    # ignores it, and `kill -INT` then left the lab up).
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        lab = Lab.build(routers, [link] * (args.routers + 1), seed=args.seed)
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
