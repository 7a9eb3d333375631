"""numpy, imported on first use by the modules a plain `pingmos score --latency 80` loads.

Why: that command never touches an array, yet importing numpy is about 90 ms of its 0.24 s (issue 11 asks for
0.15 s). ``np = LazyNumpy(globals())`` stands in for ``import numpy as np``; the first attribute read imports numpy
and puts the real module in the caller's globals, so every later ``np.x`` there is an ordinary module lookup.
Written here rather than with ``importlib.util.LazyLoader`` because that loader is not thread-safe on Python 3.11
(the window's threads may be the first to touch numpy), while an ``import`` statement holds the import lock.
"""

from __future__ import annotations

from typing import Any


class LazyNumpy:
    """A stand-in for the numpy module in one module's globals (``module_globals["np"]``)."""

    __slots__ = ("_globals",)

    def __init__(self, module_globals: dict[str, Any]):
        self._globals = module_globals

    def __getattr__(self, name: str) -> Any:
        import numpy

        self._globals["np"] = numpy
        return getattr(numpy, name)
