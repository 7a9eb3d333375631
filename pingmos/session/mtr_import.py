"""Open mtr's output as a session, so a run made elsewhere can be scored with any pingmos model.

``mtr --raw`` logs are event streams, one record a line (mtr's FORMATS file; ``pos`` is TTL - 1):

    x POS SEQ                       a probe was sent to TTL POS+1 with sequence SEQ ("xmitline")
    h POS ADDR                      the host (an IP address) answering at TTL POS+1 ("hostline")
    d POS NAME                      its reverse-DNS name ("dnsline")
    p POS USEC SEQ                  the reply to probe SEQ came after USEC microseconds ("pingline")
    t POS PINGTIME TIMESTAMP        a timestamp ("timestampline"; FORMATS: not implemented by mtr): skipped
    m POS LABEL TC BOTTOM TTL       an MPLS label of the hop's reply (-e, "mplsline"): skipped

A record of any other letter (a later mtr's) is skipped and counted in a note. The records become raw Samples:

- a reply belongs to the most recent probe sent with its sequence number before it (mtr reuses sequence numbers
  in long runs), so a lost probe never takes an earlier probe's reply, and a reply to no outstanding probe is
  counted as unmatched, not given to anyone;
- the last probe to each TTL that has no reply when the log ends was still in flight (mtr is normally stopped by
  being killed): its outcome is unknown, so it is left out, not counted as lost (mtr's own ``net_loss``
  subtracts the probes in transit in the same way), and a note says how many;
- a last line without its end of line (the writer died mid-line) is ignored with a note: the valid prefix is kept;
- the destination is the host that answers at the highest TTL *and* at a lower one, with no other host answering
  from its lowest TTL on (a router answers only at its own TTL; the target answers every TTL from its distance on,
  and mtr probes beyond it: one of those TTLs may have lost every probe, so they need not be adjacent). A log
  cut short by ``-m`` has no such host: its target is unknown and it is not "reached". A ``target`` given by the
  caller overrides this. Probes beyond the destination's TTL are dropped, as pingmos does.

A raw log has no times, so send times are placed ``interval_s`` apart per round from ``started_at``: durations
and order are right, the time of day only as good as ``started_at``.

Memory: a log is read a line at a time (``input_files.text_lines``), never whole, and its probes are kept in typed
arrays, each Sample made only while it is read (``RawLogSession``). A log of more than ``MAX_RAW_PROBES`` probes,
or ``MAX_RAW_PROBES_PER_HOP`` to one TTL (now as many: all of a log's probes may go to one hop), is refused in one
line when the line beyond the limit is read, before the memory for it is spent: so that opening and scoring the
largest log accepted stays under about 1 GB (``scripts/bench_raw_import.py``).

``mtr --json`` reports hold only mtr's per-hop totals, with the fields chosen by ``-o`` (Loss%, Drop, Rcv, Snt,
Last, Best, Avg, Wrst, StDev, Gmean, Jttr, Javg, Jmax, Jint). Versions differ: mtr up to 0.92 prints ``count``
and ``tests`` as strings; 0.93 on (jansson) as numbers. Both are read. No samples are made up: the session carries
HopSummary rows and a report scores them as summary windows (so no window or time range applies). Any field
selection opens. Counts come from whichever of Snt, Rcv, Drop and Loss% the report has (Snt = Rcv + Drop; Rcv =
Snt - Drop, or from Snt and Loss% where exactly one whole number fits Loss% as written); what it lacks is None
(shown as "-"), never 0 and never the header's ``tests`` (the cycles mtr ran, not what each hop was sent). A
``???`` hop received nothing, whatever fields there are. A hop is scored from its loss and average only: a report
without latency fields (``-o LS``) has loss but nothing to score, one without a loss field (``-o NBAW``) has
latency but no MOS, and one without counts has no loss interval and no verdict; notes say which.

mtr's Javg is not pingmos's jitter: mtr counts the first reply as a jitter of 0, so Javg = (n-1)/n x the mean
absolute difference of consecutive RTTs (PingPlotter's jitter, pingmos's default); it is converted back with n = the
replies received. Whether the destination was reached is decided from mtr's ``dst`` against the hosts listed, never
from the last row; when the report names hosts by name and ``dst`` matches none, it is unknown (None).

Impossible values (Rcv > Snt, a TTL beyond 255, negative or absurd times) are refused with one line naming the
file, the hop and the field, and so are contradictions: a Loss% that does not follow from Snt and Rcv within the
rounding it is printed with (half its last decimal place), or as mtr writes it: mtr's ``net_loss`` TRUNCATES the
loss to 0.001 % (an int of thousandths; its JSON shows that exactly, 16.666 for 50 of 300, its text report rounds
it to 0.1: ``mtr_loss_milli``), and leaves its one probe in flight out, so 100 (1 - Rcv / (Snt - 1)) fits too.
Without Rcv the count is derived from Snt and Loss% by the same rule; a Loss% that no count gives is refused, and
several counts fitting (a loss shown to 0.1 % of thousands of probes) leave RECV unknown. Snt other than Rcv +
Drop (or one more, in flight), Best <= Avg <= Wrst (Last between Best and Wrst) broken beyond the rounding of the
numbers as written. A report without ``dst`` (mtr always writes it) is refused: its path cannot be named, and so
is one mixing IPv4 and IPv6 addresses (mtr probes one family; a hop of the other was pasted in). In a ``--raw``
log, an ``x`` line repeating the latest probe to its TTL (same sequence number, sooner than mtr's sequence numbers
come round) is the line written twice: dropped with a note naming the first, never a second probe (it would count
as lost: 0 % -> 50 %); hosts of both families are refused too.
"""

from __future__ import annotations

import ipaddress
import math
import re
from array import array
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation

from pingmos.display_text import display_text
from pingmos.engine import Sample
from pingmos.input_files import InputError, decimal_text, loads_json, whole_text
from pingmos.lazy_numpy import LazyNumpy
from pingmos.session.model import HopSummary, RouteEntry, SessionError, SessionInfo
from pingmos.session.replay import MemorySession, TimeRange, route_of, sample_filter

np = LazyNumpy(globals())

MAX_IMPORT_BYTES = 256 * 1024 * 1024
MAX_TTL = 255
MAX_RTT_MS = 3_600_000.0  # an hour: no reply is waited for longer; a bigger time is damage, not a measurement
MAX_COUNT = 10**9  # probes per hop: years of probing at mtr's fastest rate
MAX_TEXT = 255  # a host name is at most 253 characters (RFC 1035); longer text is not a name
RAW_RECORDS = frozenset("xhdptm")
# A --raw line is a record type, a TTL and a number, an address or a name (at most 253 characters): a longer line
# is no line mtr writes, and is refused as soon as that much of it is read rather than held whole.
MAX_RAW_LINE_BYTES = 4096
MAX_SEQ = 2**31 - 1  # mtr's are 16-bit; anything beyond a 32-bit integer is damage
# mtr's sequence numbers run from 33000 to 65535 and start again (net.c new_sequence): one comes back after this many
# probes at the earliest, so the same number to the same TTL sooner is the same probe's line written twice.
MTR_SEQ_CYCLE = 65536 - 33000
# Probes one --raw log may hold, checked as each is read (before the memory for more is spent), so that opening
# the largest log accepted stays under about 1 GB (scripts/bench_raw_import.py). The reader keeps 17 bytes a probe
# and the session 26 (numpy columns, no Sample objects), the trace state 31; the MOS interval of a hop takes one
# chunk of its resamples at a time (scoring.interval.MAX_CHUNK_VALUES; at least one resampled window: about 60
# bytes a probe of the longest hop beyond 500,000). Measured, report --session: 4,000,000 probes over 16 hops
# 427 MB, all 4,000,000 to one hop 621 MB (73 s of CPU either way). So one hop may have as many as the log: the
# per-hop limit (250,000 while the interval held 50 resampled windows at once, 2.6 kB a probe) no longer binds,
# kept as the place to set one. mtr writes about 35 bytes a probe, so an ordinary log meets these before
# MAX_IMPORT_BYTES.
MAX_RAW_PROBES = 4_000_000
MAX_RAW_PROBES_PER_HOP = MAX_RAW_PROBES


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """Text from a file made safe to show (``pingmos.display_text``: control characters replaced by '?'), at most
    ``limit`` characters."""
    return display_text(text, limit)


def looks_like_mtr_raw(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip()), "")
    parts = first.split()
    return len(parts) >= 3 and len(parts[0]) == 1 and parts[0].isalpha() and parts[1].isdigit()


# -- mtr --json --------------------------------------------------------------------------------------------------


def number_field(hub: dict, key: str, lo: float, hi: float) -> float | None:
    """A numeric field of a hub (a number, or a string holding one as mtr <= 0.92 wrote), None when absent."""
    value = hub.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = decimal_text(value.strip().rstrip("%"))
        except ValueError:
            raise ValueError(f"{key} is {clean_text(value, 40)!r}, not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} is a {type(value).__name__}, not a number")
    value = float(value)
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ValueError(f"{key} {value:g} is out of range ({lo:g} to {hi:g})")
    return value


def count_field(hub: dict, key: str) -> int | None:
    value = number_field(hub, key, 0, MAX_COUNT)
    if value is not None and value != int(value):
        raise ValueError(f"{key} {value:g} is not a whole number")
    return None if value is None else int(value)


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class OneFamily:
    """Every address of one trace is of one IP version: a traceroute probes one address family (-4 or -6) and only
    routers of that family answer it, so an address of the other was pasted in or two traces were joined. Feed it
    each address with words saying where it stands; the first one sets the family. ``check`` raises ValueError
    (one line naming both places) at the first address of the other version."""

    def __init__(self) -> None:
        self.first: tuple[int, str, str] | None = None  # version, address, where
        self._seen: set[str] = set()  # addresses already checked: a session of millions of samples checks each once

    def check(self, address: str, where: str) -> None:
        if address in self._seen:
            return
        version = ipaddress.ip_address(address).version
        if self.first is None:
            self.first = (version, address, where)
        elif version != self.first[0]:
            family, first, first_where = self.first
            raise ValueError(
                f"{where} {clean_text(address, 60)} is IPv{version} but {first_where} {clean_text(first, 60)} is "
                f"IPv{family}: a trace probes one address family, so the file was edited or two traces were joined"
            )
        self._seen.add(address)


def _host(host: str) -> tuple[str | None, str | None]:
    """mtr's ``host`` column as (address, name): an address (-n), a name, or "name (address)" (-b); "???" silent."""
    host = clean_text(host.strip())
    if host in ("???", ""):
        return None, None
    m = re.fullmatch(r"(\S+) \(([0-9A-Fa-f:.]+)\)", host)
    if m and is_ip(m.group(2)):
        return m.group(2), m.group(1)
    return host, None  # an address, or a name mtr showed instead of one: the hop's identity either way


def _same_host(a: str, b: str) -> bool:
    if is_ip(a) and is_ip(b):
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    return a.rstrip(".").lower() == b.rstrip(".").lower()


def half_step(raw: object, default: float = 0.05) -> float:
    """Half the last decimal place of a number as the file wrote it ("0.0" -> 0.05, 33.33 -> 0.005, "12" -> 0.5):
    how far the true value may lie from the number shown. ``default`` when it is no number."""
    try:
        exponent = Decimal(str(raw).strip().rstrip("%")).as_tuple().exponent
    except (InvalidOperation, ValueError):
        return default
    return 0.5 * 10.0 ** min(0, exponent if isinstance(exponent, int) else 0)


def _loss_step_pct(raw: object) -> float:
    return half_step(raw)


def mtr_loss_milli(lost: int, base: int) -> tuple[int, ...]:
    """The loss mtr computes for ``lost`` of ``base`` probes, in thousandths of a percent, as its ``net_loss``
    (ui/net.c, unchanged from 0.8x to 0.96) does: ``1000 * (100 - 100.0 * returned / (xmit - transit))`` in
    doubles, stored in an int, so TRUNCATED, not rounded. Its JSON prints that int / 1000.0 (0.93 on: jansson,
    5 significant digits, so exactly: 16.666 for 50 of 300; 0.92: "%.2f"), its text report "%4.1f", its CSV
    "%.2f": each rounds the truncated value. Returns the value of that double arithmetic and the exact floor (they
    differ where the double falls just below a whole number: 42 of 125 lost is 33.599 in mtr's output, 33.6
    exactly), so either compiler's arithmetic is accepted."""
    if base <= 0:
        return (0,)
    as_mtr = int(1000 * (100 - (100.0 * (base - lost) / base)))
    exact = (100_000 * lost) // base
    return (as_mtr,) if as_mtr == exact else (as_mtr, exact)


def loss_fits(loss_pct: float, step: float, base: int, received: int) -> bool:
    """Whether a loss written with rounding ``step`` (``half_step`` of it as written; value ``loss_pct``) is what a
    writer shows for ``received`` replies of ``base`` probes: the exact loss rounded to the decimals written (any
    tool), or mtr's truncated one (``mtr_loss_milli``) rounded to them (3 decimals: mtr 0.93+ JSON, exactly)."""
    if not 0 <= received <= base:
        return False
    step += 1e-9
    lost = base - received
    exact = 0.0 if base == 0 else 100.0 * lost / base
    if abs(loss_pct - exact) <= step:
        return True
    return any(abs(loss_pct - m / 1000.0) <= step for m in mtr_loss_milli(lost, base))


def check_loss(loss_pct: float, raw: object, sent: int, received: int, names: tuple[str, str, str]) -> None:
    """ValueError unless ``loss_pct`` (as written: ``raw``) follows from ``sent`` and ``received`` (``loss_fits``:
    rounded, or truncated to 0.001 % and rounded as mtr writes it). A probe still in flight may be left out of the
    loss (mtr's ``net_loss`` divides by Snt minus its one-probe ``transit`` flag), so a loss of ``received`` of
    ``sent - 1`` is accepted too. ``names``: the file's names of loss, sent and received, for the message."""
    step = half_step(raw)
    if any(loss_fits(loss_pct, step, sent - f, received) for f in (0, 1) if sent - f >= 0 and (f == 0 or sent > 1)):
        return
    expected = 0.0 if sent <= 0 else 100.0 * (sent - received) / sent
    raise ValueError(
        f"{names[0]} {clean_text(str(raw), 20)} does not follow from the counts ({names[1]} {sent} and "
        f"{names[2]} {received} give {expected:.{max(1, _decimals(raw))}f} %)"
    )


def _decimals(raw: object) -> int:
    """Decimal places of a number as the file wrote it ("33.33" -> 2)."""
    return max(0, round(-math.log10(2.0 * half_step(raw, 0.5))))


def check_order(times: dict[str, float | None], raws: dict[str, object], best: str, avg: str, worst: str,
                last: str | None = None) -> None:  # fmt: skip
    """ValueError unless best <= avg <= worst (and best <= last <= worst) within the rounding of the numbers as
    written (``raws``: the fields as the file holds them)."""
    present = [k for k in (best, avg, worst) if times.get(k) is not None]
    pairs = list(zip(present, present[1:], strict=False))
    if last is not None and times.get(last) is not None:
        pairs += [(k, last) for k in (best,) if times.get(k) is not None]
        pairs += [(last, k) for k in (worst,) if times.get(k) is not None]
    for lo, hi in pairs:
        slack = half_step(raws.get(lo), 0.0) + half_step(raws.get(hi), 0.0) + 1e-9
        if times[lo] > times[hi] + slack:  # type: ignore[operator]
            shown = ", ".join(f"{k} {clean_text(str(raws.get(k)), 20)}" for k in (best, avg, worst, last)
                              if k is not None and times.get(k) is not None)  # fmt: skip
            order = " <= ".join(k for k in (best, avg, worst) if times.get(k) is not None)
            within = f", and {last} between {best} and {worst}" if last and last in shown else ""
            raise ValueError(f"{shown} are not in order ({order}{within})")


def _received_from_loss(sent: int, loss_pct: float, raw: object) -> int | None:
    """Replies received, from Snt and Loss% when exactly one count fits Loss% as written (``loss_fits``: mtr
    truncates to 0.001 % and its outputs round that; others round): first of all Snt probes, else of Snt - 1 (mtr
    leaves its one probe in flight out of Loss%). None when several fit (thousands of probes and a loss shown to
    0.1 %). ValueError when no count can give Loss% at all: the figure was not written by mtr from these probes."""
    if sent == 0:
        return 0
    step = _loss_step_pct(raw)
    # Only counts near loss_pct can fit: mtr's truncation (and a double just below) is at most 0.002 % lower.
    near = step + 0.002
    for in_flight in (0, 1):
        base = sent - in_flight
        if base <= 0:
            continue
        lo = max(0, math.floor(base * (1.0 - (loss_pct + near) / 100.0)) - 1)
        hi = min(base, math.ceil(base * (1.0 - (loss_pct - near) / 100.0)) + 1)
        fits = [k for k in range(lo, hi + 1) if loss_fits(loss_pct, step, base, k)]
        if len(fits) == 1:
            return fits[0]
        if fits:
            return None
    raise ValueError(
        f"Loss% {clean_text(str(raw), 20)} is no loss of Snt {sent} probes (nor of {sent - 1} with one in flight): "
        "no count of replies gives it"
    )


def _hub(hub: object, notes: set[str]) -> HopSummary:
    if not isinstance(hub, dict):
        raise ValueError("the hop is not an object")
    ttl = count_field(hub, "count")
    if ttl is None:
        raise ValueError("it has no count (hop number)")
    if not 1 <= ttl <= MAX_TTL:
        raise ValueError(f"count {ttl} is not a hop number (1 to {MAX_TTL})")
    host = hub.get("host")
    if not isinstance(host, str):
        raise ValueError("host is missing or not text")
    address, name = _host(host)
    sent, rcv, drop = count_field(hub, "Snt"), count_field(hub, "Rcv"), count_field(hub, "Drop")
    loss_pct = number_field(hub, "Loss%", 0.0, 100.0)
    # Each count comes from what the file holds, exactly, or stays None (shown "-"): the report's "tests" is how
    # many cycles mtr ran, not what each hop was sent (a hop found late, or probes in flight, differ), so it is
    # never taken for Snt.
    if sent is None and rcv is not None and drop is not None:
        sent = rcv + drop
    for key, value in (("Rcv", rcv), ("Drop", drop)):
        if value is not None and sent is not None and value > sent:
            raise ValueError(f"{key} {value} is more than Snt {sent}")
    if sent is not None and rcv is not None and drop is not None and not 0 <= sent - rcv - drop <= 1:
        raise ValueError(
            f"Snt {sent}, Rcv {rcv} and Drop {drop} do not add up (Snt = Rcv + Drop, or one more while a probe is "
            "in flight)"
        )
    received = rcv
    if received is None and sent is not None and drop is not None:
        received = sent - drop
    if received is None and address is None:
        received = 0  # mtr shows ??? where no reply ever came: nothing received is what the file says
    if received is not None and sent is not None and loss_pct is not None:
        check_loss(loss_pct, hub.get("Loss%"), sent, received, ("Loss%", "Snt", "Rcv"))
    if received is None and sent is not None and loss_pct is not None:
        received = _received_from_loss(sent, loss_pct, hub.get("Loss%"))
        if received is None:
            notes.add(
                "Loss% as written fits several counts of replies for some hops' Snt (too few decimals for that "
                "many probes): their RECV is unknown; run mtr with -o including R"
            )
    if loss_pct is None and sent and received is not None:
        loss_pct = 100.0 * (sent - received) / sent
    if loss_pct is None and address is None:
        loss_pct = 100.0  # listed (so probed) and never answered
    if address is None and received:
        raise ValueError(f"host ??? received {received} replies")
    if sent is None:
        notes.add(
            "the report has no probe counts (Snt, or Rcv and Drop): SENT and RECV are unknown and loss has no "
            "interval; run mtr with -o including S and R"
        )
    if loss_pct is None:
        notes.add(
            "the report has no loss field (Loss%, Rcv with Snt, or Drop with Snt): loss is unknown, so no hop can "
            "be scored; run mtr with -o including L"
        )
    times = {k: number_field(hub, k, 0.0, MAX_RTT_MS) for k in ("Last", "Avg", "Best", "Wrst", "StDev", "Javg")}
    if received == 0:
        times = dict.fromkeys(times)  # mtr prints 0.00 for a hop that never answered: no measurement
    elif times["Avg"] is None and loss_pct is not None:
        notes.add("the report has no latency fields (Avg), so no hop can be scored: run mtr with -o including A")
    check_order(times, hub, "Best", "Avg", "Wrst", "Last")
    jitter_ms = None
    if times["Javg"] is not None and received is not None and received >= 2:
        # mtr's Javg averages |RTT difference| over n replies with the first counted as 0: scale to n - 1.
        jitter_ms = times["Javg"] * received / (received - 1)
    return HopSummary(
        ttl=ttl,
        address=address,
        name=name,
        sent=sent,
        received=received,
        loss_pct=loss_pct,
        last_ms=times["Last"],
        avg_ms=times["Avg"],
        min_ms=times["Best"],
        max_ms=times["Wrst"],
        stdev_ms=times["StDev"] if received is None or received >= 2 else None,
        jitter_ms=jitter_ms,
    )


def parse_mtr_json(text: str, path: str = "<mtr json>") -> MemorySession:
    """An ``mtr --json`` report as a session of per-hop aggregates; SessionError (one line) when it is not one."""
    try:
        doc = loads_json(text, path)
    except InputError as exc:
        raise SessionError(str(exc)) from None
    return mtr_json_from_doc(doc, path)


def mtr_json_from_doc(doc: object, path: str) -> MemorySession:
    """As ``parse_mtr_json``, from the parsed document."""
    report = doc.get("report") if isinstance(doc, dict) else None
    head = report.get("mtr") if isinstance(report, dict) else None
    hubs = report.get("hubs") if isinstance(report, dict) else None
    if not isinstance(head, dict) or not isinstance(hubs, list):
        raise SessionError(f"{path}: not an mtr --json report (no report.mtr object and report.hubs list)")
    if not isinstance(head.get("dst"), str) or not head["dst"].strip():
        # mtr always writes its target: without it the file was edited or cut, and the path cannot be named.
        lacks = "lists no hops (report.hubs is empty) and " if not hubs else ""
        raise SessionError(
            f"{path}: the mtr report {lacks}names no target (report.mtr.dst is missing or empty), so it holds "
            "nothing pingmos can show; open the report as mtr --json wrote it"
        )
    try:
        count_field(head, "tests")  # not used as a count (see _hub), but a damaged header is refused
    except ValueError as exc:
        raise SessionError(f"{path}: the report's header is unreadable ({exc})") from None
    notes: set[str] = set()
    summaries: dict[int, HopSummary] = {}
    for i, hub in enumerate(hubs):
        try:
            s = _hub(hub, notes)
        except ValueError as exc:
            raise SessionError(f"{path}: hop {i + 1} of the mtr report is unreadable: {exc}") from None
        if s.ttl in summaries:
            raise SessionError(f"{path}: hop {i + 1} of the mtr report repeats hop number (count) {s.ttl}")
        summaries[s.ttl] = s
    ordered = tuple(summaries[t] for t in sorted(summaries))
    dst = head.get("dst")
    dst = clean_text(dst.strip()) if isinstance(dst, str) else ""
    _one_family(path, dst, ordered)
    reached = _reached(dst, ordered)
    if reached is None:
        notes.add(
            f"the report names its target {dst or '(none)'} but no hop by that name or address, so whether the "
            "destination was reached is unknown (mtr -b shows names and addresses)"
        )
    extra: dict = {"mtr": {k: clean_text(str(v), 80) for k, v in head.items() if isinstance(v, str | int | float)}}
    extra["destination_reached"] = reached
    if any(s.jitter_ms is not None for s in ordered):
        extra["jitter"] = "from mtr's Javg x n/(n-1) (PingPlotter's mean absolute difference)"
    if notes:
        extra["notes"] = sorted(notes)
    info = SessionInfo(
        target=dst,
        address=dst,
        protocol="udp" if head.get("udp") else "icmp",
        interval_s=1.0,  # mtr's report does not say; its default
        source="mtr --json",
        extra=extra,
    )
    return MemorySession(path, info, summaries=ordered)


def _one_family(path: str, dst: str, summaries: tuple[HopSummary, ...]) -> None:
    """SessionError when the report's addresses mix IPv4 and IPv6: mtr probes one address family (-4 or -6), so a
    hop of the other family was pasted in or the file is damaged; no such hop is scored as if measured."""
    known = [(s.address, f"hop {s.ttl}") for s in summaries if s.address and is_ip(s.address)]
    if is_ip(dst):
        known.insert(0, (dst, "the target (dst)"))
    if not known:
        return
    first, first_where = known[0]
    family = ipaddress.ip_address(first).version
    for address, where in known[1:]:
        version = ipaddress.ip_address(address).version
        if version != family:
            raise SessionError(
                f"{path}: {where} of the mtr report is IPv{version} ({address}) but {first_where} is IPv{family} "
                f"({first}): mtr probes one address family, so the report was edited or joined"
            )


def _reached(dst: str, summaries: tuple[HopSummary, ...]) -> bool | None:
    """Was ``dst`` among the hosts that answered? False when it is an address, absent, and the last host that
    answered is shown by address; None when mtr showed names and ``dst`` matches none of them (the target's
    reverse name need not be the name typed, nor its address be shown)."""
    if not dst:
        return None
    # mtr names a host only once it answered: an address is an answer even where the report has no Rcv.
    answered = [s for s in summaries if s.address and s.received != 0]
    for s in answered:
        if any(x and _same_host(x, dst) for x in (s.address, s.name)):
            return True
    if is_ip(dst):
        # mtr lists hops up to the destination and shows a host by name once it has one (its default): a name
        # answering last may be dst's own reverse name, so only an address answering last says "not reached".
        if answered and not is_ip(answered[-1].address):
            return None
        return False
    # dst is a name: only when every answering hop is shown by address could a match have been seen... and a
    # name is not an address, so it is unknown either way.
    return None


# -- mtr --raw ---------------------------------------------------------------------------------------------------


class TooManyProbes(SessionError):
    """The log records more probes than ``MAX_RAW_PROBES``: refused before the memory for them is spent."""


class _RawLog:
    """The records of an mtr --raw log, read line by line (see the module docstring).

    One probe costs 17 bytes here (typed arrays: position, sequence number, RTT, responder index), never a Python
    object per probe: a 73 MB log of 2 million probes took 1.5 GB as lists of lists and Sample objects."""

    def __init__(self, path: str, max_probes: int = 0, max_per_hop: int = 0):
        self.path = path
        self.max_probes = max_probes or MAX_RAW_PROBES
        self.max_per_hop = max_per_hop or MAX_RAW_PROBES_PER_HOP
        self.per_pos = array("I", bytes(4 * MAX_TTL))  # probes sent to each position
        self.pos = array("B")  # TTL - 1 of each probe, in sending order
        self.seq = array("I")
        self.rtt_ms = array("d")  # NaN while unanswered
        self.responder = array("i")  # index into self.host_list, -1 while unanswered
        self.host_list: list[str] = []
        self._host_index: dict[str, int] = {}
        self.hosts: dict[int, str] = {}  # pos -> the host mtr last named there
        self.answered_at: dict[str, set[int]] = {}  # host -> positions where it answered
        self.last_at: dict[int, int] = {}  # pos -> index of the last probe sent there
        self.names: dict[str, str] = {}
        self.family: tuple[int, str] | None = None  # the IP version of the first host named, and that host
        self.skipped: dict[str, int] = {}
        self.unmatched = 0
        self.repeated = 0  # x lines repeating a probe already sent (same TTL and sequence number): dropped
        self.first_repeat = 0  # the line number of the first
        self._outstanding: dict[int, int] = {}  # seq -> index of the latest probe sent with it, unanswered
        self.notes: list[str] = []

    def __len__(self) -> int:
        return len(self.pos)

    def feed(self, n: int, line: str) -> None:
        parts = line.split()
        if not parts:
            return
        kind = parts[0]
        if kind not in RAW_RECORDS:
            if len(kind) == 1 and kind.isalpha():
                self.skipped[kind] = self.skipped.get(kind, 0) + 1
                return
            raise ValueError(f"{clean_text(kind, 20)!r} is not a record type")
        if kind in "tm":
            return
        if len(parts) < 3:
            raise ValueError("too few fields")
        pos = whole_text(parts[1])
        if not 0 <= pos < MAX_TTL:
            raise ValueError(f"position {pos} is beyond TTL {MAX_TTL}")
        if kind == "x":
            seq = whole_text(parts[2])
            if not 0 <= seq <= MAX_SEQ:
                raise ValueError(f"sequence number {seq} is out of range")
            i = len(self.pos)
            # The same sequence number as the latest probe to this TTL, fewer probes on than mtr's sequence numbers
            # take to come round (new_sequence: 33000..65535): the line written twice, not a new probe; counted, it
            # would be a probe never answered (hop 1 0 % -> 50 %). (An older unanswered probe with this number is
            # not the test: a log of a smaller sequence space reuses one while it is outstanding.)
            twin = self.last_at.get(pos)
            if twin is not None and self.seq[twin] == seq and i - twin < MTR_SEQ_CYCLE:
                self.repeated += 1
                self.first_repeat = self.first_repeat or n
                return
            if i >= self.max_probes:
                raise TooManyProbes(
                    f"{self.path}: the mtr --raw log records more than {self.max_probes:,} probes (line {n}), more "
                    f"than pingmos opens from one log (memory); open a part of it (split -l {n - 1}) or mtr --json"
                )
            if self.per_pos[pos] >= self.max_per_hop:
                raise TooManyProbes(
                    f"{self.path}: the mtr --raw log records more than {self.max_per_hop:,} probes to hop {pos + 1} "
                    f"(line {n}), more than pingmos scores in one hop (memory); open a part of it "
                    f"(split -l {n - 1}) or mtr --json"
                )
            self.per_pos[pos] += 1
            self._outstanding[seq] = i
            self.last_at[pos] = i
            self.pos.append(pos)
            self.seq.append(seq)
            self.rtt_ms.append(math.nan)
            self.responder.append(-1)
        elif kind == "h":
            if not is_ip(parts[2]):
                raise ValueError(f"host {clean_text(parts[2], 60)!r} is not an IP address")
            version = ipaddress.ip_address(parts[2]).version
            if self.family is None:
                self.family = (version, parts[2])
            elif version != self.family[0]:
                # mtr probes with one address family (-4 or -6): both in one log is two logs joined, or damage.
                raise ValueError(
                    f"host {clean_text(parts[2], 60)} is IPv{version} but the log's hosts are IPv{self.family[0]} "
                    f"({clean_text(self.family[1], 60)}): mtr probes one address family"
                )
            self.hosts[pos] = parts[2]
        elif kind == "d":
            if pos in self.hosts:
                self.names[self.hosts[pos]] = clean_text(" ".join(parts[2:]))
        elif kind == "p":
            if len(parts) < 4:
                raise ValueError("too few fields")
            usec, seq = whole_text(parts[2]), whole_text(parts[3])
            if not 0 <= usec <= MAX_RTT_MS * 1000:
                raise ValueError(f"round-trip time {usec} us is {'negative' if usec < 0 else 'beyond an hour'}")
            i = self._outstanding.get(seq)
            host = self.hosts.get(pos)
            if i is None or self.pos[i] != pos or host is None:
                self.unmatched += 1  # no outstanding probe of ours (or no host named): nobody's reply
                return
            del self._outstanding[seq]
            index = self._host_index.get(host)
            if index is None:
                index = self._host_index[host] = len(self.host_list)
                self.host_list.append(host)
            self.rtt_ms[i] = usec / 1000.0
            self.responder[i] = index
            self.answered_at.setdefault(host, set()).add(pos)

    def destination(self) -> str | None:
        """The host answering at the highest position and at a lower one too, with no other host answering from
        its lowest position on (see the module docstring)."""
        if not self.answered_at:
            return None
        top = max(max(ps) for ps in self.answered_at.values())
        for host, ps in self.answered_at.items():
            if top in ps and len(ps) > 1:
                first = min(ps)
                if all(max(other) < first for h, other in self.answered_at.items() if h != host):
                    return host
        return None


class RawLogSession(MemorySession):
    """An mtr --raw log's probes held as numpy arrays (``ttl``, ``seq``, ``round``, ``rtt_ms`` NaN when lost,
    ``responder`` an index into ``hosts`` or -1), each Sample made only while it is read: about 30 bytes a probe
    instead of a Sample object's 200 or more."""

    _CHUNK = 65536  # samples made from one slice of the arrays at a time

    def __init__(self, path: str, info: SessionInfo, columns: dict, hosts: list[str], dest: str | None, names):
        super().__init__(path, info, names=names)
        self._columns = columns
        self._hosts = hosts
        self._dest_index = hosts.index(dest) if dest in hosts else -2
        self._start = info.started_at or 0.0

    def __len__(self) -> int:
        return len(self._columns["round"])

    def _make(self, order=None, time_range: TimeRange | None = None) -> Iterator[Sample]:
        c = self._columns
        hosts, dest, start, step = self._hosts, self._dest_index, self._start, self.info.interval_s
        keep = sample_filter(time_range)
        n = len(c["round"])
        for lo in range(0, n, self._CHUNK):
            idx = slice(lo, lo + self._CHUNK) if order is None else order[lo : lo + self._CHUNK]
            rows = zip(*(c[k][idx].tolist() for k in ("round", "ttl", "seq", "rtt_ms", "responder")), strict=True)
            for r, ttl, seq, rtt, who in rows:
                s = Sample(r, ttl, seq, start + r * step, None if who < 0 else rtt,
                           None if who < 0 else hosts[who], who == dest)  # fmt: skip
                if keep(s):
                    yield s

    def samples(self, time_range: TimeRange | None = None) -> Iterator[Sample]:
        return self._make(None, time_range)

    def samples_by_round(self, time_range: TimeRange | None = None) -> Iterator[Sample]:
        # Sorted as indices (8 bytes a probe), not as a list of Samples.
        return self._make(np.argsort(self._columns["round"], kind="stable"), time_range)

    def route(self) -> list[RouteEntry]:
        return route_of(self.samples())


def _lines_of(text: str) -> Iterator[tuple[str, bool]]:
    """(line, ended) of ``text`` without a list of them all: ``ended`` is False for a last line without "\n"."""
    start, n = 0, len(text)
    while start < n:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:], False
            return
        yield text[start:end], True
        start = end + 1


def parse_mtr_raw(
    text: str,
    path: str = "<mtr raw>",
    interval_s: float = 1.0,
    started_at: float | None = 0.0,
    target: str | None = None,
    ended_at: float | None = None,
) -> MemorySession:
    """An ``mtr --raw`` log as a session of raw samples (see the module docstring); SessionError if unreadable.

    ``target`` is the destination address when known (a raw log does not name it). Send times start at
    ``started_at``, or are placed so that the last round ends at ``ended_at`` when that is given."""
    return parse_mtr_raw_lines(_lines_of(text), path, interval_s, started_at, target, ended_at)


def parse_mtr_raw_lines(
    lines: Iterable[tuple[str, bool]],
    path: str = "<mtr raw>",
    interval_s: float = 1.0,
    started_at: float | None = 0.0,
    target: str | None = None,
    ended_at: float | None = None,
    max_probes: int = 0,
    max_per_hop: int = 0,
) -> RawLogSession:
    """As ``parse_mtr_raw``, from (line, ended) pairs read one at a time (``input_files.text_lines``), so that
    memory grows with the probes kept (17 bytes each while reading), not with the file. More than ``max_probes``
    (default ``MAX_RAW_PROBES``) or ``max_per_hop`` to one TTL (``MAX_RAW_PROBES_PER_HOP``) is refused with
    ``TooManyProbes`` as soon as the line that exceeds it is read."""
    if target is not None and not is_ip(target):
        raise SessionError(f"{path}: the target {clean_text(target, 60)!r} given for the log is not an IP address")
    log = _RawLog(path, max_probes, max_per_hop)
    for n, (line, ended) in enumerate(lines, start=1):
        if not ended:
            if line.strip():
                log.notes.append(f"the last line ({clean_text(line, 40)!r}) is incomplete (no end of line): ignored")
            break
        try:
            log.feed(n, line)
        except (IndexError, ValueError) as exc:
            raise SessionError(
                f"{path}: line {n} is not an mtr --raw record ({exc}): {clean_text(line, 80)!r}"
            ) from None
    if not len(log):
        raise SessionError(f"{path}: the mtr --raw log holds no probes")
    dest = target if target is not None else log.destination()
    dest_pos = min(log.answered_at.get(dest, ()), default=None) if dest else None
    pos = np.frombuffer(log.pos, dtype=np.uint8)
    responder = np.frombuffer(log.responder, dtype=np.int32)
    # The last probe to each position, unanswered at the end of the log, was in flight: outcome unknown.
    in_flight = np.zeros(len(pos), dtype=bool)
    for i in log.last_at.values():
        in_flight[i] = responder[i] < 0
    beyond = pos > dest_pos if dest_pos is not None else np.zeros(len(pos), dtype=bool)
    counted = int(np.count_nonzero(in_flight & ~beyond))
    kept = np.flatnonzero(~in_flight & ~beyond)
    ttl = pos[kept]
    # Round = how many probes to the same TTL came before (stable by position, then sending order).
    by_ttl = np.argsort(ttl, kind="stable")
    sorted_ttl = ttl[by_ttl]
    group_start = np.flatnonzero(np.r_[True, sorted_ttl[1:] != sorted_ttl[:-1]])
    sizes = np.diff(np.r_[group_start, len(sorted_ttl)])
    rounds = np.empty(len(ttl), dtype=np.int64)
    rounds[by_ttl] = np.arange(len(ttl)) - np.repeat(group_start, sizes)
    del by_ttl, sorted_ttl
    columns = {
        "round": rounds,
        "ttl": (ttl.astype(np.int16) + 1),
        "seq": np.frombuffer(log.seq, dtype=np.uint32)[kept],
        "rtt_ms": np.frombuffer(log.rtt_ms, dtype=np.float64)[kept],
        "responder": responder[kept],
    }
    last_round = int(rounds.max()) if len(rounds) else 0
    if ended_at is not None:
        started_at = ended_at - last_round * interval_s
    notes = list(log.notes)
    if counted:
        notes.append(f"{counted} probe(s) still in flight when the log ends: not counted (outcome unknown)")
    if log.repeated:
        notes.append(
            f"{log.repeated} 'x' line(s) repeat a probe already sent (the same TTL and sequence number; first: line "
            f"{log.first_repeat}): dropped, each probe counted once"
        )
    if log.unmatched:
        notes.append(f"{log.unmatched} reply line(s) matched no outstanding probe: ignored")
    if log.skipped:
        kinds = ", ".join(f"{k!r} x{v}" for k, v in sorted(log.skipped.items()))
        notes.append(f"record types this reader does not know were skipped: {kinds}")
    if dest is None:
        notes.append(
            "an mtr --raw log does not name its target and no host answers as a destination does (at two TTLs), "
            "so the target is unknown and the destination counts as not reached"
        )
    extra: dict = {"times": "placed by round; mtr --raw records no time"}
    if notes:
        extra["notes"] = notes
    info = SessionInfo(
        target=dest or "",
        address=dest or "",
        protocol="icmp",
        interval_s=interval_s,
        started_at=started_at,
        source="mtr --raw",
        extra=extra,
    )
    return RawLogSession(path, info, columns, log.host_list, dest, log.names)
