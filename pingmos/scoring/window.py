"""One hop's window: its samples and every number taken over them (``HopWindow``, the one type the snapshot
builder, the alert rules, the MOS interval and every model use), and the same seen through a model's settings
(``Hop``, what a formula's ``score_hop(hop)`` receives).

All latencies are round-trip times in milliseconds as measured, oldest first; a lost sample is ``None`` (NaN in
an array). Loss is round-trip loss in percent (a probe lost on the way out or on the way back counts the same). A
model that needs a one-way delay says in its docstring how it derives it.

Edge cases, the same for every number here:
- no samples at all: counts are 0 and every number is ``None`` (nothing was measured, so nothing is claimed);
- every sample lost: loss is 100 %, latency numbers are ``None``; models give R 0, MOS 1 (``score.ALL_LOST``);
- one received sample: last/avg/min/max are that sample; jitter and standard deviation are ``None`` (undefined:
  they need two received samples), never 0, because 0 would claim a perfectly steady line (a formula decides what
  it means for a score: the built-ins count it as 0).

A window built from summary numbers (the calculator's ``--latency --jitter --loss``, another tool's per-hop totals)
has no raw samples: its median and percentiles are the average, and the jitter given stands in for every jitter
definition and percentile.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import TYPE_CHECKING

from pingmos.lazy_numpy import LazyNumpy

if TYPE_CHECKING:
    import numpy as np
else:
    np = LazyNumpy(globals())  # numpy on first use: `pingmos score` needs no array (lazy_numpy.py)

from pingmos import stats
from pingmos.scoring.jitter import DEFAULT_JITTER, jitter_ms, jitter_series_ms, jitter_stdev_ms

# A summary window stands for this many samples so that a loss percentage like 2.5 % keeps its precision.
SUMMARY_SENT = 1000


@dataclass(frozen=True, kw_only=True)
class HopWindow:
    """One hop's window: the raw samples and the numbers every front end and model may use.

    - ``rtts_ms``: the window oldest first as a sequence with None for a lost sample (over a float64 array, NaN =
      lost, ``rtts_array``, never copied); empty for a summary window.
    - ``sent``, ``received``, ``lost``; ``loss_pct``: lost / sent, 0-100, None when nothing was sent;
      ``loss_ci_pct``: its 95 % Wilson interval (None for nothing sent or a summary window).
    - ``avg_ms``, ``median_ms``, ``min_ms``, ``max_ms``, ``last_ms``: of the received RTTs, None with none received.
    - ``stdev_ms``: sample standard deviation of the received RTTs, None below 2.
    - ``jitter_ms``: jitter by the default definition (``pingplotter``; ``jitter_ms_for`` takes any), None below 2.
    - ``given_jitter_ms`` / ``given_jitter_stdev_ms``: only in a summary window, the jitter the user gave.

    Build one with :meth:`from_rtts` (vectorised: a day of samples, 86 400, takes about a millisecond) or
    :meth:`from_summary`.
    """

    rtts_ms: Sequence[float | None] = ()
    sent: int = 0
    received: int = 0
    loss_pct: float | None = None
    loss_ci_pct: tuple[float, float] | None = None
    avg_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    last_ms: float | None = None
    stdev_ms: float | None = None
    given_jitter_ms: float | None = None
    given_jitter_stdev_ms: float | None = None
    # Numbers computed once when first asked (jitter by definition, the median, the received array): a 24-hour
    # window holds 86 400 samples per hop.
    _jitter_cache: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_rtts(cls, rtts_ms: Sequence[float | None] | np.ndarray) -> HopWindow:
        """The window of these samples (ms, oldest first; None or NaN = lost), a sequence or a float64 array."""
        rtts = stats.as_rtts(rtts_ms)
        lost_mask = np.isnan(rtts)
        received = rtts[~lost_mask] if np.count_nonzero(lost_mask) else rtts
        return cls.from_arrays(rtts, received)

    @classmethod
    def from_arrays(
        cls, rtts: np.ndarray, received: np.ndarray, sums: tuple[float, float, float, float] | None = None
    ) -> HopWindow:
        """The window of ``rtts`` (float64, ms, oldest first, NaN = lost) given its received values already
        (``rtts[~isnan(rtts)]``, in order: a snapshot builder that keeps them as it goes, or ``rtts`` itself when
        nothing was lost). Neither is copied; the numbers are ``from_rtts``'s, computed the same way.

        ``sums``: (sum, minimum, maximum, sum of |differences between consecutive values|) of ``received`` as
        numpy gives them (``np.add.reduce``; ``stats.pairwise_sum`` keeps them to the bit as a window grows), from
        a caller that has them: the average, extremes and PingPlotter jitter then take no pass over the values."""
        rtts = stats.as_rtts(rtts)
        sent = len(rtts)
        n = len(received)
        lost = sent - n
        summed = sums is not None and n > 0
        if summed:
            total, low, high, steps = sums
            avg_ms = float(total / n)
            min_ms, max_ms, stdev_ms = float(low), float(high), stats.sample_stdev(received, avg_ms)
        else:
            avg_ms, stdev_ms = stats.mean(received), stats.sample_stdev(received)
            min_ms = float(np.minimum.reduce(received)) if n else None
            max_ms = float(np.maximum.reduce(received)) if n else None
        window = cls(
            rtts_ms=stats.RttSeq(rtts),
            sent=sent,
            received=n,
            loss_pct=(100.0 * lost / sent) if sent else None,
            loss_ci_pct=stats.wilson_interval_pct(lost, sent),
            last_ms=float(received[-1]) if n else None,
            avg_ms=avg_ms,
            min_ms=min_ms,
            max_ms=max_ms,
            stdev_ms=stdev_ms,
        )
        window._jitter_cache["_received_array"] = received  # computed already
        if summed:
            window._jitter_cache[DEFAULT_JITTER] = float(steps / (n - 1)) if n >= 2 else None
        return window

    @classmethod
    def from_computed(
        cls,
        rtts: np.ndarray,
        received: np.ndarray,
        avg_ms: float | None,
        min_ms: float | None,
        max_ms: float | None,
        stdev_ms: float | None,
        loss_ci_pct: tuple[float, float] | None,
    ) -> HopWindow:
        """The window of ``rtts`` and its ``received`` values (as for :meth:`from_arrays`) with the numbers
        computed by the caller exactly as ``from_arrays`` computes them (the MOS interval computes them for all of
        a hop's resampled windows at once). Neither array is copied; ``rtts`` must be read-only already.

        The fields are set as the dataclass's ``__init__`` would set them, without its per-field checks (a frozen
        dataclass's ``__init__`` and ``RttSeq``'s checks were two thirds of building a resampled window)."""
        sent = len(rtts)
        n = len(received)
        if cls is not HopWindow or rtts.flags.writeable:
            raise TypeError("from_computed makes a HopWindow over a read-only array")
        window = object.__new__(cls)
        window.__dict__.update(
            _FIELD_DEFAULTS,
            rtts_ms=stats.RttSeq.of_readonly(rtts),
            sent=sent,
            received=n,
            loss_pct=(100.0 * (sent - n) / sent) if sent else None,
            loss_ci_pct=loss_ci_pct,
            last_ms=float(received[-1]) if n else None,
            avg_ms=avg_ms,
            min_ms=min_ms,
            max_ms=max_ms,
            stdev_ms=stdev_ms,
            _jitter_cache={"_received_array": received},
        )
        return window

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

    def for_scoring(self) -> HopWindow:
        """The window a model scores: this one, or for a window of another tool's per-hop totals (no samples, its
        real counts, min and max) the summary window of its average, jitter and loss (``from_summary``), as the
        formulas are given every summary."""
        if not self.is_summary:
            return self
        loss_pct = self.loss_pct or 0.0
        return HopWindow.from_summary(self.avg_ms, self.given_jitter_ms, loss_pct, self.given_jitter_stdev_ms)

    @property
    def rtts_array(self) -> np.ndarray:
        """The window as a read-only float64 array, NaN for a lost sample (not copied when it is one already)."""
        rtts = self.rtts_ms
        return rtts.array if isinstance(rtts, stats.RttSeq) else stats.as_rtts(rtts)

    @property
    def jitter_ms(self) -> float | None:
        """Jitter (ms) by the default definition (``pingplotter``); the jitter given, in a summary window."""
        return self.jitter_ms_for(DEFAULT_JITTER)

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
        return not self.rtts_ms and self.sent != 0  # sent None: another tool's totals without counts

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
            cached = self.rtts_array
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
        if values.get("loss_ci_pct") is not None:
            values["loss_ci_pct"] = tuple(values["loss_ci_pct"])  # type: ignore[arg-type]  (JSON gives a list)
        values.pop("median_ms", None)  # derived (a property); older workers' dicts may carry it
        return cls(**values)  # type: ignore[arg-type]

    def for_model(self, settings: Mapping[str, object]) -> Hop:
        """This window as a formula sees it, jitter by ``settings["jitter"]`` (default pingplotter)."""
        definition = str(settings.get("jitter", DEFAULT_JITTER))
        values = {name: getattr(self, name) for name in _FIELD_NAMES}  # the jitter cache is shared
        return Hop(**values, settings=dict(settings), jitter_definition=definition)


_FIELD_NAMES = tuple(f.name for f in fields(HopWindow))  # for_model per resampled window: fields() is slow
_FIELD_DEFAULTS = {f.name: f.default for f in fields(HopWindow) if f.default is not MISSING}  # from_computed


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
