"""The parts of the validation study that can be wrong: mu-law, the Gilbert loss model, the buffers, the PLC."""

import warnings

import numpy as np
import pytest

from pingmos.validation import buffers, g711, plc
from pingmos.validation.paths import Direction, gilbert, probe_rtts


def test_mulaw_known_codes():
    # G.711 Table 2a: 0 -> 0xFF; the largest magnitudes -> 0x80 / 0x00; 0xFF and 0x7F both decode to 0
    assert g711.encode(np.array([0]))[0] == 0xFF
    assert g711.encode(np.array([32767]))[0] == 0x80
    assert g711.encode(np.array([-32768]))[0] == 0x00
    assert list(g711.decode(np.array([0xFF, 0x7F, 0x80, 0x00]))) == [0, 0, 32124, -32124]


def test_mulaw_matches_audioop_and_round_trips():
    x = np.arange(-32768, 32768, 7, dtype=np.int16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")  # the C reference of Python <= 3.12
        ref = np.frombuffer(audioop.lin2ulaw(x.tobytes(), 2), dtype=np.uint8)
    assert np.array_equal(g711.encode(x), ref)
    codes = np.arange(256, dtype=np.uint8)
    decoded = g711.decode(codes)
    assert np.array_equal(g711.decode(g711.encode(decoded)), decoded)
    # the quantisation error is at most half the step of the top segment (1024 / 2 on the 16-bit scale)
    assert np.max(np.abs(g711.decode(g711.encode(x)).astype(int) - x)) <= 1024


def test_gilbert_rate_and_burst_length():
    lost = gilbert(400_000, 0.05, 4.0, np.random.default_rng(3))
    assert lost.mean() == pytest.approx(0.05, abs=0.003)
    starts = np.count_nonzero(lost[1:] & ~lost[:-1])
    assert lost.sum() / starts == pytest.approx(4.0, rel=0.05)  # mean burst length 1 / r


def test_random_loss_and_delay_means():
    d = Direction(base_ms=30.0, jitter_kind="pareto", jitter_ms=10.0, loss_model="random", loss_pct=2.0)
    delay, lost = d.draw(200_000, np.random.default_rng(4))
    assert lost.mean() == pytest.approx(0.02, abs=0.002)
    assert delay.min() >= 30.0 and (delay - 30.0).mean() == pytest.approx(10.0, rel=0.08)
    c = Direction(jitter_kind="correlated", jitter_ms=8.0)
    v, _ = c.draw(200_000, np.random.default_rng(5))
    assert v.mean() == pytest.approx(8.0, rel=0.1)
    assert np.corrcoef(v[1:], v[:-1])[0, 1] > 0.8  # neighbours 20 ms apart wait alike


def test_probe_lost_if_either_direction_drops():
    n = 200
    path = {
        "fwd_ms": np.full(n, 10.0),
        "rev_ms": np.full(n, 15.0),
        "fwd_lost": np.zeros(n, dtype=bool),
        "rev_lost": np.zeros(n, dtype=bool),
    }
    path["fwd_lost"][50] = True  # probe 1 lost on the way out
    path["rev_lost"][100] = True  # probe 2 lost on the way back (arrives in slot 100 + 10 // 20 = 100)
    path["fwd_lost"][51] = True  # a voice packet between probes: not seen
    assert probe_rtts(path, 4) == [25.0, None, None, 25.0]


def test_fixed_buffer_late_loss():
    # warm-up 3 packets, earliest 10 ms: plays at 10 + 60 = 70 ms; 75 is late, NaN lost, 70 exactly in time
    d = np.array([12.0, 10.0, 11.0, 50.0, 75.0, 70.0, np.nan])
    out = buffers.fixed(d, 3, 60.0)
    assert list(out.played) == [True, True, True, True, False, True, False]
    assert np.all(out.delay_ms == 70.0)


def test_adaptive_buffer_ramjee_algorithm_1():
    # constant delay: d = 40, v = 0: plays at 40 and loses nothing
    d = np.full(100, 40.0)
    out = buffers.adaptive(d, 50, np.zeros(100, dtype=bool))
    assert np.allclose(out.delay_ms, 40.0) and out.played.all()
    # 10, 20, 30 ms: d1 = 10, v1 = 0; d2 = a 10 + (1 - a) 20, v2 = (1 - a) |d2 - 20|; d3, v3 likewise with 30
    a = 0.998002
    d2 = a * 10 + (1 - a) * 20
    v2 = (1 - a) * abs(d2 - 20)
    d3 = a * d2 + (1 - a) * 30
    v3 = a * v2 + (1 - a) * abs(d3 - 30)
    out = buffers.adaptive(np.array([10.0, 20.0, 30.0]), 0, np.array([True, False, True]))
    assert out.delay_ms[0] == pytest.approx(10.0) and out.delay_ms[1] == pytest.approx(10.0)  # set per talkspurt
    assert out.delay_ms[2] == pytest.approx(d3 + 4 * v3)  # p_i = d_i + 4 v_i at a talkspurt's first packet
    assert list(out.played) == [True, False, False]


def test_talkspurts_after_pauses():
    frames = np.zeros((40, 160))
    frames[2:8] = 1000.0  # speech, then 12 frames of silence, then speech again after only 5
    frames[20:25] = 1000.0
    frames[30:35] = 1000.0
    starts = buffers.talkspurts(frames)
    assert list(np.flatnonzero(starts)) == [2, 20]


def test_plc_pitch_and_replication():
    t = np.arange(160 * 10)
    sine = 8000.0 * np.sin(2 * np.pi * t / 80.0)  # 100 Hz: an 80-sample period
    assert plc.find_pitch(sine[:800]) == 80
    frames = sine.reshape(10, 160)
    received = np.ones(10, dtype=bool)
    received[5] = False
    out = plc.conceal(frames, received)
    lost = slice(5 * 160, 6 * 160)
    # the first 10 ms replicate the period, then the attenuation begins: close to the sine at first
    assert np.max(np.abs(out[lost][:80] - sine[lost][:80])) < 400.0
    assert np.max(np.abs(out[lost])) <= 8000.0 + 1e-6
    # a long erasure falls silent after 60 ms
    received[2:9] = False
    out = plc.conceal(frames, received)
    assert np.all(out[2 * 160 + 480 : 9 * 160] == 0.0)
