"""Open mtr's output as a session, so a run made elsewhere can be scored with any pingmos model.

``mtr --raw`` logs are event streams, one line per event (mtr 0.95):
    x POS SEQ        a probe was sent to TTL POS+1 with sequence SEQ
    h POS ADDR       the host answering at TTL POS+1
    d POS NAME       its reverse-DNS name
    p POS USEC SEQ   the reply to probe SEQ came after USEC microseconds
They become raw Samples exactly: a probe with a reply is a sample with that RTT, a probe without one is lost
(as mtr itself counts it, including the last probes of a run that mtr stopped waiting for). A raw log has no
times, so send times are placed ``interval_s`` apart per round from ``started_at``: durations and order are right,
the time of day only as good as ``started_at``. Probes beyond the destination's TTL are dropped, as pingmos does.

``mtr --json`` reports hold only mtr's per-hop totals (Snt, Loss%, Last, Avg, Best, Wrst, StDev and, when mtr
was asked for them with -o, Rcv and Javg). No samples are made up from them: the session carries those
aggregates as HopSummary rows and a report scores them as summary windows. So a window or a time range cannot
be applied to such a session, and jitter is mtr's Javg when present, otherwise unknown (None).
"""

from __future__ import annotations

import json
import math
import os

from pingmos.engine.events import Sample
from pingmos.session.model import HopSummary, SessionError, SessionInfo
from pingmos.session.replay import MemorySession

MAX_IMPORT_BYTES = 512 * 1024 * 1024


def looks_like_mtr_raw(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip()), "")
    parts = first.split()
    return len(parts) >= 3 and parts[0] in ("x", "h", "d", "p", "t") and parts[1].isdigit()


def parse_mtr_json(text: str, path: str = "<mtr json>") -> MemorySession:
    """An ``mtr --json`` report as a session of per-hop aggregates; SessionError when it is not one."""
    try:
        doc = json.loads(text)
        report = doc["report"]
        head = report["mtr"]
        hubs = report["hubs"]
        if not isinstance(hubs, list) or not isinstance(head, dict):
            raise TypeError("hubs is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise SessionError(f"{path}: not an mtr --json report ({exc})") from None
    summaries = []
    for i, hub in enumerate(hubs):
        try:
            summaries.append(_hub(hub))
        except (KeyError, TypeError, ValueError) as exc:
            raise SessionError(f"{path}: hop {i + 1} of the mtr report is unreadable ({exc})") from None
    summaries.sort(key=lambda s: s.ttl)
    dst = str(head.get("dst", ""))
    info = SessionInfo(
        target=dst,
        address=dst,
        protocol="udp" if head.get("udp") else "icmp",
        interval_s=1.0,  # mtr's report does not say; its default
        source="mtr --json",
        extra={"mtr": {k: v for k, v in head.items() if isinstance(v, str | int | float)}},
    )
    return MemorySession(path, info, summaries=tuple(summaries))


def _number(hub: dict, key: str) -> float | None:
    value = hub.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key} is {value!r}, not a number")
    return float(value)


def _hub(hub: dict) -> HopSummary:
    ttl = int(hub["count"])
    host = str(hub["host"])
    sent = int(hub["Snt"])
    loss_pct = _number(hub, "Loss%")
    if sent < 0 or loss_pct is None or not 0.0 <= loss_pct <= 100.0:
        raise ValueError(f"Snt {sent} / Loss% {loss_pct} out of range")
    received = hub.get("Rcv")
    received = int(received) if isinstance(received, int) else round(sent * (1.0 - loss_pct / 100.0))
    silent = host == "???" or received == 0
    address = None if host == "???" else host
    return HopSummary(
        ttl=ttl,
        address=address,
        name=None,  # mtr shows a name or an address in one column (host); it is kept as the address
        sent=sent,
        received=0 if silent else received,
        loss_pct=loss_pct,
        last_ms=None if silent else _number(hub, "Last"),
        avg_ms=None if silent else _number(hub, "Avg"),
        min_ms=None if silent else _number(hub, "Best"),
        max_ms=None if silent else _number(hub, "Wrst"),
        stdev_ms=None if silent or received < 2 else _number(hub, "StDev"),
        jitter_ms=None if silent or received < 2 else _number(hub, "Javg"),
    )


def parse_mtr_raw(
    text: str,
    path: str = "<mtr raw>",
    interval_s: float = 1.0,
    started_at: float = 0.0,
    target: str | None = None,
) -> MemorySession:
    """An ``mtr --raw`` log as a session of raw samples (see the module docstring); SessionError if unreadable.

    ``target`` is the destination address when known (a raw log does not name it); otherwise the host answering
    at the highest TTL is taken as the destination.
    """
    sent: list[tuple[int, int]] = []  # (pos, seq) in sending order
    replies: dict[int, float] = {}  # seq -> rtt_ms
    hosts: dict[int, str] = {}  # pos -> the last host mtr named there
    reply_host: dict[int, str] = {}  # seq -> host at its pos when the reply came
    pos_of: dict[int, int] = {}
    names: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            kind, pos = parts[0], int(parts[1])
            if not 0 <= pos < 255:
                raise ValueError(f"position {pos} out of range")
            if kind == "x":
                seq = int(parts[2])
                sent.append((pos, seq))
                pos_of[seq] = pos
            elif kind == "h":
                hosts[pos] = parts[2]
            elif kind == "d":
                if pos in hosts:
                    names[hosts[pos]] = parts[2]
            elif kind == "p":
                usec, seq = int(parts[2]), int(parts[3])
                if usec < 0:
                    raise ValueError("negative round-trip time")
                replies[seq] = usec / 1000.0
                if pos in hosts:
                    reply_host[seq] = hosts[pos]
            elif kind == "t":
                continue  # a timestamp line of some mtr versions; send times are placed by round instead
            else:
                raise ValueError(f"unknown record type {kind!r}")
        except (IndexError, ValueError) as exc:
            raise SessionError(f"{path}: line {n} is not an mtr --raw record ({exc}): {line[:80]!r}") from None
    if not sent:
        raise SessionError(f"{path}: the mtr --raw log holds no probes")
    if target is None:
        answered = [p for p in hosts if any(pos_of.get(s) == p for s in reply_host)]
        target = hosts[max(answered)] if answered else ""
    dest_pos = min((p for p, h in hosts.items() if h == target), default=None)
    samples = []
    rounds: dict[int, int] = {}
    for pos, seq in sent:
        if dest_pos is not None and pos > dest_pos:
            continue  # sent before mtr knew where the destination was: not a hop
        round_no = rounds.get(pos, 0)
        rounds[pos] = round_no + 1
        sent_at = started_at + round_no * interval_s
        rtt = replies.get(seq)
        responder = reply_host.get(seq) if rtt is not None else None
        if rtt is not None and responder is None:
            rtt = None  # a reply whose host mtr never named cannot be placed; count it as mtr would not: lost
        samples.append(Sample(round_no, pos + 1, seq, sent_at, rtt, responder, responder == target))
    info = SessionInfo(
        target=target,
        address=target,
        protocol="icmp",
        interval_s=interval_s,
        started_at=started_at,
        source="mtr --raw",
        extra={"times": "placed by round; mtr --raw records no time"},
    )
    return MemorySession(path, info, samples=samples, names=names)


def read_mtr(path: str | os.PathLike, interval_s: float = 1.0, target: str | None = None) -> MemorySession:
    """Read an mtr --json report or --raw log from a file; SessionError when it is neither."""
    p = os.fspath(path)
    try:
        size = os.path.getsize(p)
        if size > MAX_IMPORT_BYTES:
            raise SessionError(f"{p}: {size} bytes is too large for an mtr report or log")
        with open(p, encoding="utf-8") as f:
            text = f.read()
        mtime = os.path.getmtime(p)
    except UnicodeDecodeError:
        raise SessionError(f"{p}: not a text file, so neither an mtr --json report nor an mtr --raw log") from None
    except OSError as exc:
        raise SessionError(f"{p}: cannot read the file: {exc.strerror or exc}") from None
    if text.lstrip().startswith("{"):
        return parse_mtr_json(text, p)
    if looks_like_mtr_raw(text):
        session = parse_mtr_raw(text, p, interval_s=interval_s, target=target)
        # Place the run so it ends at the file's modification time (when mtr finished writing it).
        rounds = max((s.round for s in session.samples()), default=0)
        return parse_mtr_raw(text, p, interval_s=interval_s, started_at=mtime - rounds * interval_s, target=target)
    raise SessionError(f"{p}: not a pingmos session, an mtr --json report or an mtr --raw log")
