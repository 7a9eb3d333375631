"""Try a formula given as text (an editor's unsaved buffer) on one window, without saving it anywhere.

The text runs the way a saved user formula does: declared from its text, then loaded and run in the scoring
worker process with its deadline, so an endless loop or a crash in the text costs one deadline and an error, never
the caller. The text is written to a private temporary folder under the file name the user edits, and every path
in the result names the user's file again, so that errors read ``my_pingplotter.py:12: ZeroDivisionError``.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pingmos.scoring.declared import read_declared
from pingmos.scoring.model import ORIGIN_USER, ModelError, ModelInfo, Result
from pingmos.scoring.window import HopWindow


def check_formula(
    text: str,
    path: str | Path,
    window: HopWindow,
    settings: Mapping[str, object] | None = None,
    *,
    timeout_s: float | None = None,
) -> Result:
    """Score ``window`` with the formula ``text`` as if it were saved as ``path`` (nothing is written there).

    ``settings`` (strings as typed, or typed values) apply to the settings the text declares; names it does not
    declare are ignored (the settings of the model being edited may name one the edited text has dropped), and
    empty values mean the default. Returns a Score, a ModelError naming ``path`` and the line (a syntax error, a
    bad setting value, an exception, a NaN, an overrun of ``timeout_s``: CPU seconds, None = SCRIPT_TIMEOUT_S),
    or None when the window has nothing received. Never raises for anything in the text. Blocks up to
    ``timeout_s`` plus the worker's start-up (about 0.1-0.5 s): call it from a worker thread in a GUI.
    """
    # Here, not at the top: importing pingmos.scoring (which names this function) must not load the sandbox.
    from pingmos.scoring.sandbox.parent import SCRIPT_TIMEOUT_S, ScriptModel

    timeout_s = SCRIPT_TIMEOUT_S if timeout_s is None else timeout_s
    shown = str(path)
    folder = tempfile.mkdtemp(prefix="pingmos-check-")
    try:
        scratch = str(Path(folder) / (Path(shown).name or "formula.py"))
        Path(scratch).write_text(text, encoding="utf-8")

        def named(error: ModelError) -> ModelError:
            message = error.message.replace(scratch, shown).replace(folder, str(Path(shown).parent))
            return dataclasses.replace(error, file=shown if error.file == scratch else error.file, message=message)

        declared = read_declared(scratch, text)
        if isinstance(declared, ModelError):
            return named(declared)
        known = {s.name for s in declared.settings}
        given = {k: v for k, v in (settings or {}).items() if k in known and v not in ("", None)}
        info = ModelInfo(Path(shown).stem, declared.title, declared.settings, ORIGIN_USER, scratch)
        model = ScriptModel(info, given, timeout_s=timeout_s)
        try:
            result = model.score(window)
        finally:
            model.close()
        return named(result) if isinstance(result, ModelError) else result
    finally:
        shutil.rmtree(folder, ignore_errors=True)
