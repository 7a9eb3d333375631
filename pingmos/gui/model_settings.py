"""The scoring model's settings as a user reads them: words and units instead of identifiers (``burst_r`` is
"burst ratio", ``one_way_pct`` is "one-way delay, % of the round trip"), in a row that wraps under the toolbar
instead of hiding behind its overflow arrow.

``ModelSettingsBox`` shows the settings of one model (``SettingSpec``s from ``pingmos.gui.models``): a choice is a
combo box, a number a text field (a few settings also take a word such as ``auto``) followed by its unit. The
values are the text as typed; the scoring model checks them and the window shows its message when one is bad.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLayout, QLineEdit, QWidget

from pingmos.gui.models import SettingSpec

# name -> (words, unit) for the settings the shipped models declare; others are spelled out from their names.
WORDS: dict[str, tuple[str, str]] = {
    "jitter": ("jitter", ""),
    "codec": ("codec", ""),
    "codec_delay_ms": ("codec delay", "ms"),
    "burst_r": ("burst ratio", ""),
    "one_way_pct": ("one-way delay", "% of RTT"),
    "added_delay_ms": ("added delay", "ms"),
    "advantage": ("advantage factor A", ""),
    "r0": ("basic signal-to-noise Ro", ""),
    "playout": ("jitter buffer covers", "% of packets"),
    "packet_ms": ("packet interval", "ms"),
}
UNIT_SUFFIXES = (("_ms", "ms"), ("_pct", "%"), ("_s", "s"), ("_kbps", "kbit/s"))


def words_for(name: str) -> tuple[str, str]:
    """(label, unit) of a setting: from WORDS, else the name without its unit suffix, underscores as spaces."""
    if name in WORDS:
        return WORDS[name]
    for suffix, unit in UNIT_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)].replace("_", " "), unit
    return name.replace("_", " "), ""


class FlowLayout(QLayout):
    """Items left to right, wrapping to the next line when the width runs out (Qt's Flow Layout example)."""

    def __init__(self, parent=None, spacing: int = 6):
        super().__init__(parent)
        self._items = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item) -> None:  # noqa: N802 - Qt's name
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):  # noqa: N802
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self):  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _arrange(self, rect: QRect, move: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, line_height = area.x(), area.y(), 0
        for item in self._items:
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and line_height > 0:
                x, y = area.x(), y + line_height + self._spacing // 2
                line_height = 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line_height = max(line_height, hint.height())
        return y + line_height - rect.y() + m.bottom()


class _Group(QWidget):
    """One setting: label, field and unit kept together on a line."""

    def __init__(self, parts: list[QWidget]):
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(3)
        for part in parts:
            row.addWidget(part)


class ModelSettingsBox(QWidget):
    """The settings of one model as label, field and unit; ``changed(name, text)`` when one is edited."""

    changed = Signal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.row = FlowLayout(self)
        self.widgets: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}

    def show_settings(self, specs: tuple[SettingSpec, ...], saved: dict[str, str]) -> None:
        """Replace the fields by ``specs``' with the ``saved`` values (text), their defaults otherwise."""
        while self.row.count():
            item = self.row.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.widgets, self.labels = {}, {}
        for spec in specs:
            words, unit = words_for(spec.name)
            tip = f"{spec.help} (setting '{spec.name}', default {spec.default})"
            label = QLabel(words)
            label.setToolTip(tip)
            value = saved.get(spec.name, str(spec.default))
            if spec.choices:
                widget = QComboBox()
                widget.addItems(spec.choices)
                widget.setCurrentText(value if value in spec.choices else str(spec.default))
                widget.currentTextChanged.connect(lambda text, key=spec.name: self.changed.emit(key, text))
            else:
                widget = QLineEdit(value)
                widget.setFixedWidth(52)
                widget.editingFinished.connect(self._emitter(spec.name, widget))
            widget.setToolTip(tip)
            widget.setAccessibleName(f"{words} {unit}".strip())
            label.setBuddy(widget)
            parts = [label, widget] + ([QLabel(unit)] if unit else [])
            self.row.addWidget(_Group(parts))
            self.widgets[spec.name] = widget
            self.labels[spec.name] = label
        self.updateGeometry()

    def _emitter(self, key: str, widget: QLineEdit) -> Callable[[], None]:
        return lambda: self.changed.emit(key, widget.text())

    def values(self) -> tuple[tuple[str, object], ...]:
        """(name, text) of every setting shown, in order."""
        return tuple(
            (key, w.currentText() if isinstance(w, QComboBox) else w.text()) for key, w in self.widgets.items()
        )

    def fields(self) -> list[QWidget]:
        return list(self.widgets.values())
