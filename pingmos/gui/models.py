"""The GUI's view of the scoring models (``pingmos.scoring``): which exist, their settings, a batch scorer for the
live trace, and the formula file behind "Edit formula…". No Qt here.

Everything that may run a user's formula (``LoadedModel.score_many``, ``check_formula``) blocks for up to the
scoring worker's deadline: call it from a worker thread, never from the GUI thread.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pingmos import scoring
from pingmos.scoring import ModelError, Score
from pingmos.stats import WindowStats, window_stats

DEFAULT_MODEL = scoring.DEFAULT_MODEL
# A built-in formula file ends with pingmos-internal code after this line; a user's copy leaves it out.
INTERNAL_MARKER = "# ---- pingmos internal"


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


def result_for_hop(result: object) -> Score | str | None:
    """A model's result as the live trace stores it: the Score, an error's text (``file:line: message``), or
    None (nothing to score)."""
    if isinstance(result, Score) or result is None:
        return result
    return scoring.error_text(result) or str(result)


class LoadedModel:
    """A model with its settings, scoring a batch of windows at once (one worker round trip for a user script)."""

    def __init__(self, name: str, settings: dict[str, object]):
        self.name = name
        self._model = scoring.load_model(name, {k: v for k, v in settings.items() if v not in ("", None)})
        self.settings = dict(self._model.settings)

    def score_many(self, windows: Sequence[WindowStats]) -> list[Score | str | None]:
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


def base_model_of(name: str) -> str:
    """The model a user's copy was made from: my_pingplotter and my_pingplotter_2 come from pingplotter."""
    match = re.fullmatch(r"my_(.+?)(?:_\d+)?", name)
    return match.group(1) if match else name


def builtin_text(name: str) -> str | None:
    """The shipped formula ``name`` (or, for a user's copy, the one it was copied from) as a copy starts out:
    without the pingmos-internal tail. None when there is no shipped file to go back to."""
    infos = {i.name: i for i in available_models()}
    for candidate in (name, base_model_of(name)):
        info = infos.get(candidate)
        if info is not None and info.origin != "user" and info.path:
            text = Path(info.path).read_text(encoding="utf-8")
            cut = text.find("\n" + INTERNAL_MARKER)
            return text[: cut + 1].rstrip() + "\n" if cut >= 0 else text
    return None


def formula_for_editing(name: str) -> tuple[str, Path]:
    """The model whose file "Edit formula…" opens for model ``name``, and that file: a user's model is its own
    file; for a built-in, the user's existing copy ``my_<name>`` or a new one (the built-in itself is never
    edited). ValueError when the model has no file."""
    infos = {i.name: i for i in available_models()}
    info = infos.get(name)
    if info is not None and info.origin == "user" and info.path:
        return name, Path(info.path)
    copy = infos.get(f"my_{name}")
    if copy is not None and copy.origin == "user" and copy.path:
        return copy.name, Path(copy.path)
    path = scoring.create_user_copy(name)
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
    """Compile the formula ``text`` and score one window with it, without saving anything.

    The text runs the way a saved formula would: in the scoring worker process, with its deadline. Errors name
    ``shown_path`` (the file the user edits) and the line. Blocks up to the deadline: not on the GUI thread.
    """
    from pingmos.scoring.model import ModelInfo as ScoringModelInfo
    from pingmos.scoring.script_model import ScriptModel
    from pingmos.scoring.script_source import read_declared

    window = window_stats(rtts_ms)
    folder = tempfile.mkdtemp(prefix="pingmos-check-")
    try:
        path = os.path.join(folder, Path(shown_path).name)
        Path(path).write_text(text, encoding="utf-8")

        def fix(error: ModelError) -> CheckResult:
            message = error.message.replace(path, shown_path).replace(folder, str(Path(shown_path).parent))
            return CheckResult(error=message, line=error.line, received=window.received, sent=window.sent)

        declared = read_declared(path, text)
        if isinstance(declared, ModelError):
            return fix(declared)
        info = ScoringModelInfo(
            name=Path(shown_path).stem, title=declared.title, settings=declared.settings, origin="user", path=path
        )
        known = {s.name for s in declared.settings}
        given = {k: v for k, v in settings.items() if k in known and v not in ("", None)}
        try:
            model = ScriptModel(info, given)
        except ValueError as exc:
            return CheckResult(error=str(exc), received=window.received, sent=window.sent)
        try:
            result = model.score(window)
        finally:
            model.close()
        if isinstance(result, ModelError):
            return fix(result)
        if result is None:
            return CheckResult(error="the selected hop has no received sample to score", sent=window.sent)
        return CheckResult(score=result, received=window.received, sent=window.sent, detail=dict(result.detail))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
