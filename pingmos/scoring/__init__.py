"""Scoring models: turn one hop's window of samples into an R factor and a MOS, and say why.

Where things are, by role:

- ``formulas/``: the MOS formulas, one file per built-in model (``g107_jb.py`` is the default); the files a user
  copies and edits. ``formula_api.py``: the small API those files use (``setting``, ``r_to_mos``).
- ``catalog/``: where models come from (built-ins, the user's scoring folder, installed packages), loading one by
  name, the user's copies. ``declared.py``: what a formula file declares (title, SETTINGS), read without running.
- ``sandbox/``: running a formula pingmos does not ship in a worker process (parent, worker, loader, dry run).
- The core types: ``window.py`` (``HopWindow``, ``Hop``), ``score.py`` (``Score``, R to MOS), ``model.py``
  (``Model``, ``ModelError``, ``ModelInfo``, ``Result``), ``settings.py`` (``Setting``), ``jitter.py`` (the
  jitter definitions), ``interval.py`` (the MOS's 95 % interval).
- ``moved.py``: old import paths (``pingmos.scoring.script_api``, ``pingmos.scoring.g107``, ...) that copies
  made before this layout still import.

The public API (the report, the CLI and the GUI use only these names):

``HopWindow``
    One hop's window (frozen): ``rtts_ms`` oldest first with None for a lost sample, and derived ``sent``,
    ``received``, ``loss_pct``, ``avg_ms``, ``median_ms``, ``min_ms``, ``max_ms``, ``last_ms``, ``stdev_ms``; methods
    ``percentile_ms(p)``, ``jitter_ms_for(definition)``, ``jitter_stdev_ms_for(definition)``,
    ``jitter_percentile_ms_for(p, definition)``, ``loss_transitions()`` (Markov p, q); ``loss_ci_pct`` (Wilson) and
    ``jitter_ms`` (default definition) for the hop table. The one window type: the snapshot builder, the alert
    rules and the MOS interval use it too. Build it with ``HopWindow.from_rtts([136, 184, None, 148])`` (a
    sequence or a float64 array, NaN = lost) or ``HopWindow.from_summary(avg_ms, jitter_ms, loss_pct)``. Jitter
    definitions (``JITTER_DEFINITIONS``, all in ``jitter.py``):
    ``pingplotter`` (mean |difference| of consecutive received samples), ``rfc3550`` (J += (|D| - J) / 16),
    ``stdev`` (of the RTTs).
``available_models() -> list[ModelInfo]``
    Every model: built-ins, the user's scoring folder, installed packages (entry-point group ``pingmos.scoring``).
    ``ModelInfo``: ``name``, ``title``, ``settings`` (``Setting``: ``name``, ``kind`` float/int/choice,
    ``default``, ``min``, ``max``, ``choices``, ``allow_auto``, ``help``, ``describe()``, ``parse(text)``),
    ``origin`` (``built-in``, ``user``, ``entry point <dist>``), ``path``, ``error`` (ModelError or None).
    Never runs code (settings are read from the files' text); fast enough for the GUI thread.
``load_model(name=DEFAULT_MODEL, settings=None, *, raising=False) -> Model``
    ``settings`` maps names to strings as typed (``{"codec": "g729a", "burst_r": "auto"}``) or typed values.
    Raises ``UnknownModel`` (a ValueError) for an unknown name, ValueError for a bad setting: one line each.
``Model``
    ``model.name``, ``model.info``, ``model.settings`` (effective, defaults filled in);
    ``model.score(window) -> Score | ModelError | None`` and ``model.score_many(windows) -> list[...]``: None for
    a window with nothing sent, ``ALL_LOST`` (R 0, MOS 1) for one whose probes were all lost, never an
    exception for a broken formula (except with ``raising=True``: ``ModelFailure``). ``model(window)`` is
    ``model.score``, so a model is a ``Scorer``; ``Result`` is what scoring one window gives, ``BatchScorer`` a
    ``score_many``.
    ``model.check() -> ModelError | None`` re-reads a user's file without running it (a syntax error shows
    right after a save; ``model.info`` follows the file's title and settings). ``model.close()`` ends a user
    script's worker process (also done when the model is garbage collected).
``Score(r, mos, detail)``
    R (0-100; up to 129 on the wideband scale), MOS (1-4.5), ``detail``: named intermediate terms (ms, R points).
``ModelError(file, line, message, fallback)``
    Why a hop could not be scored; ``str()`` gives ``file:line: message``. ``fallback``: the score of the last
    version of the file that worked, while the current one is broken (show it beside the error, never as the
    score).
``score_all(scorer, windows)``, ``error_text(result)``
    Score a batch with a Model (one ``score_many``) or any one-window callable; the text to show for a failed
    hop (``file:line: message``) or None. ``TraceState.snapshot`` uses both.
``user_scoring_dir()``, ``create_user_copy(name=DEFAULT_MODEL) -> Path``
    The user's scoring folder: ``$PINGMOS_CONFIG_DIR/scoring`` if that variable is set, else
    ``platformdirs.user_config_dir("pingmos")/scoring``. "Edit the formula" = ``create_user_copy()``, then open
    the returned file in an editor; it becomes the model ``my_pingplotter``.
``editable_source(name) -> str``, ``user_copy_of(name) -> Path | None``, ``copied_from(name) -> str | None``
    A model's editable text (what a copy starts as, and what "Revert" goes back to; for a user's copy, the text
    of the model it was copied from); the user's existing copy of a model (None: none yet); the model a user's
    copy was made from (None: not a copy). Never run code.
``check_formula(text, path, window, settings=None) -> Score | ModelError | None``
    Dry-run a formula given as text (an editor's unsaved buffer) on one window, in the worker process with the
    deadline, as if saved as ``path``: errors name ``path`` and the line. Nothing is written to ``path``.

Threads and blocking: built-in models run in-process and take microseconds. A user's or an installed package's
formula runs in a sandboxed worker process (``sandbox/``): ``score``/``score_many`` block up to 1 s of
the worker's CPU time, or 3 s of wall clock, per window when a formula hangs (the first call also waits for the
worker to start, ~0.1-0.5 s); ``close()`` from another thread kills the worker at once. A GUI therefore calls
``score_many`` from a worker thread (one batch per update) and never from the GUI thread; a model is thread-safe.
A changed formula file is picked up by the next call (hot reload); a broken one gives ModelErrors.

Loading a saved trace or a settings file never runs code: settings are parsed as numbers or fixed choices, and a
model name only selects a formula from the places above.
"""

import importlib

from pingmos.scoring import moved
from pingmos.scoring.jitter import DEFAULT_JITTER, JITTER_DEFINITIONS
from pingmos.scoring.model import (
    BatchScorer,
    Model,
    ModelError,
    ModelFailure,
    ModelInfo,
    Result,
    Scorer,
    error_text,
    score_all,
)
from pingmos.scoring.score import Score, r_to_mos
from pingmos.scoring.settings import Setting, parse_assignments
from pingmos.scoring.window import Hop, HopWindow

# The catalog and the sandbox are imported when first used: a module that needs only the types (the snapshot
# builder, the alert rules, the hop table's data) does not load the model registry, the worker's plumbing and
# the privilege checks with them.
_CATALOG = "pingmos.scoring.catalog.registry"
_LAZY = {
    **dict.fromkeys(
        (
            "CONFIG_DIR_ENV",
            "DEFAULT_MODEL",
            "ENTRY_POINT_GROUP",
            "UnknownModel",
            "available_models",
            "config_dir",
            "copied_from",
            "create_user_copy",
            "editable_source",
            "find_model",
            "load_model",
            "user_copy_of",
            "user_scoring_dir",
        ),
        _CATALOG,
    ),
    "check_formula": "pingmos.scoring.sandbox.check",
    "read_formula_text": "pingmos.scoring.declared",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pingmos.scoring' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


moved.install()  # formula files copied before the formulas moved import them by their old names

__all__ = [
    "BatchScorer",
    "Scorer",
    "CONFIG_DIR_ENV",
    "DEFAULT_JITTER",
    "DEFAULT_MODEL",
    "ENTRY_POINT_GROUP",
    "JITTER_DEFINITIONS",
    "Hop",
    "HopWindow",
    "Model",
    "ModelError",
    "ModelFailure",
    "ModelInfo",
    "Result",
    "Score",
    "Setting",
    "UnknownModel",
    "available_models",
    "check_formula",
    "config_dir",
    "copied_from",
    "create_user_copy",
    "editable_source",
    "error_text",
    "find_model",
    "load_model",
    "parse_assignments",
    "r_to_mos",
    "read_formula_text",
    "score_all",
    "user_copy_of",
    "user_scoring_dir",
]
