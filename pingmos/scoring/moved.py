"""Old import paths of scoring modules that moved, for formula files written against them.

A user's copy of a built-in formula (``pingmos models --copy``, "Edit the formula") keeps the imports the
built-in had when it was copied, and an installed package's formula was written against the paths of its day:
``from pingmos.scoring.script_api import setting`` or ``from pingmos.scoring.g107 import e_model`` must keep
working after the formulas moved to ``pingmos.scoring.formulas`` and their API to ``pingmos.scoring.formula_api``.
``install()`` (run by ``pingmos.scoring``'s ``__init__``, so before any such import can resolve) adds a finder
that answers an old name with the module now holding it: the same module object, so both names see one set of
globals. New code uses the new names; nothing in pingmos imports an old one.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types

# old module name -> the module that holds it now
MOVED = {
    "pingmos.scoring.script_api": "pingmos.scoring.formula_api",
    "pingmos.scoring.pingplotter": "pingmos.scoring.formulas.pingplotter",
    "pingmos.scoring.asterisk": "pingmos.scoring.formulas.asterisk",
    "pingmos.scoring.g107": "pingmos.scoring.formulas.g107",
    "pingmos.scoring.g107_jb": "pingmos.scoring.formulas.g107_jb",
    "pingmos.scoring.g107_playout": "pingmos.scoring.formulas.g107_playout",
}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old name in ``MOVED`` and loads it as the module at its new name."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = importlib.import_module(MOVED[spec.name])
        spec.loader_state = module.__spec__  # the import machinery overwrites __spec__ with the old name's
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run (the module ran under its new name); give it back its own spec (file, name)."""
        module.__spec__ = module.__spec__.loader_state


_FINDER = _MovedFinder()


def install() -> None:
    """Let the old names in ``MOVED`` import (idempotent)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
