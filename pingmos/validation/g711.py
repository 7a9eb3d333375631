"""ITU-T G.711 mu-law: 16-bit linear PCM to 8-bit codes and back, as the standard's segment tables give them.

Arrays are numpy: ``encode(pcm)`` takes int16 (or anything castable) samples and gives uint8 codes; ``decode``
the inverse, int16. The encoder uses the bias-33 form (14-bit magnitude + 33, the segment is the position of the
highest set bit), as Sun's reference g711.c (the one Python's audioop and sox use) does; the tests check it
against audioop bit for bit.
"""

from __future__ import annotations

import numpy as np

BIAS = 0x84  # 132 = 33 << 2: the bias on the 16-bit scale
BIAS_14 = 33  # the same on the 14-bit scale
CLIP_14 = 8159
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
SAMPLE_RATE_HZ = 8000


def encode(pcm: np.ndarray) -> np.ndarray:
    """mu-law codes (uint8) of 16-bit linear samples (on the 14-bit scale of G.711, as Sun's g711.c does it:
    an arithmetic shift by 2, so a negative sample rounds towards minus infinity)."""
    x = np.asarray(pcm, dtype=np.int32) >> 2
    negative = x < 0
    mag = np.minimum(np.where(negative, -x, x), CLIP_14) + BIAS_14
    raw_segment = np.floor(np.log2(mag)).astype(np.int32) - 5
    segment = np.clip(raw_segment, 0, 7)
    mantissa = (mag >> (segment + 1)) & 0x0F
    value = np.where(raw_segment > 7, 0x7F, (segment << 4) | mantissa)  # beyond the top segment: the largest code
    return np.where(negative, value ^ 0x7F, value ^ 0xFF).astype(np.uint8)


def decode(codes: np.ndarray) -> np.ndarray:
    """16-bit linear samples (int16) of mu-law codes."""
    c = ~np.asarray(codes, dtype=np.int32) & 0xFF
    sign = c & 0x80
    exponent = (c >> 4) & 0x07
    mantissa = c & 0x0F
    mag = (((mantissa << 3) + BIAS) << exponent) - BIAS
    return np.where(sign != 0, -mag, mag).astype(np.int16)


def frames(pcm: np.ndarray) -> np.ndarray:
    """The signal cut into 20 ms frames of 160 samples, shape (n_frames, 160); the tail padded with zeros."""
    x = np.asarray(pcm)
    n = -(-len(x) // FRAME_SAMPLES)
    out = np.zeros(n * FRAME_SAMPLES, dtype=x.dtype)
    out[: len(x)] = x
    return out.reshape(n, FRAME_SAMPLES)
