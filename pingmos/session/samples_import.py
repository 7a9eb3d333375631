"""pingmos's own raw samples (``pingmos export --what samples``, CSV or JSON) opened as a session.

The export keeps, per probe, what a re-score needs: round, TTL, send time (wall clock, s), RTT (ms; empty/null when
lost, never 0), the responder, whether it was the destination, and, since those columns were added, the reply's
kind and ICMP code. Replayed through the same fold, its hop table equals the one of the session it came from (the
names excepted: reverse DNS is not exported; a test says so).

Since the columns ``target``, ``address`` and ``protocol`` were added (the run's own, the same on every row), an
export carries its target and protocol, also of a run whose destination never answered; rows that differ in them
are two runs joined, refused in one line. What an export does not record (an older one) is taken from the
samples, never guessed as a number:

- the target: the address that answered as the destination (``reached``); none, and the target is unknown;
- the protocol: from the destination's kind of answer (an echo reply: ICMP; a TCP SYN-ACK or RST: TCP; a port
  unreachable from the destination: UDP); when no answer tells (an export without the ``reply`` column, or the
  destination never answered), it is shown as icmp and a note says so;
- the interval: the median spacing of consecutive rounds' first send times; one round leaves it unknown (1 s, noted);
- the flow count: one (a note says so when some TTL had several responders, where flows would matter).

Strict like every reader here: a missing column, a value of the wrong type or out of range, a lost sample with an
RTT or a responder, or an answered one without, is one line naming the file, the row and the field. pingmos sends
one probe per TTL and round, so a row repeating an earlier one exactly (files joined, a row pasted twice) is
dropped with a note naming the first such row, never counted twice; a second row for the same round and TTL with
another outcome is refused in one line naming both rows.
"""

from __future__ import annotations

import csv
import math
import re
import statistics
import sys
from collections.abc import Iterator

from pingmos.engine import PROTOCOLS, REPLY_KINDS, Sample
from pingmos.input_files import decimal_text, whole_text
from pingmos.session.model import SessionError, SessionInfo
from pingmos.session.mtr_import import MAX_RTT_MS, MAX_TTL, OneFamily, clean_text, is_ip
from pingmos.session.replay import MemorySession

# The columns of ``export --what samples`` (pingmos.export writes exactly these), in order. ``reply`` and
# ``icmp_code`` came later: a file without them still opens, its reply kinds unknown (as in old sessions).
SAMPLE_FIELDS = (
    "round",
    "ttl",
    "seq",
    "sent_at",
    "sent_at_utc",
    "rtt_ms",
    "lost",
    "responder",
    "reached",
    "reply",
    "icmp_code",
    "target",
    "address",
    "protocol",
)
REQUIRED = SAMPLE_FIELDS[:9]
# The run's own columns, the same on every row (``export`` writes them from the session; empty when unknown), so
# that a run whose destination never answered keeps its target and protocol when its samples are opened again.
CONTEXT_FIELDS = ("target", "address", "protocol")
CSV_HEADER_START = "round,ttl,seq,sent_at,"
SOURCE = "samples export"
MAX_ROUND = 2**31 - 1
MAX_SEQ = 2**32 - 1
MAX_TIME_S = 253_402_300_799.0  # 9999-12-31: beyond it no calendar shows the time
# ICMP codes of "port unreachable" from the destination: the answer a UDP probe gets (RFC 792: 3; RFC 4443: 4).
_PORT_UNREACHABLE = {3, 4}


def looks_like_samples_json(doc: object) -> bool:
    """A JSON list of objects with the export's first sample fields."""
    return isinstance(doc, list) and bool(doc) and isinstance(doc[0], dict) and {"round", "sent_at"} <= doc[0].keys()


def samples_from_json(doc: list, path: str) -> MemorySession:
    """The JSON export (``looks_like_samples_json``) as a session; SessionError naming the sample and field."""

    def rows() -> Iterator[tuple[str, dict]]:
        for i, raw in enumerate(doc, start=1):
            where = f"{path}: sample {i}"
            if not isinstance(raw, dict):
                raise SessionError(f"{where} is not an object")
            yield where, raw

    return _session(rows(), path, typed=True)


# A line of the text and its end: "\n", "\r\n" or a bare "\r", as csv reads them from a file opened with newline="".
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their ends, one at a time: csv reads them so without the copy io.StringIO makes
    (four bytes a character: 164 MB for a 41 MB export)."""
    for m in _LINE.finditer(text):
        if m.end() > m.start():
            yield m.group()


def samples_from_csv(text: str, path: str) -> MemorySession:
    """The CSV export (a header starting ``round,ttl,seq,sent_at,``) as a session; SessionError naming the line.

    Rows are read and turned into samples one at a time: memory holds the text and the samples, never every row
    as a dict besides (a 41 MB export of 400,000 samples took 919 MB)."""
    try:
        reader = csv.DictReader(_lines(text), strict=True)
        header = reader.fieldnames or []
        missing = [f for f in REQUIRED if f not in header]
        if missing:
            raise SessionError(f"{path}: a samples export, but the column {missing[0]!r} is missing")

        def rows() -> Iterator[tuple[str, dict]]:
            for raw in reader:
                where = f"{path}: line {reader.line_num}"
                if None in raw or None in raw.values():  # more cells than the header, or fewer
                    raise SessionError(f"{where} has {'more' if None in raw else 'fewer'} cells than the header")
                yield where, raw

        return _session(rows(), path, typed=False)
    except csv.Error as exc:
        raise SessionError(f"{path}: not a CSV table we read ({exc})") from None


class _Context:
    """The run's target, address and protocol as the export's context columns give them (those given: an older
    export has none), from the first row; ``check`` raises SessionError when a row's are malformed or differ from
    the first row's (rows of two runs joined)."""

    def __init__(self, typed: bool):
        self.typed = typed
        self.first: dict[str, str | None] | None = None
        self.first_where = ""

    def values(self) -> dict[str, str]:
        return {k: clean_text(v) for k, v in (self.first or {}).items() if v is not None}

    def check(self, where: str, raw: dict) -> None:
        values = {}
        for key in CONTEXT_FIELDS:
            value = raw.get(key)
            if isinstance(value, str):
                value = value.strip()
                if not self.typed and value.startswith("'"):  # csv_safe's guard
                    value = value[1:]
            if value in ("", None):
                value = None
            elif not isinstance(value, str):
                raise SessionError(f"{where}: {key} is {clean_text(repr(value), 40)}, not text")
            values[key] = value
        first = self.first
        if first is None:
            self.first, self.first_where = values, where
            address, protocol = values["address"], values["protocol"]
            if address is not None and not is_ip(address):
                raise SessionError(f"{where}: address {clean_text(address, 60)!r} is not an IP address")
            if protocol is not None and protocol not in PROTOCOLS:
                raise SessionError(
                    f"{where}: protocol {clean_text(protocol, 20)!r} is not one of {', '.join(PROTOCOLS)}"
                )
        elif values != first:
            key = next(k for k in CONTEXT_FIELDS if values[k] != first[k])
            raise SessionError(
                f"{where}: {key} {clean_text(str(values[key]), 60)!r} differs from "
                f"{self.first_where.rsplit(': ', 1)[-1]}'s {clean_text(str(first[key]), 60)!r}: rows of two runs joined"
            )


def _session(rows: Iterator[tuple[str, dict]], path: str, typed: bool) -> MemorySession:
    """The samples of ``rows`` (where, row) as a session, each row checked and turned into a Sample as it comes."""
    run = _Context(typed)
    samples = []
    notes: list[str] = []
    first_at: dict[tuple[int, int], tuple[str, Sample]] = {}
    repeated: list[str] = []
    family = OneFamily()
    for where, raw in rows:
        first_row = run.first is None
        run.check(where, raw)
        address = run.values().get("address") if first_row else None
        if address:
            family.check(address, "the run's address")
        sample = _sample(raw, where, typed)
        if sample.responder is not None:
            try:
                family.check(sample.responder, "the responder")
            except ValueError as exc:
                raise SessionError(f"{where}: {exc}") from None
        key = (sample.round, sample.ttl)
        earlier = first_at.get(key)
        if earlier is None:
            first_at[key] = (where, sample)
            samples.append(sample)
        elif earlier[1] == sample:
            repeated.append(where)  # the same probe written twice (files joined, a row pasted again): counted once
        else:
            # pingmos sends one probe per TTL and round: two outcomes for one probe cannot both be true.
            raise SessionError(
                f"{where}: round {sample.round}, ttl {sample.ttl} again, with another outcome than {earlier[0]}: one "
                "probe, two samples (the export was edited or merged from several runs)"
            )
    if not samples:
        raise SessionError(f"{path}: the samples export holds no samples")
    context = run.values()
    if repeated:
        notes.append(
            f"{len(repeated)} row(s) repeat an earlier one exactly (the same round, TTL and outcome; first: "
            f"{repeated[0].rsplit(': ', 1)[-1]}): dropped, each probe counted once"
        )
    destinations: dict[str, int] = {}
    for s in samples:
        if s.reached and s.responder is not None:
            destinations[s.responder] = destinations.get(s.responder, 0) + 1
    address = max(destinations, key=lambda a: (destinations[a], a)) if destinations else ""
    if "address" in context:
        address = context["address"]  # the run's own, as the export wrote it
    elif not destinations:
        notes.append("no sample reached the destination, so the target is unknown (an export names no target)")
    elif len(destinations) > 1:
        others = ", ".join(sorted(a for a in destinations if a != address))
        notes.append(f"several addresses answered as the destination; the target is taken as {address} (also {others})")
    protocol = context.get("protocol") or _protocol(samples, address)
    if protocol is None:
        protocol = "icmp"
        notes.append("the export does not record the protocol and no answer of the destination tells it: shown as icmp")
    interval_s = _interval_s(samples)
    if interval_s is None:
        interval_s = 1.0
        notes.append("one round only: the interval between rounds is unknown (shown as 1 s)")
    responders: dict[int, set[str]] = {}
    for s in samples:
        if s.responder is not None:
            responders.setdefault(s.ttl, set()).add(s.responder)
    if any(len(r) > 1 for r in responders.values()):
        notes.append(
            "some TTL was answered by several routers; the export does not record the trace's flow count, so route "
            "changes are judged as for one flow"
        )
    extra: dict = {"notes": notes} if notes else {}
    info = SessionInfo(
        target=context.get("target", address),
        address=address,
        protocol=protocol,
        interval_s=interval_s,
        max_ttl=None,
        started_at=min(s.sent_at for s in samples),
        source=SOURCE,
        extra=extra,
    )
    return MemorySession(path, info, samples=samples)


def _protocol(samples: list[Sample], address: str) -> str | None:
    """The protocol the destination's kind of answer shows, or None when no answer tells."""
    for s in samples:
        if not s.reached or s.responder != address or s.reply is None:
            continue
        if s.reply == "echo_reply":
            return "icmp"
        if s.reply in ("tcp_syn_ack", "tcp_rst"):
            return "tcp"
        if s.reply == "dest_unreachable" and s.icmp_code in _PORT_UNREACHABLE:
            return "udp"
    return None


def _interval_s(samples: list[Sample]) -> float | None:
    """The median spacing (s) of consecutive rounds' first send times, per round number; None below two rounds."""
    first: dict[int, float] = {}
    for s in samples:
        first[s.round] = min(first.get(s.round, s.sent_at), s.sent_at)
    rounds = sorted(first)
    steps = [(first[b] - first[a]) / (b - a) for a, b in zip(rounds, rounds[1:], strict=False)]
    steps = [x for x in steps if x > 0]
    if not steps:
        return None
    # To the millisecond: a trace's interval is set in round figures (0.1 s), which the send times carry to ~1 us.
    return min(max(round(statistics.median(steps), 3), 0.001), 86_400.0)


def _sample(raw: dict, where: str, typed: bool) -> Sample:
    def field(name: str, required: bool = True) -> object:
        value = raw.get(name)
        if not typed and isinstance(value, str):
            value = value.strip()
            if value.startswith("'"):  # csv_safe's guard against a spreadsheet formula
                value = value[1:]
            value = None if value == "" else value
        if value is None and required:
            raise SessionError(f"{where}: {name} is missing")
        return value

    def whole(name: str, lo: int, hi: int, required: bool = True) -> int | None:
        value = field(name, required)
        if value is None:
            return None
        if isinstance(value, str) and not typed:
            try:
                value = whole_text(value)
            except ValueError:
                raise SessionError(f"{where}: {name} {clean_text(value, 30)!r} is not a whole number") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise SessionError(f"{where}: {name} is not a whole number")
        if not lo <= value <= hi:
            raise SessionError(f"{where}: {name} {value} is out of range ({lo} to {hi})")
        return value

    def number(name: str, lo: float, hi: float, required: bool = True) -> float | None:
        value = field(name, required)
        if value is None:
            return None
        if isinstance(value, str) and not typed:
            try:
                value = decimal_text(value)
            except ValueError:
                raise SessionError(f"{where}: {name} {clean_text(value, 30)!r} is not a number") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SessionError(f"{where}: {name} is not a number")
        value = float(value)
        if not math.isfinite(value) or not lo <= value <= hi:
            raise SessionError(f"{where}: {name} {value:g} is out of range ({lo:g} to {hi:g})")
        return value

    def flag(name: str) -> bool:
        value = field(name)
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise SessionError(f"{where}: {name} must be true or false")

    rtt_ms = number("rtt_ms", 0.0, MAX_RTT_MS, required=False)
    lost = flag("lost")
    if lost != (rtt_ms is None):
        raise SessionError(f"{where}: lost is {str(lost).lower()} but rtt_ms is {'given' if lost else 'empty'}")
    responder = field("responder", required=False)
    if responder is not None and (not isinstance(responder, str) or not is_ip(responder)):
        raise SessionError(f"{where}: responder {clean_text(str(responder), 60)!r} is not an IP address")
    if lost == (responder is not None):
        raise SessionError(f"{where}: {'a lost sample has a responder' if lost else 'an answered sample has none'}")
    reached = flag("reached")
    if reached and lost:
        raise SessionError(f"{where}: a lost sample cannot have reached the destination")
    reply = field("reply", required=False)
    if reply is not None and (reply not in REPLY_KINDS or lost):
        shown = clean_text(str(reply), 30)
        why = "a lost sample has no reply" if lost else f"reply must be one of {', '.join(REPLY_KINDS)}"
        raise SessionError(f"{where}: reply {shown!r}: {why}")
    icmp_code = whole("icmp_code", 0, 255, required=False)
    if icmp_code is not None and reply != "dest_unreachable":
        raise SessionError(f"{where}: icmp_code is only for a dest_unreachable reply")
    return Sample(
        round=whole("round", 0, MAX_ROUND),  # type: ignore[arg-type]
        ttl=whole("ttl", 1, MAX_TTL),  # type: ignore[arg-type]
        seq=whole("seq", 0, MAX_SEQ),  # type: ignore[arg-type]
        sent_at=number("sent_at", 0.0, MAX_TIME_S),  # type: ignore[arg-type]
        rtt_ms=rtt_ms,
        # One string object per address, not one per row (400,000 rows of a few addresses).
        responder=sys.intern(responder) if isinstance(responder, str) else None,
        reached=reached,
        reply=reply,  # type: ignore[arg-type]
        icmp_code=icmp_code,
    )
