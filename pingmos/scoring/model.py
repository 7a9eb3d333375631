"""The model interface every scoring model offers, what describes one (``ModelInfo``), the error value a failing
model gives (``ModelError``), and the check every formula's result goes through.

A model scores one hop's window (``score``) or all hops of one update at once (``score_many``: a user script runs
in a worker process, and a batch costs one round trip). Either way it never raises for a failing formula: the hop
gets a :class:`ModelError` saying where and why, unless the model was loaded with ``raising=True`` (tests), when
:class:`ModelFailure` is raised instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pingmos.scoring.score import ALL_LOST, Score, all_lost
from pingmos.scoring.settings import Setting
from pingmos.scoring.window import HopWindow

# What a formula may return. R above 100 exists on the wideband scale (Ro = 129); well above that is a bug.
R_MIN = 0.0
R_MAX = 150.0
MOS_MIN = 1.0
MOS_MAX = 4.5


@dataclass(frozen=True)
class ModelError:
    """Why a model could not score: the file and line (None when unknown) and a message for the user.

    ``fallback`` is what the last version of a user script that loaded gave for this hop while the current
    version does not load (a syntax error half-way through an edit): a front end may show it beside the error.
    It is never passed off as the score.
    """

    file: str
    line: int | None
    message: str
    fallback: Score | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"


class ModelFailure(Exception):
    """Raised instead of returning a ModelError when a model was loaded with ``raising=True``."""

    def __init__(self, error: ModelError) -> None:
        super().__init__(str(error))
        self.error = error


# Where a model comes from (ModelInfo.origin; an entry point's is followed by its distribution's name).
ORIGIN_BUILTIN = "built-in"
ORIGIN_USER = "user"
ORIGIN_ENTRY_POINT = "entry point"

# What scoring one window gives: a Score, a ModelError, or None when the window has no received sample.
Result = Score | ModelError | None
# Who scores windows, in the two shapes the snapshot builder, the alert rules and the MOS interval take: one window
# at a time (a Model is one: ``model(window)``), or a batch at once (``Model.score_many``: one worker round trip for
# a user's formula). A front end may give a failure as its text (str) instead of a ModelError.
Scorer = Callable[[HopWindow], "Result | str"]
BatchScorer = Callable[[Sequence[HopWindow]], "Sequence[Result | str]"]


@dataclass(frozen=True)
class ModelInfo:
    """What the model list shows of one model, known without running any of its code.

    - ``name``: what ``--model`` and ``load_model`` take; ``title``: its docstring's first line;
    - ``settings``: the declared settings (type, default, range or choices, help);
    - ``origin``: ``built-in``, ``user`` (a file in the user's scoring folder) or ``entry point <distribution>``;
    - ``path``: the file the formula is in (None if unknown);
    - ``error``: why the model cannot be used (a SETTINGS that is not plain data, a name taken by a built-in).
    """

    name: str
    title: str
    settings: tuple[Setting, ...]
    origin: str
    path: str | None
    error: ModelError | None = None
    description: str = ""
    module: str | None = field(default=None, repr=False)  # importable module name (built-ins, entry points)

    def setting(self, name: str) -> Setting | None:
        return next((s for s in self.settings if s.name == name), None)


def check_result(raw: object, file: str, line: int | None) -> Score | ModelError:
    """Turn what a formula returned into a Score, or a ModelError saying what is wrong with it.

    Accepted: a Score, ``(r, mos)`` or ``(r, mos, detail)`` with detail a dict of name to number. R must be a
    finite number within 0..150, MOS within 1..4.5, detail values finite numbers (or None, dropped).
    """
    if isinstance(raw, Score):
        r, mos, detail = raw.r, raw.mos, raw.detail
    elif isinstance(raw, tuple | list) and len(raw) in (2, 3):
        r, mos = raw[0], raw[1]
        detail = raw[2] if len(raw) == 3 else {}
    elif raw is None:
        return ModelError(file, line, "score_hop() returned nothing; end it with: return r, mos, detail")
    else:
        return ModelError(file, line, f"score_hop() must return (r, mos) or (r, mos, detail), not {raw!r:.80}")
    # float() would read "90" and b"4" as numbers: text is the wrong type, as a bool is.
    if isinstance(r, bool | str | bytes | bytearray) or isinstance(mos, bool | str | bytes | bytearray):
        return ModelError(file, line, f"R and MOS must be numbers, not {r!r:.40} and {mos!r:.40}")
    try:
        r = float(r)  # type: ignore[arg-type]
        mos = float(mos)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ModelError(file, line, f"R and MOS must be numbers, not {r!r:.40} and {mos!r:.40}")
    if not math.isfinite(r) or not math.isfinite(mos):
        return ModelError(file, line, f"score_hop() gave a result that is not a number: R {r}, MOS {mos}")
    if not R_MIN <= r <= R_MAX:
        return ModelError(file, line, f"R {r:.6g} is out of range ({R_MIN:g}..{R_MAX:g})")
    if not MOS_MIN <= mos <= MOS_MAX:
        return ModelError(file, line, f"MOS {mos:.6g} is out of range ({MOS_MIN:g}..{MOS_MAX:g})")
    if not isinstance(detail, Mapping):
        return ModelError(file, line, f"detail must be a dict of name to number, not {detail!r:.80}")
    clean: dict[str, float] = {}
    for key, value in detail.items():
        if value is None:
            continue
        try:
            if isinstance(value, bool | str | bytes | bytearray):
                raise TypeError
            number = float(value)
        except (TypeError, ValueError):
            return ModelError(file, line, f"detail {key!r} must be a number, not {value!r:.40}")
        if not math.isfinite(number):
            return ModelError(file, line, f"detail {key!r} is not a finite number: {number}")
        clean[str(key)] = number
    return Score(r=r, mos=mos, detail=clean)


class Model:
    """A loaded model with its effective settings. See ``pingmos.scoring`` for the contract.

    ``score``/``score_many`` take ``HopWindow``s and give per window a Score, a ModelError,
    ALL_LOST (R 0, MOS 1) when every probe was lost, or None (nothing sent: nothing to score). Calling the model
    itself (``model(stats)``) is ``score``: a model is a ``Scorer`` for ``TraceState.snapshot``. Thread-safe;
    may block (user scripts: see ScriptModel).
    """

    def __init__(self, info: ModelInfo, settings: Mapping[str, object], raising: bool = False) -> None:
        self.info = info
        self.settings: dict[str, object] = dict(settings)
        self.raising = raising

    @property
    def name(self) -> str:
        return self.info.name

    def _score_hops(self, windows: Sequence[HopWindow]) -> list[Score | ModelError]:
        raise NotImplementedError

    def score_many(self, windows: Sequence[HopWindow]) -> list[Result]:
        """Score every window: ``ALL_LOST`` (R 0, MOS 1) for a window whose probes were all lost, None for a window
        with nothing sent, the model's answer otherwise. Raises only with ``raising=True``."""
        hop_windows = [w.for_scoring() for w in windows]
        todo = [i for i, w in enumerate(hop_windows) if w.received > 0]
        results: list[Result] = [ALL_LOST if all_lost(w) else None for w in hop_windows]
        if todo:
            for i, result in zip(todo, self._score_hops([hop_windows[i] for i in todo]), strict=True):
                results[i] = result
        if self.raising:
            for result in results:
                if isinstance(result, ModelError):
                    raise ModelFailure(result)
        return results

    def score(self, window: HopWindow) -> Result:
        """Score one window (see ``score_many``)."""
        return self.score_many([window])[0]

    __call__ = score

    def check(self) -> ModelError | None:
        """Why the model cannot score, as far as known without scoring (a user's file re-read: a syntax error
        shows at once after a save); None if nothing is known to be wrong. Never blocks on a formula."""
        return None

    def close(self) -> None:
        """Release what the model holds (a user script's worker process). Scoring again restarts it."""

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def score_all(scorer: object, windows: Sequence[HopWindow]) -> list[object]:
    """Score a batch of windows with a Model (one ``score_many`` call: one worker round trip for a user script)
    or with any callable taking one window. Results are whatever the scorer gives (Score, ModelError, str, None).
    """
    score_many = getattr(scorer, "score_many", None)
    if callable(score_many):
        return list(score_many(windows))
    return [ALL_LOST if all_lost(w) else scorer(w) for w in windows]  # type: ignore[operator]


def error_text(result: object) -> str | None:
    """What to show for a failed hop (``file:line: message``), or None when the result is not an error."""
    if isinstance(result, ModelError | str):
        return str(result)
    return None
