"""Declared model settings: name, type, default, allowed range or choices, and turning user text into values.

Every model declares its settings so the calculator, the report and the GUI can list them, check them and show
their defaults. Values arrive as strings (``--set codec=g729a``, a settings file) or typed values (the GUI);
both go through :func:`resolve_settings`, which never evaluates anything: a value is parsed as a number or
matched against a fixed list of choices, so a settings file cannot run code.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pingmos.input_files import decimal_text

AUTO = "auto"

# The kinds of setting a model can declare.
KIND_FLOAT = "float"
KIND_INT = "int"
KIND_CHOICE = "choice"
KINDS = (KIND_FLOAT, KIND_INT, KIND_CHOICE)


@dataclass(frozen=True)
class Setting:
    """One declared setting.

    ``kind`` is ``float``, ``int`` or ``choice``. Numbers must lie within ``min``..``max`` (inclusive, None for
    unbounded). ``allow_auto`` lets a number setting also take the word ``auto`` (the model then works the value
    out itself, e.g. the burst ratio from the observed losses). A choice setting takes one of ``choices``.
    """

    name: str
    kind: str
    default: object
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    allow_auto: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"setting {self.name!r}: kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.kind == KIND_CHOICE and not self.choices:
            raise ValueError(f"setting {self.name!r}: a choice setting needs choices")
        # The default must itself be valid, or the model could never run with its own defaults.
        self.parse(self.default)

    def describe(self) -> str:
        """One line for listings: type, range or choices, default."""
        if self.kind == KIND_CHOICE:
            allowed = "|".join(self.choices)
        else:
            lo = "-inf" if self.min is None else _fmt(self.min)
            hi = "inf" if self.max is None else _fmt(self.max)
            allowed = f"{self.kind} {lo}..{hi}" + (" or auto" if self.allow_auto else "")
        return f"{allowed} (default {_fmt(self.default)})"

    def parse(self, value: object) -> object:
        """The typed value for ``value`` (a string or a typed value); ValueError with a message saying why not."""
        if self.kind == KIND_CHOICE:
            text = str(value).strip()
            # Numbers are allowed as choices (e.g. a percentile 99), so compare the text forms.
            if isinstance(value, float) and value.is_integer():
                text = str(int(value))
            if text not in self.choices:
                raise ValueError(f"setting {self.name!r} must be one of {', '.join(self.choices)}, not {str(value)!r}")
            return text
        if isinstance(value, str) and value.strip().lower() == AUTO:
            if self.allow_auto:
                return AUTO
            raise ValueError(f"setting {self.name!r} takes a number, not 'auto'")
        if isinstance(value, bool):
            raise ValueError(f"setting {self.name!r} takes a number, not {value!r}")
        try:
            number = decimal_text(value) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"setting {self.name!r} takes a number, not {value!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"setting {self.name!r} must be a finite number, not {value!r}")
        if self.kind == KIND_INT:
            if not number.is_integer():
                raise ValueError(f"setting {self.name!r} takes a whole number, not {value!r}")
            number = int(number)
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            lo = "-inf" if self.min is None else _fmt(self.min)
            hi = "inf" if self.max is None else _fmt(self.max)
            raise ValueError(f"setting {self.name!r} must be within {lo} and {hi}, not {_fmt(number)}")
        return number


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def resolve_settings(
    model_name: str, declared: Iterable[Setting], given: Mapping[str, object] | None
) -> dict[str, object]:
    """The effective settings: every declared setting, with the given values parsed and checked.

    Raises ValueError naming the model for an unknown setting or a bad value.
    """
    by_name = {s.name: s for s in declared}
    effective = {name: s.parse(s.default) for name, s in by_name.items()}
    for key, value in (given or {}).items():
        setting = by_name.get(key)
        if setting is None:
            known = ", ".join(sorted(by_name)) or "none"
            raise ValueError(f"model {model_name!r} has no setting {key!r} (its settings: {known})")
        try:
            effective[key] = setting.parse(value)
        except ValueError as exc:
            raise ValueError(f"model {model_name!r}: {exc}") from None
    return effective


def parse_assignments(assignments: Iterable[str]) -> dict[str, str]:
    """``["codec=g729a", "burst_r=auto"]`` to a dict; ValueError for an item without ``=``."""
    out: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set takes key=value, not {item!r}")
        out[key.strip()] = value.strip()
    return out
