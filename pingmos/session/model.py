"""What a session holds, as plain frozen data: its settings, hop summaries (mtr --json), events and route.

A session is a trace run kept for later: the settings it ran with and every raw Sample (lost ones as lost).
Numbers are never stored; they are recomputed from the samples, so a saved session can be re-scored with any
model or window. The one exception is an imported ``mtr --json`` report, which holds only mtr's per-hop
aggregates (see ``pingmos.session.mtr_import``); such a session has ``HopSummary`` rows and no samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pingmos.session_event import SessionEvent  # the event log's record: defined below the layers that use it

__all__ = ["HopSummary", "RouteEntry", "SessionError", "SessionEvent", "SessionInfo"]


class SessionError(Exception):
    """A session file could not be read or written; the message says which file, what is wrong and what to do."""


@dataclass(frozen=True)
class SessionInfo:
    """What was traced and how. ``started_at`` is wall-clock seconds since the epoch (None when unknown).

    ``source`` says where the data came from: ``"pingmos"`` (recorded here), ``"mtr --json"`` or ``"mtr --raw"``.
    ``extra`` holds further settings as plain JSON values (the live window, model name, timeout ...).
    """

    target: str
    address: str
    protocol: str = "icmp"
    interval_s: float = 1.0
    max_ttl: int | None = None
    started_at: float | None = None
    source: str = "pingmos"
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "target": self.target,
            "address": self.address,
            "protocol": self.protocol,
            "interval_s": self.interval_s,
            "max_ttl": self.max_ttl,
            "started_at": self.started_at,
            "source": self.source,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, doc: object) -> SessionInfo:
        """Parse what ``to_json`` wrote; ValueError with a reason when a field is missing or of the wrong type."""
        if not isinstance(doc, dict):
            raise ValueError("the settings record is not an object")

        def get(name, kinds, required=True, default=None):
            if name not in doc or doc[name] is None:
                if required:
                    raise ValueError(f"the settings record has no {name!r}")
                return default
            value = doc[name]
            if not isinstance(value, kinds) or isinstance(value, bool):
                raise ValueError(f"the settings field {name!r} has the wrong type ({type(value).__name__})")
            return value

        interval_s = float(get("interval_s", (int, float)))
        if not 0 < interval_s <= 86_400:
            raise ValueError(f"the settings field 'interval_s' must be within 0 and 86400 s, not {interval_s:g}")
        extra = doc.get("extra") or {}
        if not isinstance(extra, dict):
            raise ValueError("the settings field 'extra' is not an object")
        started_at = get("started_at", (int, float), required=False)
        if started_at is not None and not 0 <= started_at <= 253_402_300_799:
            raise ValueError(f"the settings field 'started_at' is not a time ({started_at:g})")
        max_ttl = get("max_ttl", int, required=False)
        if max_ttl is not None and not 1 <= max_ttl <= 255:
            raise ValueError(f"the settings field 'max_ttl' must be within 1 and 255, not {max_ttl}")
        return cls(
            target=get("target", str),
            address=get("address", str),
            protocol=get("protocol", str),
            interval_s=interval_s,
            max_ttl=max_ttl,
            started_at=None if started_at is None else float(started_at),
            source=get("source", str, required=False, default="pingmos"),
            extra=extra,
        )


@dataclass(frozen=True)
class HopSummary:
    """One hop's aggregates as a report holds them (mtr --json, a pingmos JSON report): ms and percent, None when
    not given.

    ``sent`` and ``received`` are None where the report holds no count to take them from (mtr -o without S, R
    or D): unknown, never 0 and never guessed.

    ``jitter_ms`` is mtr's Javg (mean absolute difference of consecutive RTTs, the same idea as PingPlotter's
    jitter) when the report has it; None otherwise.
    """

    ttl: int
    address: str | None
    name: str | None
    sent: int | None
    received: int | None
    loss_pct: float | None
    last_ms: float | None
    avg_ms: float | None
    min_ms: float | None
    max_ms: float | None
    stdev_ms: float | None
    jitter_ms: float | None
    # address -> replies where the file lists them (a pingmos report); else the hop's address answered them all
    responders: tuple[tuple[str, int], ...] = ()
    unreachable: str | None = None  # the path ended here: a router's ICMP destination-unreachable, in words


@dataclass(frozen=True)
class RouteEntry:
    """One responder seen at one TTL: first and last time (wall clock, s) it answered, and how many replies."""

    ttl: int
    responder: str
    first_seen: float
    last_seen: float
    replies: int
