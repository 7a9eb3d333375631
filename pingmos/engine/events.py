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
