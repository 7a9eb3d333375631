"""The alert rules dialog: one row per rule (what is measured, the threshold, over which window, for how long,
when it clears, which hop and target, and an optional command), what the selected rule does in words, and where
alert e-mail goes. OK checks every rule the way the rules file is checked (``AlertRule``'s messages), and a MOS
rule against the scoring model in use: its clear level must be one the model can give on a clean path
(``mos_ceiling``), or the rule could never clear. An empty clear level that the model cannot reach is set to one it
can (half-way between the threshold and the model's best), and the dialog says so."""

from __future__ import annotations

import html
import shlex
import time

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from pingmos.alerts import (
    DEFAULT_RULES,
    FIRE,
    LABELS,
    METRICS,
    UNITS,
    AlertEvent,
    AlertRule,
    RulesError,
    check_reach,
    duplicate_rule_names,
)
from pingmos.alerts import mos_ceiling as alert_ceiling
from pingmos.gui import models
from pingmos.gui.alert_mail import MailSettings, parse_recipients, send_events
from pingmos.gui.background import Background
from pingmos.gui.screen_fit import resize_within_screen


def mos_ceiling(model_name: str, settings: dict) -> float:
    """The MOS ``model_name`` gives a clean path (``pingmos.alerts.mos_ceiling``): the highest a clear level can
    usefully be. Worker thread (a user's formula runs). ValueError when the model cannot score."""
    model = models.load_model(model_name, settings)
    try:
        return alert_ceiling(model)
    finally:
        model.close()


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def explain(rule: AlertRule) -> str:
    """What the rule does, in words, with its hysteresis."""
    unit = UNITS[rule.metric]
    what = LABELS[rule.metric]
    hop = "the destination" if rule.ttl is None else f"hop {rule.ttl}"
    worse, better = ("below", "at or above") if rule.direction == "below" else ("above", "at or below")
    held = f" for {_duration(rule.for_s)}" if rule.for_s else ""
    clear_held = f" for {_duration(rule.clear_for_s)}" if rule.clear_for_s else ""
    default = " (the default)" if rule.clear_at is None else ""
    return (
        f"<b>{html.escape(rule.title)}</b>: fires when the {what} of {hop}, measured over the last "
        f"{_duration(rule.window_s)}, "
        f"stays {worse} {rule.threshold:g}{unit}{held}. It clears when the {what} is back {better} "
        f"{rule.clear:g}{unit}{default}{clear_held}. The gap between {rule.threshold:g} and {rule.clear:g} is the "
        "hysteresis: a value wobbling around the threshold does not fire and clear again and again."
    )


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
AUTO_NAME_ROLE = 257  # the name cell's flag: the name is generated from the row's settings and follows them
TIPS = {
    "name": "empty or unchanged: named after its settings (the name follows an edit); a name of your own is "
    "shown with the settings after it",
    "threshold": "MOS: alert below this value; loss %, latency ms, jitter ms: alert above it",
    "window_s": "the value is measured over the samples sent in this many seconds",
    "for_s": "the value must stay bad this long before the rule fires (0: at once)",
    "clear_at": "the rule clears when the value is back beyond this (empty: MOS + 0.2, half the loss, 80 % of "
    "latency or jitter); a MOS clear level must be one the scoring model gives on a clean path",
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
        self.result_rules: list[AlertRule] | None = None
        self.result_mail: MailSettings | None = None
        self.result_notify: bool | None = None  # the desktop notification on or off, after OK
        self.ceiling: float | None = None  # the model's MOS on a clean path (None: not known yet, or cannot)
        self.ceiling_error: str | None = None
        self.model_name = getattr(parent, "model_name", models.DEFAULT_MODEL)
        self.jobs = Background("alert-rules", self)
        self._naming = False  # a generated name being written (not the user's edit)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setTabKeyNavigation(False)  # Tab leaves the table, arrows move in it: no keyboard trap
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
        add.clicked.connect(lambda: self.add_rule(AlertRule("", "loss_pct", 1.0)))
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
        self.explanation = QLabel("")
        self.explanation.setWordWrap(True)
        self.table.itemSelectionChanged.connect(self._explain_selected)
        self.table.itemChanged.connect(self._item_changed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setEnabled(False)  # until the model's reach is known (a few ms; a user's formula: longer)
        self.ok_button.setToolTip("checking what the scoring model can reach…")
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.explanation)
        layout.addWidget(self._mail_box(getattr(getattr(parent, "settings", None), "mail", MailSettings)()))
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        resize_within_screen(self, 1100, 560)
        settings = dict(parent.model_settings()) if hasattr(parent, "model_settings") else {}
        self.jobs.run(
            mos_ceiling, self.model_name, settings, on_done=self._ceiling_known, on_error=self._ceiling_unknown
        )
        if self.table.rowCount():
            self.table.selectRow(0)

    # -- the model's reach -------------------------------------------------------------------------------------

    def _ceiling_known(self, mos: float) -> None:
        self.ceiling = mos
        self.ok_button.setEnabled(True)
        self.ok_button.setToolTip("")
        self._explain_selected()

    def _ceiling_unknown(self, exc: BaseException) -> None:
        self.ceiling_error = f"cannot check the clear levels against {self.model_name}: {exc}"
        self.ok_button.setEnabled(True)
        self.ok_button.setToolTip(self.ceiling_error)

    def wait_for_model(self, qtbot, timeout_ms: int = 10000) -> None:
        """Tests only: wait until the model's reach is known."""
        qtbot.waitUntil(lambda: self.jobs.pending == 0, timeout=timeout_ms)

    def reachable(self, rules: list[AlertRule]) -> tuple[list[AlertRule], list[str]]:
        """MOS rules checked against the model's ceiling (``pingmos.alerts.check_reach``, as every rules file is):
        an empty clear level above it is filled in (a note says so); a threshold or explicit clear level above it
        is an error (ValueError naming the rule and what to do)."""
        if self.ceiling is None:
            return rules, []
        try:
            return check_reach(rules, self.ceiling, self.model_name, clear_key="'clears at'", fill_defaults=True)
        except RulesError as exc:
            raise ValueError(str(exc)) from None

    def _explain_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}) or ([0] if self.table.rowCount() else [])
        if not rows:
            self.explanation.setText("")
            return
        try:
            rule = self._rule(rows[0])
        except ValueError as exc:
            self.explanation.setText(str(exc))
            return
        text = explain(rule)
        if rule.metric == "mos" and self.ceiling is not None:
            text += f" {self.model_name} gives at most {self.ceiling:.2f} on a clean path."
        self.explanation.setText(text)

    # -- e-mail ----------------------------------------------------------------------------------------------

    def _mail_box(self, mail: MailSettings) -> QGroupBox:
        box = QGroupBox("When a rule fires or clears (besides the status bar, the event log and the rule's "
                        "command)")  # fmt: skip
        form = QFormLayout(box)
        settings = getattr(self.parent(), "settings", None)
        self.notify_box = QCheckBox("show a desktop &notification")
        self.notify_box.setToolTip("a pop-up from the system tray (the Alerts menu turns it on and off too)")
        self.notify_box.setChecked(settings.desktop_notifications() if hasattr(settings, "desktop_notifications")
                                   else True)  # fmt: skip
        form.addRow("notify", self.notify_box)
        self.mail_to = QLineEdit(", ".join(mail.recipients))
        self.mail_to.setPlaceholderText("empty: no e-mail; several addresses separated by commas")
        self.mail_host = QLineEdit(mail.host)
        self.mail_host.setPlaceholderText("your mail relay, e.g. smtp.example.net")
        self.mail_port = QSpinBox()
        self.mail_port.setRange(1, 65535)
        self.mail_port.setValue(mail.port)
        self.mail_tls = QCheckBox("STARTTLS (port 587 usually)")
        self.mail_tls.setChecked(mail.starttls)
        self.mail_user = QLineEdit(mail.user)
        self.mail_password = QLineEdit(mail.password)
        self.mail_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.mail_password.setToolTip("kept as it is in pingmos.ini; leave empty for a relay that needs no login")
        self.mail_from = QLineEdit(mail.sender)
        self.mail_from.setPlaceholderText("pingmos@<this host>")
        server = QHBoxLayout()
        server.addWidget(self.mail_host, 1)
        server.addWidget(QLabel("port"))
        server.addWidget(self.mail_port)
        server.addWidget(self.mail_tls)
        login = QHBoxLayout()
        login.addWidget(self.mail_user, 1)
        login.addWidget(QLabel("password"))
        login.addWidget(self.mail_password, 1)
        self.test_mail_button = QPushButton("Send a test e-mail")
        self.test_mail_button.clicked.connect(self.send_test_mail)
        self.mail_status = QLabel("")
        self.mail_status.setWordWrap(True)
        test = QHBoxLayout()
        test.addWidget(self.test_mail_button)
        test.addWidget(self.mail_status, 1)
        form.addRow("send to", self.mail_to)
        form.addRow("SMTP server", server)
        form.addRow("user", login)
        form.addRow("from", self.mail_from)
        form.addRow(test)
        return box

    def mail(self) -> MailSettings:
        return MailSettings(
            host=self.mail_host.text().strip(),
            port=self.mail_port.value(),
            starttls=self.mail_tls.isChecked(),
            user=self.mail_user.text().strip(),
            password=self.mail_password.text(),
            sender=self.mail_from.text().strip(),
            recipients=parse_recipients(self.mail_to.text()),
        )

    def send_test_mail(self) -> None:
        """Send one made-up alert with the settings as typed (worker thread); the line beside says how it went."""
        mail = self.mail()
        problem = mail.problem() or (None if mail.enabled else "give an address to send to and the SMTP server")
        if problem:
            self.mail_status.setText(problem)
            return
        now = time.time()
        event = AlertEvent("test", FIRE, now, "pingmos test", 1, None, "mos", None, 3.5, 60.0, 0)
        self.mail_status.setText("sending…")
        self.test_mail_button.setEnabled(False)

        def done(text: str) -> None:
            self.test_mail_button.setEnabled(True)
            self.mail_status.setText(text)

        self.jobs.run(send_events, mail, [event], on_done=done, on_error=lambda exc: done(f"failed: {exc}"))

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == COL["name"] and not self._naming:
            text = item.text().strip()
            item.setData(AUTO_NAME_ROLE, not text or text == self._generated_name(item.row()))
        self._follow_settings(item.row())
        self._explain_selected()

    def _generated_name(self, row: int) -> str | None:
        try:
            return self._rule(row, auto=True).name
        except ValueError:
            return None  # a setting does not parse yet: the name stays as it is

    def _follow_settings(self, row: int) -> None:
        """A generated name is rewritten from the row's settings as they are edited."""
        item = self.table.item(row, COL["name"])
        if item is None or not item.data(AUTO_NAME_ROLE) or self._naming:
            return
        name = self._generated_name(row)
        if name is not None and name != item.text():
            self._naming = True
            try:
                item.setText(name)
            finally:
                self._naming = False

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
        metric.currentIndexChanged.connect(lambda _, m=metric: self._metric_changed(m))
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
        self._naming = True  # (the row is not complete yet)
        try:
            for key, value in values.items():
                self.table.setItem(row, COL[key], QTableWidgetItem(value))
            # The extra settings a file may hold and the table does not show travel with the row.
            self.table.item(row, COL["name"]).setData(256, (rule.min_samples, rule.command_timeout_s))
            self.table.item(row, COL["name"]).setData(AUTO_NAME_ROLE, rule.auto_name)
        finally:
            self._naming = False

    def _metric_changed(self, combo: QComboBox) -> None:
        for row in range(self.table.rowCount()):
            if self.table.cellWidget(row, COL["metric"]) is combo:
                self._follow_settings(row)
                self._explain_selected()

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

    def _rule(self, row: int, auto: bool | None = None) -> AlertRule:
        """The rule of table row ``row``; ``auto``: named after its settings (None: as the name cell says)."""
        name = self.cell(row, "name")
        if auto is None:
            auto = bool(self.table.item(row, COL["name"]).data(AUTO_NAME_ROLE)) or not name
        try:
            extra = self.table.item(row, COL["name"]).data(256) or (10, 10.0)
            clear_at = self.cell(row, "clear_at")
            ttl = self.cell(row, "ttl")
            command = self.cell(row, "command")
            return AlertRule(
                name="" if auto else name,
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
        except ValueError as exc:
            raise ValueError(f"rule {row + 1} ({name or 'no name'}): {exc}") from None

    def rules(self) -> list[AlertRule]:
        """The rules as the table has them; ValueError naming the rule and what is wrong."""
        out = [self._rule(row) for row in range(self.table.rowCount())]
        dupes = duplicate_rule_names(out)
        if dupes:
            raise ValueError(f"two rules have the same name: {', '.join(dupes)}")
        return out

    def _accept(self) -> None:
        try:
            rules, notes = self.reachable(self.rules())
            mail = self.mail()
            problem = mail.problem()
            if problem:
                raise ValueError(f"alert e-mail: {problem}")
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        if notes:  # shown once; a second OK accepts the adjusted rules
            for rule in rules:
                row = next(r for r in range(self.table.rowCount()) if self.cell(r, "name") == rule.name)
                if rule.clear_at is not None and not self.cell(row, "clear_at"):
                    self.set_cell(row, "clear_at", f"{rule.clear_at:g}")
            self.error.setText("Adjusted: " + "; ".join(notes) + ". Press OK to keep it.")
            return
        self.result_rules = rules
        self.result_mail = mail
        self.result_notify = self.notify_box.isChecked()
        parent = self.parent()
        settings = getattr(parent, "settings", None)
        if settings is not None and hasattr(settings, "set_mail"):
            settings.set_mail(mail)
            settings.set_desktop_notifications(self.result_notify)
            notify_action = getattr(getattr(parent, "evidence", None), "notify_action", None)
            if notify_action is not None:
                notify_action.setChecked(self.result_notify)
            monitor = getattr(getattr(parent, "evidence", None), "alerts", None)
            if monitor is not None:
                monitor.mail = mail
        self.accept()
