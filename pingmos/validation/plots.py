"""The study's figures (matplotlib, no display needed): predicted against true MOS per model and buffer, and the
error per factor of the path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from pingmos.validation.study import BUFFERS, Outcome  # noqa: E402

FACTORS = ("loss", "jitter", "base", "asymmetry")


def _caption_in(caption: str) -> float:
    """Height (inches) the caption takes under the panels."""
    return 0.11 * (caption.count("\n") + 1) + 0.05 if caption else 0.0


def _layout(fig, caption: str) -> None:
    """Panels above, then what every MOS in the figure assumed (codec, buffers, each model's settings), small."""
    bottom = _caption_in(caption) / fig.get_figheight()
    fig.tight_layout(rect=(0.0, bottom, 1.0, 1.0))
    if caption:
        fig.text(0.005, 0.005, caption, fontsize=6.5, va="bottom", ha="left", color="#333333")


def scatter(outcomes: Sequence[Outcome], path: Path, caption: str = "") -> Path:
    """One panel per model, rows per buffer: predicted (y) against true (x) MOS; held-out filled, training open;
    ``caption``: what the MOS figures assumed (``study.assumptions_text``)."""
    names = list(outcomes[0].predicted)
    height = 6.2 + _caption_in(caption)
    fig, axes = plt.subplots(len(BUFFERS), len(names), figsize=(3.0 * len(names), height), squeeze=False)
    for row, buffer in enumerate(BUFFERS):
        for col, name in enumerate(names):
            ax = axes[row][col]
            for split, style in (("training", {"facecolors": "none"}), ("held-out", {})):
                chosen = [o for o in outcomes if o.split == split]
                ax.scatter(
                    [o.truth_mos[buffer] for o in chosen],
                    [o.predicted[name][buffer] for o in chosen],
                    s=14,
                    edgecolors="tab:blue",
                    label=split,
                    **style,
                )
            ax.plot([1, 4.5], [1, 4.5], color="grey", lw=0.8)
            ax.set_xlim(1, 4.6)
            ax.set_ylim(1, 4.6)
            ax.set_title(f"{name}\n{buffer} buffer", fontsize=9)
            if row == len(BUFFERS) - 1:
                ax.set_xlabel("call MOS (PESQ + Idd)", fontsize=8)
            if col == 0:
                ax.set_ylabel("model MOS from pings", fontsize=8)
            ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7, loc="upper left")
    _layout(fig, caption)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def per_factor(outcomes: Sequence[Outcome], path: Path, caption: str = "") -> Path:
    """Mean absolute error per level of each factor (loss model, delay-variation kind, base delay, asymmetry),
    one bar per model, both buffers pooled; ``caption`` as for ``scatter``."""
    names = list(outcomes[0].predicted)
    height = 3.6 + _caption_in(caption)
    fig, axes = plt.subplots(1, len(FACTORS), figsize=(4.2 * len(FACTORS), height), squeeze=False)
    for k, factor in enumerate(FACTORS):
        ax = axes[0][k]
        levels = sorted({o.condition.tags.get(factor, "?") for o in outcomes}, key=_level_key)
        width = 0.8 / len(names)
        for m, name in enumerate(names):
            maes = []
            for level in levels:
                chosen = [o for o in outcomes if o.condition.tags.get(factor, "?") == level]
                errs = [abs(o.predicted[name][b] - o.truth_mos[b]) for o in chosen for b in BUFFERS]
                maes.append(float(np.mean(errs)) if errs else 0.0)
            ax.bar(np.arange(len(levels)) + m * width, maes, width, label=name)
        ax.set_xticks(np.arange(len(levels)) + 0.4 - width / 2)
        ax.set_xticklabels(levels, rotation=45, fontsize=7)
        ax.set_title(f"error by {factor}", fontsize=9)
        ax.set_ylabel("MAE (MOS)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7)
    _layout(fig, caption)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _level_key(level: str):
    try:
        return (0, float(level), "")
    except ValueError:
        return (1, 0.0, level)
