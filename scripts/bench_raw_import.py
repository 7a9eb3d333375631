#!/usr/bin/env python3
"""Benchmark opening and exporting an mtr --raw log: `.venv/bin/python scripts/bench_raw_import.py [--log FILE]
[--repo OLD] [--command report|csv|json ...]`.

Not a test: it prints figures. Runs, in a fresh interpreter per log, command and checkout, `pingmos report
--session LOG` (``report``) and `pingmos export LOG --what samples --format csv|json` (``csv``, ``json``; the
output counted and dropped) (no probe is sent: the log is a file; its hosts are loopback addresses), and prints for
each its peak RSS (MB, ru_maxrss from wait4()), CPU time (user + system, s), wall time, output size, exit code and
the first line of its errors. The issues' targets: the peak RSS of the largest log accepted stays under about 1
GB, and a larger one is refused in one line before the memory is spent (imports2, item 1); an export's peak RSS
does not grow with its output, only the log's own arrays do (outputs, item 2: the ``csv``/``json`` rows, with
``--repo`` before and after). The logs:

- ``--log FILE`` (repeatable): given logs, e.g. the newcomer's 73 MB /tmp/nc/bad/rawhuge.txt (2 million probes
  to one hop: 3.4 GB and 32 s before);
- otherwise generated in a temporary directory: ``one-hop`` (MAX_RAW_PROBES_PER_HOP probes to one hop, the most
  one hop may have: since the MOS interval is computed a chunk at a time, as many as a log may hold), ``limits``
  (MAX_RAW_PROBES over 16 hops, 250,000 each: the largest log accepted), and ``over`` (one probe more to one hop
  than accepted: refused).

``--repo OLD`` runs the same logs with another checkout too (``git worktree add /tmp/old <commit>``; the
interpreter stays this one), back to back, so the figures compare on a shared machine. Its RSS needs no quiet
machine; CPU time is the figure to compare for time (wall time grows with the load of other work). Beware: the
old reader took about 1.7 kB a probe, so ``limits`` takes about 7 GB there; ``--skip-old`` leaves it out.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def write_log(path: Path, rounds: int, hops: int, seed: int = 1) -> Path:
    """``rounds`` x ``hops`` probes as mtr --raw writes them, 3 % lost; the target (127.0.0.1) answers the last
    two TTLs as in mtr's logs, so the last TTL is dropped as beyond it. Loopback addresses only: nothing is sent."""
    rng = random.Random(seed)
    seq = 33000
    with path.open("w") as f:
        for _ in range(rounds):
            chunk = []
            for pos in range(hops):
                chunk.append(f"x {pos} {seq}\n")
                if rng.random() < 0.97:
                    host = "127.0.0.1" if pos >= hops - 2 else f"127.0.{pos + 1}.1"
                    chunk.append(f"h {pos} {host}\np {pos} {1000 + 500 * pos + rng.randrange(300)} {seq}\n")
                seq = 33000 if seq == 65535 else seq + 1
            f.write("".join(chunk))
    return path


COMMANDS = {
    "report": lambda log: ["report", "--session", str(log)],
    "csv": lambda log: ["export", str(log), "--what", "samples", "--format", "csv"],
    "json": lambda log: ["export", str(log), "--what", "samples", "--format", "json"],
}


def run(log: Path, checkout: Path, command: str = "report") -> dict:
    """Peak RSS (MB), CPU (s), wall (s), exit code, output MB and first stderr line of ``command`` on ``log``."""
    env = dict(os.environ, PYTHONPATH=str(checkout), HOME=tempfile.gettempdir())
    argv = [sys.executable, "-m", "pingmos", *COMMANDS[command](log)]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.append(proc.stderr.read() if proc.stderr else b""))
    reader.start()
    out_bytes = 0  # the output's size (counted, not kept): it was written whole
    while chunk := proc.stdout.read(1 << 20) if proc.stdout else b"":
        out_bytes += len(chunk)
    reader.join()
    err = b"".join(errors).decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    first = next((line for line in err.splitlines() if "note:" not in line), "")
    return {
        "rss_mb": usage.ru_maxrss / 1024.0,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "wall_s": wall,
        "rc": os.waitstatus_to_exitcode(status),
        "out_mb": out_bytes / 1e6,
        "error": first[:100],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", action="append", type=Path, default=[], help="an mtr --raw log to open (repeatable)")
    ap.add_argument("--repo", type=Path, help="another checkout to compare with (e.g. main before the change)")
    ap.add_argument("--skip-old", action="append", default=[], metavar="NAME",
                    help="a generated log not to run with --repo (limits takes about 7 GB there)")  # fmt: skip
    ap.add_argument("--command", action="append", choices=sorted(COMMANDS), default=[],
                    help="what to run on each log (repeatable; default: all three)")  # fmt: skip
    args = ap.parse_args()
    sys.path.insert(0, str(REPO_ROOT))
    from pingmos.session.mtr_import import MAX_RAW_PROBES, MAX_RAW_PROBES_PER_HOP

    tmp = Path(tempfile.mkdtemp(prefix="bench_raw_import-"))
    logs: list[tuple[str, Path]] = [(p.name, p) for p in args.log]
    if not logs:
        # 3 hops probed, the third beyond the target: two kept, MAX_RAW_PROBES_PER_HOP... to hop 1 at most.
        logs = [
            ("one-hop", write_log(tmp / "one-hop.raw", MAX_RAW_PROBES_PER_HOP, 1)),
            ("limits", write_log(tmp / "limits.raw", MAX_RAW_PROBES // 16, 16)),
            ("over", write_log(tmp / "over.raw", MAX_RAW_PROBES_PER_HOP + 1, 1)),
        ]
    print(f"limits: {MAX_RAW_PROBES:,} probes a log, {MAX_RAW_PROBES_PER_HOP:,} a hop (pingmos.session.mtr_import)")
    commands = args.command or list(COMMANDS)
    print(f"{'log':<10} {'MB':>6} {'probes':>10} {'run':<7} {'tree':<4} {'peak RSS MB':>11} {'CPU s':>7} "
          f"{'wall s':>7} {'out MB':>7} rc  error")  # fmt: skip
    for name, log in logs:
        size_mb = log.stat().st_size / 1e6
        with log.open("rb") as f:
            probes = sum(1 for line in f if line.startswith(b"x "))
        trees = [("new", REPO_ROOT)]
        if args.repo and name not in args.skip_old:
            trees.append(("old", args.repo))
        for command in commands:
            for tree, checkout in trees:
                r = run(log, checkout, command)
                print(f"{name:<10} {size_mb:6.1f} {probes:10,} {command:<7} {tree:<4} {r['rss_mb']:11.0f} "
                      f"{r['cpu_s']:7.1f} {r['wall_s']:7.1f} {r['out_mb']:7.1f} {r['rc']:>2}  {r['error']}",
                      flush=True)  # fmt: skip
    for _, log in logs:
        if log.parent == tmp:
            log.unlink()
    tmp.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
