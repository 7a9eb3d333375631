"""G.107 with a predicted jitter buffer: the E-model fed with the one-way loss and delay a receiver's buffer gives.

A call hears one direction of the path, through a jitter buffer; a ping sees round trips one second apart. This
model predicts, from the round trips, what the buffer of a call over the same path would do, and gives G.107 the
result:

1. One-way loss. A probe is lost when either direction drops it: 1 - L_rt = (1 - L_1)^2 on a symmetric path, so
   L_1 = 1 - sqrt(1 - L_rt).
2. Base one-way delay: the fastest round trip, min RTT x one_way_pct / 100 (the path's propagation and
   serialisation delay with empty queues).
3. One-way delay variation: every RTT's excess over the minimum, r_i = RTT_i - min RTT, is the sum of two
   directions' queueing delays. If the directions are alike and independent, one direction has half the mean and
   1/sqrt(2) of the spread: x_i = ONE_WAY_MEAN_SHARE x mean(r) + ONE_WAY_SPREAD x (r_i - mean(r)), not below 0
   (a deconvolution that keeps the shape of the measured distribution, heavy tails included).
4. The buffer (``buffer``):
   - ``fixed``: plays every packet ``buffer_ms`` after the base delay. Late loss = share of x_i > buffer_ms;
     buffer delay = buffer_ms.
   - ``adaptive``: Ramjee, Kurose, Towsley, Schulzrinne, IEEE INFOCOM 1994, Algorithm 1 (the play-out delay is
     the mean network delay plus 4 mean deviations, RAMJEE_BETA): buffer delay = mean(x) + max(RAMJEE_BETA x
     mean|x - mean(x)|, ADAPTIVE_MIN_MARGIN_MS), late loss = share of x_i above it. The floor is not Ramjee's:
     real adaptive buffers keep at least a packet's worth of margin.
5. G.107 (the ``g107`` model's E-model, its default parameters): Ta = base + buffer delay + ``packet_ms``;
   Ppl = 1 - (1 - L_1)(1 - late loss) in percent; Ie-eff with the codec's Ie and Bpl (G.113 Appendix I; BurstR 1,
   the loss seen one second apart cannot tell bursts); Idd for Ta; R to MOS by G.107 Annex B.

The constants below marked "fitted" were fitted on the training conditions of ``scripts/validate_mos`` (G.711
calls through simulated paths scored by ITU-T P.862 PESQ plus G.107's Idd; see README, "Does the MOS predict a
call?"); the held-out conditions were not used for them. On the held-out conditions it agrees with the calls
better than every other model: Spearman 0.97 and MAE 0.16 MOS with a fixed 60 ms buffer, 0.84 and 0.21 with the
adaptive one (the adaptive buffer's rank order is decided mostly by what a ping cannot see, below).

What it cannot see: loss bursts shorter than the probe interval (a ping one second apart samples a bursty loss
process at the same average rate as a random one, and a burst of lost voice frames sounds worse than the same
share spread out: the model takes every loss as random); which direction holds the loss or the queue (it
assumes a symmetric path; ``one_way_pct`` moves the delay, not the loss or jitter); the receiver's real buffer
(``buffer`` and ``buffer_ms`` are what you assume: say so when you report the number, ITU-T P.564); delay
variation faster than one second between probes is seen only as a distribution, not as its time structure.

From summary numbers (no raw samples, the calculator's ``--latency --jitter``) the one-way variation is taken
as exponential with a mean of ONE_WAY_MEAN_SHARE x the given jitter, and the base one-way delay as the average
less that mean.
"""

import bisect
import math

from pingmos.scoring.formula_api import setting
from pingmos.scoring.formulas.g107 import e_model

SETTINGS = {
    "buffer": setting("adaptive", choices=["adaptive", "fixed"], help="receiver's jitter buffer: adaptive or fixed"),
    "buffer_ms": setting(60.0, min=0.0, max=1000.0, help="fixed buffer's depth beyond the base delay, ms (60)"),
    "codec": setting(
        "g711",
        choices=["g711", "g711-noplc", "g729a", "g723.1", "gsm-efr"],
        help="codec: Ie and Bpl from ITU-T G.113 Appendix I (g711 with packet loss concealment)",
    ),
    "one_way_pct": setting(50.0, min=1.0, max=100.0, help="share of the minimum RTT taken as one-way delay, %"),
    "packet_ms": setting(20.0, min=0.0, max=200.0, help="packetisation time added to the delay, ms (20: 50 Hz)"),
}

# One direction's share of the round trip's mean queueing delay (fitted; 0.5 for two alike directions: the fit's
# larger share also stands for a call's sensitivity to the direction that queues more).
ONE_WAY_MEAN_SHARE = 0.6
# One direction's share of the round trip's spread around that mean (fitted; the fit agrees with 1/sqrt(2), two
# independent alike directions).
ONE_WAY_SPREAD = 0.7071
# Ramjee et al. 1994 Algorithm 1: the adaptive buffer's margin, in mean absolute deviations of the delay.
RAMJEE_BETA = 4.0
# The least margin an adaptive buffer keeps above the mean delay, ms: a real one never plays a frame sooner than
# one packet time after its expected arrival (Asterisk's and WebRTC's adaptive buffers hold at least one packet),
# so sub-millisecond jitter with a rare late probe does not count as late loss.
ADAPTIVE_MIN_MARGIN_MS = 20.0
# How much more a lost packet impairs than G.113's Bpl for the codec says (fitted; 1 = G.113 as it is): lost
# frames come partly in runs (bursty loss, late packets behind a queue) that G.113's random-loss Bpl undercounts.
LOSS_SENSITIVITY = 1.2
# Points of the exponential distribution used for a summary window (no raw samples).
SUMMARY_POINTS = 200


def one_way_variation_ms(hop):
    """The predicted one-way delay variation samples (ms, sorted) and the base one-way delay (ms)."""
    share = float(hop.settings.get("one_way_pct", 50.0)) / 100.0
    received = [v for v in hop.rtts_ms if v is not None]
    if not received:  # a summary window: the given jitter as an exponential distribution's mean
        mean_x = ONE_WAY_MEAN_SHARE * (hop.jitter_ms or 0.0)
        xs = [-mean_x * math.log(1.0 - (k + 0.5) / SUMMARY_POINTS) for k in range(SUMMARY_POINTS)]
        # The base is the average less the points' own mean, so that more jitter never shortens the delay.
        return xs, max(0.0, hop.avg_ms * share - sum(xs) / len(xs))
    low = min(received)
    excess = [v - low for v in received]
    mean_r = sum(excess) / len(excess)
    xs = sorted(max(0.0, ONE_WAY_MEAN_SHARE * mean_r + ONE_WAY_SPREAD * (r - mean_r)) for r in excess)
    return xs, low * share


def share_above(sorted_xs, limit_ms):
    """Share (0-1) of the sorted samples above ``limit_ms``: the packets that come too late for the buffer."""
    return (len(sorted_xs) - bisect.bisect_right(sorted_xs, limit_ms)) / len(sorted_xs)


def score_hop(hop):
    """R and MOS of a call over this hop's path through the predicted jitter buffer."""
    s = hop.settings
    xs, base_ms = one_way_variation_ms(hop)
    if s.get("buffer", "adaptive") == "fixed":
        buffer_delay_ms = float(s.get("buffer_ms", 60.0))
    else:
        mean_x = sum(xs) / len(xs)
        deviation = sum(abs(x - mean_x) for x in xs) / len(xs)
        buffer_delay_ms = mean_x + max(ADAPTIVE_MIN_MARGIN_MS, RAMJEE_BETA * deviation)
    late = share_above(xs, buffer_delay_ms)
    network_loss = 1.0 - math.sqrt(max(0.0, 1.0 - hop.loss_pct / 100.0))
    ppl_pct = min(100.0, LOSS_SENSITIVITY * 100.0 * (1.0 - (1.0 - network_loss) * (1.0 - late)))
    ta_ms = base_ms + buffer_delay_ms + float(s.get("packet_ms", 20.0))
    r, mos, detail = e_model(hop, ta_ms, loss_pct=ppl_pct)
    detail["base_one_way_ms"] = base_ms
    detail["buffer_delay_ms"] = buffer_delay_ms
    detail["one_way_loss_pct"] = 100.0 * network_loss
    detail["late_loss_pct"] = 100.0 * late
    return r, mos, detail
