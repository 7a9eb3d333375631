"""A word given where a host to trace is expected, checked before any lookup (``pingmos WORD``, ``pingmos report
WORD``): a lookup is network traffic, to the system resolver, so a typo of a command or a file name meant for
another option must never become one. ``refuse_target_word`` says why such a word is not traced (one line), or None.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from pingmos.display_text import echoed
from pingmos.engine import ResolveError, check_host_name, is_address_literal

# File names people pass where a host is expected: none is a top-level domain, so a name ending so is a file name.
FILE_SUFFIXES = (".pingmos", ".pmsession", ".toml", ".json", ".csv", ".txt", ".raw", ".ini", ".log", ".sqlite")

# Commands a newcomer guesses from other tools, and what pingmos calls them: far from every command's name, so no
# typo, yet "pingmos trace" looked the name "trace" up through the system resolver.
GUESSED_COMMANDS = {
    "trace": "pingmos report HOST traces in the terminal, pingmos HOST in the window",
    "traceroute": "pingmos report HOST traces in the terminal, pingmos HOST in the window",
    "tracert": "pingmos report HOST traces in the terminal, pingmos HOST in the window",
    "mtr": "pingmos report HOST traces in the terminal, pingmos HOST in the window",
    "ping": "pingmos report HOST traces in the terminal, pingmos HOST in the window",
    "calc": "the calculator is pingmos score --latency MS [--jitter MS] [--loss PCT]",
    "calculator": "the calculator is pingmos score --latency MS [--jitter MS] [--loss PCT]",
    "gui": "pingmos alone opens the window",
    "version": "pingmos --help lists the commands",
}


def refuse_target_word(word: str, commands: Sequence[str], escaped: bool, command: str) -> str | None:
    """Why ``word``, given where a host to trace is expected, is not looked up (one line, without the "pingmos: "
    prefix), or None; ``commands``: the command names; ``command``: how the user typed the command, for the hint.
    Each would otherwise go to the system resolver, which is network traffic: a bare word (no
    dot, no address) within a small edit distance of a command's name is a typo (``pingmos exprot`` must not look
    up the name "exprot"), and so is a command of another tool (``GUESSED_COMMANDS``: ``pingmos trace``,
    ``pingmos calc``); a file here (``pingmos report s1.pingmos``) or a name ending as a file of pingmos does
    (``agent.toml``) is a file meant for another option. ``command -- WORD`` (``escaped``) traces such a name all
    the same. A malformed host name is refused before any lookup (``engine.check_host_name``), escaped or not."""
    if is_address_literal(word):
        return None
    if not escaped:
        shown = echoed(word, 60)
        meant = command_meant(word, commands)
        if meant is not None and command == "pingmos":
            return (
                f"{shown!r} is not a command; did you mean {meant!r}? To trace a host of that name: pingmos -- {shown}"
            )
        if meant is not None:
            what = "a command" if word.lower() == meant else f"a typo of the command {meant!r}"
            return f"{shown!r} is {what}, not a host; to trace a host of that name: {command} -- {shown}"
        if word.lower() == "help":
            return f"{shown!r} is no host; for help: {command} --help; to trace a host of that name: {command} -- help"
        guessed = GUESSED_COMMANDS.get(word.lower())
        if guessed is not None:
            return (
                f"{shown!r} is not a command of pingmos ({guessed}); to trace a host of that name: {command} -- {shown}"
            )
        if os.path.lexists(word):
            # No host name holds a "/", so a path gets no "trace a host of that name" hint (it led to "is a
            # network (address/prefix)"); the window's word is answered with the window's way to open a file.
            trace = "" if "/" in word else f"; to trace a host of that name: {command} -- {shown}"
            if command == "pingmos":
                return (
                    f"{shown!r} is a file here: File > Open... shows it in the window, pingmos report --session "
                    f"{shown} re-scores it in the terminal{trace}"
                )
            return f"{shown!r} is a file here: to re-score it, pingmos report --session {shown}{trace}"
        if word.lower().endswith(FILE_SUFFIXES):
            return (
                f"{shown!r} is a file name, not a host (and no such file is here); to trace a host of that name: "
                f"{command} -- {shown}"
            )
    try:
        check_host_name(word)
    except ResolveError as exc:
        return f"error: {exc}"
    return None


def command_meant(word: str, commands: list[str]) -> str | None:
    """The command ``word`` is a typo of, or None: a bare word (no dot: "export.lab" is a host name) within 1 edit
    (letters 1-4) or 2 edits (longer) of a command's name, case ignored; a swap of two neighbours is one edit."""
    if "." in word or not word.isascii() or not word.replace("-", "").isalnum():
        return None
    lowered = word.lower()
    limit = 1 if len(word) <= 4 else 2
    distance, meant = min((edit_distance(lowered, c), c) for c in commands)
    return meant if distance <= limit else None


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment): insertions, deletions, substitutions and swaps of
    two neighbouring letters, each one edit."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]
