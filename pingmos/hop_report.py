"""The plain data every front end consumes: one HopReport per hop, in one TraceSnapshot per update."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pingmos.diagnosis import Diagnosis
    from pingmos.scoring.score import Score


@dataclass(frozen=True)
class HopReport:
    """One hop's numbers over the window. Latencies in ms, loss in percent; None where nothing was measured."""

    ttl: int
    address: str | None  # the address that answered most often; None if no probe to this TTL was answered
    name: str | None
    responders: dict[str, int]  # address -> replies, several where load balancers answer from several routers
    sent: int
    received: int
    loss_pct: float | None
    loss_ci_pct: tuple[float, float] | None
    last_ms: float | None
    avg_ms: float | None
    min_ms: float | None
    max_ms: float | None
    stdev_ms: float | None
    jitter_ms: float | None
    r: float | None
    mos: float | None
    score_detail: dict[str, float] = field(default_factory=dict)
    score_error: str | None = None  # why the model could not score this hop (a broken user script)
    # While ``score_error`` says the user's formula file is broken, what the last version of it that worked gives
    # for this hop (scoring.ModelError.fallback): shown beside the error, marked as such; ``r``/``mos`` stay None.
    score_fallback: Score | None = None
    # The responder changes (route_changes.RouteChange) within the window: the route moved, so the numbers above
    # mix two paths from that round on; ``responders`` says how many replies came from each.
    route_changes: tuple = ()


@dataclass(frozen=True)
class TraceSnapshot:
    """The state of one trace at one moment, as a report or the GUI shows it."""

    target: str
    address: str
    protocol: str
    interval_s: float
    window: int | None  # samples to include; None = every sample of the run
    rounds: int  # rounds whose probes have all been settled (answered or lost)
    model: str
    destination_reached: bool
    hops: tuple[HopReport, ...]
    probes_sent: int = 0
    unmatched_replies: int = 0  # replies that matched no probe of ours (other programs', late ones): ignored
    mode: str | None = None  # how the probes were sent ("raw sockets", "unprivileged ICMP sockets", ...)
    route_changes: tuple = ()  # every route_changes.RouteChange of the visible hops, by round: for the timeline
    # Where the problem is (pingmos.diagnosis.Diagnosis), when the producer computed one with extra evidence (echo
    # witnesses); None = the formats derive it from the hops themselves.
    diagnosis: Diagnosis | None = None
