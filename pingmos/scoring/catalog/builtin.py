"""Built-in models: formula files shipped in this package, trusted, run in-process (no worker, no deadline)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence

from pingmos.scoring.declared import SCORE_FUNCTION
from pingmos.scoring.model import Model, ModelError, ModelInfo
from pingmos.scoring.sandbox.loader import call_formula
from pingmos.scoring.score import Score
from pingmos.scoring.window import HopWindow


class BuiltinModel(Model):
    """A built-in formula file imported as a module; its results are checked like any user's."""

    def __init__(self, info: ModelInfo, settings: Mapping[str, object], raising: bool = False) -> None:
        super().__init__(info, settings, raising)
        assert info.module is not None
        module = importlib.import_module(info.module)
        self._func = getattr(module, SCORE_FUNCTION)
        self._line = self._func.__code__.co_firstlineno

    def _score_hops(self, windows: Sequence[HopWindow]) -> list[Score | ModelError]:
        path = self.info.path or self.info.name
        return [call_formula(self._func, w.for_model(self.settings), path, self._line) for w in windows]
