"""Reading files a user hands us (sessions, mtr/Trippy/RIPE Atlas results, alert rules): bounded and strict.

Every reader goes through here so that no input can make pingmos hang, run out of memory or print a traceback:

- regular files only: a FIFO, a device (``/dev/zero``), a directory or a socket is refused at once. The file is
  opened with O_NONBLOCK, so opening a FIFO does not wait for a writer;
- a size limit per kind of file, checked on the open descriptor and enforced while reading (a file that grows
  while being read is still cut off at the limit);
- text strictly UTF-8 (a leading UTF-8 byte-order mark, as Windows editors write, is dropped; UTF-16 is refused
  by name);
- JSON with bounded nesting, no ``NaN``/``Infinity`` constants, and numbers that fit a float (``1e400`` and a
  5000-digit integer are refused, not turned into inf or an OverflowError later);
- numbers written as text (CSV cells, mtr's string fields, mtr --raw fields, option values) in ASCII decimal
  notation only (``decimal_text``, ``whole_text``).

Each failure is an ``InputError`` whose message is one line naming the file and what is wrong.
"""

from __future__ import annotations

import codecs
import json
import math
import os
import re
import stat
from collections.abc import Iterator
from itertools import accumulate

MAX_JSON_DEPTH = 64
# Integers beyond this are no count, time or TTL any tool writes; they would overflow a float.
MAX_JSON_INT = 2**63


class InputError(ValueError):
    """A file we were asked to read is not acceptable; the message is one line naming the file."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: str | os.PathLike, max_bytes: int, what: str = "file") -> int:
    """An O_RDONLY descriptor of ``path``, a regular file of at most ``max_bytes``; InputError otherwise.

    The caller closes the descriptor. ``what`` names the kind of file in messages ("session", "alert rules")."""
    p = os.fspath(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"{p}: cannot open the {what}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{p}: is {_kind(st.st_mode)}, not a {what} file; give a regular file")
        if st.st_size > max_bytes:
            raise InputError(f"{p}: {st.st_size} bytes is more than a {what} may hold ({max_bytes} bytes)")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_regular(path: str | os.PathLike, max_bytes: int, what: str = "file") -> None:
    """InputError unless ``path`` is a readable regular file of at most ``max_bytes`` (nothing is read)."""
    os.close(open_regular(path, max_bytes, what))


def read_bytes(path: str | os.PathLike, max_bytes: int, what: str = "file") -> bytes:
    """The whole content of a regular file of at most ``max_bytes``; InputError otherwise."""
    p = os.fspath(path)
    fd = open_regular(p, max_bytes, what)
    try:
        with os.fdopen(fd, "rb", closefd=True) as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"{p}: cannot read the {what}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise InputError(f"{p}: more than {max_bytes} bytes is more than a {what} may hold")
    return data


def read_text(path: str | os.PathLike, max_bytes: int, what: str = "file") -> str:
    """The content of a regular UTF-8 text file of at most ``max_bytes``; InputError otherwise."""
    return decode_text(read_bytes(path, max_bytes, what), os.fspath(path), what)


def read_head(path: str | os.PathLike, max_bytes: int, what: str = "file", size: int = 4096) -> bytes:
    """The first ``size`` bytes of a regular file of at most ``max_bytes`` (to tell what it is before reading it
    all); InputError otherwise."""
    p = os.fspath(path)
    fd = open_regular(p, max_bytes, what)
    try:
        with os.fdopen(fd, "rb", closefd=True) as f:
            return f.read(size)
    except OSError as exc:
        raise InputError(f"{p}: cannot read the {what}: {exc.strerror or exc}") from None


def text_lines(
    path: str | os.PathLike, max_bytes: int, what: str = "file", max_line_bytes: int | None = None
) -> Iterator[tuple[str, bool]]:
    """The lines of a regular UTF-8 text file of at most ``max_bytes``, one at a time, as (line without its end
    of line, ended): ``ended`` is False only for a last line without one. A line ends at "\n", "\r\n" or a bare
    "\r" (classic Mac OS), as Python's universal newlines would have it. Memory stays that of one line (read in
    64 KiB blocks), whatever the file's size, and time is linear in it however long a line is. The checks of
    ``read_text`` apply (a leading UTF-8 byte-order mark is dropped, UTF-16 with or without its mark and bytes that
    are not UTF-8 are an InputError naming the line); a file that grows while read is cut off at the limit. A line
    longer than ``max_line_bytes`` (when given) is an InputError naming it, found as soon as that many bytes of it
    are read: no kind of file read this way has lines that long, and one such line would otherwise be held whole.
    """
    p = os.fspath(path)
    fd = open_regular(p, max_bytes, what)
    n, start = 0, 0  # lines yielded; the file offset of ``pending``

    def line_of(raw: bytes | bytearray, at: int) -> str:
        if n == 0:
            check_text_start(raw, p, what)
            if raw.startswith(codecs.BOM_UTF8):
                raw, at = raw[len(codecs.BOM_UTF8) :], at + len(codecs.BOM_UTF8)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{p}: not UTF-8 text (line {n + 1}, byte {at + exc.start}), so not a {what}") from None
        if "\x00" in line:
            raise InputError(_nul_message(p, what, f"line {n + 1}"))
        return line

    try:
        with os.fdopen(fd, "rb", closefd=True) as f:
            # A bytearray grows in place and each block is searched from where the last search stopped: a line
            # spread over many blocks costs its length once (bytes += and a search from its start each block made
            # one 8 MB line 3.7 s of CPU and a 30 MB one minutes).
            pending, total = bytearray(), 0
            while True:
                block = f.read(65536)
                total += len(block)
                if total > max_bytes:
                    raise InputError(f"{p}: more than {max_bytes} bytes is more than a {what} may hold")
                # What is pending holds no end of line but perhaps a last "\r" (the first half of a "\r\n").
                scan = max(0, len(pending) - 1)
                pending += block
                pos = 0  # lines are cut at offsets, and the rest kept once per block, not once per line
                while True:
                    m = _LINE_END.search(pending, scan)
                    # A "\r" at the end of what was read may be the first half of "\r\n": wait for the next block.
                    if m is None or (block and m.group() == b"\r" and m.end() == len(pending)):
                        break
                    if max_line_bytes is not None and m.start() - pos > max_line_bytes:
                        raise InputError(_long_line_message(p, what, n + 1, max_line_bytes))
                    line = line_of(pending[pos : m.start()], start)
                    n += 1
                    yield line, True
                    start += m.end() - pos
                    pos = scan = m.end()
                del pending[:pos]
                if max_line_bytes is not None and len(pending) > max_line_bytes:
                    raise InputError(_long_line_message(p, what, n + 1, max_line_bytes))
                if not block:
                    break
            if pending:
                yield line_of(pending, start), False
    except OSError as exc:
        raise InputError(f"{p}: cannot read the {what}: {exc.strerror or exc}") from None


def _long_line_message(where: str, what: str, line: int, max_line_bytes: int) -> str:
    return f"{where}: line {line} is longer than {max_line_bytes} bytes, so not a {what}"


_LINE_END = re.compile(rb"\r\n|\r|\n")


def check_text_start(data: bytes, where: str, what: str) -> None:
    """InputError for text that starts with a UTF-16/32 byte-order mark."""
    if data.startswith(_UTF16_BOMS):
        raise InputError(f"{where}: UTF-16 or UTF-32 text (it starts with a byte-order mark); save the {what} as UTF-8")


def _nul_message(where: str, what: str, place: str) -> str:
    # Valid UTF-8 holding NUL: ASCII written as UTF-16 or UTF-32 without a byte-order mark has every other (or
    # three in four) bytes NUL; no text a tool writes holds one.
    return f"{where}: NUL bytes in {place}: UTF-16 or UTF-32 text without a byte-order mark; save the {what} as UTF-8"


_UTF16_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def decode_text(data: bytes, where: str, what: str = "file") -> str:
    """``data`` as UTF-8 text without a leading byte-order mark (Notepad and PowerShell write one, and json and
    tomllib refuse it at "line 1 column 1"); InputError naming ``where`` for UTF-16/32 or bytes that are not UTF-8.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    else:
        check_text_start(data, where, what)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: not UTF-8 text (byte {exc.start}), so not a {what}") from None
    if "\x00" in text:
        raise InputError(_nul_message(where, what, "it"))
    return text


# What a tool writes for a number: ASCII digits in decimal notation. float() and int() take more: any script's
# digits ('\u0661\u0662' is 12), '1_000', 'nan', 'inf' and 'infinity', none of which is a measurement a tool wrote.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WHOLE = re.compile(r"[+-]?[0-9]+")
MAX_NUMBER_CHARS = 40


def decimal_text(text: str) -> float:
    """The finite float written as ``text`` ('12', '-0.5', '.5', '1e3'; blanks around it allowed); ValueError
    with the text (cut to 40 characters) otherwise: another script's digits, '1_000', 'nan', 'inf', 1e400."""
    stripped = text.strip()
    if len(stripped) > MAX_NUMBER_CHARS or not _DECIMAL.fullmatch(stripped):
        raise ValueError(f"{stripped[:MAX_NUMBER_CHARS]!a} is not a number in ASCII decimal digits")
    value = float(stripped)
    if not math.isfinite(value):
        raise ValueError(f"the number {stripped} is too large")
    return value


def whole_text(text: str) -> int:
    """The integer written as ``text`` ('12', '-3'; blanks around it allowed, at most 40 characters); ValueError
    with the text (cut to 40 characters) otherwise: another script's digits, '1_000', '1.0', '0x10'."""
    stripped = text.strip()
    if len(stripped) > MAX_NUMBER_CHARS or not _WHOLE.fullmatch(stripped):
        raise ValueError(f"{stripped[:MAX_NUMBER_CHARS]!a} is not a whole number in ASCII digits")
    return int(stripped)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _int(text: str) -> int:
    if len(text) > 20:
        raise ValueError(f"the number {text[:40]}... is too large")
    value = int(text)
    if abs(value) > MAX_JSON_INT:
        raise ValueError(f"the number {text} is too large")
    return value


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_NOT_BRACKETS = str.maketrans("", "", "".join(chr(c) for c in range(128) if chr(c) not in "[]{}"))


def _depth(text: str) -> int:
    """Deepest nesting of [ and { outside strings: a scan at C speed (regex, translate, accumulate), so that the
    json module never recurses deeper than we allow."""
    brackets = _JSON_STRING.sub("", text).translate(_NOT_BRACKETS)
    brackets = "".join(ch for ch in brackets if ch in _BRACKET_STEP) if not brackets.isascii() else brackets
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


def loads_json(text: str, where: str) -> object:
    """Parse JSON strictly (see the module docstring); InputError naming ``where`` and the fault otherwise."""
    if _depth(text) > MAX_JSON_DEPTH:
        raise InputError(f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels; not a file we read")
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_float, parse_int=_int)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{where}: not valid JSON ({str(exc)[:120]})") from None


def finite_json(value: object, reasons: dict[str, str], path: str = "") -> object:
    """``value`` with every non-finite float replaced by None, the reason recorded in ``reasons`` under its
    JSON path (``hops[2].avg_ms``): so that output JSON is always valid JSON (``allow_nan=False`` then holds)."""
    if isinstance(value, float) and not math.isfinite(value):
        reasons[path or "$"] = f"not a finite number ({value})"
        return None
    if isinstance(value, dict):
        return {k: finite_json(v, reasons, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v, reasons, f"{path}[{i}]") for i, v in enumerate(value)]
    return value
