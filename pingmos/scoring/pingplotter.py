"""PingPlotter Pro's MOS formula, exactly as its knowledge-base article gives it (the default model).

    EffectiveLatency = avg + 2 * jitter + 10          (round-trip ms; 10 ms for protocol latencies)
    R = 93.2 - EffectiveLatency / 40                  if EffectiveLatency < 160
    R = 93.2 - (EffectiveLatency - 120) / 10          otherwise
    R = R - 2.5 * loss_pct
    MOS = 1 + 0.035 R + 0.000007 R (R - 60)(100 - R)

R is reported clamped to the E-model's range 0..100 (the formula itself never exceeds 93.2; heavy loss or
latency drives it below 0, which G.107 treats as the worst rating, MOS 1). MOS is then clamped to 1..4.5.
With no received sample there is no latency to score, so there is no score (None), whatever the loss.
With a single received sample jitter is undefined; it counts as 0 here, the best the data can say.
"""

from __future__ import annotations

from pingmos.scoring.score import Score, r_to_mos

NAME = "pingplotter"
R_START = 93.2
PROTOCOL_LATENCY_MS = 10.0
LATENCY_KNEE_MS = 160.0
LOSS_PENALTY_PER_PCT = 2.5


def score(avg_ms: float | None, jitter_ms: float | None, loss_pct: float | None) -> Score | None:
    """Score one hop from its average round-trip latency (ms), jitter (ms) and loss (percent)."""
    if avg_ms is None:
        return None
    jitter = jitter_ms or 0.0
    effective_ms = avg_ms + 2.0 * jitter + PROTOCOL_LATENCY_MS
    if effective_ms < LATENCY_KNEE_MS:
        r_raw = R_START - effective_ms / 40.0
    else:
        r_raw = R_START - (effective_ms - 120.0) / 10.0
    r_raw -= LOSS_PENALTY_PER_PCT * (loss_pct or 0.0)
    r = min(100.0, max(0.0, r_raw))
    return Score(
        r=r,
        mos=r_to_mos(r),
        detail={"effective_latency_ms": effective_ms, "r_unclamped": r_raw},
    )
