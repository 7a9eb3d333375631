"""Where models come from: the built-ins, the user's scoring folder, installed packages; and loading one by name.

- Built-ins: formula files in this package (``BUILTINS``), run in-process.
- The user's scoring folder (``user_scoring_dir()``): every ``*.py`` file there is a model named after the file
  (names starting with ``_`` are skipped). ``create_user_copy`` puts an editable copy of a model there.
- Installed packages: an entry point in the group ``pingmos.scoring`` whose value is a module holding a formula
  file (``[project.entry-points."pingmos.scoring"] mymos = "mypkg.mymos"``); the name is the entry point's.

Listing never runs code from any of them: titles and settings are read from the files' text.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path

from pingmos.paths import CONFIG_DIR_ENV, config_dir, scoring_dir  # noqa: F401 (re-exported: pingmos.scoring API)
from pingmos.scoring.catalog.builtin import BuiltinModel
from pingmos.scoring.declared import Declared, read_declared, read_formula_text
from pingmos.scoring.model import ORIGIN_BUILTIN, ORIGIN_ENTRY_POINT, ORIGIN_USER, Model, ModelError, ModelInfo
from pingmos.scoring.settings import resolve_settings

DEFAULT_MODEL = "g107-jb"  # chosen by the validation study (README, "Does the MOS predict a call?")
ENTRY_POINT_GROUP = "pingmos.scoring"

# Model name -> module. The modules are formula files (see formula_api) that a user can copy and edit.
BUILTINS = {
    "pingplotter": "pingmos.scoring.formulas.pingplotter",
    "asterisk": "pingmos.scoring.formulas.asterisk",
    "g107": "pingmos.scoring.formulas.g107",
    "g107-playout": "pingmos.scoring.formulas.g107_playout",
    "g107-jb": "pingmos.scoring.formulas.g107_jb",
}

# create_user_copy cuts a built-in file at this line: what follows is pingmos's own, not the formula.
INTERNAL_MARKER = "# ---- pingmos internal"
# The first line of a user's copy names the model it was copied from (what Revert goes back to).
COPY_MARKER = "# pingmos: a copy of the model"


class UnknownModel(ValueError):
    """No model of that name; the message lists the known ones."""


def user_scoring_dir() -> Path:
    """The user's scoring folder (``<config dir>/scoring``, see pingmos.paths); it may not exist yet."""
    return scoring_dir()


def _info(name: str, origin: str, path: str | None, module: str | None, text: str | None, error: str = "") -> ModelInfo:
    if text is None:
        return ModelInfo(name, "", (), origin, path, ModelError(path or name, None, error or "cannot read"), "", module)
    declared = read_declared(path or name, text)
    if isinstance(declared, ModelError):
        return ModelInfo(name, "", (), origin, path, declared, "", module)
    assert isinstance(declared, Declared)
    failure = ModelError(path or name, None, error) if error else None
    return ModelInfo(name, declared.title, declared.settings, origin, path, failure, declared.description, module)


def _read(path: Path) -> tuple[str | None, str]:
    try:
        return read_formula_text(path), ""
    except ValueError as exc:  # InputError: a FIFO, a device, too large, unreadable, not UTF-8
        return None, str(exc).removeprefix(f"{path}: ")  # ModelError names the file itself


def _builtin_info(name: str) -> ModelInfo:
    module = BUILTINS[name]
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    text, err = _read(Path(spec.origin))
    return _info(name, ORIGIN_BUILTIN, spec.origin, module, text, err)


def _builtin_infos() -> list[ModelInfo]:
    return [_builtin_info(name) for name in BUILTINS]


def _user_infos(taken: set[str]) -> list[ModelInfo]:
    folder = user_scoring_dir()
    try:
        paths = sorted(folder.glob("*.py")) if folder.is_dir() else []
    except OSError:
        paths = []  # an unreadable config folder must not stop the built-ins (or a report) from working
    infos = []
    for path in paths:
        name = path.stem
        if name.startswith("_"):
            continue
        text, err = _read(path)
        if name in taken:
            err = f"a model named {name!r} exists already ({ORIGIN_BUILTIN}); rename this file"
        infos.append(_info(name, ORIGIN_USER, str(path), None, text, err))
    return infos


def _module_file(module: str) -> str | None:
    """The file of ``module`` without importing it or its packages (importing would run their code)."""
    search = None
    spec = None
    parts = module.split(".")
    for i in range(len(parts)):
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: i + 1]), search)
        if spec is None:
            return None
        search = spec.submodule_search_locations
    return spec.origin if spec is not None and spec.has_location else None


def _entry_point_infos(taken: set[str]) -> list[ModelInfo]:
    import importlib.metadata  # here, not at the top: it costs `pingmos score` 15 ms, and built-ins never need it

    infos = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(getattr(ep, "dist", None), "name", None)
        origin = f"{ORIGIN_ENTRY_POINT} {dist}" if dist else ORIGIN_ENTRY_POINT
        module = ep.module
        path = _module_file(module)
        if path is None:
            infos.append(_info(ep.name, origin, None, module, None, f"cannot find the module {module!r}"))
            continue
        text, err = _read(Path(path))
        if ep.name in taken:
            err = f"a model named {ep.name!r} exists already; the package's one is not used"
        infos.append(_info(ep.name, origin, path, module, text, err))
    return infos


def available_models() -> list[ModelInfo]:
    """Every model: built-ins, then the user's folder (by file name), then installed packages (by name).

    Never runs code. A model that cannot be used (unreadable SETTINGS, a name already taken) is listed with its
    ``error``. Reads a few small files: cheap, but not free (do not call it per packet).
    """
    infos = _builtin_infos()
    taken = {i.name for i in infos}
    user = _user_infos(taken)
    taken |= {i.name for i in user}
    return infos + user + _entry_point_infos(taken)


def find_model(name: str) -> ModelInfo:
    """The ModelInfo of ``name``; UnknownModel (a ValueError) listing the known names when there is none."""
    if name in BUILTINS:  # a built-in always wins its name (a user's file of that name is refused): read it alone
        return _builtin_info(name)
    infos = available_models()
    for info in infos:
        if info.name == name and not (info.error and "exists already" in info.error.message):
            return info
    known = ", ".join(i.name for i in infos)
    shown = name if len(name) <= 80 else name[:79] + "\u2026"  # echoed input: a 10,000-character name is cut
    raise UnknownModel(f"no scoring model named {shown!r} (known: {known})")


def load_model(
    name: str = DEFAULT_MODEL,
    settings: Mapping[str, object] | None = None,
    *,
    raising: bool = False,
    timeout_s: float | None = None,
    wall_limit_s: float | None = None,
) -> Model:
    """The model ``name`` with ``settings`` (strings as typed, or typed values) over its defaults.

    Raises UnknownModel for an unknown name and ValueError (one line, naming the model) for an unknown setting or
    a bad value, when the model's settings can be read. ``timeout_s`` (CPU time; None = the sandbox's
    ``SCRIPT_TIMEOUT_S``) and ``wall_limit_s`` (wall
    clock; default from ``sandbox.parent.wall_limit_for``) bound a user's formula per hop. Never runs a user's code:
    a user or installed formula runs only when it scores (see ``ScriptModel``), and a broken one gives ModelErrors
    then, not an exception.
    """
    info = find_model(name)
    if info.origin == ORIGIN_BUILTIN:
        return BuiltinModel(info, resolve_settings(name, info.settings, settings), raising=raising)
    if info.error is None:
        resolve_settings(name, info.settings, settings)  # a bad --set is the caller's error: say so now
    # The sandbox (worker process plumbing: subprocess, json, hashlib) loads only for a formula that needs it, so
    # `pingmos score` with a built-in never pays for it.
    from pingmos.scoring.sandbox.parent import SCRIPT_TIMEOUT_S, ScriptModel

    timeout_s = SCRIPT_TIMEOUT_S if timeout_s is None else timeout_s
    return ScriptModel(info, settings, raising=raising, timeout_s=timeout_s, wall_limit_s=wall_limit_s)


def _copy_stem(name: str) -> str:
    """The file name stem a copy of model ``name`` gets: ``my_`` and the name with anything but letters and
    digits as ``_`` (``g107-playout`` -> ``my_g107_playout``)."""
    return "my_" + "".join(c if c.isalnum() else "_" for c in name.removeprefix("my_"))


def copied_from(name: str) -> str | None:
    """The model a user's model ``name`` was copied from (``pingmos models --copy``, the GUI's formula editor),
    or None for a model that is no user's copy (a built-in, a formula the user wrote from scratch).

    Read from the copy's first line (``COPY_MARKER``); a copy made before pingmos wrote that line is recognised
    by its file name (``my_<name>.py``, ``my_<name>_2.py``, ...). Never runs code.
    """
    infos = available_models()
    info = next((i for i in infos if i.name == name), None)
    return None if info is None else _copied_from(info, {i.name for i in infos if i.origin != ORIGIN_USER})


def _copied_from(info: ModelInfo, known: set[str]) -> str | None:
    """``copied_from`` for one listed model; ``known``: the names of the models a copy can come from."""
    if info.origin != ORIGIN_USER or info.path is None:
        return None
    text, _ = _read(Path(info.path))
    for line in (text or "").splitlines()[:5]:
        if line.startswith(COPY_MARKER):
            origin = line[len(COPY_MARKER) :].strip()
            return origin if origin in known else None
    for origin in sorted(known):
        stem = _copy_stem(origin)
        if info.name == stem or (info.name.startswith(stem + "_") and info.name[len(stem) + 1 :].isdigit()):
            return origin
    return None


def user_copy_of(name: str) -> Path | None:
    """The user's editable copy of model ``name`` (``my_<name>.py`` first when there are several), or None when
    the user has none. For a user's own model, that model's file. Reads the user's folder; never runs code."""
    infos = available_models()
    for info in infos:
        if info.name == name and info.origin == ORIGIN_USER and info.path:
            return Path(info.path)
    known = {i.name for i in infos if i.origin != ORIGIN_USER}
    copies = [i for i in infos if i.path and _copied_from(i, known) == name]
    if not copies:
        return None
    stem = _copy_stem(name)
    copies.sort(key=lambda i: (i.name != stem, len(i.name), i.name))  # my_x before my_x_2 before my_x_10
    return Path(copies[0].path)  # type: ignore[arg-type]


def editable_source(name: str = DEFAULT_MODEL) -> str:
    """The text a user's copy of model ``name`` starts as: its formula file without pingmos's internal tail
    (after ``INTERNAL_MARKER``), under a first line saying what it is a copy of. For a user's copy, the text of
    the model it was copied from (what "Revert" goes back to).

    Raises UnknownModel for an unknown name, ValueError when there is no file to start from (a user's formula
    written from scratch, an installed model whose module has no file) and OSError when it cannot be read.
    """
    info = find_model(name)
    if info.origin == ORIGIN_USER:
        origin = copied_from(name)
        if origin is None:
            raise ValueError(f"model {name!r} is your own formula, not a copy of one pingmos knows")
        info = find_model(origin)
    if info.path is None:
        raise ValueError(f"model {info.name!r} has no file to copy")
    text = read_formula_text(info.path)
    cut = text.find("\n" + INTERNAL_MARKER)
    if cut >= 0:
        text = text[: cut + 1].rstrip() + "\n"
    return f"{COPY_MARKER} {info.name}\n{text}"


def create_user_copy(name: str = DEFAULT_MODEL) -> Path:
    """Copy model ``name``'s formula file into the user's scoring folder, for editing; returns the new file.

    The copy is named ``my_<name>.py`` (``my_<name>_2.py``, ... if taken: never overwrites) and becomes the
    model ``my_<name>``. Its text is ``editable_source(name)`` (a built-in's pingmos-internal tail is left out);
    a copy of a user's model is its file as it is now (with its edits).
    """
    info = find_model(name)
    if info.origin == ORIGIN_USER and info.path is not None:
        text = read_formula_text(info.path)
    else:
        text = editable_source(name)
    folder = user_scoring_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # private: 0700 (parents made too, as config folders)
    stem = _copy_stem(name)
    target = folder / f"{stem}.py"
    n = 2
    while True:
        try:
            # O_EXCL: never overwrite a user's file; 0600: theirs alone.
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            return target
        except FileExistsError:
            target = folder / f"{stem}_{n}.py"
            n += 1
