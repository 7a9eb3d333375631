"""The calculator and the model list of the command line (``pingmos score``, ``pingmos models``): parsing their
input and turning their results into text or JSON. Pure functions; ``pingmos/cli.py`` wires them to argparse.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from pingmos.input_files import decimal_text
from pingmos.scoring import DEFAULT_MODEL
from pingmos.scoring.model import ModelError, ModelInfo, Result
from pingmos.scoring.score import Score
from pingmos.scoring.window import HopWindow

LOST_MARKS = frozenset({"x", "X", "-", "*", "?"})


# As --latency's limit (cli.MAX_MS): 1000 s, far beyond any round trip; 1e308 overflowed the formulas' sums.
MAX_SAMPLE_MS = 1e6


def parse_samples(text: str) -> HopWindow:
    """``"136,184,x,148"`` (ms, oldest first; ``x`` for a lost sample) to a window; ValueError saying what is wrong."""
    items = [item.strip() for item in text.replace(";", ",").split(",")]
    if not text.strip() or any(item == "" for item in items):
        raise ValueError(f"--samples takes numbers separated by commas, x for a lost sample, not {text!r}")
    rtts: list[float | None] = []
    for item in items:
        if item in LOST_MARKS:
            rtts.append(None)
            continue
        try:
            value = decimal_text(item)  # ASCII digits only, as every number option
        except ValueError:
            raise ValueError(f"--samples: {item!r} is neither a latency in ms nor x (lost)") from None
        if not math.isfinite(value) or value < 0.0:
            raise ValueError(f"--samples: {item!r} is not a latency (a number >= 0 ms)")
        if value > MAX_SAMPLE_MS:
            raise ValueError(f"--samples: {item} ms is more than the {MAX_SAMPLE_MS:.0f} ms a latency may be")
        rtts.append(value)
    return HopWindow.from_rtts(rtts)


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def window_summary(window: HopWindow, definition: str) -> dict[str, object]:
    """The input numbers a user checks a formula against (ms, %), rounded to microseconds."""
    out: dict[str, object] = {} if window.is_summary else {"sent": window.sent, "received": window.received}
    out |= {
        "loss_pct": _round(window.loss_pct),
        "avg_ms": _round(window.avg_ms),
        "median_ms": _round(window.median_ms),
        "jitter_definition": definition,
        "jitter_ms": _round(window.jitter_ms_for(definition)),
        "jitter_stdev_ms": _round(window.jitter_stdev_ms_for(definition)),
    }
    if window.rtts_ms:
        out["samples_ms"] = list(window.rtts_ms)
    return out


def score_json(name: str, settings: dict[str, object], window: HopWindow, result: Result) -> str:
    """``pingmos score --format json``: model, settings, input, and r/mos/detail or error."""
    doc: dict[str, object] = {
        "model": name,
        "settings": settings,
        "input": window_summary(window, str(settings.get("jitter", "pingplotter"))),
    }
    if isinstance(result, Score):
        detail = {k: round(v, 6) for k, v in result.detail.items()}
        doc.update(r=round(result.r, 3), mos=round(result.mos, 3), detail=detail)
    elif isinstance(result, ModelError):
        doc.update(r=None, mos=None, error={"file": result.file, "line": result.line, "message": result.message})
    else:
        message = "no probe sent: nothing to score"
        doc.update(r=None, mos=None, error={"file": None, "line": None, "message": message})
    return json.dumps(doc, indent=2) + "\n"


def score_text(name: str, settings: dict[str, object], window: HopWindow, result: Result, verbose: bool) -> str:
    """``pingmos score``: one line with R and MOS; with ``verbose`` the input numbers and every detail term."""
    lines = []
    if verbose:
        shown = ", ".join(f"{k}={v}" for k, v in settings.items()) or "no settings"
        lines.append(f"model {name} ({shown})")
        for key, value in window_summary(window, str(settings.get("jitter", "pingplotter"))).items():
            lines.append(f"  {key:<18} {_fmt(value)}")
    if isinstance(result, Score):
        lines.append(f"R {result.r:.3f}  MOS {result.mos:.3f}")
        if verbose:
            width = max((len(k) for k in result.detail), default=0)
            lines += [f"  {key:<{width}}  {value:.6g}" for key, value in result.detail.items()]
            lines += [f"  {line}" for line in detail_sums(result.detail)]
    elif result is None:
        lines.append("no probe sent: nothing to score")
    # A ModelError is no line of the output: the caller says it on stderr (failure_line), so that a script
    # reading "R ...  MOS ..." from stdout never reads the error as a result.
    return "\n".join(lines) + "\n" if lines else ""


def detail_sums(detail: dict[str, float]) -> list[str]:
    """How G.107's detail terms add up to R, for the terms a model gives (none: no line): so that ``score -v`` can
    be checked by hand (the E-model's names, ITU-T G.107: Ro, Is, Id = Idte + Idle + Idd, Ie-eff, A)."""
    if not {"ro", "is", "id", "ie_eff", "a", "r_unclamped"} <= detail.keys():
        return []
    lines = ["R = ro - is - id - ie_eff + a = r_unclamped, kept within 0-100 (0-129 wideband); id = idte + idle + idd"]
    if {"ie_eff_a", "ie_eff_b", "ppl_a_pct", "ppl_b_pct", "network_loss_weight", "late_loss_weight"} <= detail.keys():
        lines += [
            "ie_eff = (ie_eff_a + ie_eff_b) / 2, the call's two listeners (a: the one whose direction queues when one"
            " does); ie_eff_x = ie + (95 - ie) ppl_x_pct / (ppl_x_pct + bpl)",
            "ppl_x_pct = network_loss_weight x loss_x_pct + late_loss_weight x late_loss_x_pct (at most 100); loss_a"
            " = share x the round trip's loss + (1 - share) x (1 - sqrt(1 - loss)), loss_b = the second term"
            " (share = loss_one_direction_share)",
        ]
    return lines


def failure_line(result: Result) -> str | None:
    """``pingmos score``'s one line for stderr when the model failed (file, line and message), else None."""
    return f"model failed: {result}" if isinstance(result, ModelError) else None


def _fmt(value: object) -> str:
    if isinstance(value, list):
        return ",".join("x" if v is None else f"{v:g}" for v in value)
    if value is None:
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)


def models_json(infos: Sequence[ModelInfo], folder: str) -> str:
    """``pingmos models --format json``; ``default_model`` names the model used when none is given."""
    doc = {
        "user_scoring_dir": folder,
        "default_model": DEFAULT_MODEL,
        "models": [
            {
                "name": i.name,
                "title": i.title,
                "origin": i.origin,
                "path": i.path,
                "error": str(i.error) if i.error else None,
                "settings": [
                    {
                        "name": s.name,
                        "type": s.kind,
                        "default": s.default,
                        "min": s.min,
                        "max": s.max,
                        "choices": list(s.choices),
                        "auto": s.allow_auto,
                        "help": s.help,
                    }
                    for s in i.settings
                ],
            }
            for i in infos
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def models_text(infos: Sequence[ModelInfo], folder: str) -> str:
    """``pingmos models``: each model, where it was loaded from (the default model says so: listed in registry
    order, it is not the first), and its settings with type, range and default."""
    lines = []
    for info in infos:
        default = ", the default" if info.name == DEFAULT_MODEL else ""
        lines.append(f"{info.name}  ({info.origin}{default})  {info.title}")
        lines.append(f"    from {info.path or '?'}")
        if info.error:
            lines.append(f"    cannot be used: {info.error}")
        for s in info.settings:
            lines.append(f"    --set {s.name}=...  {s.describe()}" + (f"  {s.help}" if s.help else ""))
    lines.append(f"your scoring folder: {folder}  (pingmos models --copy NAME puts an editable copy there)")
    return "\n".join(lines) + "\n"
