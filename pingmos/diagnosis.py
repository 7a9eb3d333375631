"""Where is the problem? What the eye does in PingPlotter, done for the user: pure, from one TraceSnapshot.

A hop's loss or latency matters only if it carries on to the destination. Routers often rate-limit or
deprioritise the ICMP they generate themselves (time-exceeded for our probes), so an intermediate hop can show
loss or a high latency while every later hop is fine: traffic *through* it is not hurt. So:

- a hop is *degraded* when it breaks a threshold (MOS below the band, loss, latency or jitter above their limits);
- the problem starts at the first degraded hop whose degradation *carries on*: every later hop that answers, up
  to the destination, is degraded in at least one of the same ways (judged with relaxed thresholds, so noise on
  a later hop does not break the chain);
- a degraded intermediate hop whose degradation does not carry on is flagged as rate limiting, not a path problem;
- a second witness can settle what the path alone cannot (the suspect is the last hop that answers, or rate
  limiting hides real loss further on): direct echo probes to the suspect's own address. A router that answers
  echo without loss but drops time-exceeded replies is rate limiting, not losing traffic (the kernel's
  icmp_ratelimit covers ICMP errors by default, icmp_ratemask, not echo replies). See
  ``pingmos.engine.echo_witness`` for the probes.

Hops that never answered in the window (a silent router, "???") say nothing either way and are skipped.
Default thresholds come from the seeds: MOS below 3.6 is "poor" (Obkio), loss above 1 % is what operators alert
on (seed 001), 150 ms one-way delay is ITU-T G.114's ceiling (300 ms round trip here, since we measure round
trips) and jitter above 30 ms is audible (Obkio). A hop needs at least ``min_lost`` lost probes before its loss
counts: one lost probe of ten is 10 %, but it is not evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pingmos.hop_report import HopReport, TraceSnapshot

LOSS, MOS, LATENCY, JITTER = "loss", "MOS", "latency", "jitter"


@dataclass(frozen=True)
class Thresholds:
    """When a hop counts as degraded. Latency is the round-trip average (ms); loss in percent."""

    mos_below: float = 3.6
    loss_pct_above: float = 1.0
    latency_ms_above: float = 300.0
    jitter_ms_above: float = 30.0
    min_lost: int = 2
    # How much laxer the "does it carry on" test is than the "is it degraded" test (see the module docstring).
    relaxed_loss_factor: float = 0.5
    relaxed_mos_margin: float = 0.3
    relaxed_delay_factor: float = 0.8


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class EchoWitness:
    """Direct echo probes to one hop's own address: RTTs in ms, None for a lost probe (oldest first)."""

    address: str
    rtts_ms: tuple[float | None, ...]

    @property
    def sent(self) -> int:
        return len(self.rtts_ms)

    @property
    def received(self) -> int:
        return sum(r is not None for r in self.rtts_ms)

    @property
    def loss_pct(self) -> float | None:
        return None if not self.rtts_ms else 100.0 * (self.sent - self.received) / self.sent

    @property
    def avg_ms(self) -> float | None:
        got = [r for r in self.rtts_ms if r is not None]
        return sum(got) / len(got) if got else None


@dataclass(frozen=True)
class Diagnosis:
    """``deteriorates_at_ttl``: the hop where quality really deteriorates (None: nowhere, or no data);
    ``rate_limited_ttls``: degraded hops whose numbers do not carry on; ``verdict``: one sentence for a ticket;
    ``problems``: per degraded hop, the broken thresholds in words; ``witnessed``: hops an echo witness cleared."""

    deteriorates_at_ttl: int | None
    rate_limited_ttls: tuple[int, ...]
    verdict: str
    problems: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    witnessed: tuple[int, ...] = ()

    def to_json(self) -> dict:
        return {
            "deteriorates_at_ttl": self.deteriorates_at_ttl,
            "rate_limited_ttls": list(self.rate_limited_ttls),
            "verdict": self.verdict,
        }


def _lost(hop: HopReport) -> int:
    return hop.sent - hop.received


def degraded(hop: HopReport, th: Thresholds = DEFAULT_THRESHOLDS, relaxed: bool = False) -> dict[str, str]:
    """The thresholds ``hop`` breaks, metric -> the value in words; {} when it is fine or has no data."""
    out: dict[str, str] = {}
    if hop.sent == 0:
        return out
    loss_limit = th.loss_pct_above * (th.relaxed_loss_factor if relaxed else 1.0)
    min_lost = 1 if relaxed else th.min_lost
    if hop.loss_pct is not None and hop.loss_pct > loss_limit and _lost(hop) >= min_lost:
        out[LOSS] = f"loss {hop.loss_pct:.1f} %"
    mos_limit = th.mos_below + (th.relaxed_mos_margin if relaxed else 0.0)
    if hop.mos is not None and hop.mos < mos_limit:
        out[MOS] = f"MOS {hop.mos:.2f}"
    delay_factor = th.relaxed_delay_factor if relaxed else 1.0
    if hop.avg_ms is not None and hop.avg_ms > th.latency_ms_above * delay_factor:
        out[LATENCY] = f"latency {hop.avg_ms:.0f} ms"
    if hop.jitter_ms is not None and hop.jitter_ms > th.jitter_ms_above * delay_factor:
        out[JITTER] = f"jitter {hop.jitter_ms:.1f} ms"
    return out


def witness_clears(witness: EchoWitness, th: Thresholds = DEFAULT_THRESHOLDS) -> bool:
    """True when direct echo to the hop shows none of the loss/latency/jitter problems (at least 5 probes)."""
    if witness.sent < 5:
        return False
    loss = witness.loss_pct or 0.0
    lost = witness.sent - witness.received
    if loss > th.loss_pct_above and lost >= th.min_lost:
        return False
    avg = witness.avg_ms
    return avg is not None and avg <= th.latency_ms_above


def _label(hop: HopReport) -> str:
    if hop.address is None:
        return f"hop {hop.ttl}"
    if hop.name and hop.name != hop.address:
        return f"hop {hop.ttl} ({hop.address}, {hop.name})"
    return f"hop {hop.ttl} ({hop.address})"


def _judged_hops(snap: TraceSnapshot) -> list[HopReport]:
    """The hops that can witness anything: those that answered in the window, and the destination row even when
    it went silent (then it is 100 % loss, the worst degradation there is)."""
    rows = [h for h in snap.hops if h.sent > 0]
    judged = [h for h in rows if h.received > 0]
    if snap.destination_reached and rows and rows[-1].received == 0:
        judged.append(rows[-1])
    return judged


def candidates_for_witness(snap: TraceSnapshot, th: Thresholds = DEFAULT_THRESHOLDS) -> list[HopReport]:
    """The hops an echo witness would help judge: every degraded hop short of the destination (rate-limit
    suspects, and a deterioration candidate that may only be rate limiting in front of real loss further on)."""
    judged = _judged_hops(snap)
    if not judged:
        return []
    end = judged[-1]
    last_is_destination = snap.destination_reached and end.ttl == snap.hops[-1].ttl
    return [h for h in judged if h.address and degraded(h, th) and (h is not end or not last_is_destination)]


def diagnose(
    snap: TraceSnapshot,
    th: Thresholds = DEFAULT_THRESHOLDS,
    witnesses: Mapping[int, EchoWitness] | None = None,
) -> Diagnosis:
    """Find where quality deteriorates and which hops only rate-limit (see the module docstring).

    With no hop that answered: no finding, a verdict saying so. ``witnesses`` maps TTL to direct echo results.
    """
    witnesses = witnesses or {}
    judged = _judged_hops(snap)
    if not judged:
        return Diagnosis(
            None, (), f"No hop answered in the measured window, so nothing can be said about {_where(snap)}."
        )
    strict = {h.ttl: degraded(h, th) for h in judged}
    relaxed = {h.ttl: degraded(h, th, relaxed=True) for h in judged}
    problems = {t: tuple(p.values()) for t, p in strict.items() if p}
    end = judged[-1]
    # The destination is judged by the trace's own echo probes; a witness can clear any other hop, the last one
    # that answers included (when the destination is silent, nothing else can tell).
    end_is_destination = snap.destination_reached and end.ttl == snap.hops[-1].ttl
    cleared = tuple(
        h.ttl
        for h in judged
        if strict[h.ttl]
        and h.ttl in witnesses
        and not (h is end and end_is_destination)
        and witness_clears(witnesses[h.ttl], th)
    )

    def carries_on(i: int) -> bool:
        kinds = set(strict[judged[i].ttl])
        return all(kinds & set(relaxed[later.ttl]) for later in judged[i + 1 :])

    at: HopReport | None = None
    rate_limited: list[int] = []
    for i, hop in enumerate(judged):
        if not strict[hop.ttl]:
            continue
        if hop.ttl in cleared:
            rate_limited.append(hop.ttl)
        elif at is None and carries_on(i):
            at = hop
        elif at is None and hop is not end:
            rate_limited.append(hop.ttl)
    verdict = _verdict(snap, th, judged, at, rate_limited, strict, cleared, witnesses)
    return Diagnosis(at.ttl if at else None, tuple(rate_limited), verdict, problems, cleared)


def _where(snap: TraceSnapshot) -> str:
    return f"the path to {snap.target}" + (f" ({snap.address})" if snap.address and snap.address != snap.target else "")


def _verdict(snap, th, judged, at, rate_limited, strict, cleared, witnesses) -> str:
    end = judged[-1]
    dest_reached = snap.destination_reached and end.ttl == snap.hops[-1].ttl
    parts = []
    if at is None:
        if dest_reached and end.avg_ms is None:
            # A summary without latency fields (mtr -o LS): loss is known, quality is not; say no more than that.
            parts.append(
                f"The destination answers on {_where(snap)} with loss {_pct(end.loss_pct)} over {snap.rounds} "
                "rounds; no latency was recorded, so its quality cannot be judged"
            )
        elif dest_reached:
            d = end
            parts.append(
                f"No path problem on {_where(snap)}: the destination is within thresholds "
                f"(loss {_pct(d.loss_pct)}, {_mos(d)}avg {_ms(d.avg_ms)}) over {snap.rounds} rounds"
            )
        else:
            parts.append(
                f"No problem found up to {_label(end)}, the last hop that answers; the destination "
                f"({snap.address or snap.target or 'address unknown'}) did not answer"
            )
    else:
        before = [h for h in judged if h.ttl < at.ttl and (not strict[h.ttl] or h.ttl in cleared)]
        seg = f"between {_label(before[-1])} and {_label(at)}" if before else f"at or before {_label(at)}"
        if at is end and dest_reached:
            what = f"Quality deteriorates at the destination, {_label(at)}: {', '.join(strict[at.ttl].values())}"
            parts.append(what + (f"; the hops before it are fine, so look {seg}" if before else ""))
        elif at is end:
            parts.append(
                f"Quality deteriorates at {_label(at)} ({', '.join(strict[at.ttl].values())}), the last hop that "
                f"answers; the destination did not answer, so it cannot be seen whether this carries on"
            )
        else:
            d = end
            parts.append(
                f"Quality deteriorates at {_label(at)} ({', '.join(strict[at.ttl].values())}) and stays bad through "
                f"the {'destination' if dest_reached else 'last hop that answers'}, {_label(d)} "
                f"({', '.join(strict[d.ttl].values()) or 'degraded'}), so the problem lies {seg}"
            )
    if rate_limited:
        flagged = [h for h in judged if h.ttl in rate_limited]
        shown = " and ".join(f"{_label(h)} shows {', '.join(strict[h.ttl].values())}" for h in flagged)
        one = len(flagged) == 1
        sentence = (
            f"{shown}, which {'does' if one else 'do'} not carry on to later hops: ICMP rate limiting or "
            f"deprioritisation at {'that router' if one else 'those routers'}, not a path problem"
        )
        if cleared:
            w = "; ".join(
                f"hop {t}: {witnesses[t].sent - witnesses[t].received} of {witnesses[t].sent} lost" for t in cleared
            )
            sentence += f" (direct echo to {'it' if len(cleared) == 1 else 'them'} confirms: {w})"
        parts.append(sentence)
    return "; ".join(parts) + "."


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} %"


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} ms"


def _mos(h: HopReport) -> str:
    return "" if h.mos is None else f"MOS {h.mos:.2f}, "
