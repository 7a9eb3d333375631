"""What the engine emits: one Sample per probe, answered or lost."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sample:
    """The outcome of one probe.

    ``sent_at`` is wall-clock time (seconds since the epoch) for display and storage; ``rtt_ms`` is None when no
    matching reply came before the probe's timeout (a lost sample is never 0 ms). ``responder`` is the address
    that answered (None when lost); ``reached`` is True when the answer came from the destination itself.
    """

    round: int
    ttl: int
    seq: int
    sent_at: float
    rtt_ms: float | None
    responder: str | None
    reached: bool = False
