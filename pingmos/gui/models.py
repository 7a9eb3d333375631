"""The GUI's view of the scoring models (``pingmos.scoring``): which exist, their settings, a batch scorer for the
live trace, and the formula file behind "Edit formula…". No Qt here.

Everything that may run a user's formula (``LoadedModel.score_many``, ``check_formula``) blocks for up to the
scoring worker's deadline: call it from a worker thread, never from the GUI thread.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pingmos import scoring
from pingmos.scoring import ModelError, Score

DEFAULT_MODEL = scoring.DEFAULT_MODEL


@dataclass(frozen=True)
class SettingSpec:
    """One model setting as the toolbar shows it: a list of choices, or a number within min..max."""

    name: str
    default: object
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    description: str
    settings: tuple[SettingSpec, ...] = ()
    origin: str = "built-in"
    path: str | None = None
    error: str | None = None


def _spec(s) -> SettingSpec:
    default = s.default
    if isinstance(default, float) and default.is_integer():
        default = int(default)
    return SettingSpec(s.name, default, tuple(s.choices), s.min, s.max, s.help or s.describe())


def available_models() -> list[ModelInfo]:
    """Every model pingmos knows (built-ins, the user's scoring folder, installed packages). Reads a few small
    files and never runs code."""
    out = []
    for info in scoring.available_models():
        out.append(
            ModelInfo(
                name=info.name,
                description=info.title or info.description,
                settings=tuple(_spec(s) for s in info.settings),
                origin=info.origin,
                path=info.path,
                error=str(info.error) if info.error else None,
            )
        )
    return out


def result_for_hop(result: object) -> Score | scoring.ModelError | str | None:
    """A model's result as the live trace stores it: the Score, the ModelError (kept whole: it carries the last
    working version's score, shown beside the error), another error as text, or None (nothing to score)."""
    if isinstance(result, Score | scoring.ModelError) or result is None:
        return result
    return scoring.error_text(result) or str(result)


class LoadedModel:
    """A model with its settings, scoring a batch of windows at once (one worker round trip for a user script)."""

    def __init__(self, name: str, settings: dict[str, object]):
        self.name = name
        self._model = scoring.load_model(name, {k: v for k, v in settings.items() if v not in ("", None)})
        self.settings = dict(self._model.settings)

    def score_many(self, windows: Sequence[scoring.HopWindow]) -> list[Score | scoring.ModelError | str | None]:
        return [result_for_hop(r) for r in self._model.score_many(windows)]

    def close(self) -> None:
        self._model.close()


def load_model(name: str, settings: dict[str, object]) -> LoadedModel:
    """The model ``name`` with ``settings`` (text as typed); ValueError for an unknown model or a bad setting."""
    return LoadedModel(name, settings)


_generations: dict[str, int] = {}


def generation(name: str) -> int:
    """Bumped each time the model's formula is saved, so that a cached loaded model is loaded afresh."""
    return _generations.get(name, 0)


def formula_saved(name: str) -> None:
    _generations[name] = _generations.get(name, 0) + 1


# -- the formula file ----------------------------------------------------------------------------------------


def builtin_text(name: str) -> str | None:
    """The formula model ``name`` (or, for a user's copy, the one it was copied from) as a copy starts out:
    what Revert puts back. None when there is nothing to go back to (a user's formula written from scratch)."""
    try:
        return scoring.editable_source(name)
    except (OSError, ValueError):
        return None


def formula_for_editing(name: str) -> tuple[str, Path]:
    """The model whose file "Edit formula…" opens for model ``name``, and that file: a user's model is its own
    file; for a built-in, the user's existing copy of it or a new one (the built-in itself is never edited).
    ValueError when the model has no file."""
    path = scoring.user_copy_of(name) or scoring.create_user_copy(name)
    return path.stem, path


def save_formula(path: Path, text: str) -> None:
    """Write the formula atomically (a scorer reading it meanwhile sees the old or the new text, never half)."""
    fd, tmp = tempfile.mkstemp(prefix=".pingmos-", suffix=".py", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class CheckResult:
    """What Check shows: the score of the selected hop's window, or the error with its line."""

    score: Score | None = None
    error: str | None = None
    line: int | None = None
    received: int = 0
    sent: int = 0
    detail: dict[str, float] = field(default_factory=dict)


def check_formula(text: str, shown_path: str, settings: dict[str, object], rtts_ms: list[float | None]) -> CheckResult:
    """Score one window (``rtts_ms``, None = lost) with the formula ``text`` as if saved as ``shown_path``, without
    saving anything (``scoring.check_formula``: the worker process with its deadline). Errors name
    ``shown_path`` and the line. Blocks up to the deadline: not on the GUI thread."""
    window = scoring.HopWindow.from_rtts(rtts_ms)
    result = scoring.check_formula(text, shown_path, window, settings)
    if isinstance(result, ModelError):
        return CheckResult(error=result.message, line=result.line, received=window.received, sent=window.sent)
    if result is None:
        return CheckResult(error="the selected hop has no received sample to score", sent=window.sent)
    return CheckResult(score=result, received=window.received, sent=window.sent, detail=dict(result.detail))
