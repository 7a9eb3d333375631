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
# ... or that many windows' worth of received samples: the arrays' set-up costs about 20 windows of a few hundred
# samples, while the formula's cost grows with the samples (a 250,000-sample window: about 75 ms, on arrays 3 ms).
# The MOS interval of a long window is scored a few resamples at a time (scoring.interval.MAX_CHUNK_VALUES).
VECTORISED_SAMPLES_PER_WINDOW = 1000


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

        worth = len(windows)
        if worth < self._vectorised_min:
            worth = sum(w.received for w in windows) / VECTORISED_SAMPLES_PER_WINDOW
        if worth >= self._vectorised_min:
            # Many windows at once (the MOS interval's resamples): the default model's arithmetic on arrays, the
            # same numbers to the bit (catalog/vectorised.py); numpy is imported only then.
            from pingmos.scoring.catalog import vectorised

            if vectorised.covers(self.info.module, self.settings):
                return vectorised.score_windows(windows, self.settings, one)
        return [one(w) for w in windows]
