"""Property tests: every built-in's MOS stays within 1..4.5 and never improves as loss, latency or jitter grow."""

from hypothesis import given, settings
from hypothesis import strategies as st

from pingmos.scoring import HopWindow, Score, load_model

BUILTINS = ["pingplotter", "asterisk", "g107", "g107-playout", "g107-jb"]
MODELS = {name: load_model(name, raising=True) for name in BUILTINS}
MODELS["g107 bursty"] = load_model("g107", {"burst_r": 4, "codec": "g729a"}, raising=True)
MODELS["g107 wideband"] = load_model("g107", {"r0": "129"}, raising=True)
MODELS["g107-playout 96"] = load_model("g107-playout", {"playout": "96"}, raising=True)
MODELS["asterisk rfc3550"] = load_model("asterisk", {"jitter": "rfc3550"}, raising=True)

latency = st.floats(0.0, 5000.0, allow_nan=False)
jitter = st.floats(0.0, 1000.0, allow_nan=False)
loss = st.floats(0.0, 99.9, allow_nan=False)
stdev = st.floats(0.0, 500.0, allow_nan=False)
model_name = st.sampled_from(sorted(MODELS))

# G.107's own equations: with the default TELR the talker-echo term Idte is slightly negative for one-way delays
# below ~4 ms, so R rises by up to 0.06 between Ta 0 and 0.8 ms (RTT 1.6 ms) before it falls. Kept as the
# standard has it; the monotonicity checks below allow exactly that much, and only there.
G107_SMALL_DELAY_RISE_R = 0.06
SMALL_RTT_MS = 2.0


def mos(name, a, j, lo, sd=None):
    result = MODELS[name].score(HopWindow.from_summary(a, j, lo, jitter_stdev_ms=sd))
    assert isinstance(result, Score)
    return result


def non_increasing(name, better, worse, rtt_ms):
    if name.startswith("g107") and not name.startswith("g107-playout") and rtt_ms < SMALL_RTT_MS:
        assert worse.r <= better.r + G107_SMALL_DELAY_RISE_R
    else:
        assert worse.mos <= better.mos + 1e-12 and worse.r <= better.r + 1e-9


@settings(max_examples=300, deadline=None)
@given(model_name, latency, jitter, loss, stdev)
def test_within_scale(name, a, j, lo, sd):
    s = mos(name, a, j, lo, sd)
    assert 1.0 <= s.mos <= 4.5 and 0.0 <= s.r <= 129.0


@settings(max_examples=300, deadline=None)
@given(model_name, latency, jitter, loss, loss, stdev)
def test_more_loss_never_helps(name, a, j, lo1, lo2, sd):
    lo1, lo2 = sorted((lo1, lo2))
    non_increasing(name, mos(name, a, j, lo1, sd), mos(name, a, j, lo2, sd), rtt_ms=1e9)


@settings(max_examples=300, deadline=None)
@given(model_name, latency, latency, jitter, loss, stdev)
def test_more_latency_never_helps(name, a1, a2, j, lo, sd):
    a1, a2 = sorted((a1, a2))
    non_increasing(name, mos(name, a1, j, lo, sd), mos(name, a2, j, lo, sd), rtt_ms=a1)


@settings(max_examples=300, deadline=None)
@given(model_name, latency, jitter, jitter, loss, stdev, stdev)
def test_more_jitter_never_helps(name, a, j1, j2, lo, sd1, sd2):
    (j1, j2), (sd1, sd2) = sorted((j1, j2)), sorted((sd1, sd2))
    non_increasing(name, mos(name, a, j1, lo, sd1), mos(name, a, j2, lo, sd2), rtt_ms=1e9)


@settings(max_examples=200, deadline=None)
@given(
    model_name,
    st.lists(st.one_of(st.none(), st.floats(0.1, 1000.0)), min_size=1, max_size=40).filter(
        lambda xs: any(x is not None for x in xs)
    ),
    st.floats(1.0, 10.0),
)
def test_stretching_the_samples_never_helps(name, rtts, factor):
    """Multiplying every RTT by factor >= 1 raises latency, jitter and its spread together, loss unchanged."""
    base = MODELS[name].score(HopWindow.from_rtts(rtts))
    stretched = MODELS[name].score(HopWindow.from_rtts([None if x is None else x * factor for x in rtts]))
    assert 1.0 <= base.mos <= 4.5 and 1.0 <= stretched.mos <= 4.5
    non_increasing(name, base, stretched, rtt_ms=min(x for x in rtts if x is not None))
