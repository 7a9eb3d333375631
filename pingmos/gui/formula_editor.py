"""The formula editor: the user's copy of the current model's script, with Check, Save and Revert to built-in.

Opening, Check and Save never run the formula or touch the disk on the GUI thread: Check scores in a worker
thread (which talks to the scoring worker process with its deadline) and the window polls for the result; Save
writes the file in a worker thread too (a slow or network-mounted home folder must not freeze the window) and
switches the model when the write is done; opening finds, copies and reads the file in that same worker (jobs run
in order).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from pingmos import scoring
from pingmos.gui import models
from pingmos.gui.background import Background
from pingmos.gui.code_editor import CodeEditor
from pingmos.gui.screen_fit import resize_within_screen
from pingmos.hop_report import no_responder_samples

POLL_MS = 50
TRIAL_RTT_MS = 20.0  # the window a formula is tried on at Save when no hop has samples yet
TRIAL_SAMPLES = 20


class FormulaEditor(QDialog):
    def __init__(self, main_window):
        super().__init__(main_window)
        self.main_window = main_window
        self.setWindowTitle("Formula")
        self.setModal(False)
        self.model_name: str | None = None  # the model whose file is open (the user's copy)
        self.path: Path | None = None
        self._saved_text = ""
        self._closing = False  # within closeEvent (see reject)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pingmos-check")
        self._check: Future | None = None
        self._disk = Background("formula-save", self)
        self.last_save: models.CheckResult | None = None  # what the formula gave when last saved

        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.editor = CodeEditor()
        self.editor.textChanged.connect(self._text_changed)
        self.result = QTextBrowser()
        self.result.setMaximumHeight(150)
        self.result.setOpenLinks(False)
        self.result.anchorClicked.connect(lambda url: self.editor.set_error_line(int(url.fragment() or "0") or None))

        self.check_button = QPushButton("Check")
        self.check_button.setToolTip(
            "compile the formula and score the selected hop with it, without saving (Ctrl+Enter)"
        )
        self.check_button.clicked.connect(self.check)
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip("save the formula; the hop table uses it from the next update (Ctrl+S)")
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton("Revert to built-in")
        self.revert_button.setToolTip("replace this formula by the one pingmos ships, and save")
        self.revert_button.clicked.connect(self.revert)
        close = QPushButton("Close")
        close.clicked.connect(self.request_close)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save)
        # Check from the keyboard wherever the focus is in the editor window (Tab indents in the editor itself).
        self.check_shortcuts = [
            QShortcut(QKeySequence(k), self, activated=self.check) for k in ("Ctrl+Return", "Ctrl+Enter")
        ]
        buttons = QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.revert_button)
        buttons.addStretch(1)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.result)
        layout.addLayout(buttons)
        # Tab and Shift+Tab run editor, result, Check, Save, Revert, Close and round again (Ctrl+Tab leaves the
        # editor, where Tab indents): Shift+Tab from the buttons reaches the editor.
        chain = [self.editor, self.result, self.check_button, self.save_button, self.revert_button, close]
        for a, b in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(a, b)
        resize_within_screen(self, 860, 720)

        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll_check)

    # -- opening --------------------------------------------------------------------------------------

    def set_model(self, name: str) -> None:
        """Open the formula of model ``name``: its own file for a user's model, else the user's copy of it
        (made on first use; the shipped file is never edited). Finding, copying and reading the file happen in a
        worker thread; the editor fills in when they are done."""
        if self.path is not None and self.is_modified() and name != self.model_name:
            self._show_message("The open formula has unsaved changes; save or revert it before switching models.")
            return

        def load() -> tuple[str, Path, str, bool]:
            model_name, path = models.formula_for_editing(name)
            # bounded, regular files only: a FIFO or a device in the scoring folder fails here, never blocks
            text = scoring.read_formula_text(path)
            return model_name, path, text, models.builtin_text(model_name) is not None

        self._disk.run(load, on_done=lambda loaded: self._show_formula(name, *loaded), on_error=self._no_formula(name))

    def _no_formula(self, name: str):
        def show(exc: BaseException) -> None:
            self.model_name, self.path = None, None
            self.editor.setPlainText("")
            self.editor.setReadOnly(True)
            self.heading.setText(f"<b>{name}</b> has no formula file to edit: {_escape(str(exc))}")
            self._enable(False)

        return show

    def _show_formula(self, name: str, model_name: str, path: Path, text: str, revertible: bool) -> None:
        self.model_name, self.path = model_name, path
        self.editor.setReadOnly(False)
        self._saved_text = text
        self.editor.setPlainText(text)
        self.editor.set_error_line(None)
        copied = "" if model_name == name else f" (your copy of <b>{name}</b>)"
        self.heading.setText(
            f"Model <b>{model_name}</b>{copied}<br>File: <code>{path}</code><br>"
            "Change a number or a line of <code>score_hop</code>, press <b>Check</b> to try it on the selected hop, "
            "<b>Save</b> to use it for every hop."
        )
        self.revert_button.setEnabled(revertible)
        self._enable(True)
        self.result.setHtml("")
        self._update_title()

    def _enable(self, on: bool) -> None:
        self.check_button.setEnabled(on)
        self.save_button.setEnabled(on)
        self.revert_button.setEnabled(on and self.revert_button.isEnabled())

    def is_modified(self) -> bool:
        return self.editor.toPlainText() != self._saved_text

    def _text_changed(self) -> None:
        self._update_title()

    def _update_title(self) -> None:
        star = " *" if self.is_modified() else ""
        self.setWindowTitle(f"Formula: {self.model_name or ''}{star}")

    def _show_message(self, html: str) -> None:
        self.result.setHtml(html)

    # -- Check ----------------------------------------------------------------------------------------

    def check(self) -> None:
        """Score the selected hop (the destination if none) with the text as it is now, in the background."""
        if self.path is None or (self._check is not None and not self._check.done()):
            return
        hop, rtts = self.main_window.selected_window_samples()
        if hop is None:
            self._show_message("Nothing to score yet: start a trace and let a few rounds come in.")
            return
        settings = dict(self.main_window.model_settings())
        self._checked_hop = hop
        self._show_message(f"Checking with hop {hop.ttl}…")
        self._check = self._pool.submit(models.check_formula, self.editor.toPlainText(), str(self.path), settings, rtts)
        self.check_button.setEnabled(False)
        self.timer.start()

    def wait_for_check(self, timeout_s: float = 10.0) -> None:
        """Tests only: wait for the check under way and show its result."""
        if self._check is not None:
            self._check.result(timeout_s)
        self._poll_check()

    def _poll_check(self) -> None:
        if self._check is None or not self._check.done():
            return
        self.timer.stop()
        self.check_button.setEnabled(self.path is not None)
        future, self._check = self._check, None
        try:
            outcome = future.result()
        except Exception as exc:  # a bug in pingmos, not in the formula: still say what happened
            self.editor.set_error_line(None)
            self._show_message(f"<span style='color:#b71c1c'>Check failed: {type(exc).__name__}: {exc}</span>")
            return
        self.show_check(outcome)

    def show_check(self, outcome: models.CheckResult) -> None:
        hop = self._checked_hop
        where = f"hop {hop.ttl} ({hop.name or hop.address or '???'}), {outcome.received} of {outcome.sent} received"
        if outcome.error:
            self.editor.set_error_line(outcome.line)
            line = f" <a href='#{outcome.line}'>line {outcome.line}</a>" if outcome.line else ""
            self._show_message(
                f"<b style='color:#b71c1c'>Error</b>{line} - {_escape(outcome.error)}<br><small>{where}</small>"
            )
            return
        self.editor.set_error_line(None)
        if no_responder_samples(outcome.received, path_end=hop.destination or hop.unreachable is not None):
            # As the table: a router that answered none of these probes has no score (R 0 / MOS 1 would call a
            # hop nobody measured unusable); the formula ran without an error.
            self._show_message(
                f"<b style='color:#1b5e20'>OK</b> - the formula runs; {where}: no score for a hop that answered "
                "none of its probes (select a hop with replies, or the destination)"
            )
            return
        score = outcome.score
        rows = outcome.detail.items()
        detail = "".join(f"<tr><td>{_escape(k)}</td><td align=right>{v:.4g}</td></tr>" for k, v in rows)
        self._show_message(
            f"<b style='color:#1b5e20'>OK</b> - {where}: <b>R {score.r:.1f}, MOS {score.mos:.2f}</b>"
            f"<table cellspacing=0 cellpadding=2>{detail}</table>"
        )

    # -- Save / Revert --------------------------------------------------------------------------------

    def save(self) -> None:
        """Write the formula and try it (both in a worker thread). A formula that works scores every hop from the
        next update; one that does not is still saved (it is the user's file), the error is shown here with its
        line, and the hop table keeps the last working version of the formula, its numbers marked ``*``."""
        if self.path is None:
            return
        text, path, model_name = self.editor.toPlainText(), self.path, self.model_name
        settings = dict(self.main_window.model_settings())
        hop, rtts = self.main_window.selected_window_samples()
        if not rtts or all(v is None for v in rtts):
            # Nothing measured yet: the formula is still run once, on a clean window, to find what breaks it;
            # the numbers it gives are never shown.
            hop, rtts = None, [TRIAL_RTT_MS] * TRIAL_SAMPLES
        self.save_button.setEnabled(False)

        def write_and_try() -> models.CheckResult:
            models.save_formula(path, text)
            return models.check_formula(text, str(path), settings, rtts)

        def saved(outcome: models.CheckResult) -> None:
            self.save_button.setEnabled(self.path is not None)
            self._saved_text = text
            self._update_title()
            self.last_save = outcome
            if outcome.error is None:
                self.editor.set_error_line(None)
                if self.main_window.model_name != model_name:
                    # The copy goes on with the settings in effect (those it was just tried with): scored with
                    # its own saved ones, none at first, a fixed buffer and G.729A became adaptive and G.711.
                    for key, value in settings.items():
                        self.main_window.settings.set_model_setting(model_name, key, value)
                self.main_window.use_model(model_name)
                self.main_window.formula_saved()
                self._show_message(f"Saved. Every hop is now scored with <b>{_escape(model_name)}</b>.")
                return
            self.editor.set_error_line(outcome.line)
            line = f" <a href='#{outcome.line}'>line {outcome.line}</a>" if outcome.line else ""
            if self.main_window.model_name == model_name:
                self.main_window.formula_saved()
                keeps = (
                    "The hop table keeps the last version that worked, its numbers marked <b>*</b>, until you fix it "
                    "and save again."
                )
            else:  # never used yet: the table goes on with the model it has
                keeps = (
                    f"The hop table goes on scoring with <b>{_escape(self.main_window.model_name)}</b> until this "
                    "formula works."
                )
            on = f" on hop {hop.ttl}" if hop is not None else ""
            self._show_message(
                f"<b style='color:#b71c1c'>Saved, but the formula does not work</b>{line}{on} - "
                f"{_escape(outcome.error)}<br>{keeps}"
            )

        def failed(exc: BaseException) -> None:
            self.save_button.setEnabled(self.path is not None)
            self._show_message(f"<span style='color:#b71c1c'>Cannot save {path}: {_escape(str(exc))}</span>")

        self._disk.run(write_and_try, on_done=saved, on_error=failed)

    def wait_for_disk(self, qtbot, timeout_ms: int = 5000) -> None:
        """Tests only: wait until every formula opened or saved has been read or written, and shown or applied."""
        qtbot.waitUntil(lambda: self._disk.pending == 0, timeout=timeout_ms)

    def revert(self) -> None:
        """Put back the formula pingmos ships (for a copy: the one it was copied from) and save it, after asking
        when that would throw away the user's own text (saved or not)."""
        if self.path is None:
            return

        def put_back(text: str | None) -> None:
            if text is None:
                return
            if text != self.editor.toPlainText() and not self.confirm_revert():
                self._show_message("Not reverted: your formula is as it was.")
                return
            self.editor.setPlainText(text)
            self.save()
            self._show_message(f"Reverted to the built-in formula; saving. <b>{self.model_name}</b> scores as shipped.")

        self._disk.run(models.builtin_text, self.model_name or "", on_done=put_back, on_error=self._save_failed)

    def confirm_revert(self) -> bool:
        """Ask before the shipped formula replaces the user's (tests replace this)."""
        answer = QMessageBox.question(
            self,
            "Revert to built-in",
            "Replace your formula by the one pingmos ships? Your changes, saved or not, are lost.",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    def _save_failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(self.path is not None)
        self._show_message(f"<span style='color:#b71c1c'>Cannot save {self.path}: {_escape(str(exc))}</span>")

    def confirm_discard(self) -> bool:
        """True when there is nothing unsaved, or the user agrees to lose it."""
        if not self.is_modified():
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved formula",
            "The formula has changes that are not saved. Close anyway and lose them?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    def request_close(self) -> None:
        if self.confirm_discard():
            self.editor.setPlainText(self._saved_text)
            self.close()

    def reject(self) -> None:
        """Escape (a dialog's reject) asks before unsaved changes go, as Close does: it hid the editor without a
        word. (Not again from closeEvent, which asked already when it had to.)"""
        if not self._closing:
            if not self.confirm_discard():
                return
            self.editor.setPlainText(self._saved_text)
        super().reject()

    def closeEvent(self, event) -> None:
        # Asked only when the user closes the window itself (title bar); Close asks in request_close, and the
        # main window asks before it goes.
        if event.spontaneous() and not self.confirm_discard():
            event.ignore()
            return
        self.timer.stop()
        self._closing = True  # (QDialog's closeEvent rejects: see reject)
        try:
            super().closeEvent(event)
        finally:
            self._closing = False


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
