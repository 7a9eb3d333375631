"""G.107 with a predicted jitter buffer: the E-model fed with the one-way loss and delay a receiver's buffer gives.

A call hears one direction of the path, through a jitter buffer; a ping sees round trips one second apart. This
model predicts, from the round trips, what the buffer of a call over the same path would do, and gives G.107 the
result, averaged over the call's two listeners (one per direction), as a call's quality is heard by both:

1. One-way loss. A probe is lost when either direction drops it: 1 - L_rt = (1 - L_a)(1 - L_b). A ping cannot
   tell which direction holds it; the model mixes two readings by a fixed share, LOSS_ONE_DIRECTION_SHARE (s):
   all of it in one direction (listener A hears L_rt, B none), or both alike (L_1 = 1 - sqrt(1 - L_rt) each).
   Listener A hears L_a = s L_rt + (1 - s) L_1, listener B L_b = (1 - s) L_1. Both grow with L_rt, so the MOS
   never rises with the loss. The share is a constant, not read from the round trips' shape: G.107's Ie-eff is
   concave in the loss, so for the same L_rt the listeners' mean Ie-eff is largest when the loss is split alike
   and smallest when one listener has it all (with a = -ln(1 - L_a), a + b = -ln(1 - L_rt) fixed, Ie-eff of
   1 - e^-a is concave in a, and a concave sum is largest at the middle). A split that followed the delay
   variation (as LOSS_FOLLOWS_QUEUE did, before 2026-12-01: "where one direction queues it holds the loss")
   moved the loss to one listener as soon as the round trips looked like one queue, which they can from a
   0.05 ms spread that only the clock's resolution makes: the MOS of a path with 10 % loss rose from 3.62 to
   3.83 when its RTT began to vary, and stayed at 2.83 from 60 to 80 % loss. Any such split, however smoothly
   it faded in with the evidence, rewards variation wherever the variation itself costs less than the split
   gains (below 100 ms Idd is 0, and an adaptive buffer's least margin hides a small spread), so there is none.
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
   so the mix needs only how many. n only shares the variation out between the listeners (listener A is the
   one that queues when one does); it moves no loss, so a spread too small to judge n by also costs too little
   for n to matter.
4. The buffer (``buffer``), per listener, from that direction's gamma(k, theta), the two cases of step 3 mixed
   by their weights (late loss and buffer delay each; a listener that does not vary keeps the buffer's least
   delay, which any variation only lengthens, so more variation never shortens the delay nor lowers late loss):
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
     several times the cost, so the steady state stands; ADAPTIVE_LATE_LOSS_WEIGHT absorbs what the warm-up and the
     averages' noise add.
5. G.107 (the ``g107`` model's E-model, its default parameters), per listener X (A, B): Ppl_X = NETWORK_LOSS_WEIGHT x
   L_X + the buffer's late-loss weight (FIXED_LATE_LOSS_WEIGHT or ADAPTIVE_LATE_LOSS_WEIGHT) x X's late loss, in
   percent (at most 100); Ie-eff_X with the codec's Ie and Bpl (G.113 Appendix I; BurstR 1: the loss seen one second
   apart cannot tell bursts). Ta = base + the listeners' mean buffer delay + ``packet_ms``; Id = Idte + Idle + Idd
   for Ta, the talker echo terms at ECHO_DELAY_MS; Ie-eff = (Ie-eff_A + Ie-eff_B) / 2; R = Ro - Is - Id - Ie-eff + A
   (the listeners' mean R, as R is linear in Ie-eff), within 0-100; MOS by G.107 Annex B. Every step is
   non-decreasing in the loss and in a scale of the variation, and continuous; ``pingmos score -v`` prints each term
   under these names.

The constants marked "fitted" were fitted on the development conditions of ``scripts/validate_mos`` (G.711 calls
through simulated paths scored by ITU-T P.862 PESQ plus G.107's Idd; see README, "Does the MOS predict a call?"):
NETWORK_LOSS_WEIGHT and the two late-loss weights (2026-12-02) on seed 10's 60 training conditions and all 90 of
seed 11's, by the sum over both buffers of 1 - Spearman's rho and the mean absolute error (``validate_mos --fit``
repeats the grid search on one study's training conditions; ``pingmos.validation.fit.fit`` takes any set); the
other fitted constants on seed 10's training conditions alone. Seed 10's 30 held-out conditions were used for none
of them; seed 12's 90 (``resources/validation/replication_seed12``) were drawn after the constants were committed.

What it cannot see: loss bursts shorter than the probe interval (a ping one second apart samples a bursty loss process
at the same average rate as a random one, and a burst of lost voice frames sounds worse than the same share spread out:
the model takes every network loss as random); which direction holds the loss (a fixed mix of one and both,
LOSS_ONE_DIRECTION_SHARE; ``one_way_pct`` moves the base delay only); delay variation whose one-way shape is not near
exponential (heavy tails, e.g. Wi-Fi retransmissions, make one queueing direction look like one; the RTT's shape is all
it has); the time structure of delay variation faster than the probe interval (a queue that builds up and drains makes
an adaptive buffer's late losses come in runs: ADAPTIVE_LATE_LOSS_WEIGHT stands for that on average); the receiver's
real buffer (``buffer`` and ``buffer_ms`` are what you assume: say so when you report the number, ITU-T P.564).

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
# How much a lost packet impairs relative to G.113's Bpl for the codec (fitted, with the two late-loss weights below:
# grid 1.4-1.8 by 0.1; best 1.6; 1 = G.113 as it is): PESQ of G.711 with Appendix I concealment loses more per lost
# frame than G.113's Bpl 25.1 says, and part of the network loss in the study comes in bursts a ping cannot see.
NETWORK_LOSS_WEIGHT = 1.6
# The same for a packet the buffer drops as late, per buffer (fitted: fixed grid 1.0-1.75 by 0.25, best 1.5;
# adaptive grid 1.75-2.5 by 0.25, best 2.25). The two buffers' late packets differ. The fixed buffer's are the
# path's own delay peaks beyond a constant depth: its steady state counts them (on the 150 development conditions
# the simulated buffer dropped 0.93 times the late packets the model predicts). The adaptive buffer's also come
# from its averages: they follow a queue that builds up over ~10 s, late and noisily, so its late packets come in
# runs after a talkspurt's play-out delay was set too short, and more of them than its steady state says (1.19
# times the prediction there; 2.0 % of a varying direction's packets for independent exponential variation, 2.3-2.6
# % for correlated, 3.0 % for heavy-tailed, where the steady state gives 1.9-2.6 %). Runs sound worse than the
# same share spread out (a random-loss Bpl undercounts them), and a ping one second apart sees neither the runs
# nor the correlation, so a constant per buffer stands for them on average.
FIXED_LATE_LOSS_WEIGHT = 1.5
ADAPTIVE_LATE_LOSS_WEIGHT = 2.25
# How close to the minimum a round trip counts as "near" it (step 3), as a share of the excess's mean: 0.1 (on
# the training conditions, adaptive buffer, Spearman / MAE: 0.05 gives 0.967 / 0.096, 0.1 0.967 / 0.092, 0.15
# 0.967 / 0.095, 0.2 0.958 / 0.099; measured before the loss split of step 1 became a constant).
NEAR_MIN = 0.1
# Delay variation below this (ms) is none: the clock's resolution, and no buffer holds less.
MIN_VARIATION_MS = 1e-6
# The talker echo's one-way delay for G.107's echo terms, ms: a VoIP terminal cancels its echo (ITU-T G.168), so
# a longer path adds no talker echo, only the delay impairment Idd (the study's calls have no echo either).
ECHO_DELAY_MS = 0.0
# The share of the round trip's loss taken to sit in one direction, the rest split alike (step 1): 0 is a
# symmetric path, 1 all loss one way (fitted before the late-loss weight was split by buffer and kept: grid 0-1 by
# 0.25, best 0.75, with the weights of then; seed 10's training MAE
# both buffers, each share with its best weights: 0.102 at 0.75, 0.103 at 0.5, 0.105 at 0.25, 0.108 at 0 and at 1;
# 0.091 for the split that followed the queue, which rewarded variation). The study's asymmetric paths hold their loss
# in one direction, its symmetric ones in both; a ping cannot tell them apart. Constant on purpose: see step 1.
LOSS_ONE_DIRECTION_SHARE = 0.75


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


def listeners(k_r, theta, n, settings):
    """[(late loss 0-1, buffer delay ms)] of listener A and listener B (step 4): the cases of step 3 mixed by their
    weights, A being the listener of the direction that queues when one does."""
    still = listener(0.0, 0.0, settings)
    if k_r <= 0.0:
        return [still, still]
    one = listener(k_r, theta, settings)
    both = listener(k_r / 2.0, theta, settings)
    w_one, w_both = 2.0 - n, n - 1.0
    return [
        (w_one * one[0] + w_both * both[0], w_one * one[1] + w_both * both[1]),
        (w_one * still[0] + w_both * both[0], w_one * still[1] + w_both * both[1]),
    ]


def late_loss_weight(settings):
    """How much a late packet impairs relative to G.113's Bpl: FIXED_LATE_LOSS_WEIGHT or ADAPTIVE_LATE_LOSS_WEIGHT."""
    return FIXED_LATE_LOSS_WEIGHT if settings.get("buffer", "adaptive") == "fixed" else ADAPTIVE_LATE_LOSS_WEIGHT


def listener_losses(loss_pct):
    """Network loss 0-1 of listener A and listener B (step 1) for a round trip's loss ``loss_pct`` (%)."""
    round_trip = loss_pct / 100.0
    each = 1.0 - math.sqrt(max(0.0, 1.0 - round_trip))
    return [LOSS_ONE_DIRECTION_SHARE * round_trip + (1.0 - LOSS_ONE_DIRECTION_SHARE) * each,
            (1.0 - LOSS_ONE_DIRECTION_SHARE) * each]  # fmt: skip


def score_hop(hop):
    """R and MOS of a call over this hop's path through the predicted jitter buffer (steps 1-5); the detail terms
    are G.107's, per listener where they differ (suffix _a, _b), and add up: R = ro - is - id - ie_eff + a,
    id = idte + idle + idd at ta_ms, ie_eff = (ie_eff_a + ie_eff_b) / 2, ie_eff_x from ppl_x_pct (ie, bpl),
    ppl_x_pct = NETWORK_LOSS_WEIGHT x loss_x_pct + late_loss_weight x late_loss_x_pct (the buffer's weight)."""
    s = hop.settings
    k_r, theta, n, base_ms = rtt_excess_gamma(hop)
    heard = listeners(k_r, theta, n, s)
    lost = listener_losses(hop.loss_pct)
    ta_ms = base_ms + (heard[0][1] + heard[1][1]) / 2.0 + float(s.get("packet_ms", 20.0))
    late_weight = late_loss_weight(s)
    ppl = [
        min(100.0, 100.0 * (NETWORK_LOSS_WEIGHT * x + late_weight * late))
        for x, (late, _) in zip(lost, heard, strict=True)
    ]
    # G.107's terms at the call's delay; Ie-eff per listener (each hears its own loss), then their mean: R is
    # linear in Ie-eff, so this is the listeners' mean R wherever neither is clamped.
    _, _, detail = e_model(hop, ta_ms, loss_pct=0.0, echo_ms=ECHO_DELAY_MS)
    ie, bpl = detail["ie"], detail["bpl"]
    ie_effs = [ie + (95.0 - ie) * p / (p + bpl) for p in ppl]
    ie_eff = (ie_effs[0] + ie_effs[1]) / 2.0
    r_raw = detail["ro"] - detail["is"] - detail["id"] - ie_eff + detail["a"]
    r = min(100.0, max(0.0, r_raw))
    for key in ("ppl_pct", "burst_r", "markov_p", "markov_q"):
        detail.pop(key, None)
    detail.update(split_detail(ie_eff, r_raw, base_ms, heard, lost, ppl, ie_effs, n, k_r, theta, late_weight))
    return r, r_to_mos(r), detail


def split_detail(ie_eff, r_raw, base_ms, heard, lost, ppl, ie_effs, n, k_r, theta, late_weight) -> dict:
    """The score's details of the two listeners and the fitted constants (floats here, numpy arrays of a batch in
    pingmos.scoring.catalog.vectorised, which must give the same keys): ``heard`` is per listener (late loss,
    buffer delay in ms), ``lost`` the network loss share, ``ppl``/``ie_effs`` G.107's Ppl (%) and Ie-eff,
    ``late_weight`` the buffer's late-loss weight."""
    return {
        "ie_eff": ie_eff,
        "r_unclamped": r_raw,
        "base_one_way_ms": base_ms,
        "buffer_delay_a_ms": heard[0][1],
        "buffer_delay_b_ms": heard[1][1],
        "loss_a_pct": 100.0 * lost[0],
        "loss_b_pct": 100.0 * lost[1],
        "late_loss_a_pct": 100.0 * heard[0][0],
        "late_loss_b_pct": 100.0 * heard[1][0],
        "ppl_a_pct": ppl[0],
        "ppl_b_pct": ppl[1],
        "ie_eff_a": ie_effs[0],
        "ie_eff_b": ie_effs[1],
        "loss_one_direction_share": LOSS_ONE_DIRECTION_SHARE,
        "network_loss_weight": NETWORK_LOSS_WEIGHT,
        "late_loss_weight": late_weight,
        "queueing_directions": n,
        "rtt_excess_shape": k_r,
        "rtt_excess_scale_ms": theta,
    }
