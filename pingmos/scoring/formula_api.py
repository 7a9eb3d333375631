"""The small API a formula file uses. A formula file is a Python file that defines:

    SETTINGS = {"name": setting(default, min=..., max=..., help="...")}      # optional
    def score_hop(hop):                                                       # required
        ...
        return r, mos, {"effective_latency_ms": effective_latency_ms}        # the dict is optional

- ``hop`` is a :class:`pingmos.scoring.window.Hop`: ``hop.avg_ms``, ``hop.jitter_ms``, ``hop.loss_pct``,
  ``hop.median_ms``, ``hop.percentile_ms(95)``, ``hop.rtts_ms`` (None = lost), ``hop.settings["name"]``, ...
  It always has at least one received sample; ``hop.jitter_ms`` is None with only one.
- ``score_hop`` returns R (0..150), MOS (1..4.5) and optionally a dict of named intermediate numbers, shown with
  ``pingmos score --verbose`` and in the GUI so the user sees why a hop scored what it did.
- SETTINGS must be plain data: a dict literal of ``setting(...)`` calls whose arguments are literals (numbers,
  strings, lists of strings, True/False). pingmos reads it without running the file, so listing models and
  loading a settings file never runs code. A whole-number default makes a whole-number setting, ``choices`` a
  choice setting, ``allow_auto=True`` lets a number setting also take the word ``auto``.
- A setting named ``jitter`` (choices pingplotter, rfc3550, stdev) chooses what ``hop.jitter_ms`` means.
- The model's name is the file's name without ``.py``; the docstring's first line is its title.
"""

from __future__ import annotations

from collections.abc import Mapping

from pingmos.scoring.jitter import DEFAULT_JITTER, JITTER_DEFINITIONS
from pingmos.scoring.score import r_to_mos
from pingmos.scoring.settings import KIND_CHOICE, KIND_FLOAT, KIND_INT, Setting

__all__ = ["DEFAULT_JITTER", "JITTER_DEFINITIONS", "clamp", "r_to_mos", "setting", "to_setting"]


def setting(
    default: object,
    *,
    min: float | None = None,  # noqa: A002 - the words a script writer expects
    max: float | None = None,  # noqa: A002
    choices: tuple[str, ...] | list[str] = (),
    allow_auto: bool = False,
    help: str = "",  # noqa: A002
) -> dict[str, object]:
    """Declare a setting in SETTINGS (see the module docstring)."""
    return {
        "default": default,
        "min": min,
        "max": max,
        "choices": tuple(str(c) for c in choices),
        "allow_auto": allow_auto,
        "help": help,
    }


def to_setting(name: str, decl: Mapping[str, object]) -> Setting:
    """The Setting for one SETTINGS entry, as ``setting(...)`` made it (ValueError if it is malformed)."""
    default = decl["default"]
    choices = tuple(str(c) for c in (decl.get("choices") or ()))  # type: ignore[union-attr]
    if choices:
        kind = KIND_CHOICE
        default = str(default)
    elif isinstance(default, int) and not isinstance(default, bool):
        kind = KIND_INT
    elif isinstance(default, float) or (decl.get("allow_auto") and default == "auto"):
        kind = KIND_FLOAT
    else:
        raise ValueError(f"setting {name!r}: the default must be a number or one of the choices, not {default!r}")
    for bound in ("min", "max"):
        value = decl.get(bound)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"setting {name!r}: {bound} must be a number, not {value!r}")
    return Setting(
        name=name,
        kind=kind,
        default=default,
        help=str(decl.get("help") or ""),
        min=decl.get("min"),  # type: ignore[arg-type]
        max=decl.get("max"),  # type: ignore[arg-type]
        choices=choices,
        allow_auto=bool(decl.get("allow_auto")),
    )


def clamp(value: float, lo: float, hi: float) -> float:
    """``value`` limited to lo..hi."""
    return min(hi, max(lo, value))
