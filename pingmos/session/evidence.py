"""What a headless report run keeps besides its final table: the session recording and the alert episodes.

``Evidence.observe`` is the report runner's per-sample hook; ``close`` (after the run) evaluates the alert rules
over the run's samples as if live, writes the events and the reverse-DNS names into the session, and closes it.
"""

from __future__ import annotations

import time

from pingmos.alerts import AlertEvent, AlertRule, Scorer, evaluate_samples
from pingmos.engine.events import Sample
from pingmos.engine.tracer import TraceSettings
from pingmos.hop_report import TraceSnapshot
from pingmos.session.model import SessionError, SessionInfo
from pingmos.session.store import SessionRecorder


def info_for(target: str, settings: TraceSettings, started_at: float | None = None) -> SessionInfo:
    """The session settings record of a trace (what a GUI's recorder should write too)."""
    extra = {"timeout_s": settings.timeout_s, "rounds": settings.rounds}
    for name in ("port", "flows"):  # present in newer TraceSettings
        if hasattr(settings, name):
            extra[name] = getattr(settings, name)
    return SessionInfo(
        target=target,
        address=settings.address,
        protocol=settings.protocol,
        interval_s=settings.interval_s,
        max_ttl=settings.max_ttl,
        started_at=time.time() if started_at is None else started_at,
        source="pingmos",
        extra=extra,
    )


class Evidence:
    """ValueError from the constructor when the session file cannot be created (message for the user)."""

    def __init__(self, target: str, settings: TraceSettings, record_path: str | None, rules: list[AlertRule] | None):
        self.target = target
        self.interval_s = settings.interval_s
        self.rules = rules or []
        self.samples: list[Sample] = []
        self.error: str | None = None
        self.recorder = None
        if record_path:
            try:
                self.recorder = SessionRecorder(record_path, info_for(target, settings))
            except SessionError as exc:
                raise ValueError(str(exc)) from None

    def observe(self, sample: Sample) -> None:
        if self.recorder is not None:
            self.recorder.record(sample)
        if self.rules:
            self.samples.append(sample)

    def close(self, snapshot: TraceSnapshot | None, scorer: Scorer) -> list[AlertEvent]:
        """Alert events of the run (also written to the session), then the session closed."""
        events = []
        if self.rules and self.samples:
            events = evaluate_samples(self.rules, self.target, scorer, self.samples, step_s=self.interval_s)
        if self.recorder is not None:
            for e in events:
                self.recorder.record_event(e.to_session_event())
            for hop in snapshot.hops if snapshot is not None else ():
                if hop.address and hop.name:
                    self.recorder.record_name(hop.address, hop.name)
            self.recorder.close()
            self.error = self.recorder.error
        return events
