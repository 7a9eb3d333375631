"""One trace's history with what a snapshot says about it (target, address, protocol, interval): what the report
and a replayed session fold their samples into."""

from __future__ import annotations

from collections.abc import Callable

from pingmos.engine import Sample
from pingmos.hop_report import TraceSnapshot
from pingmos.scoring import Scorer
from pingmos.state.history import TimeRange, TraceHistory
from pingmos.state.snapshot import snapshot_of


class TraceState:
    """``apply`` every Sample of one trace, then ``snapshot`` it over any window or time range as often as
    wanted (a different window or model re-scores the whole history). ``flows``: TraceSettings.flows.
    ``keep_samples``: keep only about this many samples per hop in memory and fold older ones into running sums
    (``TraceHistory(summarise=True)``: a snapshot of every sample still has the whole run's counts, loss, latency
    and jitter; per-round data covers the samples kept). None: keep every sample."""

    def __init__(
        self,
        target: str,
        address: str,
        protocol: str,
        interval_s: float,
        flows: int = 1,
        keep_samples: int | None = None,
    ):
        self.target = target
        self.address = address
        self.protocol = protocol
        self.interval_s = interval_s
        self.flows = flows
        self.history = TraceHistory(flows, keep_samples, summarise=keep_samples is not None)

    def apply(self, sample: Sample) -> None:
        self.history.apply(sample)

    @property
    def destination_ttl(self) -> int | None:
        return self.history.destination_ttl()

    def visible_ttls(self) -> list[int]:
        """The TTLs a snapshot shows (see ``TraceHistory.select``)."""
        return [row.ttl for row in self.history.select(None, None, cached={}).rows]

    def snapshot(
        self,
        window: int | None,
        scorer: Scorer,
        model_name: str,
        names: Callable[[str], str | None] = lambda addr: None,
        probes_sent: int = 0,
        unmatched_replies: int = 0,
        time_range: TimeRange | None = None,
        mode: str | None = None,
        cache: dict | None = None,
    ) -> TraceSnapshot:
        """The snapshot over the last ``window`` samples per hop (None = all) or the samples sent within
        ``time_range`` (wall-clock seconds). See ``pingmos.state.snapshot.build_snapshot``."""
        return snapshot_of(
            self.history,
            scorer,
            window=window,
            time_range=time_range,
            cache=cache,
            target=self.target,
            address=self.address,
            protocol=self.protocol,
            interval_s=self.interval_s,
            model_name=model_name,
            names=names,
            probes_sent=probes_sent,
            unmatched_replies=unmatched_replies,
            mode=mode,
        )
