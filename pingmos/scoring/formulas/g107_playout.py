"""ITU-T G.107 E-model behind an emulated playout (jitter) buffer, as Accedian's Skylight computes it.

A playout buffer delays every packet to the same moment, so jitter turns into delay (a deep buffer) or into loss
(packets that come too late are dropped). Seed 004 describes the buffer Skylight assumes, in retrospect, for
the measured window:

    playout 99: delay = median + 99th percentile of jitter + packetisation time, loss + 0 %
    playout 98: delay = median + 98th percentile of jitter + packetisation time, loss + 2 %
    playout 96: delay = median + 96th percentile of jitter + packetisation time, loss + 4 %

and feeds that delay and loss to the E-model of the ``g107`` model (same codecs, burst ratio, wideband scale and
one-way conventions: see its documentation).

Round trip to one way. Median and jitter here come from round-trip times: Ta = (median RTT + jitter
percentile) x one_way_pct / 100 + packet_ms + added_delay_ms. The jitter percentile is taken over the per-packet
series of the chosen jitter definition (``pingplotter``: |difference| of consecutive RTTs, the default;
``rfc3550``: the smoothed J after each packet; ``stdev``: each RTT's distance from the mean). With fewer than two
received samples there is no jitter and the percentile counts as 0. From summary numbers (the calculator's
``--latency --jitter``) the median is the average and the jitter given stands for every percentile.

Left out of the seed: its reorder and duplicate counting (pingmos sees neither), the "Max" buffer, and
Skylight's option of reporting the network's MOS without the buffer's added loss (use ``g107`` for that).
"""

from pingmos.scoring.formula_api import setting
from pingmos.scoring.formulas.g107 import e_model, one_way_ms

SETTINGS = {
    "playout": setting("99", choices=["99", "98", "96"], help="jitter percentile the buffer absorbs (+0/2/4 % loss)"),
    "packet_ms": setting(20.0, min=0.0, max=200.0, help="packetisation time added to the delay, ms (20: 50 Hz)"),
    "jitter": setting(
        "pingplotter",
        choices=["pingplotter", "rfc3550", "stdev"],
        help="jitter definition whose per-packet series the percentile is taken of",
    ),
    "codec": setting(
        "g711",
        choices=["g711", "g711-noplc", "g729a", "g723.1", "gsm-efr"],
        help="codec: Ie and Bpl from ITU-T G.113 Appendix I (g711 with packet loss concealment)",
    ),
    "burst_r": setting(1.0, min=1.0, max=100.0, allow_auto=True, help="burst ratio: 1 random loss, >1 bursty, auto"),
    "one_way_pct": setting(50.0, min=1.0, max=100.0, help="share of the round-trip time taken as one-way delay, %"),
    "added_delay_ms": setting(0.0, min=0.0, max=2000.0, help="codec delay added to Ta, ms"),
    "advantage": setting(0.0, min=0.0, max=20.0, help="advantage factor A (0 wired; up to 10 mobile, 20 satellite)"),
    "r0": setting("auto", min=0.0, max=129.0, allow_auto=True, help="Ro: auto from G.107 defaults, or 129 wideband"),
}

# Seed 004: the jitter percentile the buffer absorbs -> the loss it adds (percent).
ADDED_LOSS_PCT = {"99": 0.0, "98": 2.0, "96": 4.0}


def score_hop(hop):
    """G.107 R and MOS with the playout buffer's delay and loss."""
    playout = str(hop.settings.get("playout", "99"))
    jitter_pct_ms = hop.jitter_percentile_ms(float(playout))
    if jitter_pct_ms is None:
        jitter_pct_ms = 0.0
    buffer_rtt_ms = hop.median_ms + jitter_pct_ms
    ta_ms = one_way_ms(hop, buffer_rtt_ms) + float(hop.settings.get("packet_ms", 20.0))
    r, mos, detail = e_model(hop, ta_ms, extra_loss_pct=ADDED_LOSS_PCT[playout])
    detail["median_ms"] = hop.median_ms
    detail["jitter_percentile_ms"] = jitter_pct_ms
    detail["buffer_added_loss_pct"] = ADDED_LOSS_PCT[playout]
    return r, mos, detail
