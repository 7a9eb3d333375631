"""What the engine emits: one Sample per probe, answered or lost."""

from __future__ import annotations

from dataclasses import dataclass

# What answered a probe. "dest_unreachable" carries its code in Sample.icmp_code.
REPLY_KINDS = ("echo_reply", "time_exceeded", "dest_unreachable", "tcp_syn_ack", "tcp_rst")


@dataclass(frozen=True, slots=True)
class Sample:
    """The outcome of one probe.

    ``sent_at`` is wall-clock time (seconds since the epoch) for display and storage; ``rtt_ms`` is None when no
    matching reply came before the probe's timeout (a lost sample is never 0 ms). ``responder`` is the address
    that answered (None when lost); ``reached`` is True when the answer came from the destination itself.

    ``reply`` is the kind of answer, one of ``REPLY_KINDS`` (None when lost); ``icmp_code`` is the ICMP code of a
    destination-unreachable (RFC 792 / RFC 4443: 0 net, 1 host, 3 port, 9/10/13 administratively prohibited, ...),
    None for every other kind.
    """

    round: int
    ttl: int
    seq: int
    sent_at: float
    rtt_ms: float | None
    responder: str | None
    reached: bool = False
    reply: str | None = None
    icmp_code: int | None = None


@dataclass(frozen=True)
class ProbeCounts:
    """A trace's counters beside its samples: the one definition every front end shows (``probes_sent``,
    ``unmatched_replies``, ``suspicious_replies`` of the report's JSON, the window's status line) and a recording
    keeps (``SessionInfo.extra["probe_counts"]``), so a recorded run reads as its live output did.

    - ``probes_sent``: every probe the trace put on the wire, those beyond the destination included (a round's
      TTLs above the destination go out before its answer is in, and again after a route change: they get no
      sample, as they are no hop). The echo witness's probes are not the trace's: never counted here.
    - ``unmatched_replies``: replies the trace's sockets received that answer no probe of the trace awaiting one:
      other programs' (a ping or traceroute on the same host), duplicates, answers after their probe's timeout,
      answers to probes beyond the destination (forgotten once the end is known). The echo witness's own replies
      (``Matcher.own_echo_replies``) are ours: not counted here (nor anywhere shown).
    - ``suspicious_replies``: replies that named a probe of ours but did not prove it, plus answers claiming the
      end of the path against the other TTLs' answers (``Tracer.suspicious_replies``).
    """

    probes_sent: int = 0
    unmatched_replies: int = 0
    suspicious_replies: int = 0

    def to_json(self) -> dict:
        return {
            "probes_sent": self.probes_sent,
            "unmatched_replies": self.unmatched_replies,
            "suspicious_replies": self.suspicious_replies,
        }

    @classmethod
    def from_json(cls, doc: object) -> ProbeCounts | None:
        """What ``to_json`` wrote; None when ``doc`` is not that (absent, or a damaged file's: a file is data)."""
        if not isinstance(doc, dict):
            return None
        values = [doc.get(k) for k in ("probes_sent", "unmatched_replies", "suspicious_replies")]
        if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63 for v in values):
            return None
        return cls(*values)
