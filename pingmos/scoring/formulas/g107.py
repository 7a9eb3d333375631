"""ITU-T G.107 E-model (narrowband), computed from the standard's default parameters; jitter is not used.

    R = Ro - Is - Id - Ie-eff + A

Every term comes from G.107's equations (section 7) with its default parameter values (Table 3): SLR 8, RLR 2,
STMR 15, LSTR 18, Ds = Dr = 3, TELR 65, WEPL 110, qdu 1, Nc -70, Nfor -64, Ps = Pr = 35, A 0. With no delay and no
loss they give Ro 94.77, Is 1.43, Idle 0.15 and so R = 93.206, MOS 4.409: the "93.2" other tools start from.

Delay. pingmos measures round-trip times, the E-model wants the one-way mouth-to-ear delay Ta. Here
Ta = average RTT x one_way_pct / 100 (default 50: a symmetric path) + added_delay_ms (the codec's and the jitter
buffer's delay, which a ping cannot see; default 0). The echo terms use G.114's planning convention: the talker
echo's one-way delay T = Ta and the listener echo's round trip Tr = 2 Ta. Idd is 0 up to Ta = 100 ms and grows
with X = log2(Ta / 100) above that.

Loss. Ie-eff = Ie + (95 - Ie) Ppl / (Ppl / BurstR + Bpl), with Ppl the measured round-trip loss in percent (a
loss in either direction counts: one-way loss on a symmetric path is about half of it; it is not halved here).
The codec (Ie, Bpl from ITU-T G.113 Appendix I) is the ``codec`` setting. BurstR is 1 (random loss) by default,
a number you set, or ``auto``: estimated from the window's sequence of lost and received samples with the
two-state Markov model, p = P(lost | previous received), q = P(received | previous lost), BurstR = 1 / (p + q)
(1 where it cannot be estimated, and never below 1: G.107 defines it for random or burstier loss).

Wideband. ``r0 = 129`` puts R on the wideband scale of G.107.1 as Accedian's Skylight does: Ro = 129, Is = 0,
each codec's Ie raised by 35.8 (129 - 93.2: a narrowband codec on the wideband scale) and the loss term's 95 by
the same; MOS is then 4.5 for any R above 100. Another number for r0 replaces Ro and sets Is to 0 (the
"R0 = 93.2, Is = 0" of simplified E-models); ``auto`` (default) computes both from the default parameters.

Left out of G.107: jitter (see ``g107-playout``), the Is and Id terms' dependence on anything but delay
(loudness, sidetone and echo parameters stay at their defaults), the expectation factor A beyond a setting, and
the 2015 edition's optional delay sensitivity (sT, mT stay at their defaults 1 and 100 ms).
"""

import math

from pingmos.scoring.formula_api import r_to_mos, setting

SETTINGS = {
    "codec": setting(
        "g711",
        choices=["g711", "g711-noplc", "g729a", "g723.1", "gsm-efr"],
        help="codec: Ie and Bpl from ITU-T G.113 Appendix I (g711 with packet loss concealment)",
    ),
    "burst_r": setting(1.0, min=1.0, max=100.0, allow_auto=True, help="burst ratio: 1 random loss, >1 bursty, auto"),
    "one_way_pct": setting(50.0, min=1.0, max=100.0, help="share of the round-trip time taken as one-way delay, %"),
    "added_delay_ms": setting(0.0, min=0.0, max=2000.0, help="codec and jitter-buffer delay added to Ta, ms"),
    "advantage": setting(0.0, min=0.0, max=20.0, help="advantage factor A (0 wired; up to 10 mobile, 20 satellite)"),
    "r0": setting("auto", min=0.0, max=129.0, allow_auto=True, help="Ro: auto from G.107 defaults, or 129 wideband"),
}

# ITU-T G.113 Appendix I, narrowband: codec -> (Ie, Bpl).
CODECS = {
    "g711": (0.0, 25.1),
    "g711-noplc": (0.0, 4.3),
    "g729a": (11.0, 19.0),
    "g723.1": (15.0, 16.1),
    "gsm-efr": (5.0, 10.0),
}
WIDEBAND_OFFSET = 35.8  # 129 - 93.2: where the narrowband scale's R sits on the wideband scale
WIDEBAND_R0 = 129.0

# ITU-T G.107 Table 3 default values.
SLR = 8.0  # send loudness rating, dB
RLR = 2.0  # receive loudness rating, dB
STMR = 15.0  # sidetone masking rating, dB
LSTR = 18.0  # listener sidetone rating, dB
DS = 3.0  # D-value of the telephone, send side
DR = 3.0  # D-value of the telephone, receive side
TELR = 65.0  # talker echo loudness rating, dB
WEPL = 110.0  # weighted echo path loss, dB
QDU = 1.0  # quantizing distortion units
NC = -70.0  # circuit noise referred to the 0 dBr point, dBm0p
NFOR = -64.0  # noise floor at the receive side, dBmp
PS = 35.0  # room noise at the send side, dB(A)
PR = 35.0  # room noise at the receive side, dB(A)


def _log10_sum(*levels_db):
    return 10.0 * math.log10(sum(10.0 ** (level / 10.0) for level in levels_db))


def basic_terms():
    """Ro, Is and No (noise) of G.107 7.2-7.3 from the default parameters (no delay involved)."""
    olr = SLR + RLR
    nos = PS - SLR - DS - 100.0 + 0.004 * (PS - olr - DS - 14.0) ** 2
    pre = PR + 10.0 * math.log10(1.0 + 10.0 ** ((10.0 - LSTR) / 10.0))
    nor = RLR - 121.0 + pre + 0.008 * (pre - 35.0) ** 2
    nfo = NFOR + RLR
    no = _log10_sum(NC, nos, nor, nfo)
    ro = 15.0 - 1.5 * (SLR + no)
    xolr = olr + 0.2 * (64.0 + no - RLR)
    iolr = 20.0 * ((1.0 + (xolr / 8.0) ** 8) ** (1.0 / 8.0) - xolr / 8.0)
    return ro, no, iolr


def simultaneous_impairment(ro, no, iolr, t_ms):
    """Is = Iolr + Ist + Iq (G.107 7.3); STMRo depends on the talker echo's delay T."""
    stmro = -10.0 * math.log10(10.0 ** (-STMR / 10.0) + math.exp(-t_ms / 4.0) * 10.0 ** (-TELR / 10.0))
    ist = (
        12.0 * (1.0 + ((stmro - 13.0) / 6.0) ** 8) ** (1.0 / 8.0)
        - 28.0 * (1.0 + ((stmro + 1.0) / 19.4) ** 35) ** (1.0 / 35.0)
        - 13.0 * (1.0 + ((stmro - 3.0) / 33.0) ** 13) ** (1.0 / 13.0)
        + 29.0
    )
    q = 37.0 - 15.0 * math.log10(QDU)
    g = 1.07 + 0.258 * q + 0.0602 * q * q
    y = (ro - 100.0) / 15.0 + 46.0 / 8.4 - g / 9.0
    z = 46.0 / 30.0 - g / 40.0
    iq = 15.0 * math.log10(1.0 + 10.0**y + 10.0**z)
    return iolr + ist + iq


def delay_impairment(ro, no, ta_ms, t_ms, tr_ms):
    """Id = Idte + Idle + Idd (G.107 7.4), each term returned: (idte, idle, idd)."""
    terv = TELR - 40.0 * math.log10((1.0 + t_ms / 10.0) / (1.0 + t_ms / 150.0)) + 6.0 * math.exp(-0.3 * t_ms**2)
    roe = -1.5 * (no - RLR)
    re = 80.0 + 2.5 * (terv - 14.0)
    idte = ((roe - re) / 2.0 + math.sqrt((roe - re) ** 2 / 4.0 + 100.0) - 1.0) * (1.0 - math.exp(-t_ms)) + 0.0
    rle = 10.5 * (WEPL + 7.0) * (tr_ms + 1.0) ** (-0.25)
    idle = (ro - rle) / 2.0 + math.sqrt((ro - rle) ** 2 / 4.0 + 169.0)
    if ta_ms <= 100.0:
        idd = 0.0
    else:
        x = math.log10(ta_ms / 100.0) / math.log10(2.0)
        idd = 25.0 * ((1.0 + x**6) ** (1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0) ** 6) ** (1.0 / 6.0) + 2.0)
    return idte, idle, idd


def burst_ratio(hop):
    """The BurstR the ``burst_r`` setting asks for, and the Markov p, q it was estimated from (None if not)."""
    chosen = hop.settings.get("burst_r", 1.0)
    if chosen != "auto":
        return float(chosen), None, None
    p, q = hop.loss_transitions()
    if p is None or q is None or p + q <= 0.0:
        return 1.0, p, q  # no loss followed by anything (or none at all): nothing to tell bursts from
    return max(1.0, 1.0 / (p + q)), p, q


def e_model(hop, ta_ms, extra_loss_pct=0.0, loss_pct=None, echo_ms=None):
    """R, MOS and the detail terms for one-way delay ``ta_ms`` and the hop's loss plus ``extra_loss_pct`` (or, when
    given, ``loss_pct`` in place of the hop's loss: a model that derives the packet loss the codec sees itself).
    ``echo_ms``: the talker echo's one-way delay T when it is not Ta (a model that assumes echo cancellation)."""
    s = hop.settings
    ie, bpl = CODECS[s.get("codec", "g711")]
    loss_constant = 95.0
    ro, no, iolr = basic_terms()
    t_ms, tr_ms = (ta_ms if echo_ms is None else echo_ms), 2.0 * ta_ms  # G.114 planning convention
    r0 = s.get("r0", "auto")
    if r0 == "auto":
        is_ = simultaneous_impairment(ro, no, iolr, t_ms)
    else:
        ro, is_ = float(r0), 0.0
        if ro > 100.0:  # the wideband scale
            ie += WIDEBAND_OFFSET
            loss_constant += WIDEBAND_OFFSET
    idte, idle, idd = delay_impairment(ro, no, ta_ms, t_ms, tr_ms)
    ppl = min(100.0, (hop.loss_pct if loss_pct is None else loss_pct) + extra_loss_pct)
    burst_r, p, q = burst_ratio(hop)
    ie_eff = ie + (loss_constant - ie) * ppl / (ppl / burst_r + bpl)
    advantage = float(s.get("advantage", 0.0))
    r_raw = ro - is_ - (idte + idle + idd) - ie_eff + advantage
    r_max = WIDEBAND_R0 if ro > 100.0 else 100.0
    r = min(r_max, max(0.0, r_raw))
    detail = {
        "ta_ms": ta_ms,
        "ro": ro,
        "is": is_,
        "idte": idte,
        "idle": idle,
        "idd": idd,
        "id": idte + idle + idd,
        "ie": ie,
        "bpl": bpl,
        "ppl_pct": ppl,
        "burst_r": burst_r,
        "markov_p": p,
        "markov_q": q,
        "ie_eff": ie_eff,
        "a": advantage,
        "r_unclamped": r_raw,
    }
    return r, r_to_mos(r), detail


def one_way_ms(hop, rtt_ms):
    """One-way delay (ms) for a round-trip time: the one_way_pct share of it plus added_delay_ms."""
    s = hop.settings
    return rtt_ms * float(s.get("one_way_pct", 50.0)) / 100.0 + float(s.get("added_delay_ms", 0.0))


def score_hop(hop):
    """G.107 R and MOS of one hop from its average round-trip time and its loss."""
    return e_model(hop, one_way_ms(hop, hop.avg_ms))
