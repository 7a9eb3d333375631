"""Compile a formula file into a fresh module and call its ``score_hop``, turning every failure into a ModelError.

Runs inside the script worker process (``worker.py``) for user and installed formulas. Like qutebrowser's
``config.py``: the file is compiled from its text into a new module object each time (never ``import``ed, so no
stale ``sys.modules`` entry and no ``.pyc`` written into the user's folder), and whatever goes wrong is reported
with the file and line that caused it.
"""

from __future__ import annotations

import sys
import traceback
import types
from dataclasses import dataclass, field

from pingmos.scoring.declared import SCORE_FUNCTION
from pingmos.scoring.model import ModelError, check_result
from pingmos.scoring.score import Score
from pingmos.scoring.window import Hop


@dataclass(frozen=True)
class LoadedScript:
    """A formula file that compiled, ran its top level, and defines ``score_hop(hop)``."""

    path: str
    score_line: int
    module: types.ModuleType = field(repr=False)

    def score(self, hop: Hop) -> Score | ModelError:
        """Call the formula's score_hop(hop) and check what it returned; never raises an Exception."""
        return call_formula(getattr(self.module, SCORE_FUNCTION), hop, self.path, self.score_line)


def call_formula(func: object, hop: Hop, path: str, line: int | None) -> Score | ModelError:
    """``func(hop)`` checked by ``check_result``; an exception (or sys.exit) becomes a ModelError."""
    try:
        raw = func(hop)  # type: ignore[operator]
    except Exception as exc:
        return error_from_exception(exc, path, line)
    except SystemExit as exc:  # sys.exit() in a formula must not end pingmos (or its worker)
        return ModelError(path, line, f"score_hop() called sys.exit({exc.code!r})")
    return check_result(raw, path, line)


def error_from_exception(exc: BaseException, path: str, default_line: int | None = None) -> ModelError:
    """A ModelError for an exception: the innermost line of ``path`` in its traceback, and the exception text."""
    if isinstance(exc, SyntaxError) and exc.filename == path:
        return ModelError(path, exc.lineno, f"syntax error: {exc.msg}")
    line = default_line
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == path:
            line = lineno
    text = str(exc)
    return ModelError(path, line, f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def load_script(path: str, source: str, module_name: str | None = None) -> LoadedScript | ModelError:
    """Compile and run ``source`` (the text of ``path``) in a fresh module.

    Returns a ModelError for a syntax error, an exception at its top level, or no ``score_hop`` function. An
    endless loop at top level is the caller's to stop (the worker's deadline). ``module_name`` (e.g.
    ``mypkg.mos``) lets a formula installed in a package use relative imports.
    """
    name = module_name or "pingmos_user_formula_" + "".join(c if c.isalnum() else "_" for c in path)
    module = types.ModuleType(name)
    module.__file__ = path
    if module_name and "." in module_name:
        module.__package__ = module_name.rpartition(".")[0]
    try:
        code = compile(source, path, "exec", dont_inherit=True)
        # Registered while the top level runs so that dataclasses and the like can find their module.
        sys.modules[name] = module
        try:
            exec(code, module.__dict__)
        finally:
            sys.modules.pop(name, None)
    except SyntaxError as exc:
        return ModelError(path, exc.lineno, f"syntax error: {exc.msg}")
    except Exception as exc:
        return error_from_exception(exc, path)
    except SystemExit as exc:
        return ModelError(path, None, f"the script called sys.exit({exc.code!r}) while loading")
    func = module.__dict__.get(SCORE_FUNCTION)
    if not callable(func):
        return ModelError(path, None, f"the script defines no function {SCORE_FUNCTION}(hop)")
    score_line = getattr(getattr(func, "__code__", None), "co_firstlineno", None) or 1
    return LoadedScript(path=path, score_line=score_line, module=module)
