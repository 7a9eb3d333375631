"""Prometheus metrics of the monitoring agent: what is counted per sample, and what /metrics shows.

Naming follows the Prometheus conventions (https://prometheus.io/docs/practices/naming/) and the exporters people
already run: names start with ``pingmos_``, base units (seconds, ratios 0..1), ``_total`` counters, RTT as a
histogram in seconds (smokeping_prober), a hop position label and a path identifier (mtr-exporter).

Two kinds of series:

- **Counted per sample** (``HopCounters``, updated in each trace's engine thread): RTT histogram, probes sent and
  received, route changes. Their labels are stable (``target``, ``hop`` = the TTL, the user's labels,
  ``vantage``) so ``rate()`` and ``histogram_quantile()`` work across route changes; a counter whose labels changed
  with the responder would restart from zero every time the route moved.
- **Over the target's window** (gauges from the latest ``TraceSnapshot``, recomputed every ``refresh_s``): loss
  ratio, mean latency, jitter, R and MOS (with a ``model`` label), labelled like the counters (``target``,
  ``hop``, ``vantage``, the user's labels): the responder ``address``, reverse-DNS ``name`` and the hop's
  ``position`` (first / intermediate / last) are in ``pingmos_hop_info``, joined on ``target, hop, vantage`` when
  needed (the Prometheus convention for an info metric), so a route change neither starts new series nor makes a
  rule's ``for:`` wait again.

A hop's window gauges are absent below ``scoring.interval.MIN_SAMPLES`` (10) probes in the window, the minimum
below which pingmos says "not enough samples" elsewhere (no MOS interval, no alert rule value at its default
``min_samples``); ``pingmos_hop_window_probes`` still says how many there are. A hop that never answers has loss
ratio 1 and no latency (NaN). A call to the target is ``pingmos_target_mos`` / ``pingmos_target_r_factor``
(``path_end``): the destination's figures, or MOS 1 and R 0, the floor of the scale, when the destination
answered none of the window's rounds (a router answering "unreachable", nothing answering): no call would get
through, so "MOS below 3.5 for 5 minutes" fires for such a target too. The agent ages the window: while the trace
sends nothing (a send error: no route), its samples leave the window as they would under new ones, and the gauges
go absent (the shipped rules page on a target that cannot be probed, ``PingmosTargetUnmeasured``).
"""

from __future__ import annotations

import bisect
import math
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from pingmos.engine import Sample
from pingmos.hop_report import TraceSnapshot
from pingmos.scoring.interval import MIN_SAMPLES

# RTT bucket bounds in seconds, 1 ms to 1 s (29 bounds and +Inf): what a VoIP path's round trip is read against.
# Between 10 and 300 ms (a LAN to an intercontinental call; ITU-T G.114 puts the limit of a good call near 150
# ms one-way) each bound is at most 25 % above the one before, so histogram_quantile()'s linear interpolation inside
# a bucket is off by at most a few ms there: 30 ms paths fell between 25 and 50 ms before (median read as 37.5 ms,
# mean 30.1). Below 10 ms (loopback, LAN, the first hops) steps of 1-2.5 ms; above 300 ms, where a call is already
# poor, coarser ones; over 1 s lands in +Inf. Why not finer: each bound is a series per hop, 30 x 31 hops x 100
# targets = 93,000 series for an agent at its size (the 22 buckets before: 68,000).
RTT_BUCKETS_S = (
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.0125,
    0.015,
    0.0175,
    0.02,
    0.025,
    0.03,
    0.035,
    0.04,
    0.05,
    0.06,
    0.07,
    0.08,
    0.1,
    0.12,
    0.15,
    0.175,
    0.2,
    0.25,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
)
POSITIONS = ("first", "intermediate", "last")
DIAGNOSIS_STATES = ("problem", "no_problem", "undecided")
# A round counts as late when its first probe (TTL 1) left more than this share of the interval, and at least
# LATE_MIN_S, after it was due on the target's schedule (every interval after its earliest first probe); rounds
# the scheduler then skipped (their due time passed before that probe left: after a stall of more than an
# interval the engine starts again from "now" rather than send a backlog) count as late too.
LATE_SHARE = 0.1
LATE_MIN_S = 0.05


def wall_minus_monotonic() -> float:
    """time.time() - time.monotonic() now, s: what turns a wall-clock send stamp into monotonic time."""
    return time.time() - time.monotonic()


class HopCounters:
    """One hop's per-sample counters. Not locked: the owner (``TargetCounters``) holds the lock."""

    __slots__ = ("sent", "received", "buckets", "rtt_sum_s", "route_changes")

    def __init__(self) -> None:
        self.sent = 0
        self.received = 0
        self.buckets = [0] * (len(RTT_BUCKETS_S) + 1)  # per bucket (not cumulative); the last is +Inf
        self.rtt_sum_s = 0.0
        self.route_changes = 0


class TargetCounters:
    """What is counted per sample for one target: ``observe`` is the trace's observer (engine thread, quick)."""

    def __init__(self, interval_s: float, flows: int = 1) -> None:
        self.interval_s = interval_s
        self.flows = flows
        self._lock = threading.Lock()
        self.hops: dict[int, HopCounters] = {}
        self._last_answer: dict[tuple[int, int], tuple[int, str]] = {}  # (ttl, flow) -> (round, responder)
        self.samples = 0
        self.late_rounds = 0
        self._anchor: tuple[int, float] | None = None  # (round, send time) the schedule is measured from

    def observe(self, sample: Sample) -> None:
        with self._lock:
            hop = self.hops.get(sample.ttl)
            if hop is None:
                hop = self.hops[sample.ttl] = HopCounters()
            hop.sent += 1
            self.samples += 1
            if sample.rtt_ms is not None:
                hop.received += 1
                rtt_s = sample.rtt_ms / 1000.0
                hop.rtt_sum_s += rtt_s
                hop.buckets[bisect.bisect_left(RTT_BUCKETS_S, rtt_s)] += 1
            if sample.responder is not None:
                # A route change: the responder of this TTL changed within one flow (route_changes.py's rule),
                # counted as answers arrive; an answer that settles behind a later one of its flow is skipped.
                key = (sample.ttl, sample.round % self.flows)
                last = self._last_answer.get(key)
                if last is None or sample.round >= last[0]:
                    if last is not None and last[1] != sample.responder:
                        hop.route_changes += 1
                    self._last_answer[key] = (sample.round, sample.responder)
            if sample.ttl == 1:
                self._check_schedule(sample)

    def _check_schedule(self, sample: Sample) -> None:
        # The TTL-1 probe opens its round; round r is due interval_s * r after the anchor: the earliest send seen
        # (of the anchor's round), which stays put while rounds leave late, as the engine's schedule does
        # (engine.scheduler: round r is due start + r * interval; only a stall of more than an interval makes it
        # start again from "now", with the rounds due meanwhile never sent). Send stamps are wall-clock times:
        # they are compared in monotonic time, so that a step of the wall clock makes no round late.
        sent = sample.sent_at - wall_minus_monotonic()
        if self._anchor is None:
            self._anchor = (sample.round, sent)
            return
        if sample.round <= self._anchor[0]:
            return  # an older round's first probe settling after later rounds (lost: its timeout); judged by those
        r0, t0 = self._anchor
        late_s = sent - (t0 + (sample.round - r0) * self.interval_s)
        if late_s > max(LATE_MIN_S, LATE_SHARE * self.interval_s):
            # This round, and the rounds due meanwhile that were never sent.
            self.late_rounds += 1 + int(late_s // self.interval_s)
            if late_s >= self.interval_s:
                self._anchor = (sample.round, sent)  # the engine's schedule started again from this round
        elif late_s < 0:
            self._anchor = (sample.round, sent)  # the anchor was late itself

    def new_schedule(self) -> None:
        """The trace (re)starts: its rounds follow a new schedule, anchored at its first probe."""
        with self._lock:
            self._anchor = None

    def copy(self, last_ttl: int | None = None) -> tuple[dict[int, tuple[int, int, list[int], float, int]], int, int]:
        """({ttl: (sent, received, buckets, rtt_sum_s, route_changes)}, samples, late_rounds), consistent.
        ``last_ttl``: where the path ends (the destination's TTL, or a router's unreachable): the TTLs beyond are
        left out, as they are no hops (the first round probes every TTL up to max_ttl before the end is known, and
        the destination answers those probes too); None = every TTL probed."""
        with self._lock:
            hops = {
                t: (h.sent, h.received, list(h.buckets), h.rtt_sum_s, h.route_changes)
                for t, h in self.hops.items()
                if last_ttl is None or t <= last_ttl
            }
            return hops, self.samples, self.late_rounds


@dataclass(frozen=True)
class SipView:
    """SIP OPTIONS results of one target: counters since the start, window figures (None: nothing measured)."""

    sent: int
    answered: int
    codes: dict[int, int]  # response code -> responses
    buckets: list[int]
    rtt_sum_s: float
    window_loss_ratio: float | None
    window_rtt_s: float | None
    last_code: int | None


@dataclass(frozen=True)
class TargetView:
    """Everything /metrics shows of one target at one moment (built by the agent from its trace)."""

    name: str
    labels: tuple[tuple[str, str], ...]  # the user's labels
    model: str
    up: bool | None  # the trace runs without error; None before its first attempt (resolving, opening)
    counters: tuple  # TargetCounters.copy()
    snapshot: TraceSnapshot | None  # None until the first refresh
    diagnosis_status: str | None  # one of DIAGNOSIS_STATES
    diagnosis_ttl: int | None
    alerts: dict[str, bool] = field(default_factory=dict)  # rule name -> firing
    sip: SipView | None = None
    # For a problem: (first, last), the hops it can start at, both inclusive (Diagnosis.location_ttls): (t, t) when
    # one hop is supported, a range of hops when the evidence cannot tell which. None otherwise.
    diagnosis_span: tuple[int, int] | None = None


@dataclass(frozen=True)
class AgentHealth:
    probes_per_s: float | None  # None: not measured yet (before the agent's first refresh pass)
    errors: dict[str, int]  # kind -> count since the start
    targets: int
    rss_bytes: int | None
    # Memory blocks Python's allocator holds (sys.getallocatedblocks()): tells growing Python objects apart from a
    # resident size that grows by fragmentation or by SQLite's and numpy's own allocations.
    python_blocks: int | None = None
    # (kernel, python): probes the probing process sent, by where their send time came from (the kernel's send
    # stamp, or the fallback: the clock read in Python before sendto(), early by whatever delayed the send and so
    # adding that delay to the RTT); None without a probing process.
    send_stamps: tuple[int, int] | None = None
    # /metrics requests whose client closed the connection before the answer was written (a scrape timeout).
    scrapes_aborted: int = 0


def path_id(snapshot: TraceSnapshot) -> int:
    """A number that changes when the path changes: CRC-32 of the visible hops' main responders in TTL order
    ("?" for a silent hop). Equal paths give equal ids on every agent (mtr-exporter's path hash)."""
    text = " ".join(h.address or "?" for h in snapshot.hops)
    return zlib.crc32(text.encode())


def path_end(snapshot: TraceSnapshot) -> tuple[float | None, float | None] | None:
    """(R, MOS) of a call to the target over the snapshot's window, the figures pingmos_target_r_factor and
    pingmos_target_mos show and the shipped page rule reads; None below ``MIN_SAMPLES`` rounds in the window.

    The destination's hop when the destination answered in the window; the floor of the scale, (0, 1), when it
    answered none of the window's rounds: a router that answers "unreachable" for every probe, a path where
    nothing answers, a destination that stopped answering. A call would not get through either, whatever the last
    router's own round trip looks like (the report's diagnosis says the same: the destination was not reached).
    The model's R and MOS otherwise (None where it gave none: a broken user formula)."""
    if not snapshot.hops:
        return None
    last = snapshot.hops[-1]
    if max(h.sent for h in snapshot.hops) < MIN_SAMPLES:  # the window's rounds: its busiest TTL's probes
        return None
    if not snapshot.destination_reached or last.received == 0:
        return 0.0, 1.0
    if last.sent < MIN_SAMPLES:
        return None
    return last.r, last.mos


def position(i: int, n: int) -> str:
    """first / intermediate / last of hop ``i`` of ``n`` visible hops. A path of one hop is "last": the hop
    stands for the destination (or, when nothing answered, for the silence up to it), which alerts look at."""
    return "last" if i == n - 1 else ("first" if i == 0 else "intermediate")


def _nan(v: float | None, scale: float = 1.0) -> float:
    return math.nan if v is None else v * scale


# The groups of per-target families (AgentCollector._families): what changes with each window refresh, with each
# sample, and the rest.
WINDOW, COUNTERS, OTHER = "window", "counters", "other"
ALL_GROUPS = frozenset((WINDOW, COUNTERS, OTHER))
PAIRS_KEPT = 200_000  # formatted label pairs kept between scrapes (a reload's old targets are dropped past this)


class AgentCollector(Collector):
    """A prometheus_client collector: every scrape builds the families from the agent's current views, so a
    target removed by a reload disappears from /metrics at once.

    ``render`` writes the same text as ``collect`` through ``prometheus_client.generate_latest`` (a test compares
    them) at a fraction of the cost, because most of it repeats from one scrape to the next: a target's window
    series change only when its window is recomputed (every ``refresh_s``), so their lines are kept per target
    until its snapshot or diagnosis changes; the counters and the histogram change with every sample, but each
    line's name and labels do not, so only the values are formatted at each scrape."""

    def __init__(self, views: Callable[[], Iterable[TargetView]], health: Callable[[], AgentHealth], vantage: str):
        self._views = views
        self._health = health
        self.vantage = vantage
        self._render_lock = threading.Lock()
        self._text = _TextFormat()
        self._window_lines: dict[str, tuple] = {}  # target -> (snapshot, key, {family name: lines})
        self._counter_prefixes: dict[tuple, tuple] = {}  # (target key, ttl) -> each counter line's "name{labels} "
        # (target key, ttl, address, position, name, model) -> a window hop's "{labels} " (see _window_text)
        self._window_labels: dict[tuple, tuple[str, str, str]] = {}

    def describe(self) -> Iterator[Metric]:
        return iter(())  # no fixed series: the registry then never calls collect() at registration

    def collect(self) -> Iterator[Metric]:
        views = list(self._views())
        user_keys = sorted({k for v in views for k, _ in v.labels})
        yield from self._families(views, user_keys, ALL_GROUPS)
        yield from self._agent_families()

    def _families(self, views: list[TargetView], user_keys: list[str], groups: frozenset[str]) -> list[Metric]:
        """Every per-target family in /metrics order, with the samples of ``views`` in the families of ``groups``
        (WINDOW: from the window's snapshot and diagnosis; COUNTERS: the per-hop counters and histogram; OTHER:
        the rest); the other families stay empty."""
        window, counters, other = WINDOW in groups, COUNTERS in groups, OTHER in groups
        base = ["target", *user_keys, "vantage"]

        def lv(view: TargetView, *extra: str) -> list[str]:
            own = dict(view.labels)
            return [view.name, *(own.get(k, "") for k in user_keys), self.vantage, *extra]

        hop_labels = [*base, "hop"]
        sent = CounterMetricFamily(
            "pingmos_hop_probes_sent",
            "Probes sent to this TTL whose fate is known (answered or timed out).",
            labels=hop_labels,
        )
        received = CounterMetricFamily(
            "pingmos_hop_probes_received", "Probes to this TTL that were answered.", labels=hop_labels
        )
        rtt = HistogramMetricFamily(
            "pingmos_hop_rtt_seconds", "Round-trip time of answered probes to this TTL.", labels=hop_labels
        )
        changes = CounterMetricFamily(
            "pingmos_hop_route_changes", "Times the responder at this TTL changed within one flow.", labels=hop_labels
        )
        # The window gauges carry the hop's identity only (target, hop, vantage and the user's labels): a
        # responder address or a position in their labels made every route change start new series (and the
        # rules' ``for:`` wait again); pingmos_hop_info holds both, joined on (target, hop, vantage) when needed.
        win_labels = hop_labels
        info = InfoMetricFamily(
            "pingmos_hop",
            "The hop's main responder over the window: address, reverse-DNS name, position on the path.",
            labels=hop_labels,
        )
        loss = GaugeMetricFamily("pingmos_hop_loss_ratio", "Lost probes over the window (0..1).", labels=win_labels)
        latency = GaugeMetricFamily(
            "pingmos_hop_latency_seconds", "Mean round-trip time over the window.", labels=win_labels
        )
        jitter = GaugeMetricFamily(
            "pingmos_hop_jitter_seconds",
            "Jitter over the window (the model's definition; PingPlotter's mean successive difference by default).",
            labels=win_labels,
        )
        window_n = GaugeMetricFamily(
            "pingmos_hop_window_probes", "Probes in the window the gauges are computed over.", labels=win_labels
        )
        r_fac = GaugeMetricFamily(
            "pingmos_hop_r_factor",
            "E-model R factor over the window (0..100; 129 wideband).",
            labels=[*win_labels, "model"],
        )
        mos = GaugeMetricFamily(
            "pingmos_hop_mos", "Estimated MOS (1..4.5) over the window.", labels=[*win_labels, "model"]
        )
        mos_ci = [
            GaugeMetricFamily(
                f"pingmos_hop_mos_ci_{end}",
                f"{end.capitalize()} end of the 95 % interval of the MOS (sampling uncertainty of its inputs), "
                "where the model gives one.",
                labels=[*win_labels, "model"],
            )
            for end in ("lower", "upper")
        ]
        end_r = GaugeMetricFamily(
            "pingmos_target_r_factor",
            "E-model R factor of a call to the target over the window: the destination's, or 0 when the window's "
            "rounds reached no destination (see pingmos_target_mos).",
            labels=[*base, "model"],
        )
        end_mos = GaugeMetricFamily(
            "pingmos_target_mos",
            "Estimated MOS of a call to the target over the window: the destination's; 1 (no call) when the "
            "destination answered none of the window's rounds (a router answered unreachable, or nothing "
            "answered); absent below the minimum of samples.",
            labels=[*base, "model"],
        )
        up = GaugeMetricFamily(
            "pingmos_target_up",
            "1 while the target's trace runs without error, 0 once an attempt failed (absent before the first).",
            labels=base,
        )
        reached = GaugeMetricFamily(
            "pingmos_target_destination_reached", "1 once the destination answered.", labels=base
        )
        hops_n = GaugeMetricFamily("pingmos_target_hops", "Visible hops of the path (TTL of the last).", labels=base)
        path = GaugeMetricFamily(
            "pingmos_target_path_id", "CRC-32 of the path's responders: changes when the path does.", labels=base
        )
        diag = StateSetMetricFamily(
            "pingmos_target_diagnosis", "Where quality deteriorates: problem, no_problem or undecided.", labels=base
        )
        diag_hop = GaugeMetricFamily(
            "pingmos_target_diagnosis_hop",
            "TTL of the hop where quality deteriorates; absent when no one hop is supported (no problem, undecided, "
            "or a problem located to a range of hops).",
            labels=base,
        )
        diag_span = [
            GaugeMetricFamily(
                f"pingmos_target_diagnosis_{end}_hop",
                f"TTL of the {end} hop where the problem can start (both ends inclusive): the same as "
                "pingmos_target_diagnosis_hop when one hop is supported, a range of hops when the evidence cannot tell "
                "which; absent unless the diagnosis is problem.",
                labels=base,
            )
            for end in ("first", "last")
        ]
        late = CounterMetricFamily(
            "pingmos_target_late_rounds",
            "Rounds whose first probe left late (more than 10 % of the interval, at least 50 ms), and rounds "
            "skipped because of such a delay.",
            labels=base,
        )
        alert = GaugeMetricFamily(
            "pingmos_alert_firing", "1 while the alert rule is in an episode.", labels=[*base, "rule"]
        )
        sip_sent = CounterMetricFamily(
            "pingmos_sip_options_sent", "SIP OPTIONS requests sent (answered or timed out).", labels=base
        )
        sip_resp = CounterMetricFamily(
            "pingmos_sip_responses", "Final SIP responses to OPTIONS, by status code.", labels=[*base, "code"]
        )
        sip_rtt = HistogramMetricFamily(
            "pingmos_sip_response_seconds", "Time from an OPTIONS request to its final response.", labels=base
        )
        sip_loss = GaugeMetricFamily(
            "pingmos_sip_loss_ratio", "OPTIONS requests without a response over the window (0..1).", labels=base
        )
        sip_time = GaugeMetricFamily(
            "pingmos_sip_response_time_seconds", "Mean response time over the window.", labels=base
        )
        sip_code = GaugeMetricFamily(
            "pingmos_sip_last_response_code", "Status code of the latest final response (0: none yet).", labels=base
        )

        for view in views:
            hops, _samples, late_rounds = view.counters
            for ttl in sorted(hops) if counters else ():
                n_sent, n_recv, buckets, rtt_sum, n_changes = hops[ttl]
                h = lv(view, str(ttl))
                sent.add_metric(h, n_sent)
                received.add_metric(h, n_recv)
                changes.add_metric(h, n_changes)
                rtt.add_metric(h, _cumulative(buckets), rtt_sum)
            if other:
                if view.up is not None:  # absent until the target's first attempt
                    up.add_metric(lv(view), 1.0 if view.up else 0.0)
                late.add_metric(lv(view), late_rounds)
                for rule, firing in sorted(view.alerts.items()):
                    alert.add_metric(lv(view, rule), 1.0 if firing else 0.0)
            snap = view.snapshot if window else None
            if snap is not None:
                reached.add_metric(lv(view), 1.0 if snap.destination_reached else 0.0)
                hops_n.add_metric(lv(view), len(snap.hops))
                path.add_metric(lv(view), path_id(snap))
                n = len(snap.hops)
                for i, hop in enumerate(snap.hops):
                    labels = lv(view, str(hop.ttl))
                    info.add_metric(
                        labels, {"address": hop.address or "", "name": hop.name or "", "position": position(i, n)}
                    )
                    window_n.add_metric(labels, hop.sent)
                    if hop.sent < MIN_SAMPLES:
                        continue  # not enough samples yet: no figure rather than one from a handful of probes
                    loss.add_metric(labels, _nan(hop.loss_pct, 0.01))
                    if hop.unmeasured:
                        continue  # a router that gave no reply: no series rather than a figure of nothing (R 0, MOS 1)
                    latency.add_metric(labels, _nan(hop.avg_ms, 0.001))
                    jitter.add_metric(labels, _nan(hop.jitter_ms, 0.001))
                    r_fac.add_metric([*labels, view.model], _nan(hop.r))
                    mos.add_metric([*labels, view.model], _nan(hop.mos))
                    if hop.mos_ci is not None:
                        for family, end in zip(mos_ci, hop.mos_ci, strict=True):
                            family.add_metric([*labels, view.model], end)
                end = path_end(snap)
                if end is not None:
                    end_r.add_metric([*lv(view), view.model], _nan(end[0]))
                    end_mos.add_metric([*lv(view), view.model], _nan(end[1]))
            if window and view.diagnosis_status is not None:
                diag.add_metric(lv(view), {s: s == view.diagnosis_status for s in DIAGNOSIS_STATES})
                if view.diagnosis_ttl is not None:  # a range is not a hop: no number that reads as one
                    diag_hop.add_metric(lv(view), view.diagnosis_ttl)
                if view.diagnosis_span is not None and view.diagnosis_status == "problem":
                    for family, ttl in zip(diag_span, view.diagnosis_span, strict=True):
                        family.add_metric(lv(view), ttl)
            if other and view.sip is not None:
                s = view.sip
                sip_sent.add_metric(lv(view), s.sent)
                for code, count in sorted(s.codes.items()):
                    sip_resp.add_metric(lv(view, str(code)), count)
                sip_rtt.add_metric(lv(view), _cumulative(s.buckets), s.rtt_sum_s)
                sip_loss.add_metric(lv(view), _nan(s.window_loss_ratio))
                sip_time.add_metric(lv(view), _nan(s.window_rtt_s))
                sip_code.add_metric(lv(view), s.last_code or 0)
        return [
            *mos_ci,
            sent,
            received,
            rtt,
            changes,
            info,
            loss,
            latency,
            jitter,
            window_n,
            r_fac,
            mos,
            end_r,
            end_mos,
            up,
            reached,
            hops_n,
            path,
            diag,
            diag_hop,
            *diag_span,
            late,
            alert,
            sip_sent,
            sip_resp,
            sip_rtt,
            sip_loss,
            sip_time,
            sip_code,
        ]

    def render(self) -> bytes:
        """The Prometheus text format (0.0.4) of ``collect``'s families: the bytes generate_latest writes."""
        with self._render_lock:
            return self._render()

    def _render(self) -> bytes:
        text = self._text
        if len(text.pairs) > PAIRS_KEPT:
            text.pairs.clear()
        if len(self._window_labels) > PAIRS_KEPT:
            self._window_labels.clear()
        views = list(self._views())
        user_keys = sorted({k for v in views for k, _ in v.labels})
        families = self._families([], user_keys, ALL_GROUPS)  # the headers, in order
        chunks: dict[str, list[str]] = {m.name: [] for m in families}
        window_lines: dict[str, tuple] = {}
        prefixes: dict[tuple, tuple] = {}
        for view in views:
            key = (
                view.diagnosis_status,
                view.diagnosis_ttl,
                view.diagnosis_span,
                view.labels,
                view.model,
                self.vantage,
                user_keys,
            )
            kept = self._window_lines.get(view.name)
            if kept is None or kept[0] is not view.snapshot or kept[1] != key:
                kept = (view.snapshot, key, self._window_text(view, user_keys))
            window_lines[view.name] = kept
            for name, t in kept[2].items():
                chunks[name].append(t)
            self._counter_lines(view, user_keys, chunks, prefixes)
        self._window_lines, self._counter_prefixes = window_lines, prefixes
        for m in self._families(views, user_keys, frozenset((OTHER,))):
            if m.samples:
                chunks[m.name].append(text.lines(m))
        out: list[str] = []
        for m in families:
            out.append(text.header(m))
            out.extend(chunks[m.name])
        for m in self._agent_families():
            out.append(text.header(m))
            out.append(text.lines(m))
        return "".join(out).encode("utf-8")

    def _window_text(self, view: TargetView, user_keys: list[str]) -> dict[str, str]:
        """{family name: its lines} of one target's WINDOW families, the text ``_families([view], user_keys,
        {WINDOW})`` formats (a test compares them; empty families left out). Why not through ``_families``: that
        makes a prometheus_client family object per family, a sample per line and sorts each line's labels,
        for every target whose window changed, i.e. nearly every target at every scrape (refresh_s 5 s, scrapes
        every 15 s); here a hop's labels are formatted once (while its responder, position and model stay) and
        each scrape formats only the values. 100 targets x 31 hops: see scripts/bench_first_scrape.py --render."""
        snap, go = view.snapshot, floatToGoString
        out: dict[str, list[str]] = {}
        own = dict(view.labels)
        base_values = [view.name, *(own.get(k, "") for k in user_keys), self.vantage]
        base_names = ["target", *user_keys, "vantage"]
        labels_of = self._labels_text
        if snap is not None:
            ident = (view.name, view.labels, self.vantage, tuple(user_keys))
            cache, model = self._window_labels, view.model
            info, loss, latency, jitter, window_n, r_fac, mos = ([] for _ in range(7))
            ci_lower: list[str] = []
            ci_upper: list[str] = []
            n = len(snap.hops)
            for i, hop in enumerate(snap.hops):
                where = position(i, n)
                address, name = hop.address or "", hop.name or ""
                ck = (ident, hop.ttl, address, where, name, model)
                texts = cache.get(ck)
                if texts is None:
                    # As _families adds them: the hop's labels by name (dict(zip(...))), then the info's or model's.
                    hop_labels = dict(zip([*base_names, "hop"], [*base_values, str(hop.ttl)], strict=True))
                    texts = cache[ck] = (
                        labels_of({**hop_labels, "address": address, "name": name, "position": where}),
                        labels_of(hop_labels),
                        labels_of({**hop_labels, "model": model}),
                    )
                info_l, win_l, model_l = texts
                info.append(f"pingmos_hop_info{info_l}1.0\n")
                window_n.append(f"pingmos_hop_window_probes{win_l}{go(hop.sent)}\n")
                if hop.sent < MIN_SAMPLES:
                    continue  # as in _families: no figure from a handful of probes
                loss.append(f"pingmos_hop_loss_ratio{win_l}{go(_nan(hop.loss_pct, 0.01))}\n")
                if hop.unmeasured:
                    continue  # as in _families: no series for a router that gave no reply
                latency.append(f"pingmos_hop_latency_seconds{win_l}{go(_nan(hop.avg_ms, 0.001))}\n")
                jitter.append(f"pingmos_hop_jitter_seconds{win_l}{go(_nan(hop.jitter_ms, 0.001))}\n")
                r_fac.append(f"pingmos_hop_r_factor{model_l}{go(_nan(hop.r))}\n")
                mos.append(f"pingmos_hop_mos{model_l}{go(_nan(hop.mos))}\n")
                if hop.mos_ci is not None:
                    lower, upper = hop.mos_ci
                    ci_lower.append(f"pingmos_hop_mos_ci_lower{model_l}{go(lower)}\n")
                    ci_upper.append(f"pingmos_hop_mos_ci_upper{model_l}{go(upper)}\n")
            end = path_end(snap)
            if end is not None:
                end_l = labels_of({**dict(zip(base_names, base_values, strict=True)), "model": model})
                out["pingmos_target_r_factor"] = [f"pingmos_target_r_factor{end_l}{go(_nan(end[0]))}\n"]
                out["pingmos_target_mos"] = [f"pingmos_target_mos{end_l}{go(_nan(end[1]))}\n"]
            out.update(
                {
                    "pingmos_hop_mos_ci_lower": ci_lower,
                    "pingmos_hop_mos_ci_upper": ci_upper,
                    "pingmos_hop": info,
                    "pingmos_hop_loss_ratio": loss,
                    "pingmos_hop_latency_seconds": latency,
                    "pingmos_hop_jitter_seconds": jitter,
                    "pingmos_hop_window_probes": window_n,
                    "pingmos_hop_r_factor": r_fac,
                    "pingmos_hop_mos": mos,
                }
            )
            target_l = labels_of(dict(zip(base_names, base_values, strict=True)))
            out["pingmos_target_destination_reached"] = [
                f"pingmos_target_destination_reached{target_l}{go(1.0 if snap.destination_reached else 0.0)}\n"
            ]
            out["pingmos_target_hops"] = [f"pingmos_target_hops{target_l}{go(n)}\n"]
            out["pingmos_target_path_id"] = [f"pingmos_target_path_id{target_l}{go(path_id(snap))}\n"]
        if view.diagnosis_status is not None:
            target = dict(zip(base_names, base_values, strict=True))
            out["pingmos_target_diagnosis"] = [
                f"pingmos_target_diagnosis{labels_of({**target, 'pingmos_target_diagnosis': state})}"
                f"{go(1 if state == view.diagnosis_status else 0)}\n"
                for state in sorted(DIAGNOSIS_STATES)  # StateSetMetricFamily's order
            ]
            # As _families: absent unless one hop is supported (a range of hops is no number).
            ttl = view.diagnosis_ttl
            out["pingmos_target_diagnosis_hop"] = (
                [] if ttl is None else [f"pingmos_target_diagnosis_hop{labels_of(target)}{go(ttl)}\n"]
            )
            span = view.diagnosis_span if view.diagnosis_status == "problem" else None
            for end, i in (("first", 0), ("last", 1)):
                name = f"pingmos_target_diagnosis_{end}_hop"
                out[name] = [] if span is None else [f"{name}{labels_of(target)}{go(span[i])}\n"]
        return {name: "".join(lines) for name, lines in out.items() if lines}

    def _labels_text(self, labels: dict[str, str]) -> str:
        """``{name="value",...} `` of a line, labels sorted by name and values escaped, as generate_latest writes."""
        pair = self._text.pair
        return "{" + ",".join(pair(item) for item in sorted(labels.items())) + "} "

    def _counter_lines(self, view: TargetView, user_keys: list[str], chunks: dict, prefixes: dict) -> None:
        hops = view.counters[0]
        if not hops:
            return
        ident = (view.name, view.labels, self.vantage, tuple(user_keys))
        sent, received = chunks["pingmos_hop_probes_sent"], chunks["pingmos_hop_probes_received"]
        rtt, changes = chunks["pingmos_hop_rtt_seconds"], chunks["pingmos_hop_route_changes"]
        go = floatToGoString
        own = dict(view.labels)
        # The label values of _families' lv(view, ttl), by name (the hop's added per TTL below).
        base = {"target": view.name, **{k: own.get(k, "") for k in user_keys}, "vantage": self.vantage}
        for ttl in sorted(hops):
            n_sent, n_recv, buckets, rtt_sum, n_changes = hops[ttl]
            p = self._counter_prefixes.get((ident, ttl))
            if p is None:
                p = self._hop_prefixes({**base, "hop": str(ttl)})
            prefixes[(ident, ttl)] = p
            p_sent, p_recv, p_rtt, p_changes = p
            sent.append(f"{p_sent[0]}{go(n_sent)}\n")
            received.append(f"{p_recv[0]}{go(n_recv)}\n")
            total = 0
            for prefix, n in zip(p_rtt, buckets, strict=False):  # the buckets' lines; count and sum follow
                total += n
                rtt.append(f"{prefix}{go(total)}\n")
            rtt.append(f"{p_rtt[-2]}{go(total)}\n{p_rtt[-1]}{go(rtt_sum)}\n")
            changes.append(f"{p_changes[0]}{go(n_changes)}\n")

    def _hop_prefixes(self, labels: dict[str, str]) -> tuple:
        """Each counter line's "name{labels} " of one hop, in /metrics order: (sent,), (received,), (buckets...,
        count, sum), (changes,); the samples ``_families`` makes for the hop's COUNTERS, formatted alike (a test
        compares the text with prometheus_client's). Why not through ``_families``: that builds every family of the
        agent for each hop, and a first scrape (nothing formatted yet) did it for every hop of every target: at
        100 targets x 31 hops its CPU was 0.53 s against 0.07 s for a later scrape (5.4 s against 0.7 s of wall
        time at load 10); now 0.20 s (scripts/bench_first_scrape.py --render 100)."""
        items = sorted(labels.items())
        parts = [self._text.pair(item) for item in items]
        plain = "{" + ",".join(parts) + "} "
        # A bucket's labels: the same with "le" in its sorted place (label names are unique).
        at = bisect.bisect([name for name, _ in items], "le")
        before, after = "".join(f"{p}," for p in parts[:at]), "".join(f",{p}" for p in parts[at:])
        rtt = [f'pingmos_hop_rtt_seconds_bucket{{{before}le="{le}"{after}}} ' for le in _LE]
        rtt += [f"pingmos_hop_rtt_seconds_count{plain}", f"pingmos_hop_rtt_seconds_sum{plain}"]
        return (
            (f"pingmos_hop_probes_sent_total{plain}",),
            (f"pingmos_hop_probes_received_total{plain}",),
            tuple(rtt),
            (f"pingmos_hop_route_changes_total{plain}",),
        )

    def _agent_families(self) -> Iterator[Metric]:
        health = self._health()
        v = [self.vantage]
        rate = GaugeMetricFamily(
            "pingmos_agent_probes_per_second",
            "Probes settled per second, all targets, over the last refresh.",
            labels=["vantage"],
        )
        if health.probes_per_s is not None:  # absent until measured: never a 0 while probes flow
            rate.add_metric(v, health.probes_per_s)
        targets = GaugeMetricFamily("pingmos_agent_targets", "Targets configured.", labels=["vantage"])
        targets.add_metric(v, health.targets)
        errors = CounterMetricFamily(
            "pingmos_agent_errors",
            "Errors by kind: trace (a trace stopped and is "
            "restarted), session (a session file could not be written), alert_command, "
            "scoring (a hop could not be scored), config (a reload was refused), scrape (a /metrics request "
            "failed in the agent).",
            labels=["vantage", "kind"],
        )
        for kind in ERROR_KINDS:
            errors.add_metric([*v, kind], health.errors.get(kind, 0))
        aborted = CounterMetricFamily(
            "pingmos_agent_scrapes_aborted",
            "/metrics requests whose client closed the connection before the answer was written (a scraper's "
            "timeout): the agent's scrape took longer than the scraper waited.",
            labels=["vantage"],
        )
        aborted.add_metric(v, health.scrapes_aborted)
        yield from (rate, targets, errors, aborted)
        if health.rss_bytes is not None:
            rss = GaugeMetricFamily(
                "pingmos_agent_resident_memory_bytes", "Resident memory of the agent process.", labels=["vantage"]
            )
            rss.add_metric(v, health.rss_bytes)
            yield rss
        if health.python_blocks is not None:
            blocks = GaugeMetricFamily(
                "pingmos_agent_python_allocated_blocks",
                "Memory blocks held by Python's allocator in the agent process (sys.getallocatedblocks()).",
                labels=["vantage"],
            )
            blocks.add_metric(v, health.python_blocks)
            yield blocks
        if health.send_stamps is not None:
            stamps = CounterMetricFamily(
                "pingmos_agent_send_stamps",
                "Probes sent by the probing process, by the source of their send time: kernel (the kernel's send "
                "stamp) or python (the fallback: the clock read before sendto(), early by any delay before the send, "
                "which the RTT then includes).",
                labels=["vantage", "source"],
            )
            for source, n in zip(("kernel", "python"), health.send_stamps, strict=True):
                stamps.add_metric([*v, source], n)
            yield stamps


ERROR_KINDS = ("trace", "session", "alert_command", "scoring", "config", "scrape")


_LE = (*(repr(bound) for bound in RTT_BUCKETS_S), "+Inf")  # the histogram's ``le`` values, as _cumulative writes them


def _cumulative(buckets: list[int]) -> list[tuple[str, float]]:
    out, total = [], 0
    for bound, n in zip((*RTT_BUCKETS_S, math.inf), buckets, strict=True):
        total += n
        out.append(("+Inf" if bound == math.inf else repr(bound), total))
    return out


# Prometheus's text format names of the OpenMetrics types our families use (prometheus_client.generate_latest).
_TEXT_TYPES = {"counter": "counter", "gauge": "gauge", "histogram": "histogram", "info": "gauge", "stateset": "gauge"}
_NAME_SUFFIX = {"counter": "_total", "info": "_info"}


def _label_value(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class _TextFormat:
    """Lines of the Prometheus text format (0.0.4) as generate_latest writes them. Our names are fixed and valid,
    so only label values are escaped, and each distinct (label, value) pair is formatted once (``pairs``)."""

    def __init__(self) -> None:
        self.pairs: dict[tuple[str, str], str] = {}  # (label, value) -> 'label="escaped value"'

    def header(self, metric: Metric) -> str:
        name = metric.name + _NAME_SUFFIX.get(metric.type, "")
        doc = metric.documentation.replace("\\", "\\\\").replace("\n", "\\n")
        return f"# HELP {name} {doc}\n# TYPE {name} {_TEXT_TYPES[metric.type]}\n"

    def prefix(self, sample) -> str:
        """``name{labels} ``: a sample's line up to its value."""
        labels = sample.labels
        if not labels:
            return f"{sample.name} "
        pairs = self.pairs
        parts = []
        for item in sorted(labels.items()):
            part = pairs.get(item)
            if part is None:
                part = pairs[item] = f'{item[0]}="{_label_value(item[1])}"'
            parts.append(part)
        return f"{sample.name}{{{','.join(parts)}}} "

    def pair(self, item: tuple[str, str]) -> str:
        """``label="escaped value"`` of one (label, value) pair."""
        part = self.pairs.get(item)
        if part is None:
            part = self.pairs[item] = f'{item[0]}="{_label_value(item[1])}"'
        return part

    def lines(self, metric: Metric) -> str:
        prefix = self.prefix
        return "".join(f"{prefix(s)}{floatToGoString(s.value)}\n" for s in metric.samples)


def render_text(collector: Collector) -> bytes:
    """The Prometheus text format (0.0.4) of ``collector``'s families, the bytes ``prometheus_client.generate_latest``
    gives for them (a test compares the two), many times faster. Why: at 100 targets x 31 hops a scrape is
    110,000 lines, and generate_latest checks and escapes every label name of every line again (~26 us a line:
    3 s of CPU per scrape, beyond Prometheus's 10 s timeout on a loaded machine). An ``AgentCollector`` renders
    itself (``AgentCollector.render``: what did not change since the last scrape is not formatted again)."""
    render = getattr(collector, "render", None)
    if render is not None:
        return render()
    text = _TextFormat()
    out: list[str] = []
    for metric in collector.collect():
        out.append(text.header(metric))
        out.append(text.lines(metric))
    return "".join(out).encode("utf-8")
