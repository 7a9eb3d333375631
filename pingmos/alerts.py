"""Alert rules: "MOS below X for Y minutes", "loss above X % over Y minutes", "latency or jitter above X".

The rule engine is pure (no threads, no I/O, no clock of its own): feed it Samples, call ``evaluate(now)`` at
your own pace, and it returns the fire and clear events with the values that caused them. Each rule is a small
state machine per episode: it fires once when its condition has held for ``for_s``, and clears once when the
value is back beyond ``clear_at`` for ``clear_for_s``. The clear level sits on the good side of the threshold
(hysteresis), so a value wobbling around the threshold never makes an alert flap.

How a value is measured: over the samples of one hop (the destination unless the rule names a TTL) sent in the
last ``window_s`` seconds of the rounds settled at every hop shown (the window's table and verdict count the same
rounds: ``TraceHistory.known_before``; a round whose loss is still to come is not counted before its answers
are), with at least ``min_samples`` of them (fewer: the value is unknown). Loss in percent of
the probes, latency the mean round trip (ms), jitter by the stats module's definition (ms), MOS by the scorer the
caller passes (the current model). When every probe of the window was lost there is no latency to score, yet no
call would get through either: the MOS value is then 1, the floor.

Where the destination cannot be measured, a rule on it judges what a call would get: nothing. While the destination
has not answered since the engine started (an agent started or reloaded during an outage), the rule measures the
highest TTL probed; where a router refuses to forward (its destination-unreachable ends the path before the
destination), that router's TTL. Every probe there counts as lost: loss 100 %, MOS 1 (latency and jitter unknown).

Time: ``for_s`` and ``clear_for_s`` are measured on a monotonic clock (``evaluate``'s ``mono``), so a wall clock
stepped back or forward neither delays nor hastens an alert; windows and event times are wall-clock (the samples'
send times). A value that is unknown (too few samples: a trace that stopped, a gap) ends the count: the condition
must hold for ``for_s`` of known values in a row. A wall clock stepped back (by more than CLOCK_STEP_S) makes the
samples sent before the step look later than those sent after it, so the engine starts its windows anew then.

Defaults from the seeds (001: "Average MOS < 3.5 for 5 minutes", "Packet loss > 1% sustained"): MOS of the last
minute below 3.5 for 5 minutes, clearing at 3.7; loss of the last minute above 1 % for 5 minutes, clearing at
0.5 %. Rules live in a settings file (JSON or TOML, never code; see ``load_rules``). A rule may name a command
to run when it fires or clears: ``CommandRunner`` runs it off the caller's thread, with a timeout, the values in
PINGMOS_ALERT_* environment variables and no shell.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shlex
import signal
import subprocess
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pingmos.diagnosis import Diagnosis
from pingmos.display_text import loss_text
from pingmos.engine import Sample
from pingmos.hop_report import no_responder_samples
from pingmos.scoring import HopWindow, Score, Scorer
from pingmos.session_event import SessionEvent
from pingmos.state.history import TraceHistory

METRICS = {"mos": "below", "loss_pct": "above", "latency_ms": "above", "jitter_ms": "above"}
UNITS = {"mos": "", "loss_pct": " %", "latency_ms": " ms", "jitter_ms": " ms"}
LABELS = {"mos": "MOS", "loss_pct": "loss", "latency_ms": "latency", "jitter_ms": "jitter"}
FIRE, CLEAR = "fire", "clear"
# A wall clock that falls behind the monotonic one by more than this between two evaluations was stepped back (NTP
# slews at most 0.5 ms a second; a step is seconds to hours).
CLOCK_STEP_S = 1.0


class RulesError(Exception):
    """A rules file or rule is invalid; the message names the file, the rule and what is wrong."""


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} s"


def _plain_name(metric: str, threshold: float) -> str:
    """The name the monitor's configuration gives a rule without one (a Prometheus label value: kept as it was)."""
    return f"{LABELS[metric]} {METRICS[metric]} {threshold}"


def _default_clear(metric: str, threshold: float) -> float:
    if metric == "mos":
        return threshold + 0.2
    if metric == "loss_pct":
        return threshold / 2.0
    return threshold * 0.8


@dataclass(frozen=True)
class AlertRule:
    """One rule. ``threshold`` is in the metric's unit (MOS, %, ms); the rule is bad when the value is below it
    (MOS) or above it (the others). ``clear_at`` None = the default hysteresis (MOS + 0.2, half the loss, 80 %
    of latency or jitter). ``ttl`` None = the destination; ``target`` None = every target. ``command`` is an
    argv list run when the rule fires and when it clears (empty = none)."""

    name: str  # the user's own name; "" = generated from the settings (``auto_name``)
    metric: str
    threshold: float
    window_s: float = 60.0
    for_s: float = 0.0
    clear_at: float | None = None
    clear_for_s: float = 0.0
    ttl: int | None = None
    target: str | None = None
    min_samples: int = 10
    command: tuple[str, ...] = ()
    command_timeout_s: float = 10.0
    # The name follows the settings (``generated_name``): a rule edited from 5 minutes to 10 s is called so.
    # Set when ``name`` is empty; ``dataclasses.replace`` keeps it, so a changed copy is named anew.
    auto_name: bool = False

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {self.metric!r}")
        for name in ("threshold", "window_s", "for_s", "clear_for_s", "command_timeout_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{name} must be a number, not {value!r}")
        if self.window_s <= 0 or self.for_s < 0 or self.clear_for_s < 0 or self.command_timeout_s <= 0:
            raise ValueError("window_s and command_timeout_s must be positive, for_s and clear_for_s not negative")
        # Bounds a timer can hold: a week of window or hold time, an hour for a command.
        for name, limit in (("window_s", 604_800), ("for_s", 604_800), ("clear_for_s", 604_800),
                            ("command_timeout_s", 3_600), ("threshold", 1e6)):  # fmt: skip
            if getattr(self, name) > limit:
                raise ValueError(f"{name} must be at most {limit:g}, not {getattr(self, name):g}")
        if self.clear_at is not None and (
            isinstance(self.clear_at, bool)
            or not isinstance(self.clear_at, int | float)
            or not math.isfinite(self.clear_at)
            or abs(self.clear_at) > 1e6
        ):
            raise ValueError(f"clear_at must be a number, not {self.clear_at!r:.40}")
        if self.metric == "mos" and not 1.0 <= self.threshold <= 4.5:
            raise ValueError(f"a MOS threshold must be within 1 and 4.5, not {self.threshold}")
        if self.metric == "loss_pct" and not 0.0 <= self.threshold < 100.0:
            raise ValueError(f"a loss threshold must be within 0 and 100 %, not {self.threshold}")
        if self.threshold < 0:
            raise ValueError("a threshold cannot be negative")
        clear = self.clear
        if (self.direction == "below" and clear < self.threshold) or (
            self.direction == "above" and clear > self.threshold
        ):
            raise ValueError(
                f"clear_at {clear} must be on the good side of the threshold {self.threshold} "
                f"({'at or above' if self.direction == 'below' else 'at or below'} it)"
            )
        if self.ttl is not None and not 1 <= self.ttl <= 255:
            raise ValueError(f"ttl must be within 1 and 255, not {self.ttl}")
        if self.min_samples < 1:
            raise ValueError("min_samples must be at least 1")
        if self.auto_name or not self.name:
            object.__setattr__(self, "name", self.generated_name())
            object.__setattr__(self, "auto_name", True)

    def generated_name(self) -> str:
        """The rule's settings in a few words, e.g. "loss above 1 % for 10 s", "MOS below 3.5 at hop 4 over
        30 s" (the window only when it is not the default minute)."""
        text = f"{LABELS[self.metric]} {self.direction} {self.threshold:g}{UNITS[self.metric]}"
        if self.ttl is not None:
            text += f" at hop {self.ttl}"
        if self.window_s != 60.0:
            text += f" over {_duration(self.window_s)}"
        if self.for_s:
            text += f" for {_duration(self.for_s)}"
        return text

    @property
    def title(self) -> str:
        """The name shown to the user: the generated one, or the user's own followed by what the rule does now
        ("my name (loss above 1 % for 10 s)"), so a name never claims settings the rule no longer has."""
        generated = self.generated_name()
        if self.auto_name or self.name in (generated, _plain_name(self.metric, self.threshold)):
            return self.name
        return f"{self.name} ({generated})"

    @property
    def direction(self) -> str:
        return METRICS[self.metric]

    @property
    def clear(self) -> float:
        return _default_clear(self.metric, self.threshold) if self.clear_at is None else self.clear_at

    def describe(self) -> str:
        hop = "the destination" if self.ttl is None else f"hop {self.ttl}"
        held = f" for {_duration(self.for_s)}" if self.for_s else ""
        return (
            f"{LABELS[self.metric]} of {hop} over {_duration(self.window_s)} {self.direction} "
            f"{self.threshold:g}{UNITS[self.metric]}{held}"
        )


DEFAULT_RULES = (  # named by their settings: "MOS below 3.5 for 5 minutes", "loss above 1 % for 5 minutes"
    AlertRule("", "mos", 3.5, window_s=60.0, for_s=300.0),
    AlertRule("", "loss_pct", 1.0, window_s=60.0, for_s=300.0),
)


# Why a rule on the destination measured the end of the path instead (AlertEvent.path_end).
UNANSWERED = "the destination has not answered"
BLOCKED = "a router refuses to forward"


@dataclass(frozen=True)
class AlertEvent:
    """A rule fired or cleared at wall-clock time ``at`` (s), with the value (None when unknown) that caused it
    measured over ``samples`` probes of hop ``ttl`` (address ``address``). ``path_end``: the rule is on the
    destination, which could not be measured, so hop ``ttl`` is where the path ends (UNANSWERED or BLOCKED).
    ``reason``: an episode ended without its value clearing (a reload removed or changed its rule or target);
    ``value`` is then None."""

    rule: str
    kind: str  # FIRE or CLEAR
    at: float
    target: str
    ttl: int
    address: str | None
    metric: str
    value: float | None
    threshold: float
    window_s: float
    samples: int
    # The one diagnosis of the trace when the event happened (pingmos.diagnosis), when the front end gave one:
    # its status (problem / no-problem / undecided), the hop where the problem starts, and its short words.
    diagnosis_status: str | None = None
    diagnosis_ttl: int | None = None
    diagnosis_words: str | None = None
    diagnosis_location_ttls: tuple[int, int] | None = None  # Diagnosis.location_ttls: the hop, or a range of hops
    path_end: str | None = None
    reason: str | None = None
    title: str | None = None  # AlertRule.title: the name shown (None: ``rule``)
    # The seconds of samples the value was measured over, when fewer than ``window_s`` were there to judge (a
    # trace younger than the window): the text then says so instead of claiming the whole window.
    span_s: float | None = None

    @property
    def value_text(self) -> str:
        """The value with its unit as every alert text shows it ("40.0 %", "3.21", "unknown")."""
        if self.value is None:
            return "unknown"
        if self.metric == "loss_pct":  # as the table and the verdict show it: a lost probe never reads 0.0
            lost = round(self.value * self.samples / 100.0) if self.samples else None
            return loss_text(self.value, lost, self.samples or None) + UNITS[self.metric]
        return f"{self.value:.2f}{UNITS[self.metric]}"

    @property
    def target_text(self) -> str:
        """The target as the texts name it: an mtr --raw log names none ("fired for : MOS ..." before)."""
        return self.target or "a trace whose target is unknown"

    @property
    def message(self) -> str:
        what = "fired" if self.kind == FIRE else "cleared"
        name = self.title or self.rule
        if self.reason is not None:
            return f"{name} {what} for {self.target_text}: ended: {self.reason}"
        value = self.value_text
        where = f"hop {self.ttl}" + (f" ({self.address})" if self.address else "")
        if self.path_end:
            where += f", the end of the path ({self.path_end}),"
        over = _duration(self.window_s)
        if self.span_s is not None and self.span_s < self.window_s - 1.0:  # (a second: a probe's spacing)
            over = f"{_duration(max(1.0, round(self.span_s)))} (its {over} window is not full yet)"
        text = (
            f"{name} {what} for {self.target_text}: {LABELS[self.metric]} {value} at {where} over the last "
            f"{over} ({self.samples} probes; threshold {self.threshold:g}{UNITS[self.metric]})"
        )
        if self.diagnosis_status is not None and self.diagnosis_words in (None, "", self.diagnosis_status):
            text += f"; diagnosis ({self.diagnosis_status})"  # not "diagnosis (undecided): undecided"
        elif self.diagnosis_status is not None:
            text += f"; diagnosis ({self.diagnosis_status}): {self.diagnosis_words}"
        return text

    def with_diagnosis(self, diagnosis: Diagnosis | None) -> AlertEvent:
        """This event carrying ``diagnosis``'s result (itself when None)."""
        if diagnosis is None:
            return self
        return dataclasses.replace(
            self,
            diagnosis_status=diagnosis.status,
            diagnosis_ttl=diagnosis.deteriorates_at_ttl,
            diagnosis_words=diagnosis.short,
            diagnosis_location_ttls=getattr(diagnosis, "location_ttls", None),
        )

    def to_json(self) -> dict:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "at": self.at,
            "target": self.target,
            "ttl": self.ttl,
            "address": self.address,
            "metric": self.metric,
            "value": self.value,
            "threshold": self.threshold,
            "window_s": self.window_s,
            "samples": self.samples,
            "path_end": self.path_end,
            "reason": self.reason,
            "diagnosis": None
            if self.diagnosis_status is None
            else {
                "status": self.diagnosis_status,
                "deteriorates_at_ttl": self.diagnosis_ttl,
                "location_ttls": None if self.diagnosis_location_ttls is None else list(self.diagnosis_location_ttls),
                "summary": self.diagnosis_words,
            },
            "message": self.message,
        }

    def to_session_event(self) -> SessionEvent:
        """The entry for the session's event log (kind "alert-fire" or "alert-clear")."""
        data = self.to_json()
        data.pop("at")
        return SessionEvent(self.at, f"alert-{self.kind}", data)

    def environment(self) -> dict[str, str]:
        """The PINGMOS_ALERT_* variables a rule's command gets."""
        span = self.diagnosis_location_ttls if self.diagnosis_status == "problem" else None
        return {
            "PINGMOS_ALERT_RULE": self.rule,
            "PINGMOS_ALERT_STATE": self.kind,
            "PINGMOS_ALERT_TIME": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.at)),
            "PINGMOS_ALERT_TIMESTAMP": f"{self.at:.3f}",
            "PINGMOS_ALERT_TARGET": self.target,
            "PINGMOS_ALERT_TTL": str(self.ttl),
            "PINGMOS_ALERT_ADDRESS": self.address or "",
            "PINGMOS_ALERT_METRIC": self.metric,
            "PINGMOS_ALERT_VALUE": "" if self.value is None else f"{self.value:.3f}",
            "PINGMOS_ALERT_THRESHOLD": f"{self.threshold:g}",
            "PINGMOS_ALERT_WINDOW_S": f"{self.window_s:g}",
            "PINGMOS_ALERT_SAMPLES": str(self.samples),
            "PINGMOS_ALERT_DIAGNOSIS": self.diagnosis_status or "",
            "PINGMOS_ALERT_DIAGNOSIS_TTL": "" if self.diagnosis_ttl is None else str(self.diagnosis_ttl),
            # Where a problem can start, both inclusive: the hop twice when one is supported (then also ..._TTL),
            # the first and last hop of the range when the evidence cannot tell which (then ..._TTL is empty).
            "PINGMOS_ALERT_DIAGNOSIS_FIRST_TTL": "" if span is None else str(span[0]),
            "PINGMOS_ALERT_DIAGNOSIS_LAST_TTL": "" if span is None else str(span[1]),
            "PINGMOS_ALERT_PATH_END": self.path_end or "",
            "PINGMOS_ALERT_REASON": self.reason or "",
            "PINGMOS_ALERT_MESSAGE": self.message,
        }


@dataclass
class _RuleState:
    firing: bool = False
    bad_since: float | None = None  # monotonic s
    good_since: float | None = None  # monotonic s
    ttl: int | None = None  # where the rule was last measured, and the responder there (an ended episode's event)
    address: str | None = None


class DiagnosisSource(Protocol):
    """The front end's one diagnosis of the trace (``pingmos.session.evidence.RunningDiagnosis``): it sees every
    sample the alert rules see (``feed``, from the trace's thread: cheap) and is asked for the diagnosis only when
    an event happens (``current``, from the thread that evaluates the rules) about the samples sent by ``until``."""

    def feed(self, sample: Sample) -> None: ...

    def current(self, until: float) -> Diagnosis | None: ...

    def over(self, start: float, end: float) -> Diagnosis | None: ...


def with_diagnoses(
    events: Sequence[AlertEvent],
    trace_diagnosis: Callable[[], Diagnosis | None],
    window_diagnosis: Callable[[float], Diagnosis | None],
) -> list[AlertEvent]:
    """``events`` each carrying the diagnosis it is judged with, the one policy of every front end (agent, report,
    window): a fire carries the trace's one diagnosis (``trace_diagnosis()``: the front end's window, as its verdict
    line or /metrics shows it); a clear the diagnosis of the samples its rule judged (``window_diagnosis(window_s)``:
    sent within the rule's ``window_s`` before the windows' end). The front end's window may be longer and still
    hold the outage the rule's window no longer has (a clear said "loss 0.0 % ...; diagnosis (problem)"). Each is
    asked at most once (per ``window_s`` for clears), and only when an event needs it; None leaves an event as it
    is."""
    fire: list[Diagnosis | None] = []
    judged: dict[float, Diagnosis | None] = {}
    out = []
    for event in events:
        if event.kind == CLEAR:
            if event.window_s not in judged:
                judged[event.window_s] = window_diagnosis(event.window_s)
            diagnosis = judged[event.window_s]
        else:
            if not fire:
                fire.append(trace_diagnosis())
            diagnosis = fire[0]
        out.append(event.with_diagnosis(diagnosis))
    return out


class AlertEngine:
    """Evaluates rules for one target. ``feed`` may be called from the engine thread while another thread calls
    ``evaluate``: a lock guards the samples (held for list operations only, never while scoring)."""

    def __init__(
        self,
        rules: Iterable[AlertRule],
        target: str,
        scorer: Scorer,
        settle_s: float = 0.0,
        diagnosis: DiagnosisSource | None = None,
    ):
        """``settle_s``: how long a probe may take before it counts as lost (the trace's timeout). A live window
        holds the settled rounds only, as the window's table and verdict do (``TraceHistory.known_before``, the one
        definition): the samples sent within the rule's ``window_s`` before ``now`` of the rounds whose fate is
        known at every hop shown, so a round's answers never count while its losses are still to come (the loss
        would look smaller). 0: every sample fed is settled (a test's, a replay's own choice).
        ``diagnosis``: where the trace's one diagnosis comes from; each event then carries its result (status and
        the hop it names), as the window's verdict line shows it."""
        self.diagnosis = diagnosis
        self.rules = tuple(r for r in rules if r.target is None or r.target == target)
        self.settle_s = settle_s
        self.target = target
        self._scorer = scorer
        self._state = {r.name: _RuleState() for r in self.rules}
        if len(self._state) != len(self.rules):
            raise ValueError("two alert rules have the same name")
        # The trace's samples folded as every front end folds them (pingmos.state), pruned to the longest window: the
        # destination's row follows the path through a reroute the same way the report's and the window's do.
        self._history = self._new_history()
        # known_before looks back twice settle_s from the newest sample for the rounds settled everywhere.
        self._keep_s = max((r.window_s for r in self.rules), default=0.0) + 2 * settle_s
        self._clock_offset: float | None = None  # wall - monotonic at the last evaluation
        # Where the windows of the last evaluation ended (wall-clock s: the newest settled samples; ``_window``):
        # a clear's diagnosis is of its rule's window, ending there. None before a window was measured.
        self.window_end: float | None = None
        self._since: float | None = None  # send time (s) from which the history holds every sample

    def _new_history(self) -> TraceHistory:
        return TraceHistory(settle_s=self.settle_s if self.settle_s > 0 else None)

    def feed(self, sample: Sample) -> None:
        if self._since is None:
            self._since = sample.sent_at
        self._history.apply(sample)
        if self.diagnosis is not None:
            self.diagnosis.feed(sample)

    def firing(self) -> list[str]:
        """Names of the rules in an episode now."""
        return [name for name, st in self._state.items() if st.firing]

    def _window(self, ttl: int, window_s: float, now: float) -> tuple[np.ndarray, str | None, float]:
        """(RTTs, the responder most seen, the window's end) of hop ``ttl``'s window: the samples sent within
        ``window_s`` before its end, both ends included, of the rounds settled at every hop shown (the history's
        cut, ``TraceHistory.known_before``, as the window's table and verdict). The end is the newest settled
        sample's send time there (``now`` without one): a window as long as the rule says, of settled rounds only,
        ending as recently as their fates allow (a lost probe settles only at its timeout)."""
        row = self._history.row(ttl, (now - self._keep_s, now))
        end = float(row.sent_at[-1]) if self._history.settle_s is not None and len(row.sent_at) else now
        keep = row.sent_at >= end - window_s
        rtts, responders = row.rtt_ms[keep], row.responder[keep]
        answered = responders[responders != 0]
        if not len(answered):
            return rtts, None, end
        values, counts = np.unique(answered, return_counts=True)
        return rtts, self._history.addresses[int(values[np.argmax(counts)])], end

    def _prune(self, now: float) -> None:
        self._history.drop_before(now - self._keep_s)
        if self._since is not None:
            self._since = max(self._since, now - self._keep_s)

    def continue_from(self, old: AlertEngine, names: Iterable[str]) -> None:
        """Go on where ``old`` (the same target, other rules) left off: its samples stay the evidence of every rule
        here (an edit of one rule does not empty the others' windows), and the rules ``names`` (the same in both)
        keep their whole state: an episode goes on, and so does the time a bad value has already held."""
        self._history, self._since, self._clock_offset = old._history, old._since, old._clock_offset
        for name in names:
            if name in self._state and name in old._state:
                self._state[name] = dataclasses.replace(old._state[name])

    def value(self, rule: AlertRule, rtts: Sequence[float | None] | np.ndarray, path_end: bool = True) -> float | None:
        """The rule's metric over a window of RTTs (None or NaN = lost); None when it cannot be measured.
        ``path_end``: the RTTs are the destination's (or of the hop where the path ends); False for a router, whose
        MOS over a window it answered none of is None, not the floor (hop_report.no_responder_samples: a router
        that does not answer says nothing about the path, and the table shows no MOS for it either)."""
        if len(rtts) < rule.min_samples:
            return None
        stats = HopWindow.from_rtts(rtts)
        if rule.metric == "loss_pct":
            return stats.loss_pct
        if rule.metric == "latency_ms":
            return stats.avg_ms
        if rule.metric == "jitter_ms":
            return stats.jitter_ms
        if no_responder_samples(stats.received, stats.loss_pct, path_end=path_end):
            return None
        if stats.received == 0:
            return 1.0  # nothing got through: no call possible, the floor of the scale
        result = self._scorer(stats)
        return result.mos if isinstance(result, Score) else None

    def _measured(self, rule: AlertRule, ends: tuple) -> tuple[int | None, str | None]:
        """(TTL a rule measures, why it is the end of the path instead of the destination: None, UNANSWERED or
        BLOCKED); TTL None when nothing was probed yet."""
        if rule.ttl is not None:
            return rule.ttl, None
        destination, blocked, deepest = ends
        if blocked is not None and (destination is None or blocked < destination):
            return blocked, BLOCKED  # as the window's rows: the path ends at the refusing router
        if destination is not None:
            return destination, None
        return deepest, UNANSWERED

    def evaluate(self, now: float, mono: float | None = None) -> list[AlertEvent]:
        """Events of the rules that fired or cleared at wall-clock time ``now`` (s: the events carry it; the
        windows end at the newest rounds settled by then, ``window_end``). ``mono``: the same moment on a monotonic
        clock (s), on which ``for_s`` and ``clear_for_s`` are measured (None = ``now``: a replay, whose send times
        never step). Call it regularly (every second or so); ``for_s`` and ``clear_for_s`` are measured between
        calls."""
        mono = now if mono is None else mono
        if self._clock_offset is not None and now - mono < self._clock_offset - CLOCK_STEP_S:
            # The wall clock stepped back: windows by send time would mix the samples from before the step (later
            # times) with those after it. Start anew (a sample fed meanwhile may go with the old history).
            self._history = self._new_history()
            self._since = None
        self._clock_offset = now - mono
        events = []
        self.window_end = None
        ends = self._history.path_end()
        for rule in self.rules:
            ttl, path_end = self._measured(rule, ends)
            st = self._state[rule.name]
            value = None
            span_s = None
            if ttl is not None:
                # The settled rounds sent within the window (the history's settle cut, as the verdict's window).
                rtts, address, end = self._window(ttl, rule.window_s, now)
                self.window_end = end if self.window_end is None else max(self.window_end, end)
                if self._since is not None and self._since > end - rule.window_s:
                    span_s = end - self._since  # the window reaches back before the first sample kept
                if path_end is not None:
                    # No probe reached the destination there: what a call would get is nothing.
                    rtts = np.full(len(rtts), np.nan)
                value = self.value(rule, rtts, rule.ttl is None or ttl in ends[:2])
            if value is None:
                # Unknown (too few samples): the condition did not hold for this stretch; for_s counts anew.
                st.bad_since = st.good_since = None
                continue
            st.ttl, st.address = ttl, address
            below = rule.direction == "below"
            bad = value < rule.threshold if below else value > rule.threshold
            good = value >= rule.clear if below else value <= rule.clear
            if not st.firing:
                st.good_since = None
                if not bad:
                    st.bad_since = None
                    continue
                st.bad_since = mono if st.bad_since is None else st.bad_since
                if mono - st.bad_since >= rule.for_s:
                    st.firing, st.bad_since = True, None
                    events.append(self._event(rule, FIRE, now, ttl, address, value, len(rtts), path_end, span_s))
            else:
                if not good:
                    st.good_since = None
                    continue
                st.good_since = mono if st.good_since is None else st.good_since
                if mono - st.good_since >= rule.clear_for_s:
                    st.firing, st.good_since = False, None
                    events.append(self._event(rule, CLEAR, now, ttl, address, value, len(rtts), path_end, span_s))
        self._prune(now)
        if events and self.diagnosis is not None:
            # A fire the trace's one diagnosis (its settled rounds, as the window's verdict); a clear its rule's
            # window's.
            source, end = self.diagnosis, self.window_end if self.window_end is not None else now
            events = with_diagnoses(events, lambda: source.current(now), lambda w: source.over(end - w, end))
        return events

    def evaluate_settled(self, now: float, mono: float | None = None) -> list[AlertEvent]:
        """``evaluate`` once every probe sent has settled (the run is over, wall-clock time ``now``, s; ``mono`` the
        same moment on the monotonic clock ``evaluate`` was given, None = ``now``): every sample fed counts, the
        rounds a stop abandoned too (their probes left out, never lost), as in the report's final table."""
        self._history.settle_s = None
        return self.evaluate(now, mono)

    def _event(self, rule, kind, now, ttl, address, value, n, path_end=None, span_s=None) -> AlertEvent:
        return AlertEvent(
            rule.name, kind, now, self.target, ttl, address, rule.metric, value, rule.threshold, rule.window_s, n,
            path_end=path_end, title=rule.title, span_s=span_s,
        )  # fmt: skip

    # -- episodes across engines (a reload) ---------------------------------------------------------------

    def carry_over(self, old: AlertEngine, names: Iterable[str]) -> None:
        """The episodes of rules ``names`` (the same rule in both engines) go on here: a rule firing in ``old``
        stays firing and clears by its own values (a reload restarted its target with other settings)."""
        for name in names:
            if name in self._state and name in old._state:
                self._state[name] = dataclasses.replace(old._state[name], bad_since=None, good_since=None)

    def end(self, names: Iterable[str], now: float, reason: str) -> list[AlertEvent]:
        """Clear events for the firing rules among ``names`` whose episode ends without their value clearing
        (``reason``, e.g. "removed by reload"): nothing measures them any more. Their state is reset."""
        events = []
        by_name = {r.name: r for r in self.rules}
        for name in names:
            st, rule = self._state.get(name), by_name.get(name)
            if st is None or rule is None or not st.firing:
                continue
            ttl = st.ttl if st.ttl is not None else (rule.ttl or 0)
            event = AlertEvent(
                rule.name, CLEAR, now, self.target, ttl, st.address, rule.metric, None, rule.threshold,
                rule.window_s, 0, reason=reason, title=rule.title,
            )  # fmt: skip
            events.append(event)
            self._state[name] = _RuleState()
        return events


def evaluate_samples(
    rules: Iterable[AlertRule],
    target: str,
    scorer: Scorer,
    samples: Iterable[Sample],
    step_s: float = 1.0,
    diagnosis: DiagnosisSource | None = None,
    settle_s: float = 0.0,
) -> list[AlertEvent]:
    """Run the rules over recorded samples (a session) as if live, evaluating every ``step_s`` seconds of send
    time; returns every event. ``settle_s``: the recorded trace's probe timeout. A sample is fed when it settled
    live (``settled_at``: an answer when it came, a loss at its probe's timeout), so each evaluation sees what the
    live one saw, and judges it the same way (``AlertEngine``: the settled rounds only). With ``diagnosis`` (fed
    the same samples at the same moments) each event carries the diagnosis of those samples, as it did live."""
    ordered = sorted(samples, key=lambda s: settled_at(s, settle_s))
    engine = AlertEngine(rules, target, scorer, settle_s=settle_s, diagnosis=diagnosis)
    events: list[AlertEvent] = []
    if not ordered:
        return events
    t = min(s.sent_at for s in ordered)
    i = 0
    end = settled_at(ordered[-1], settle_s) + step_s
    while t <= end:
        while i < len(ordered) and settled_at(ordered[i], settle_s) <= t:
            engine.feed(ordered[i])
            i += 1
        events += engine.evaluate(t)
        t += step_s
    return events


def settled_at(sample: Sample, settle_s: float) -> float:
    """When a live trace knew ``sample``'s fate (wall-clock s): its answer's arrival, or its probe's timeout
    (``settle_s`` after it left) for a lost one."""
    if sample.rtt_ms is None:
        return sample.sent_at + settle_s
    return sample.sent_at + sample.rtt_ms / 1000.0


# -- the rules file ------------------------------------------------------------------------------------------

_RULE_KEYS = {
    "name", "metric", "threshold", "below", "above", "window_s", "for_s", "clear_at", "clear_for_s", "ttl",
    "target", "min_samples", "command", "command_timeout_s",
}  # fmt: skip


def rules_from_data(doc: object, where: str = "rules", generated_names: bool = False) -> list[AlertRule]:
    """Rules from parsed JSON/TOML: ``{"rules": [{...}, ...]}``. RulesError names the rule and the problem.

    Per rule: ``metric`` (mos, loss_pct, latency_ms, jitter_ms); the threshold as ``below = X`` (MOS) or
    ``above = X`` (the others) or ``threshold = X``; optional ``name``, ``window_s``, ``for_s``, ``clear_at``,
    ``clear_for_s``, ``ttl``, ``target``, ``min_samples``, ``command`` (a list of arguments, or one string split
    like a shell would, but never run by one) and ``command_timeout_s``.

    A rule without a name: with ``generated_names`` (a rules file of the window or the report) it is named after
    its settings and the name follows them (``AlertRule.auto_name``); without (the monitor's configuration, whose
    names are Prometheus label values) it is "<metric> <direction> <threshold>", e.g. "loss above 1.0".
    """
    if not isinstance(doc, Mapping) or not isinstance(doc.get("rules"), list):
        # [[alert]] is how the monitor's configuration spells the same rules: a block copied from there.
        hint = "; this file has [[alert]], the monitor's name for them: rename it [[rules]]" if (
            isinstance(doc, Mapping) and "alert" in doc and "rules" not in doc
        ) else ""  # fmt: skip
        raise RulesError(f"{where}: expected a list named 'rules' ([[rules]] in TOML, \"rules\": [...] in JSON){hint}")
    out = []
    for i, raw in enumerate(doc["rules"], start=1):
        label = f"{where}: rule {i}"
        if not isinstance(raw, Mapping):
            raise RulesError(f"{label}: each rule must be a table/object")
        unknown = set(raw) - _RULE_KEYS
        if unknown:
            raise RulesError(f"{label}: unknown setting(s) {', '.join(sorted(unknown))}")
        metric = raw.get("metric")
        if metric not in METRICS:
            raise RulesError(f"{label}: metric must be one of {', '.join(METRICS)}, not {metric!r}")
        given = [k for k in ("threshold", "below", "above") if k in raw]
        if len(given) != 1:
            raise RulesError(f"{label}: give exactly one of threshold, below, above")
        if given[0] != "threshold" and given[0] != METRICS[metric]:
            raise RulesError(f"{label}: {metric} alerts when it is {METRICS[metric]} a threshold, not {given[0]}")
        command = raw.get("command") or ()
        if command == ():
            pass
        elif isinstance(command, str):
            try:
                command = tuple(shlex.split(command))
            except ValueError as exc:  # an unbalanced quote
                raise RulesError(f"{label}: command cannot be split into arguments ({exc})") from None
        elif isinstance(command, list) and all(isinstance(c, str) for c in command):
            command = tuple(command)
        else:
            raise RulesError(f"{label}: command must be a list of strings or one string")
        ttl = raw.get("ttl")
        target = raw.get("target")
        if target is not None and not isinstance(target, str):
            raise RulesError(f"{label}: target must be a host name or address")
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int)):
            raise RulesError(f"{label}: ttl must be a whole number")
        min_samples = raw.get("min_samples", 10)
        if isinstance(min_samples, bool) or not isinstance(min_samples, int):
            raise RulesError(f"{label}: min_samples must be a whole number")
        threshold = raw[given[0]]
        name = raw.get("name") or ("" if generated_names else _plain_name(metric, threshold))
        try:
            out.append(
                AlertRule(
                    name=str(name),
                    metric=metric,
                    threshold=threshold,
                    window_s=raw.get("window_s", 60.0),
                    for_s=raw.get("for_s", 0.0),
                    clear_at=raw.get("clear_at"),
                    clear_for_s=raw.get("clear_for_s", 0.0),
                    ttl=ttl,
                    target=target,
                    min_samples=min_samples,
                    command=command,
                    command_timeout_s=raw.get("command_timeout_s", 10.0),
                )
            )
        except (TypeError, ValueError, OverflowError) as exc:
            raise RulesError(f"{label} ({str(name or metric)[:80]}): {str(exc)[:200]}") from None
        if out[-1].name == out[-1].generated_name():  # a name the settings give (a file saved before): it follows them
            out[-1] = dataclasses.replace(out[-1], auto_name=True)
    dupes = duplicate_rule_names(out)
    if dupes:
        raise RulesError(f"{where}: rule names must be unique: {', '.join(dupes)}")
    return out


def duplicate_rule_names(rules: Iterable[AlertRule]) -> list[str]:
    """The names given to more than one rule, sorted (a rule's name is its key in the state and the event log)."""
    names = [r.name for r in rules]
    return sorted({n for n in names if names.count(n) > 1})


def rules_to_data(rules: Iterable[AlertRule]) -> dict:
    """The document ``rules_from_data`` reads back to the same rules (what a rules dialog saves)."""
    out = []
    for r in rules:
        doc: dict = {"metric": r.metric, r.direction: r.threshold, "window_s": r.window_s}
        if not r.auto_name:  # a generated name is not saved: it follows the settings when they are edited
            doc = {"name": r.name, **doc}
        for key, default in (("for_s", 0.0), ("clear_at", None), ("clear_for_s", 0.0), ("ttl", None),
                             ("target", None), ("min_samples", 10), ("command_timeout_s", 10.0)):  # fmt: skip
            value = getattr(r, key)
            if value != default:
                doc[key] = value
        if r.command:
            doc["command"] = list(r.command)
        out.append(doc)
    return {"rules": out}


def save_rules(path: str | os.PathLike, rules: Iterable[AlertRule]) -> None:
    """Write rules as JSON (atomically: a crash never leaves half a file)."""
    p = os.fspath(path)
    tmp = p + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(rules_to_data(rules), f, indent=2)
        f.write("\n")
    os.replace(tmp, p)


def load_rules(path: str | os.PathLike) -> list[AlertRule]:
    """Read a rules file: TOML when the name ends in .toml, JSON when in .json; another name by its content (an
    object is JSON, anything else TOML: rules.txt holding [[rules]] was "not valid JSON"). Never runs anything from
    it."""
    from pingmos.input_files import InputError, loads_json, read_text

    p = os.fspath(path)
    try:
        # A regular file of bounded size (a FIFO or /dev/zero is refused at once), strict UTF-8.
        text = read_text(p, MAX_RULES_BYTES, "rules")
        is_toml = p.endswith(".toml") or (not p.endswith(".json") and not text.lstrip().startswith("{"))
        doc = _toml(text, p) if is_toml else loads_json(text, p)
    except InputError as exc:
        raise RulesError(str(exc)) from None
    return rules_from_data(doc, p, generated_names=True)


MAX_RULES_BYTES = 1024 * 1024


# -- what a MOS rule can reach -------------------------------------------------------------------------------

# The path a clear level must be reachable on: CLEAN_RTT_MS round trips, no loss, no jitter (a good LAN or metro
# path). A model's MOS at 0 ms is a number no real path gives; a clear level above what this path gets would
# keep the rule firing for ever on a perfect network.
CLEAN_RTT_MS = 10.0
CLEAN_SAMPLES = 20


def mos_ceiling(model) -> float:
    """The MOS ``model`` (anything with ``score_many``, e.g. ``pingmos.scoring.Model``) gives a clean path
    (CLEAN_RTT_MS, no loss, no jitter): the highest a MOS rule's clear level can usefully be. May run a user's
    formula (blocks up to the scoring worker's deadline). ValueError when the model gives no MOS for it."""
    (result,) = model.score_many([HopWindow.from_rtts([CLEAN_RTT_MS] * CLEAN_SAMPLES)])
    mos = getattr(result, "mos", None)
    if mos is None:
        raise ValueError(f"{getattr(model, 'name', 'the model')} gives no MOS for a clean path: {result}")
    return float(mos)


def check_reach(
    rules: Sequence[AlertRule],
    ceiling: float,
    model_name: str,
    where: str = "",
    clear_key: str = "clear_at",
    fill_defaults: bool = False,
    numbers: Sequence[int] | None = None,
) -> tuple[list[AlertRule], list[str]]:
    """MOS rules checked against ``ceiling`` (``mos_ceiling`` of the model that scores them), the one check every
    place that takes rules uses (the rules dialog, ``pingmos report --alerts``, the monitor's configuration, the
    window's rules file). A rule whose clear level is above the ceiling could never clear on any real path.

    RulesError (one line: ``where``, the rule's number and name, what to do with the setting ``clear_key``) for a
    threshold at or above the ceiling or a clear level above it. A default clear level (none given) above the
    ceiling is an error too, unless ``fill_defaults`` (the dialog, where the user sees and confirms it): then it
    is set half-way between the threshold and the ceiling and a note says so. ``numbers``: each rule's number in
    its file (default 1, 2, ...: the rules are the file's, in order). Returns the rules and the notes."""
    out, notes = [], []
    prefix = f"{where}: " if where else ""
    for n, rule in zip(numbers or range(1, len(rules) + 1), rules, strict=True):
        if rule.metric != "mos" or rule.clear <= ceiling:
            out.append(rule)
            continue
        label = f"{prefix}rule {n} ({rule.name})"
        reach = f"{model_name} gives at most {ceiling:.2f} on a clean path ({CLEAN_RTT_MS:g} ms, no loss)"
        if rule.threshold >= ceiling:
            raise RulesError(
                f"{label}: MOS below {rule.threshold:g} would never clear: {reach}; choose a threshold below "
                f"{ceiling:.2f}"
            )
        fit = round((rule.threshold + ceiling) / 2.0, 2)
        if rule.clear_at is not None:
            raise RulesError(
                f"{label}: it would never clear at MOS {rule.clear_at:g}: {reach}; give a {clear_key} between "
                f"{rule.threshold:g} and {ceiling:.2f} (e.g. {fit:g})"
            )
        if not fill_defaults:
            raise RulesError(
                f"{label}: it would never clear at the default MOS {rule.clear:g} (threshold + 0.2): {reach}; "
                f"add {clear_key} = {fit:g} (between {rule.threshold:g} and {ceiling:.2f})"
            )
        out.append(dataclasses.replace(rule, clear_at=fit))
        notes.append(f"{label}: clears at {fit:g} ({reach}; the default {rule.clear:g} never would)")
    return out, notes


def check_rules_for_model(rules: Sequence[AlertRule], model, where: str, clear_key: str = "clear_at") -> None:
    """``check_reach`` of rules read from a file (strict: no clear level is filled in), against ``model``'s
    ceiling; the model is only asked when a MOS rule is there. RulesError as ``check_reach``; a model that gives
    no MOS for a clean path is left to the scoring's own error."""
    if not any(r.metric == "mos" for r in rules):
        return
    try:
        ceiling = mos_ceiling(model)
    except ValueError:
        return
    check_reach(rules, ceiling, getattr(model, "name", "the model"), where, clear_key)


def _toml(text: str, p: str) -> object:
    from pingmos.input_files import InputError

    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{p}: not valid TOML: {' '.join(str(exc).split())[:160]}") from None


@dataclass(frozen=True)
class AlertEpisode:
    """One rule's time in alert: from its fire event to its clear event (``end`` None: still firing)."""

    rule: str
    start: float
    end: float | None
    fire: SessionEvent
    clear: SessionEvent | None


def episodes(events: Iterable[SessionEvent]) -> list[AlertEpisode]:
    """Alert episodes from a session's event log (for a timeline), in order of their start."""
    open_: dict[str, SessionEvent] = {}
    out = []
    for e in sorted(events, key=lambda e: e.at):
        rule = e.data.get("rule")
        if not isinstance(rule, str):
            continue
        if e.kind == f"alert-{FIRE}" and rule not in open_:
            open_[rule] = e
        elif e.kind == f"alert-{CLEAR}" and rule in open_:
            fire = open_.pop(rule)
            out.append(AlertEpisode(rule, fire.at, e.at, fire, e))
    out += [AlertEpisode(rule, fire.at, None, fire, None) for rule, fire in open_.items()]
    return sorted(out, key=lambda ep: ep.start)


# -- running the user's command ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int | None  # None when it could not start or timed out
    error: str | None  # a sentence for the user; None when it ran and exited 0
    output: str = ""


def run_command(argv: Sequence[str], env: Mapping[str, str], timeout_s: float) -> CommandResult:
    """Run one rule command and wait for it (at most ``timeout_s``): no shell, stdin ``/dev/null``, the values in
    ``env`` added to the environment; its output (stdout and stderr, the last 2,000 characters) is kept.

    The command runs in a session and process group of its own; on timeout the whole group is killed (whatever it
    started too, not only the command). Output goes to a temporary file, not a pipe, so a descendant that keeps
    it open cannot make this wait. Started from a root process, it runs as the invoking user or ``nobody``,
    never as root (``privileges.untrusted_account``)."""
    from pingmos.privileges import PrivilegeError, child_options, original_umask

    name = argv[0] if argv else "?"
    try:
        options = child_options()
    except PrivilegeError as exc:
        return CommandResult(tuple(argv), None, f"alert command {name} was not run: {exc}")
    full_env = {**dict(options.pop("env", os.environ)), **env}  # type: ignore[arg-type]
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(
                list(argv), env=full_env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True, umask=-1 if original_umask() is None else original_umask(),
                **options,  # type: ignore[arg-type]
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            return CommandResult(tuple(argv), None, f"alert command {name} could not run: {reason}")
        try:
            code: int | None = proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group: the command and all it started
            proc.wait()
        out.seek(0)
        output = out.read()[-8000:].decode("utf-8", "replace")[-2000:]
    if code is None:
        error = f"alert command {name} timed out: killed after {timeout_s:g} s (command_timeout_s)"
        return CommandResult(tuple(argv), None, error, output)
    error = None if code == 0 else f"alert command {name} exited with status {code}"
    return CommandResult(tuple(argv), code, error, output)


# A failure that repeats (a rule firing every minute, its command missing) is said once per this many seconds.
FAILURE_REPEAT_S = 300.0
COMMAND_FAILED = "alert-command-failed"  # the session event of a rule command that did not run or failed


class RepeatLimiter:
    """Says a failure once, then the same failure again at most once per ``every_s`` with how many times it
    repeated in between (so a rule whose command is missing does not fill a terminal or a log, yet is never
    silent). Thread-safe: commands finish in threads of their own."""

    def __init__(self, every_s: float = FAILURE_REPEAT_S, clock: Callable[[], float] = time.monotonic):
        self.every_s = every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}  # failure text -> when it was last said
        self._held: dict[str, int] = {}  # failure text -> times it happened since, unsaid

    def line(self, text: str) -> str | None:
        """``text`` to say now (with the count of repeats held back since it was last said), or None to hold it."""
        now = self._clock()
        with self._lock:
            last = self._last.get(text)
            if last is not None and now - last < self.every_s:
                self._held[text] = self._held.get(text, 0) + 1
                return None
            self._last[text] = now
            held = self._held.pop(text, 0)
        return text + (f" (and {held} more time{'s' if held != 1 else ''} since it was last said)" if held else "")

    def pending(self) -> list[str]:
        """The repeats held back and not said yet, one line each (at the end of a run), and forgets them."""
        with self._lock:
            held, self._held = self._held, {}
        return [f"{text} (again {n} more time{'s' if n != 1 else ''})" for text, n in held.items() if n]


class CommandRunner:
    """Runs rule commands (``run_command``) in threads of their own, never in the caller's; each one is killed,
    with all it started, after its timeout. Results go to ``on_result`` (from the runner's thread) and are kept
    in ``results``. ``on_failure`` gets one line per command that could not run, timed out or exited non-zero,
    naming the rule (a repeated failure rate-limited by ``RepeatLimiter``; ``close`` says what was held back)."""

    def __init__(
        self,
        on_result: Callable[[CommandResult], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
        repeat_s: float = FAILURE_REPEAT_S,
    ):
        self._on_result = on_result
        self._on_failure = on_failure
        self._limiter = RepeatLimiter(repeat_s)
        self._threads: list[threading.Thread] = []
        self.results: list[CommandResult] = []

    def run(self, argv: Sequence[str], env: Mapping[str, str], timeout_s: float, rule: str = "") -> None:
        thread = threading.Thread(
            target=self._run, args=(tuple(argv), dict(env), timeout_s, rule), daemon=True, name="pingmos-alert-command"
        )
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def dispatch(self, rules: Iterable[AlertRule], events: Iterable[AlertEvent]) -> None:
        """Start the command of each event's rule, if it has one."""
        by_name = {r.name: r for r in rules}
        for event in events:
            rule = by_name.get(event.rule)
            if rule is not None and rule.command:
                self.run(rule.command, event.environment(), rule.command_timeout_s, rule.name)

    def _run(self, argv: tuple[str, ...], env: dict[str, str], timeout_s: float, rule: str = "") -> None:
        result = run_command(argv, env, timeout_s)
        self.results.append(result)
        if self._on_result is not None:
            self._on_result(result)
        if result.error and self._on_failure is not None:
            line = self._limiter.line((f"alert rule {rule!r}: " if rule else "") + result.error)
            if line is not None:
                self._on_failure(line)

    def close(self) -> None:
        """After ``wait``: one line for each failure whose repeats were held back and not said yet."""
        if self._on_failure is not None:
            for line in self._limiter.pending():
                self._on_failure(line)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for every command started so far (tests, shutdown); True when all are done."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for t in list(self._threads):
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)
