"""Built-in models: formula files shipped in this package, trusted, run in-process (no worker, no deadline)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence

from pingmos.scoring.declared import SCORE_FUNCTION
from pingmos.scoring.model import Model, ModelError, ModelInfo
from pingmos.scoring.sandbox.loader import call_formula
from pingmos.scoring.score import Score
from pingmos.scoring.window import HopWindow

# vectorised.MIN_WINDOWS, without importing numpy to read it (``pingmos score`` scores one window).
VECTORISED_MIN_WINDOWS = 24


class BuiltinModel(Model):
    """A built-in formula file imported as a module; its results are checked like any user's."""

    def __init__(self, info: ModelInfo, settings: Mapping[str, object], raising: bool = False) -> None:
        super().__init__(info, settings, raising)
        assert info.module is not None
        module = importlib.import_module(info.module)
        self._func = getattr(module, SCORE_FUNCTION)
        self._line = self._func.__code__.co_firstlineno
        # The batch size from which a covered model is scored on arrays (VECTORISED_MIN_WINDOWS; tests set 1).
        self._vectorised_min = VECTORISED_MIN_WINDOWS

    def _score_hops(self, windows: Sequence[HopWindow]) -> list[Score | ModelError]:
        path = self.info.path or self.info.name

        def one(window: HopWindow) -> Score | ModelError:
            return call_formula(self._func, window.for_model(self.settings), path, self._line)

        if len(windows) >= self._vectorised_min:
            # Many windows at once (the MOS interval's resamples): the default model's arithmetic on arrays, the
            # same numbers to the bit (catalog/vectorised.py); numpy is imported only then.
            from pingmos.scoring.catalog import vectorised

            if vectorised.covers(self.info.module, self.settings):
                return vectorised.score_windows(windows, self.settings, one)
        return [one(w) for w in windows]
