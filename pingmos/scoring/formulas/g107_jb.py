"""G.107 with a predicted jitter buffer: the E-model fed with the one-way loss and delay a receiver's buffer gives.

A call hears one direction of the path, through a jitter buffer; a ping sees round trips one second apart. This
model predicts, from the round trips, what the buffer of a call over the same path would do, and gives G.107 the
result, averaged over the call's two listeners (one per direction), as a call's quality is heard by both:

1. One-way loss. A probe is lost when either direction drops it: 1 - L_rt = (1 - L_1)^2 on a symmetric path, so
   L_1 = 1 - sqrt(1 - L_rt) for each listener. Where step 3 finds one direction queueing, that direction is taken
   to hold the loss too (LOSS_FOLLOWS_QUEUE: a router drops where its queue is full): its listener loses L_rt,
   the other none.
2. Base one-way delay: the fastest round trip, min RTT x one_way_pct / 100 (the path's propagation and
   serialisation delay with empty queues).
3. One-way delay variation, deconvolved from the round trips. Every RTT's excess over the minimum,
   r_i = RTT_i - min RTT, is the sum of the two directions' queueing delays. The excess is fitted with a gamma
   distribution by its mean and mean absolute deviation MD (the two numbers Ramjee's buffer is set by, and steadier
   than the variance under a heavy tail): shape k_r solves MD / mean = 2 k^k e^-k / Gamma(k + 1), scale
   theta = mean / k_r. A sum of independent gamma variables with one scale is a gamma variable whose shapes add,
   so the deconvolution is exact within the family. How many directions queue, n (1-2), comes from how often a
   round trip comes close to the minimum: a single queue leaves many near it, two in a row rarely both empty at
   once. With q the share of the N excesses below NEAR_MIN x their mean, and q1, q2 that share for one
   exponential queue (an M/M/1 waiting time) and for two alike in a row, n = 1 + (q1 - q) / (q1 - q2), kept
   within 1-2 (the share near zero tells one queue from two whatever the tail's shape, heavy or not). The
   excesses are counted from the sample minimum, which stands above the path's own: by theta / N for one
   exponential queue, by about theta sqrt(pi / 2N) for two (their sum's CDF is x^2 / 2 theta^2 near zero), so in
   units of theta q1 = 1 - e^-u1 with u1 = 1/N + NEAR_MIN (1 - 1/N), and q2 = 1 - e^-u2 (1 + u2) with
   u2 = m + NEAR_MIN (2 - m), m = sqrt(pi / 2N) (without that, 300 round trips over two queues looked like 1.8 of
   them on average). The model mixes the two cases by n: with weight 2 - n one direction holds all the
   variation (that listener's packets vary as gamma(k_r, theta), the other's not at all), with weight n - 1 both
   do alike (gamma(k_r / 2, theta) each). A ping cannot tell which direction queues; the listeners are averaged,
   so the mix needs only how many.
4. The buffer (``buffer``), per listener, from that direction's gamma(k, theta):
   - ``fixed``: plays every packet ``buffer_ms`` after the base delay. Late loss = P(x > buffer_ms); buffer delay
     = buffer_ms.
   - ``adaptive``: Ramjee, Kurose, Towsley, Schulzrinne, "Adaptive playout mechanisms for packetized audio
     applications in wide-area networks", IEEE INFOCOM 1994, Algorithm 1: the play-out delay is the mean network
     delay plus RAMJEE_BETA (4) mean absolute deviations, both exponential averages over the last ~10 s, so in a
     steady state the distribution's mean and mean deviation: buffer delay = k theta + max(RAMJEE_BETA x MD,
     ADAPTIVE_MIN_MARGIN_MS) with the gamma's mean deviation MD = 2 theta k^k e^-k / Gamma(k); late loss =
     P(x > buffer delay) (the regularised upper incomplete gamma function). Running Algorithm 1 itself over
     synthetic one-way delays (the fitted gamma, or the round trips' excesses resampled; 30 s of warm-up, then 9 s
     heard, a talkspurt a second) was tried and did no better on the study's training conditions (before
     LOSS_FOLLOWS_QUEUE: Spearman 0.952 against 0.958 with the adaptive buffer, MAE 0.110 against 0.107) at
     several times the cost, so the steady state stands; LATE_LOSS_WEIGHT absorbs what the warm-up and the
     averages' noise add.
5. G.107 (the ``g107`` model's E-model, its default parameters), per listener: Ppl = NETWORK_LOSS_WEIGHT x that
   listener's network loss + LATE_LOSS_WEIGHT x late loss, in percent; Ie-eff with the codec's Ie and Bpl (G.113
   Appendix I; BurstR 1: the loss seen one second apart cannot tell bursts). The listeners' Ie-eff are averaged;
   Ta = base + their mean buffer delay + ``packet_ms``; Idd for Ta; the talker echo terms at ECHO_DELAY_MS; R to
   MOS by G.107 Annex B.

The constants marked "fitted" were fitted on the training conditions of ``scripts/validate_mos`` (G.711 calls
through simulated paths scored by ITU-T P.862 PESQ plus G.107's Idd; see README, "Does the MOS predict a call?";
``validate_mos --fit`` repeats the grid search); the held-out conditions were not used for them. The README's
table gives how the model agrees with the calls on the held-out conditions.

What it cannot see: loss bursts shorter than the probe interval (a ping one second apart samples a bursty loss
process at the same average rate as a random one, and a burst of lost voice frames sounds worse than the same
share spread out: the model takes every network loss as random); which direction holds the loss (taken as the
queueing one, or both alike; ``one_way_pct`` moves the base delay only); delay variation whose one-way shape is not near
exponential (heavy tails, e.g. Wi-Fi retransmissions, make one queueing direction look like one; the RTT's shape
is all it has); the time structure of delay variation faster than the probe interval (a queue that builds up
and drains makes an adaptive buffer's late losses come in runs: LATE_LOSS_WEIGHT stands for that on average);
the receiver's real buffer (``buffer`` and ``buffer_ms`` are what you assume: say so when you report the number,
ITU-T P.564).

From summary numbers (no raw samples, the calculator's ``--latency --jitter``) the round trip's excess is taken as
two exponential directions (n = 2) whose RFC 3550 jitter, the mean difference of consecutive round trips, is the
given jitter (1.5 theta for shape 2). The base one-way delay is the average's share: a summary cannot say how much
of the average is queueing, and taking none of it keeps more jitter from ever shortening the call's delay.
"""

import math

from pingmos.scoring.formula_api import r_to_mos, setting
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

# Ramjee et al. 1994 Algorithm 1: the adaptive buffer's margin, in mean absolute deviations of the delay.
RAMJEE_BETA = 4.0
# The least margin an adaptive buffer keeps above the mean delay, ms. Not Ramjee's: it keeps a LAN hop's
# sub-millisecond variation with one slow probe from counting as late loss (real buffers hold some margin). 5 ms
# changes nothing on the study's training conditions (their least delay variation, a 2 ms mean, has a wider
# margin by Ramjee's rule); 10 ms already costs 0.03 MOS of MAE there, 20 ms 0.06.
ADAPTIVE_MIN_MARGIN_MS = 5.0
# How much a lost packet impairs relative to G.113's Bpl for the codec (fitted: grid 1.0-1.8 by 0.1; 1 = G.113
# as it is): PESQ of G.711 with Appendix I concealment loses more per lost frame than G.113's Bpl 25.1 says, and
# part of the network loss in the study comes in bursts a ping cannot see.
NETWORK_LOSS_WEIGHT = 1.5
# The same for a packet the buffer drops as late (fitted: grid 1.5-3.0 by 0.25): late packets come in runs (a
# queue builds up, and the buffer's averages lag behind it), which a random-loss Bpl undercounts more still.
LATE_LOSS_WEIGHT = 2.0
# How close to the minimum a round trip counts as "near" it (step 3), as a share of the excess's mean: 0.1 (on
# the training conditions, adaptive buffer, Spearman / MAE: 0.05 gives 0.967 / 0.096, 0.1 0.967 / 0.092, 0.15
# 0.967 / 0.095, 0.2 0.958 / 0.099).
NEAR_MIN = 0.1
# Delay variation below this (ms) is none: the clock's resolution, and no buffer holds less.
MIN_VARIATION_MS = 1e-6
# The talker echo's one-way delay for G.107's echo terms, ms: a VoIP terminal cancels its echo (ITU-T G.168), so
# a longer path adds no talker echo, only the delay impairment Idd (the study's calls have no echo either).
ECHO_DELAY_MS = 0.0
# Where the network loss goes when one direction queues (step 1): True, to that direction (a router drops packets
# where its queue is full, so the congested direction is the lossy one); False, half to each like a symmetric
# path. On the study's training conditions True took Spearman / MAE from 0.973 / 0.128 to 0.979 / 0.102 with the
# fixed buffer and from 0.958 / 0.107 to 0.967 / 0.092 with the adaptive one (NETWORK_LOSS_WEIGHT refitted). The
# study's asymmetric paths hold loss and queueing in the same direction, as this assumes; on a path that loses
# packets on a clean direction (a lossy radio link without queueing) it would be wrong.
LOSS_FOLLOWS_QUEUE = True


def upper_gamma_share(k, x):
    """Q(k, x) = Gamma(k, x) / Gamma(k), the regularised upper incomplete gamma function (k > 0, x >= 0): the
    share of a gamma(k, 1) variable above x. Series below k + 1, continued fraction above (Numerical Recipes 6.2)."""
    if x <= 0.0:
        return 1.0
    if math.isinf(x):
        return 0.0
    log_front = k * math.log(x) - x - math.lgamma(k)
    if x < k + 1.0:
        term = total = 1.0 / k
        a = k
        for _ in range(500):
            a += 1.0
            term *= x / a
            total += term
            if abs(term) < abs(total) * 1e-12:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300
    b = x + 1.0 - k
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 500):
        an = -i * (i - k)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-12:
            break
    return min(1.0, math.exp(log_front) * h)


def gamma_mean_deviation(k, theta):
    """Mean absolute deviation of a gamma(k, theta) variable: 2 theta k^k e^-k / Gamma(k)."""
    return 2.0 * theta * math.exp(k * math.log(k) - k - math.lgamma(k))


def rtt_excess_gamma(hop):
    """(shape k_r, scale theta, queueing directions n, base one-way delay ms) of the round trips' excess over their
    minimum (step 3); k_r and n are 0 when the round trips do not vary."""
    share = float(hop.settings.get("one_way_pct", 50.0)) / 100.0
    received = [v for v in hop.rtts_ms if v is not None]
    if not received:  # a summary window: two exponential directions with the given RFC 3550 jitter
        theta = (hop.jitter_ms or 0.0) / 1.5
        if theta < MIN_VARIATION_MS:
            return 0.0, 0.0, 0.0, max(0.0, hop.avg_ms * share)
        return 2.0, theta, 2.0, max(0.0, hop.avg_ms * share)
    low = min(received)
    count = len(received)
    mean = sum(received) / count - low
    if mean < MIN_VARIATION_MS:
        return 0.0, 0.0, 0.0, low * share
    deviation = sum(abs(v - low - mean) for v in received) / count
    if deviation < MIN_VARIATION_MS:
        return 0.0, 0.0, 0.0, low * share
    k_r = gamma_shape_for_deviation(deviation / mean)
    # The sample minimum stands above the path's: by theta / N for one exponential queue, by about
    # theta sqrt(pi / 2N) for two in a row (their sum's CDF is x^2 / 2 theta^2 near zero). The near-minimum shares
    # the two cases leave are taken at the threshold moved by that much (in units of theta).
    near = sum(v - low < NEAR_MIN * mean for v in received) / count
    u1 = 1.0 / count + NEAR_MIN * (1.0 - 1.0 / count)
    above = math.sqrt(math.pi / (2.0 * count))
    u2 = above + NEAR_MIN * (2.0 - above)
    one = 1.0 - math.exp(-u1)
    two = 1.0 - math.exp(-u2) * (1.0 + u2)
    n = 1.0 + min(1.0, max(0.0, (one - near) / (one - two)))
    return k_r, mean / k_r, n, low * share


def gamma_shape_for_deviation(ratio):
    """The shape k of the gamma distribution whose mean deviation is ``ratio`` times its mean (0 < ratio < 2):
    MD / mean = 2 k^k e^-k / Gamma(k + 1) falls from 2 (k -> 0) through 2 / e (k = 1) towards 0; bisection on
    log k within 1e-3 to 1e3 (36 halvings: 2e-10 relative)."""
    lo, hi = 1e-3, 1e3
    for _ in range(36):
        mid = math.sqrt(lo * hi)
        if gamma_mean_deviation(mid, 1.0) / mid > ratio:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def listener(k, theta, settings):
    """(late loss 0-1, buffer delay ms beyond the base) for one direction whose variation is gamma(k, theta)."""
    if settings.get("buffer", "adaptive") == "fixed":
        delay_ms = float(settings.get("buffer_ms", 60.0))
        return (upper_gamma_share(k, delay_ms / theta) if k > 0.0 else 0.0), delay_ms
    if k <= 0.0:
        return 0.0, ADAPTIVE_MIN_MARGIN_MS
    delay_ms = k * theta + max(ADAPTIVE_MIN_MARGIN_MS, RAMJEE_BETA * gamma_mean_deviation(k, theta))
    return upper_gamma_share(k, delay_ms / theta), delay_ms


def cases(k_r, theta, n):
    """[(weight, [(k, theta) per listener])]: one direction queues (weight 2 - n) or both (n - 1)."""
    if k_r <= 0.0:
        return [(1.0, [(0.0, 0.0), (0.0, 0.0)])]
    out = []
    if n < 2.0:
        out.append((2.0 - n, [(k_r, theta), (0.0, 0.0)]))
    if n > 1.0:
        out.append((n - 1.0, [(k_r / 2.0, theta), (k_r / 2.0, theta)]))
    return out


def score_hop(hop):
    """R and MOS of a call over this hop's path through the predicted jitter buffer, both listeners averaged."""
    s = hop.settings
    k_r, theta, n, base_ms = rtt_excess_gamma(hop)
    network_loss = 1.0 - math.sqrt(max(0.0, 1.0 - hop.loss_pct / 100.0))
    packet_ms = float(s.get("packet_ms", 20.0))
    r_total = late_total = delay_total = ppl_total = ta_total = 0.0
    for weight, directions in cases(k_r, theta, n):
        heard = [listener(k, th, s) for k, th in directions]
        ta_ms = base_ms + sum(d for _, d in heard) / len(heard) + packet_ms
        # the case where one direction queues: with LOSS_FOLLOWS_QUEUE its listener hears all the round trip's loss
        one_way = LOSS_FOLLOWS_QUEUE and directions[0][0] > 0.0 and directions[1][0] == 0.0
        losses = [hop.loss_pct / 100.0, 0.0] if one_way else [network_loss, network_loss]
        for (late, delay_ms), lost in zip(heard, losses, strict=True):
            ppl_pct = min(100.0, 100.0 * (NETWORK_LOSS_WEIGHT * lost + LATE_LOSS_WEIGHT * late))
            r, _, _ = e_model(hop, ta_ms, loss_pct=ppl_pct, echo_ms=ECHO_DELAY_MS)
            share = weight / len(heard)
            r_total += share * r
            late_total += share * late
            delay_total += share * delay_ms
            ppl_total += share * ppl_pct
        ta_total += weight * ta_ms
    # The detail terms of the E-model at the averaged inputs (R itself is the listeners' average).
    _, _, detail = e_model(hop, ta_total, loss_pct=ppl_total, echo_ms=ECHO_DELAY_MS)
    detail.update(
        {
            "base_one_way_ms": base_ms,
            "buffer_delay_ms": delay_total,
            "one_way_loss_pct": 100.0 * network_loss,
            "late_loss_pct": 100.0 * late_total,
            "queueing_directions": n,
            "rtt_excess_shape": k_r,
            "rtt_excess_scale_ms": theta,
        }
    )
    return r_total, r_to_mos(r_total), detail
