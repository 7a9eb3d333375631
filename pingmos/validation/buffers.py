"""Receive jitter buffers: which packets of a stream are played, and how long after they were sent.

Both take the stream's one-way network delays ``delay_ms`` (float64[n], NaN = lost in the network), packets sent
20 ms apart, of which the first ``warmup`` are the call before the part that is scored (so an adaptive estimate has
settled, as in a call that has been going on), and ``talkspurt_start`` (bool[n]) where the sender's speech resumes
after a pause. They return a ``Playout``: ``delay_ms`` (float64[n], the delay from sending to playing each packet's
frame) and ``played`` (bool[n]: received in time); a packet that arrives after its play-out time is lost as late.

- ``fixed(delay_ms, warmup, depth_ms)``: a fixed-depth buffer. It plays every packet ``depth_ms`` after the
  earliest arrival it saw during the warm-up (its estimate of the path's base delay), so its depth is
  ``depth_ms`` beyond the base delay.
- ``adaptive(delay_ms, warmup, talkspurt_start)``: Ramjee, Kurose, Towsley, Schulzrinne, "Adaptive playout
  mechanisms for packetized audio applications in wide-area networks", IEEE INFOCOM 1994, Algorithm 1: per received
  packet d = a d + (1 - a) n and v = a v + (1 - a) |d - n| (a = 0.998002), and at the first packet of each talkspurt
  the play-out delay becomes d + 4 v, kept for the whole talkspurt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

RAMJEE_ALPHA = 0.998002
RAMJEE_BETA = 4.0


@dataclass(frozen=True)
class Playout:
    """Per packet: ``delay_ms`` from sending to playing out, and ``played`` (arrived in time)."""

    delay_ms: np.ndarray
    played: np.ndarray

    def scored(self, warmup: int) -> Playout:
        """The part after the warm-up."""
        return Playout(self.delay_ms[warmup:], self.played[warmup:])


def fixed(delay_ms: np.ndarray, warmup: int, depth_ms: float) -> Playout:
    """Fixed buffer ``depth_ms`` beyond the earliest arrival of the warm-up (see the module docstring)."""
    d = np.asarray(delay_ms, dtype=np.float64)
    seen = d[:warmup] if warmup else d
    anchor = float(np.nanmin(seen)) if np.any(np.isfinite(seen)) else float(np.nanmin(d))
    playout = np.full(len(d), anchor + depth_ms)
    return Playout(playout, np.isfinite(d) & (d <= playout))


def adaptive(delay_ms: np.ndarray, warmup: int, talkspurt_start: np.ndarray) -> Playout:
    """Ramjee et al. 1994 Algorithm 1 (see the module docstring)."""
    d = np.asarray(delay_ms, dtype=np.float64)
    got = np.flatnonzero(np.isfinite(d))
    if len(got) == 0:
        return Playout(np.zeros(len(d)), np.zeros(len(d), dtype=bool))
    n = d[got]
    a = RAMJEE_ALPHA
    # The exponential averages over the received packets in order, started at the first packet's delay.
    d_hat, _ = lfilter([1.0 - a], [1.0, -a], n, zi=[a * n[0]])
    v_hat, _ = lfilter([1.0 - a], [1.0, -a], np.abs(d_hat - n), zi=[0.0])
    target = d_hat + RAMJEE_BETA * v_hat
    # The estimate known when packet i is due: that after the last packet received up to i.
    idx = np.searchsorted(got, np.arange(len(d)), side="right") - 1
    known = np.where(idx >= 0, target[np.maximum(idx, 0)], n[0])
    playout = np.empty(len(d))
    current = known[0]
    starts = np.asarray(talkspurt_start, dtype=bool)
    for i in range(len(d)):
        if i == 0 or starts[i]:
            current = known[i]
        playout[i] = current
    return Playout(playout, np.isfinite(d) & (d <= playout))


def talkspurts(frames_pcm: np.ndarray, silence_db: float = -35.0, min_pause_frames: int = 10) -> np.ndarray:
    """Talkspurt starts (bool per frame) of a reference: the first active frame after at least
    ``min_pause_frames`` (200 ms) of frames quieter than ``silence_db`` below the loudest frame."""
    energy = np.mean(np.asarray(frames_pcm, dtype=np.float64) ** 2, axis=1) + 1e-9
    active = 10.0 * np.log10(energy / energy.max()) > silence_db
    starts = np.zeros(len(active), dtype=bool)
    quiet = min_pause_frames
    for i, on in enumerate(active):
        if on and quiet >= min_pause_frames:
            starts[i] = True
        quiet = 0 if on else quiet + 1
    return starts
