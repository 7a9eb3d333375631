"""One entry of a trace's event log (an alert fired or cleared, a note): plain data, below every layer that
writes or shows one (alert rules, sessions, the window), so none of them imports another just for this record."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SessionEvent:
    """One entry of a session's event log: wall-clock time (s), a kind ("alert-fire", "alert-clear", "note" ...)
    and plain JSON data (the values that caused it)."""

    at: float
    kind: str
    data: dict = field(default_factory=dict)
