"""The result every scoring model returns, and the standard R-to-MOS conversion they share."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Score:
    """R factor (0-100), MOS (1-4.5), and the named intermediate terms that explain them."""

    r: float
    mos: float
    detail: dict[str, float] = field(default_factory=dict)


# A window whose probes were sent and every one lost: no call gets through, the worst score there is (R 0, MOS 1),
# the same in every model, report, export, window and alert. Only a window with nothing sent has no score (None).
ALL_LOST = Score(r=0.0, mos=1.0, detail={"loss_pct": 100.0})


def all_lost(window: object) -> bool:
    """True for a window (a HopWindow) with probes sent and none received. A sent count of None (another
    tool's report without counts) with nothing received is all lost too: the hop was listed, so it was probed."""
    sent = getattr(window, "sent", 0)
    return (sent is None or sent > 0) and getattr(window, "received", 0) == 0


def r_to_mos(r: float) -> float:
    """ITU-T G.107 Annex B: MOS = 1 + 0.035 R + 7e-6 R (R - 60)(100 - R).

    R below 0 gives MOS 1 and R above 100 gives MOS 4.5, as G.107 says. Between R 0 and about 6.5 the
    polynomial dips slightly below 1 (R = 5 gives 0.992); a MOS below the scale's floor means nothing, so the
    result is clamped to 1..4.5.
    """
    if r <= 0.0:
        return 1.0
    if r >= 100.0:
        return 4.5
    mos = 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)
    return min(4.5, max(1.0, mos))
