"""g107-jb never rewards a worse network: MOS does not rise with the round trips' loss or with their variation,
from raw samples, both buffers; its interval holds the point and is not zero-width when the loss can move.

The breaker's cases (a G.711 call at RTT 20 ms, every 10th probe lost, with and without exponential variation; a
rate-limiting router at 60-80 % loss; the lab router's window) are kept below with the figures they gave before
(the one-direction/both-directions judgement moved the whole loss to one listener as soon as the RTT varied by
0.05 ms: 3.62 without variation, 3.83 with it) and give now."""

import contextlib
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingmos.scoring import HopWindow, Score, load_model
from pingmos.scoring.interval import mos_interval

BUFFERS = ("adaptive", "fixed")
MODELS = {b: load_model("g107-jb", {"buffer": b}, raising=True) for b in BUFFERS}


def scored(buffer, rtts):
    result = MODELS[buffer].score(HopWindow.from_rtts(rtts))
    assert isinstance(result, Score)
    return result


def not_better(better, worse):
    assert worse.mos <= better.mos + 1e-12 and worse.r <= better.r + 1e-9


# The round trips' excess over their minimum: fractions of a scale from a clock's resolution to a slow queue.
excess = st.tuples(
    st.lists(st.floats(0.0, 1.0), min_size=10, max_size=120), st.sampled_from([0.001, 0.05, 0.3, 2.0, 20.0])
).map(lambda t: [x * t[1] for x in t[0]])
base_rtt = st.floats(0.5, 300.0)
buffer = st.sampled_from(BUFFERS)


def interleave(received, lost):
    """``received`` with ``lost`` Nones spread through it (the order does not matter to the model but to a reader)."""
    out = list(received)
    for i in range(lost):
        out.insert((i * 7919) % (len(out) + 1), None)
    return out


@settings(max_examples=200, deadline=None)
@given(buffer, base_rtt, excess, st.integers(0, 400), st.integers(0, 400))
def test_more_loss_never_helps(buf, base, xs, lost1, lost2):
    lost1, lost2 = sorted((lost1, lost2))
    received = [base + x for x in xs]
    not_better(scored(buf, interleave(received, lost1)), scored(buf, interleave(received, lost2)))


@settings(max_examples=200, deadline=None)
@given(buffer, base_rtt, excess, st.floats(0.0, 20.0), st.floats(0.0, 20.0), st.integers(0, 60))
def test_more_variation_never_helps(buf, base, xs, c1, c2, lost):
    """The excesses scaled by c1 <= c2 (c1 = 0: no variation at all), same minimum, same loss."""
    c1, c2 = sorted((c1, c2))
    less = scored(buf, interleave([base + c1 * x for x in xs], lost))
    more = scored(buf, interleave([base + c2 * x for x in xs], lost))
    not_better(less, more)


@settings(max_examples=200, deadline=None)
@given(buffer, base_rtt, excess, st.integers(0, 60))
def test_any_variation_is_no_better_than_none(buf, base, xs, lost):
    """A path that varies, whatever the shape of its variation, never beats the same path at its fastest."""
    steady = scored(buf, interleave([base] * len(xs), lost))
    not_better(steady, scored(buf, interleave([base + x for x in xs], lost)))


@settings(max_examples=40, deadline=None)
@given(buffer, st.floats(1.0, 80.0), excess, st.integers(1, 150))
def test_interval_holds_the_point_and_moves_with_the_loss(buf, base, xs, lost):
    """Round trips below 100 ms (Idd 0, so R stays above G.107's floor at any loss): the interval contains the
    model's MOS of the window, and with lost and received probes both in it, it is not zero-width (the
    resamples' loss moves, and the MOS with it)."""
    rtts = interleave([base + x for x in xs], lost)
    point = scored(buf, rtts).mos
    low, high = mos_interval(MODELS[buf], rtts)
    assert low <= point <= high
    assert high - low > 1e-3


def breaker_samples(every, variation_ms, n=400, seed=1):
    """The breaker's input: every ``every``-th probe lost, the rest 20 ms plus exponential variation."""
    rng = random.Random(seed)
    return [None if i % every == 0 else 20.0 + (rng.expovariate(1.0 / variation_ms) if variation_ms else 0.0)
            for i in range(n)]  # fmt: skip


def breaker_loss_samples(loss_share, variation_ms, n=400, seed=1):
    rng = random.Random(seed)
    return [None if rng.random() < loss_share else 20.0 + (rng.expovariate(1.0 / variation_ms) if variation_ms else 0.0)
            for _ in range(n)]  # fmt: skip


def test_breaker_more_variation_scored_better():
    # before: 3.622 without variation, 3.825 with 0.05 and 0.24 ms, 3.803 with 1 ms, 3.703 with 3 ms. With the
    # constant split 3.620 without variation and 3.51 with 3 ms; with NETWORK_LOSS_WEIGHT 1.6 and the per-buffer
    # late-loss weights (2026-12-02) 3.699 and 3.549, never rising with the variation
    mos = [scored("adaptive", breaker_samples(10, j)).mos for j in (0.0, 0.05, 0.24, 1.0, 3.0, 10.0)]
    assert mos[0] == pytest.approx(3.699, abs=0.005)
    assert all(b <= a + 1e-12 for a, b in zip(mos, mos[1:], strict=False))
    assert mos[4] == pytest.approx(3.55, abs=0.01)


def test_breaker_high_loss_with_and_without_variation():
    # before: at 80 % loss 2.364 with 0.24 ms of variation and 1.255 without; with 0.24 ms, 2.851 at 60 % and
    # 2.832 at 70 % (one listener's loss past G.107's 100 %, the other's none: the loss did not count)
    flat = scored("adaptive", breaker_loss_samples(0.8, 0.0)).mos
    varied = [scored("adaptive", breaker_loss_samples(share, 0.24)).mos for share in (0.6, 0.7, 0.8)]
    assert varied[2] <= flat
    assert varied[0] > varied[1] > varied[2]
    # 1.67 and 1.83 with NETWORK_LOSS_WEIGHT 1.8 (before 2026-12-02), 1.73 and 1.93 with 1.6
    assert flat == pytest.approx(1.73, abs=0.01) and varied[0] == pytest.approx(1.93, abs=0.01)


LAB_ROUTER = Path(__file__).with_name("rate_limited_router.samples")


def test_breaker_lab_router_interval():
    # a rate-limiting router in the lab, 78.75 % loss (ICMP rate limit, sub-ms variation): before 2.834
    # (1.404-2.834), the point at the interval's edge; now the point inside an interval of the loss's sampling
    # (1.675 with NETWORK_LOSS_WEIGHT 1.8, before 2026-12-02; 1.735 with 1.6)
    rtts = [None if v == "x" else float(v) for v in LAB_ROUTER.read_text().strip().split(",")]
    point = scored("adaptive", rtts).mos
    low, high = mos_interval(MODELS["adaptive"], rtts)
    assert point == pytest.approx(1.735, abs=0.005)
    assert low < point < high and high - low < 0.3


def test_score_verbose_adds_up(tmp_path, monkeypatch, capsys):
    # the breaker's complaint: "r_unclamped 29.6" and "ppl_pct 50" beside "R 54.9". Every printed term now adds
    # up to the R line the way the printed sums say (to the 6 digits shown)
    from pingmos.cli import main

    monkeypatch.setenv("PINGMOS_CONFIG_DIR", str(tmp_path))
    samples = ",".join("x" if v is None else f"{v:.3f}" for v in breaker_loss_samples(0.8, 0.24))
    assert main(["score", "--samples", samples, "--verbose"]) == 0
    out = capsys.readouterr().out
    r = float(out.split("\nR ")[1].split()[0])
    d = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and line.startswith("  "):
            with contextlib.suppress(ValueError):  # the input lines' words ("jitter_definition pingplotter")
                d[parts[0]] = float(parts[1])
    assert "R = ro - is - id - ie_eff + a = r_unclamped" in out and "ie_eff = (ie_eff_a + ie_eff_b) / 2" in out
    assert d["r_unclamped"] == pytest.approx(r, abs=1e-3)
    assert d["ro"] - d["is"] - d["id"] - d["ie_eff"] + d["a"] == pytest.approx(r, abs=1e-3)
    assert d["id"] == pytest.approx(d["idte"] + d["idle"] + d["idd"], abs=1e-4)
    assert d["ie_eff"] == pytest.approx((d["ie_eff_a"] + d["ie_eff_b"]) / 2.0, rel=1e-5)
    for x in "ab":
        ppl = min(
            100.0, d["network_loss_weight"] * d[f"loss_{x}_pct"] + d["late_loss_weight"] * d[f"late_loss_{x}_pct"]
        )
        assert d[f"ppl_{x}_pct"] == pytest.approx(ppl, rel=1e-5)
        assert d[f"ie_eff_{x}"] == pytest.approx(95.0 * ppl / (ppl + d["bpl"]), rel=1e-5)
    loss = float(out.split("loss_pct")[1].split()[0]) / 100.0
    each = 1.0 - (1.0 - loss) ** 0.5
    share = d["loss_one_direction_share"]
    assert d["loss_a_pct"] == pytest.approx(100.0 * (share * loss + (1.0 - share) * each), rel=1e-5)
    assert d["loss_b_pct"] == pytest.approx(100.0 * (1.0 - share) * each, rel=1e-5)
