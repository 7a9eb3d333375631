"""Python syntax highlighting for the formula editor: keywords, built-ins, numbers, strings, comments."""

from __future__ import annotations

import builtins
import keyword
import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat


def _format(colour: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(colour))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    fmt.setFontItalic(italic)
    return fmt


KEYWORD = _format("#0033b3", bold=True)
BUILTIN = _format("#7a3e9d")
NUMBER = _format("#1750eb")
STRING = _format("#067d17")
COMMENT = _format("#8c8c8c", italic=True)
DEFINITION = _format("#00627a", bold=True)

_RULES = [
    (re.compile(r"\b(?:" + "|".join(keyword.kwlist) + r")\b"), KEYWORD),
    (re.compile(r"\b(?:" + "|".join(n for n in dir(builtins) if not n.startswith("_")) + r")\b"), BUILTIN),
    (re.compile(r"\b(?:0[xX][0-9a-fA-F_]+|\d[\d_]*\.?[\d_]*(?:[eE][+-]?\d+)?|\.\d[\d_]*(?:[eE][+-]?\d+)?)\b"), NUMBER),
    (re.compile(r"(?<=\bdef\s)\w+|(?<=\bclass\s)\w+"), DEFINITION),
]
# Strings and comments last: whatever is inside them takes their colour.
_STRING = re.compile(r"""[rRbBfFuU]{0,2}(?:'[^'\\\n]*(?:\\.[^'\\\n]*)*'|"[^"\\\n]*(?:\\.[^"\\\n]*)*")""")
_COMMENT = re.compile(r"#[^\n]*")
_TRIPLE = ('"""', "'''")
IN_TRIPLE_DOUBLE = 1
IN_TRIPLE_SINGLE = 2


class PythonHighlighter(QSyntaxHighlighter):
    def highlightBlock(self, text: str) -> None:
        for pattern, fmt in _RULES:
            for m in pattern.finditer(text):
                self.setFormat(m.start(), m.end() - m.start(), fmt)
        for m in _STRING.finditer(text):
            self.setFormat(m.start(), m.end() - m.start(), STRING)
        for m in _COMMENT.finditer(text):
            # A # inside a string is not a comment.
            if self.format(m.start()) != STRING:
                self.setFormat(m.start(), len(text) - m.start(), COMMENT)
                break
        self._triple_quotes(text)

    def _triple_quotes(self, text: str) -> None:
        """Docstrings span lines: carry "inside a triple-quoted string" from one block to the next."""
        self.setCurrentBlockState(0)
        start = 0
        state = self.previousBlockState()
        if state in (IN_TRIPLE_DOUBLE, IN_TRIPLE_SINGLE):
            quote = _TRIPLE[state - 1]
            end = text.find(quote)
            if end < 0:
                self.setFormat(0, len(text), STRING)
                self.setCurrentBlockState(state)
                return
            self.setFormat(0, end + 3, STRING)
            start = end + 3
        while True:
            positions = [(text.find(q, start), i) for i, q in enumerate(_TRIPLE) if text.find(q, start) >= 0]
            if not positions:
                return
            begin, which = min(positions)
            end = text.find(_TRIPLE[which], begin + 3)
            if end < 0:
                self.setFormat(begin, len(text) - begin, STRING)
                self.setCurrentBlockState(which + 1)
                return
            self.setFormat(begin, end + 3 - begin, STRING)
            start = end + 3
