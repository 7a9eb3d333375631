"""Packet loss concealment in the style of ITU-T G.711 Appendix I (pitch waveform replication).

What it does, after Appendix I (section I.2):

- Pitch: the period that maximises the normalised cross-correlation of the last 20 ms of history with the history
  before it, searched over 5-15 ms (40-120 samples at 8 kHz), as Appendix I does (it refines a 2:1 decimated
  search; here the search is done at full rate, which finds the same maximum).
- First lost 10 ms: the last pitch period is repeated; the join with the received signal is smoothed by an
  overlap-add over a quarter of the period (Appendix I delays its output 3.75 ms to have those samples; an offline
  simulation changes the already-output tail instead, which is the same signal).
- Longer erasures: 2 and then 3 pitch periods of history are cycled (from the second and the third 10 ms on), and
  the signal is attenuated linearly by 20 % per 10 ms from the second 10 ms on, so that it is silent after 60 ms.
- First received frame after an erasure: an overlap-add of the continued synthetic signal into the real one over 4
  ms, plus 4 ms for every further 10 ms of erasure, at most 10 ms.

``conceal(frames_pcm, received)``: frames (n, 160) float or int samples, and a bool per frame; returns the played
signal (float64, length n*160) with lost frames synthesised.
"""

from __future__ import annotations

import numpy as np

FRAME = 160
SUB = 80  # 10 ms
PITCH_MIN = 40  # 5 ms
PITCH_MAX = 120  # 15 ms
HISTORY = 390  # 48.75 ms, Appendix I's history buffer
CORR_LEN = 160  # 20 ms correlation window
ATTEN_PER_SUB = 0.2


def find_pitch(history: np.ndarray) -> int:
    """Pitch period (samples, 40-120) of the end of ``history`` by normalised cross-correlation."""
    h = np.asarray(history, dtype=np.float64)
    if len(h) < CORR_LEN + PITCH_MAX:
        return PITCH_MAX
    target = h[-CORR_LEN:]
    # Candidate p is h[-CORR_LEN - p : -p]: row p - PITCH_MIN of the windows, read backwards from the end.
    span = h[-CORR_LEN - PITCH_MAX : -PITCH_MIN]
    windows = np.lib.stride_tricks.sliding_window_view(span, CORR_LEN)[::-1]
    energy = np.einsum("ij,ij->i", windows, windows)
    dots = windows @ target
    valid = energy > 0.0
    if not valid.any():
        return PITCH_MAX
    score = np.where(valid, dots / np.sqrt(np.where(valid, energy, 1.0)), -np.inf)
    return PITCH_MIN + int(np.argmax(score))  # the first of equal maxima, as a loop from PITCH_MIN up keeps


class _Synth:
    """The synthetic continuation of one erasure: cycles 1, then 2, then 3 pitch periods, attenuating."""

    def __init__(self, history: np.ndarray) -> None:
        h = np.asarray(history, dtype=np.float64)
        # At the very start there is less history than three periods: the missing past is silence.
        self.history = np.concatenate([np.zeros(max(0, HISTORY - len(h))), h])
        self.pitch = find_pitch(self.history)
        self.n = 0  # samples synthesised so far
        self.pos = 0

    def take(self, count: int) -> np.ndarray:
        n = self.n + np.arange(count)
        periods = np.where(n < SUB, 1, np.where(n < 2 * SUB, 2, 3))
        length = periods * self.pitch
        pos = self.pos + np.arange(count)
        # buffer[pos % len] with buffer = history[-len:]
        out = self.history[len(self.history) - length + pos % length]
        gain = np.where(n < SUB, 1.0, np.maximum(0.0, 1.0 - ATTEN_PER_SUB * (n - SUB) / SUB))
        self.pos += count
        self.n += count
        return out * gain


def conceal(frames_pcm: np.ndarray, received: np.ndarray) -> np.ndarray:
    """The played signal: received frames as they are, lost frames concealed (see the module docstring)."""
    frames_pcm = np.asarray(frames_pcm, dtype=np.float64)
    n = len(frames_pcm)
    out = np.zeros(n * FRAME)
    synth: _Synth | None = None
    for k in range(n):
        start = k * FRAME
        if received[k]:
            frame = frames_pcm[k].copy()
            if synth is not None:
                erased = synth.n
                ola = min(SUB, 32 + 32 * max(0, (erased - SUB) // SUB))
                if erased < 6 * SUB:  # after 60 ms the synthetic signal is silence: nothing to blend
                    tail = synth.take(ola)
                    w = np.linspace(0.0, 1.0, ola, endpoint=False)
                    frame[:ola] = w * frame[:ola] + (1.0 - w) * tail
                synth = None
            out[start : start + FRAME] = frame
            continue
        if synth is None:
            synth = _Synth(out[max(0, start - HISTORY) : start])
            quarter = max(1, synth.pitch // 4)
            # Overlap-add the join: the last quarter period fades into the replicated waveform.
            if start >= quarter:
                prev = synth.history[-synth.pitch - quarter : -synth.pitch]
                w = np.linspace(0.0, 1.0, quarter, endpoint=False)
                out[start - quarter : start] = (1.0 - w) * out[start - quarter : start] + w * prev
        out[start : start + FRAME] = synth.take(FRAME)
    return out
