"""Asterisk's "Media Experience Score", as the Asterisk project's blog post describes it (seed 003).

    Effective latency = average RTT + average jitter x 2 x (jitter standard deviation / 3) + codec delay
    R = 93.2 - effective latency / 40                 if effective latency < 160
    R = 93.2 - (effective latency - 120) / 10         otherwise
    R = R - 2.5 x packet loss percentage
    MOS = 1 if R < 0, 4.5 if R > 100, else 1 + 0.035 R + 0.000007 R (R - 60) (100 - R)

All in milliseconds and round-trip, as Asterisk's RTCP statistics are. Note that the jitter term multiplies two
jitters: a steady jitter (standard deviation 0) adds nothing, an unsteady one adds a lot, and the term's weight
depends on the unit (milliseconds here, as in the post).

"Average jitter" is the hop's jitter by the chosen definition (``pingplotter`` by default: the mean |difference|
of consecutive RTTs; Asterisk itself averages RFC 3550 jitter reports, which ``rfc3550`` comes closer to), and
"jitter standard deviation" the sample standard deviation of that definition's per-packet series. With fewer
than three received samples the standard deviation is undefined and counts as 0 (so does jitter below two). From
summary numbers the standard deviation is the one given (``pingmos score --jitter-stdev``), else 0.

Left out of Asterisk: its per-direction scores (pingmos sees one round trip per hop, not an RTP stream's two
directions) and the averaging of several scores into one.
"""

from pingmos.scoring.formula_api import r_to_mos, setting

SETTINGS = {
    "codec_delay_ms": setting(10.0, min=0.0, max=1000.0, help="codec delay added to the latency, ms (10)"),
    "jitter": setting(
        "pingplotter",
        choices=["pingplotter", "rfc3550", "stdev"],
        help="jitter definition: pingplotter (mean |difference| of consecutive samples), rfc3550, stdev",
    ),
}

R_START = 93.2  # ITU-T G.107's default R, as Asterisk starts from it
LATENCY_KNEE_MS = 160.0  # above this effective latency, R drops faster
LOSS_PENALTY_PER_PCT = 2.5  # R points per percent of packet loss


def score_hop(hop):
    """Asterisk's R and MOS of one hop."""
    jitter_ms = hop.jitter_ms if hop.jitter_ms is not None else 0.0
    jitter_stdev_ms = hop.jitter_stdev_ms if hop.jitter_stdev_ms is not None else 0.0
    codec_delay_ms = float(hop.settings.get("codec_delay_ms", 10.0))
    effective_latency_ms = hop.avg_ms + jitter_ms * 2.0 * (jitter_stdev_ms / 3.0) + codec_delay_ms
    if effective_latency_ms < LATENCY_KNEE_MS:
        r = R_START - effective_latency_ms / 40.0
    else:
        r = R_START - (effective_latency_ms - 120.0) / 10.0
    r = r - LOSS_PENALTY_PER_PCT * hop.loss_pct
    r_unclamped = r
    r = min(100.0, max(0.0, r))  # R < 0 gives MOS 1 and R > 100 gives 4.5 either way; report it on its scale
    return (
        r,
        r_to_mos(r),
        {
            "effective_latency_ms": effective_latency_ms,
            "jitter_ms": jitter_ms,
            "jitter_stdev_ms": jitter_stdev_ms,
            "r_unclamped": r_unclamped,
        },
    )
