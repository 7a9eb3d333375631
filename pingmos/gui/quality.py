"""Quality bands for MOS and loss, and the hop where quality falls apart. Pure: no Qt, so tests need no display.

The MOS bands are the ones users know from VoIP monitoring (seed 000, Obkio): 4.0 and above good, 3.6 to 4.0
acceptable, 3.1 to 3.6 poor, below 3.1 bad. The thresholds are settings; these are the defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pingmos.hop_report import HopReport

GOOD = "good"
ACCEPTABLE = "acceptable"
POOR = "poor"
BAD = "bad"

# Background colours for table cells and graph markers, light enough for black text to stay readable.
BAND_COLOURS = {GOOD: "#b9e4b0", ACCEPTABLE: "#f3e7a0", POOR: "#f7c58f", BAD: "#f29a9a"}
# Line/marker colours for graphs (stronger than the cell backgrounds).
BAND_PENS = {GOOD: "#2e8b3d", ACCEPTABLE: "#b89b00", POOR: "#e07b00", BAD: "#c62828"}
# A hop whose own numbers the diagnosis calls rate limiting (Diagnosis.rate_limited_ttls): no band, this grey (its
# "rate-limited" mark over the graph, its MOS point).
RATE_LIMITED_COLOUR = "#6d6d6d"


@dataclass(frozen=True)
class Thresholds:
    """MOS band lower bounds and loss colouring thresholds (percent)."""

    mos_good: float = 4.0
    mos_acceptable: float = 3.6
    mos_poor: float = 3.1
    loss_warn_pct: float = 1.0  # above this a loss cell turns amber (the "loss above 1 % sustained" alert rule)
    loss_bad_pct: float = 5.0  # above this it turns red

    def validate(self) -> None:
        """ValueError unless 1 <= poor < acceptable < good <= 4.5 and 0 <= warn < bad <= 100."""
        if not 1.0 <= self.mos_poor < self.mos_acceptable < self.mos_good <= 4.5:
            raise ValueError("MOS thresholds must rise: 1 <= poor < acceptable < good <= 4.5")
        if not 0.0 <= self.loss_warn_pct < self.loss_bad_pct <= 100.0:
            raise ValueError("loss thresholds must rise: 0 <= warning < bad <= 100")


MOS_DECIMALS = 2  # as the table shows a MOS
LOSS_DECIMALS = 1  # as the table shows a loss percentage


def mos_band(mos: float | None, t: Thresholds) -> str | None:
    """The band of a MOS value as shown (two decimals: 3.996 shows as 4.00 and is good, never "acceptable" beside
    a 4.00); None when there is no MOS (nothing received, or the model failed)."""
    if mos is None:
        return None
    mos = round(mos, MOS_DECIMALS)
    if mos >= t.mos_good:
        return GOOD
    if mos >= t.mos_acceptable:
        return ACCEPTABLE
    if mos >= t.mos_poor:
        return POOR
    return BAD


def loss_band(loss_pct: float | None, t: Thresholds) -> str | None:
    """GOOD for no loss up to the warning threshold, POOR above it, BAD above the bad threshold, judged on the value
    as shown (one decimal); None unmeasured."""
    if loss_pct is None:
        return None
    loss_pct = round(loss_pct, LOSS_DECIMALS)
    if loss_pct > t.loss_bad_pct:
        return BAD
    if loss_pct > t.loss_warn_pct:
        return POOR
    return GOOD


def first_bad_hop(hops: Sequence[HopReport], t: Thresholds) -> int | None:
    """The TTL of the first hop whose MOS is below the "poor" band's lower bound and stays below it at every
    scored hop up to the destination (the last hop); None if the last scored hop is not that bad.

    Hops without a MOS (silent routers, ``???``) neither start nor break a run: a router that does not answer
    says nothing about the path through it. A dip at one router that recovers further on is not marked, because
    routers often answer their own probes slowly (ICMP generation is low priority) while forwarding fine.
    """
    scored = [h for h in hops if h.mos is not None]
    if not scored or scored[-1].mos >= t.mos_poor:  # type: ignore[operator]
        return None
    ttl = scored[-1].ttl
    for hop in reversed(scored):
        if hop.mos >= t.mos_poor:  # type: ignore[operator]
            break
        ttl = hop.ttl
    return ttl
