"""PingPlotter Pro's MOS formula, exactly as PingPlotter's knowledge-base article gives it (for comparison).

    EffectiveLatency = average latency + 2 * jitter + 10       (round-trip milliseconds)
    R = 93.2 - EffectiveLatency / 40                           if EffectiveLatency < 160
    R = 93.2 - (EffectiveLatency - 120) / 10                   otherwise
    R = R - 2.5 * packet loss percentage
    MOS = 1 + 0.035 R + 0.000007 R (R - 60) (100 - R)

How to change this formula
--------------------------
This file is a copy you may edit (pingmos made it with "Edit the formula" or ``pingmos models --copy
pingplotter``). Change a number below or a line of ``score_hop``, save the file, and the next update of pingmos
uses it: no restart. If something is wrong (a typo, a division by zero, a result that is not a number), the
hops show the file, the line and what went wrong, and nothing measured is lost. Lines starting with # are
comments: pingmos ignores them.

What the formula is given (``hop``), all latencies round-trip in milliseconds as measured:
    hop.avg_ms          average latency of the received samples
    hop.jitter_ms       jitter by the chosen definition (None with only one received sample)
    hop.loss_pct        packet loss in percent (0-100)
    hop.median_ms, hop.min_ms, hop.max_ms, hop.stdev_ms, hop.percentile_ms(95), hop.rtts_ms (None = lost)

What it leaves out of PingPlotter's script: nothing of the formula. PingPlotter's jitter is the mean difference
between consecutive samples (the ``pingplotter`` jitter definition); pingmos skips lost samples when it takes the
differences. R is reported within 0..100 (the formula never goes above 93.2; heavy loss or latency drive it below
0, which G.107 treats as the worst rating, MOS 1). With a single received sample jitter counts as 0.
"""

from pingmos.scoring.formula_api import r_to_mos, setting

# Settings a user can change without editing the file (pingmos score --set jitter=rfc3550, or the GUI).
SETTINGS = {
    "jitter": setting(
        "pingplotter",
        choices=["pingplotter", "rfc3550", "stdev"],
        help="jitter definition: pingplotter (mean |difference| of consecutive samples), rfc3550, stdev",
    ),
}

# The numbers of the formula. Change one, save, and watch the MOS column.
R_START = 93.2  # R of a perfect connection (ITU-T G.107's default conditions)
PROTOCOL_LATENCY_MS = 10.0  # added to the latency for protocol overhead, in milliseconds
JITTER_WEIGHT = 2.0  # jitter counts this many times as much as latency
LATENCY_KNEE_MS = 160.0  # above this effective latency, R drops much faster
LOSS_PENALTY_PER_PCT = 2.5  # R points taken off per percent of packet loss


def score_hop(hop):
    """R and MOS of one hop, and the numbers in between (shown with --verbose)."""
    jitter_ms = hop.jitter_ms
    if jitter_ms is None:  # only one sample received: no jitter can be measured
        jitter_ms = 0.0

    effective_latency_ms = hop.avg_ms + JITTER_WEIGHT * jitter_ms + PROTOCOL_LATENCY_MS

    if effective_latency_ms < LATENCY_KNEE_MS:
        r = R_START - effective_latency_ms / 40.0
    else:
        r = R_START - (effective_latency_ms - 120.0) / 10.0

    r = r - LOSS_PENALTY_PER_PCT * hop.loss_pct
    r_unclamped = r
    r = min(100.0, max(0.0, r))  # R lives on a 0..100 scale

    mos = r_to_mos(r)
    return r, mos, {"effective_latency_ms": effective_latency_ms, "jitter_ms": jitter_ms, "r_unclamped": r_unclamped}


# ---- pingmos internal: not part of the formula; "Edit the formula" copies stop at this line ----

NAME = "pingplotter"


def score(avg_ms, jitter_ms, loss_pct):
    """The formula from summary numbers (ms, ms, %): a Score, or None with no average latency.

    The first programming interface of this module, kept for its callers; new code uses
    ``pingmos.scoring.load_model("pingplotter")``.
    """
    from pingmos.scoring.score import Score
    from pingmos.scoring.window import Hop

    if avg_ms is None:
        return None
    hop = Hop(sent=1, received=1, avg_ms=avg_ms, given_jitter_ms=jitter_ms, loss_pct=loss_pct or 0.0)
    r, mos, detail = score_hop(hop)
    del detail["jitter_ms"]
    return Score(r=r, mos=mos, detail=detail)
