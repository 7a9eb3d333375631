"""Read what a formula file declares (title, SETTINGS) from its text, without running it.

The model list, the GUI's settings form and loading a saved settings file need a model's settings; reading them
with ``ast`` instead of running the file means none of those ever runs code, and a file with an endless loop at
its top level still lists (it fails later, when it scores, in the worker that can stop it).
"""

from __future__ import annotations

import ast
import os
import threading
from dataclasses import dataclass

from pingmos.scoring.formula_api import to_setting
from pingmos.scoring.model import ModelError
from pingmos.scoring.settings import Setting

SCORE_FUNCTION = "score_hop"
# A formula file is a page or two of Python; a file this large is no formula (and is never read whole).
MAX_FORMULA_BYTES = 1024 * 1024
_SETTING_ARGS = ("default",)
_SETTING_KWARGS = ("default", "min", "max", "choices", "allow_auto", "help")


def read_formula_text(path: str | os.PathLike) -> str:
    """The UTF-8 text of the formula file ``path``, a regular file of at most MAX_FORMULA_BYTES.

    Raises ``pingmos.input_files.InputError`` (a ValueError; one line naming the file) for a FIFO, a device such as
    /dev/zero, a directory, a file too large, one that cannot be read or is not UTF-8: a ``*.py`` in the scoring
    folder that is any of these must not hang or exhaust the model list."""
    from pingmos.input_files import read_text

    return read_text(path, MAX_FORMULA_BYTES, "formula")


@dataclass(frozen=True)
class Declared:
    """What a formula file declares: its title (docstring's first line), the docstring, and its settings."""

    title: str
    description: str
    settings: tuple[Setting, ...]


def _setting_call(name: str, node: ast.expr, path: str) -> Setting:
    def fail(message: str) -> ModelError:
        return ModelError(path, node.lineno, f"SETTINGS[{name!r}]: {message}")

    func = node.func if isinstance(node, ast.Call) else None
    func_name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    if not isinstance(node, ast.Call) or func_name != "setting":
        raise _Bad(fail("must be written setting(default, ...)"))
    if len(node.args) != 1:
        raise _Bad(fail("setting() takes the default as its one positional argument"))
    decl: dict[str, object] = {}
    try:
        decl["default"] = ast.literal_eval(node.args[0])
        for kw in node.keywords:
            if kw.arg not in _SETTING_KWARGS:
                raise _Bad(fail(f"setting() has no argument {kw.arg!r}"))
            decl[kw.arg] = ast.literal_eval(kw.value)
    except ValueError:
        raise _Bad(fail("the arguments of setting() must be plain numbers, strings or lists")) from None
    try:
        return to_setting(name, decl)
    except (ValueError, TypeError) as exc:
        raise _Bad(ModelError(path, node.lineno, str(exc))) from None


class _Bad(Exception):
    def __init__(self, error: ModelError) -> None:
        super().__init__(str(error))
        self.error = error


# CPython 3.11 before 3.11.8 raises "SystemError: AST constructor recursion depth mismatch" when two threads build
# ASTs at once (gh-106905); the GUI reads formulas in several worker threads (model list, refresher, Save's check).
_AST_LOCK = threading.Lock()


def read_declared(path: str, source: str) -> Declared | ModelError:
    """``_read_declared`` with one thread at a time building an AST (see _AST_LOCK)."""
    with _AST_LOCK:
        return _read_declared(path, source)


def _read_declared(path: str, source: str) -> Declared | ModelError:
    """The declarations of the formula in ``source`` (the text of ``path``), or why they cannot be read.

    Errors: a syntax error, no ``def score_hop``, a SETTINGS that is not a dict literal of ``setting(...)`` calls
    with literal arguments, an invalid setting (default outside its own range, ...).
    """
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        return ModelError(path, exc.lineno, f"syntax error: {exc.msg}")
    except ValueError as exc:  # null bytes in the text
        return ModelError(path, None, f"cannot read the script: {exc}")
    doc = (ast.get_docstring(tree) or "").strip()
    title = doc.splitlines()[0] if doc else ""
    if not any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == SCORE_FUNCTION for n in tree.body):
        return ModelError(path, None, f"the script defines no function {SCORE_FUNCTION}(hop); add: def score_hop(hop):")
    settings: list[Setting] = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == "SETTINGS" for t in targets):
            continue
        value = node.value  # type: ignore[union-attr]
        if not isinstance(value, ast.Dict):
            return ModelError(path, node.lineno, 'SETTINGS must be a dict literal: {"name": setting(...), ...}')
        settings = []
        try:
            for key, item in zip(value.keys, value.values, strict=True):
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    return ModelError(path, node.lineno, "SETTINGS keys must be quoted names")
                settings.append(_setting_call(key.value, item, path))
        except _Bad as bad:
            return bad.error
    names = [s.name for s in settings]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        return ModelError(path, None, f"SETTINGS declares {', '.join(sorted(dupes))} twice")
    return Declared(title=title, description=doc, settings=tuple(settings))
