"""What a scoring model is given: one hop's window (``HopWindow``), and the same seen through a model's settings
(``Hop``, what a formula's ``score_hop(hop)`` receives).

All latencies are round-trip times in milliseconds as measured, oldest first; a lost sample is ``None``. Loss is
round-trip loss in percent (a probe lost on the way out or on the way back counts the same). A model that needs a
one-way delay says in its docstring how it derives it.

Edge cases: a window with no received sample has ``avg_ms`` etc. ``None``; models give no score for it (there is
no latency to score). With one received sample the jitter numbers are ``None``: a formula decides what that means
(the built-ins count it as 0). A window built from summary numbers (the calculator's ``--latency --jitter
--loss``) has no raw samples: its median and percentiles are the average, and the jitter given stands in for every
jitter definition and percentile.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from pingmos import stats
from pingmos.scoring.jitter import DEFAULT_JITTER, jitter_ms, jitter_series_ms, jitter_stdev_ms

# A summary window stands for this many samples so that a loss percentage like 2.5 % keeps its precision.
SUMMARY_SENT = 1000


@dataclass(frozen=True, kw_only=True)
class HopWindow:
    """One hop's window: the raw samples and the numbers every model may use.

    - ``rtts_ms``: the window oldest first, None for a lost sample (empty for a summary window).
    - ``sent``, ``received``; ``loss_pct``: lost / sent, 0-100 (0 for an empty window).
    - ``avg_ms``, ``median_ms``, ``min_ms``, ``max_ms``, ``last_ms``: of the received RTTs, None with none received.
    - ``stdev_ms``: sample standard deviation of the received RTTs, None below 2.
    - ``given_jitter_ms`` / ``given_jitter_stdev_ms``: only in a summary window, the jitter the user gave.

    Build one with :meth:`from_rtts`, :meth:`from_stats` (a ``pingmos.stats.WindowStats``) or :meth:`from_summary`.
    """

    rtts_ms: tuple[float | None, ...] = ()
    sent: int = 0
    received: int = 0
    loss_pct: float = 0.0
    avg_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    last_ms: float | None = None
    stdev_ms: float | None = None
    given_jitter_ms: float | None = None
    given_jitter_stdev_ms: float | None = None
    # Jitter by definition, computed once: a 24-hour window holds 86 400 samples per hop.
    _jitter_cache: dict[str, float | None] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_rtts(cls, rtts_ms: Sequence[float | None]) -> HopWindow:
        """The window of these samples (ms, oldest first, None = lost). NaN counts as lost."""
        rtts = tuple(None if v is None or math.isnan(v) else float(v) for v in rtts_ms)
        received = [v for v in rtts if v is not None]
        sent = len(rtts)
        return cls(
            rtts_ms=rtts,
            sent=sent,
            received=len(received),
            loss_pct=100.0 * (sent - len(received)) / sent if sent else 0.0,
            avg_ms=stats.mean(received),
            min_ms=min(received) if received else None,
            max_ms=max(received) if received else None,
            last_ms=received[-1] if received else None,
            stdev_ms=stats.sample_stdev(received),
        )

    @classmethod
    def from_stats(cls, window: stats.WindowStats) -> HopWindow:
        """The window of a ``WindowStats`` (its raw ``samples_ms``; summary numbers if it has none)."""
        if window.sent == 0:
            return cls()
        if not len(window.rtts_ms):
            return cls.from_summary(window.avg_ms, window.jitter_ms, window.loss_pct or 0.0)
        # The summary numbers are computed already (the same definitions): reuse them, and hand the samples over
        # as a view of the window's array (a day of samples is not turned into a tuple of 86 400 objects).
        received = window.received_array
        made = cls(
            rtts_ms=window.samples_ms,
            sent=window.sent,
            received=window.received,
            loss_pct=window.loss_pct or 0.0,
            avg_ms=window.avg_ms,
            min_ms=window.min_ms,
            max_ms=window.max_ms,
            last_ms=window.last_ms,
            stdev_ms=window.stdev_ms,
        )
        made._jitter_cache["pingplotter"] = window.jitter_ms
        made._jitter_cache["_received_array"] = received  # type: ignore[assignment]
        return made

    @classmethod
    def from_summary(
        cls,
        avg_ms: float | None,
        jitter_ms: float | None,
        loss_pct: float,
        jitter_stdev_ms: float | None = None,
    ) -> HopWindow:
        """A window from summary numbers only: average RTT (ms), jitter (ms), loss (%), optionally jitter's stdev.

        ValueError for a loss outside 0-100 or a negative or non-finite latency or jitter. 100 % loss (or no
        average) gives a window with nothing received.
        """
        for what, value in (("latency", avg_ms), ("jitter", jitter_ms), ("jitter stdev", jitter_stdev_ms)):
            if value is not None and not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{what} must be a finite number >= 0 ms, not {value}")
        if not (math.isfinite(loss_pct) and 0.0 <= loss_pct <= 100.0):
            raise ValueError(f"loss must be within 0 and 100 %, not {loss_pct}")
        received = 0
        if avg_ms is not None and loss_pct < 100.0:
            received = min(SUMMARY_SENT, max(1, round(SUMMARY_SENT * (1.0 - loss_pct / 100.0))))
        if received == 0:
            return cls(sent=SUMMARY_SENT, received=0, loss_pct=100.0 if avg_ms is None else loss_pct)
        return cls(
            sent=SUMMARY_SENT,
            received=received,
            loss_pct=loss_pct,
            avg_ms=avg_ms,
            min_ms=avg_ms,
            max_ms=avg_ms,
            last_ms=avg_ms,
            given_jitter_ms=jitter_ms,
            given_jitter_stdev_ms=jitter_stdev_ms,
        )

    @property
    def median_ms(self) -> float | None:
        """The median of the received RTTs (ms); the average in a summary window; None with none received.
        Computed when first asked (a day of samples needs a partial sort; most formulas never ask)."""
        if self.is_summary:
            return self.avg_ms
        if "_median" not in self._jitter_cache:
            self._jitter_cache["_median"] = stats.percentile(self.received_array, 50.0)
        return self._jitter_cache["_median"]

    @property
    def is_summary(self) -> bool:
        """True for a window made from summary numbers (no raw samples)."""
        return not self.rtts_ms and self.sent > 0

    @property
    def lost(self) -> int:
        return self.sent - self.received

    @property
    def received_ms(self) -> tuple[float, ...]:
        """The received RTTs (ms) in the order they were sent."""
        cached = self._jitter_cache.get("_received")
        if cached is None:
            cached = tuple(self.received_array.tolist())
            self._jitter_cache["_received"] = cached  # type: ignore[assignment]
        return cached  # type: ignore[return-value]

    @property
    def received_array(self):
        """The received RTTs (ms) in the order they were sent, as a numpy float64 array."""
        cached = self._jitter_cache.get("_received_array")
        if cached is None:
            cached = stats.as_rtts(self.rtts_ms)
            cached = cached[~np.isnan(cached)]
            self._jitter_cache["_received_array"] = cached  # type: ignore[assignment]
        return cached  # type: ignore[return-value]

    def percentile_ms(self, pct: float) -> float | None:
        """The pct-th percentile (0-100) of the received RTTs, linear interpolation; the average in a summary."""
        if self.is_summary:
            return self.avg_ms
        return stats.percentile(self.received_array, pct)

    def jitter_ms_for(self, definition: str = DEFAULT_JITTER) -> float | None:
        """Jitter (ms) by the named definition (see ``pingmos.scoring.jitter``); None below 2 received samples."""
        if self.is_summary:
            return self.given_jitter_ms
        if definition not in self._jitter_cache:
            self._jitter_cache[definition] = jitter_ms(self.received_array, definition)
        return self._jitter_cache[definition]

    def jitter_series_ms_for(self, definition: str = DEFAULT_JITTER) -> list[float]:
        """Per-packet jitter values (ms) by the named definition; [] below 2 received samples or in a summary."""
        if self.is_summary:
            return []
        return jitter_series_ms(self.received_array, definition)

    def jitter_stdev_ms_for(self, definition: str = DEFAULT_JITTER) -> float | None:
        """Sample standard deviation (ms) of the per-packet jitter series; None with fewer than 2 values."""
        if self.is_summary:
            return self.given_jitter_stdev_ms
        key = "_stdev_" + definition
        if key not in self._jitter_cache:
            self._jitter_cache[key] = jitter_stdev_ms(self.received_array, definition)
        return self._jitter_cache[key]

    def jitter_percentile_ms_for(self, pct: float, definition: str = DEFAULT_JITTER) -> float | None:
        """The pct-th percentile of the per-packet jitter series (ms); the given jitter in a summary window."""
        if self.is_summary:
            return self.given_jitter_ms
        return stats.percentile(self.jitter_series_ms_for(definition), pct)

    def loss_transitions(self) -> tuple[float | None, float | None]:
        """Two-state Markov estimate of the loss process over the window: ``(p, q)``.

        p = P(lost | previous received), q = P(received | previous lost), each the share of transitions out of
        that state. None where the state was never left from (p with no received sample followed by another;
        q with no loss followed by another sample). (None, None) for a summary window.
        """
        from_received = to_lost = from_lost = to_received = 0
        for prev, cur in zip(self.rtts_ms, self.rtts_ms[1:], strict=False):
            if prev is not None:
                from_received += 1
                to_lost += cur is None
            else:
                from_lost += 1
                to_received += cur is not None
        p = to_lost / from_received if from_received else None
        q = to_received / from_lost if from_lost else None
        return p, q

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-able data (lists, numbers, None): how a window travels to the script worker process."""
        data = {f.name: getattr(self, f.name) for f in fields(HopWindow) if not f.name.startswith("_")}
        data["rtts_ms"] = list(self.rtts_ms)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> HopWindow:
        """The inverse of :meth:`to_dict`."""
        values = dict(data)
        values["rtts_ms"] = tuple(values.get("rtts_ms") or ())  # type: ignore[arg-type]
        values.pop("median_ms", None)  # derived (a property); older workers' dicts may carry it
        return cls(**values)  # type: ignore[arg-type]

    def for_model(self, settings: Mapping[str, object]) -> Hop:
        """This window as a formula sees it, jitter by ``settings["jitter"]`` (default pingplotter)."""
        definition = str(settings.get("jitter", DEFAULT_JITTER))
        values = {f.name: getattr(self, f.name) for f in fields(HopWindow)}  # the jitter cache is shared
        return Hop(**values, settings=dict(settings), jitter_definition=definition)


@dataclass(frozen=True, kw_only=True)
class Hop(HopWindow):
    """A window seen through a model's settings: what ``score_hop(hop)`` in a formula file receives.

    Everything of :class:`HopWindow`, plus:

    - ``settings``: the model's effective settings by name (``hop.settings["codec"]``);
    - ``jitter_definition``: the chosen definition (the ``jitter`` setting, default pingplotter);
    - ``jitter_ms`` / ``jitter_stdev_ms``: jitter and its standard deviation by that definition (ms), None where
      undefined (fewer than 2, or 3, received samples);
    - ``jitter_series_ms()`` and ``jitter_percentile_ms(pct)`` by that definition.
    """

    settings: Mapping[str, object] = field(default_factory=dict)
    jitter_definition: str = DEFAULT_JITTER

    @property
    def jitter_ms(self) -> float | None:
        """Jitter (ms) by this hop's jitter definition; None below 2 received samples."""
        return self.jitter_ms_for(self.jitter_definition)

    @property
    def jitter_stdev_ms(self) -> float | None:
        """Standard deviation (ms) of this hop's per-packet jitter series; None below 2 values."""
        return self.jitter_stdev_ms_for(self.jitter_definition)

    def jitter_series_ms(self) -> list[float]:
        """Per-packet jitter values (ms) by this hop's jitter definition."""
        return self.jitter_series_ms_for(self.jitter_definition)

    def jitter_percentile_ms(self, pct: float) -> float | None:
        """The pct-th percentile (0-100) of the jitter series (ms) by this hop's jitter definition."""
        return self.jitter_percentile_ms_for(pct, self.jitter_definition)
