"""The alert rules dialog: one row per rule (what is measured, the threshold, over which window, for how long,
when it clears, which hop and target, and an optional command). OK checks every rule the way the rules file
is checked (``AlertRule``'s messages) and keeps the dialog open, the bad cell named, until all are valid."""

from __future__ import annotations

import shlex

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from pingmos.alerts import DEFAULT_RULES, LABELS, METRICS, AlertRule, duplicate_rule_names

COLUMNS = (
    ("name", "name"),
    ("metric", "metric"),
    ("threshold", "threshold"),
    ("window_s", "window (s)"),
    ("for_s", "for (s)"),
    ("clear_at", "clears at"),
    ("clear_for_s", "clear for (s)"),
    ("ttl", "hop (TTL)"),
    ("target", "target"),
    ("command", "command"),
)
COL = {key: i for i, (key, _) in enumerate(COLUMNS)}
TIPS = {
    "threshold": "MOS: alert below this value; loss %, latency ms, jitter ms: alert above it",
    "window_s": "the value is measured over the samples sent in this many seconds",
    "for_s": "the value must stay bad this long before the rule fires (0: at once)",
    "clear_at": "the rule clears when the value is back beyond this (empty: MOS + 0.2, half the loss, 80 % of "
    "latency or jitter)",
    "clear_for_s": "the value must stay good this long before the rule clears",
    "ttl": "the hop measured; empty: the destination",
    "target": "only for this target; empty: every target",
    "command": "run when the rule fires and clears, with the values in PINGMOS_ALERT_* variables (no shell)",
}


def _number(text: str, what: str, whole: bool = False):
    text = text.strip()
    try:
        return int(text) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise ValueError(f"{what} must be {kind}, not {text!r}") from None


class AlertsDialog(QDialog):
    """``result_rules`` holds the rules after OK."""

    def __init__(self, rules, problem: str | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Alert rules")
        self.resize(1100, 320)
        self.result_rules: list[AlertRule] | None = None
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([label for _, label in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for key, tip in TIPS.items():
            self.table.horizontalHeaderItem(COL[key]).setToolTip(tip)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL["name"], QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL["command"], QHeaderView.ResizeMode.Stretch)
        for rule in rules:
            self.add_rule(rule)

        add = QPushButton("Add rule")
        add.clicked.connect(lambda: self.add_rule(AlertRule(self._new_name(), "loss_pct", 1.0)))
        remove = QPushButton("Remove")
        remove.clicked.connect(self.remove_selected)
        defaults = QPushButton("Defaults")
        defaults.setToolTip("the seeds' rules: MOS below 3.5 for 5 minutes; loss above 1 % for 5 minutes")
        defaults.clicked.connect(lambda: self.set_rules(DEFAULT_RULES))
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addWidget(defaults)
        row.addStretch(1)
        self.error = QLabel(problem or "")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b71c1c")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _new_name(self) -> str:
        names = {self.table.item(r, COL["name"]).text() for r in range(self.table.rowCount())}
        n = 1
        while f"rule {n}" in names:
            n += 1
        return f"rule {n}"

    def set_rules(self, rules) -> None:
        self.table.setRowCount(0)
        for rule in rules:
            self.add_rule(rule)

    def add_rule(self, rule: AlertRule) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        metric = QComboBox()
        for key in METRICS:
            metric.addItem(f"{LABELS[key]} ({METRICS[key]})", key)
        metric.setCurrentIndex(metric.findData(rule.metric))
        self.table.setCellWidget(row, COL["metric"], metric)
        values = {
            "name": rule.name,
            "threshold": f"{rule.threshold:g}",
            "window_s": f"{rule.window_s:g}",
            "for_s": f"{rule.for_s:g}",
            "clear_at": "" if rule.clear_at is None else f"{rule.clear_at:g}",
            "clear_for_s": f"{rule.clear_for_s:g}",
            "ttl": "" if rule.ttl is None else str(rule.ttl),
            "target": rule.target or "",
            "command": shlex.join(rule.command),
        }
        for key, value in values.items():
            self.table.setItem(row, COL[key], QTableWidgetItem(value))
        # The extra settings a file may hold and the table does not show travel with the row.
        self.table.item(row, COL["name"]).setData(256, (rule.min_samples, rule.command_timeout_s))

    def remove_selected(self) -> None:
        for row in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(row)

    def cell(self, row: int, key: str) -> str:
        item = self.table.item(row, COL[key])
        return item.text().strip() if item is not None else ""

    def set_cell(self, row: int, key: str, text: str) -> None:
        self.table.item(row, COL[key]).setText(text)

    def set_metric(self, row: int, metric: str) -> None:
        combo = self.table.cellWidget(row, COL["metric"])
        combo.setCurrentIndex(combo.findData(metric))

    def rules(self) -> list[AlertRule]:
        """The rules as the table has them; ValueError naming the rule and what is wrong."""
        out = []
        for row in range(self.table.rowCount()):
            name = self.cell(row, "name")
            try:
                if not name:
                    raise ValueError("give the rule a name")
                extra = self.table.item(row, COL["name"]).data(256) or (10, 10.0)
                clear_at = self.cell(row, "clear_at")
                ttl = self.cell(row, "ttl")
                command = self.cell(row, "command")
                out.append(
                    AlertRule(
                        name=name,
                        metric=self.table.cellWidget(row, COL["metric"]).currentData(),
                        threshold=_number(self.cell(row, "threshold"), "the threshold"),
                        window_s=_number(self.cell(row, "window_s"), "the window"),
                        for_s=_number(self.cell(row, "for_s"), "'for'"),
                        clear_at=_number(clear_at, "'clears at'") if clear_at else None,
                        clear_for_s=_number(self.cell(row, "clear_for_s"), "'clear for'"),
                        ttl=_number(ttl, "the hop", whole=True) if ttl else None,
                        target=self.cell(row, "target") or None,
                        min_samples=int(extra[0]),
                        command=tuple(shlex.split(command)) if command else (),
                        command_timeout_s=float(extra[1]),
                    )
                )
            except ValueError as exc:
                raise ValueError(f"rule {row + 1} ({name or 'no name'}): {exc}") from None
        dupes = duplicate_rule_names(out)
        if dupes:
            raise ValueError(f"two rules have the same name: {', '.join(dupes)}")
        return out

    def _accept(self) -> None:
        try:
            rules = self.rules()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.result_rules = rules
        self.accept()
