"""Reference speech: sentences spoken by espeak-ng in several voices, resampled by sox to 8 kHz 16-bit mono.

The sentences are from the IEEE 1969 "Harvard" lists (IEEE Recommended Practice for Speech Quality Measurements,
lists 1-2), the usual material of listening tests; every reference holds three of them (6-9 s, within P.862's
recommended 8-12 s of speech with pauses). espeak-ng and sox are Debian packages (scripts/setup_env installs them);
``SpeechError`` says which is missing. sox runs without dither (``-D``) so the files are the same on every run.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
)
# espeak-ng voices (language + variant): male and female, American, British, Scottish, Caribbean.
VOICES = ("en-us", "en-gb+f3", "en-gb-scotland", "en-us+f2", "en-029+m3")
RATE_HZ = 8000


class SpeechError(RuntimeError):
    """espeak-ng or sox is missing or failed (the message says which and what to install)."""


def _run(cmd: list[str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise SpeechError(f"{cmd[0]} is not installed: run 'bash scripts/setup_env' as root (Debian package {cmd[0]})")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SpeechError(f"{cmd[0]} failed: {done.stderr.strip()[:200]}")


def synthesize(text: str, voice: str, workdir: Path) -> np.ndarray:
    """``text`` spoken by espeak-ng ``voice``, as int16 samples at 8 kHz."""
    raw = workdir / "raw.wav"
    out = workdir / "8k.wav"
    _run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text])
    _run(["sox", str(raw), "-D", "-b", "16", "-c", "1", "-r", str(RATE_HZ), str(out), "norm", "-3"])
    with wave.open(str(out), "rb") as w:
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.int16)


def references(count: int) -> list[tuple[str, np.ndarray]]:
    """``count`` references: (label, int16 samples at 8 kHz), three sentences each, voices in turn."""
    refs = []
    with tempfile.TemporaryDirectory(prefix="pingmos-speech-") as tmp:
        for i in range(count):
            picks = [SENTENCES[(3 * i + j) % len(SENTENCES)] for j in range(3)]
            voice = VOICES[i % len(VOICES)]
            pcm = synthesize(" ".join(picks), voice, Path(tmp))
            # Half a second of silence around the speech, as P.862 recordings have.
            pad = np.zeros(RATE_HZ // 2, dtype=np.int16)
            refs.append((f"{voice}: {picks[0][:24]}...", np.concatenate([pad, pcm, pad])))
    return refs
