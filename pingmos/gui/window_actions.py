"""The main window's menus, keyboard shortcuts and tab order: every command has a menu entry (which shows its
shortcut), and the keyboard reaches every field in the order the eye reads them.

Shortcuts: F5 or Ctrl+Enter Start/Stop, F6 (or Pause) freezes the display, Ctrl+L the target, Ctrl+M the model,
Ctrl+1 the hop table, Ctrl+2 the trace graph, Ctrl+3 the timeline, Ctrl+E the formula, Ctrl+Shift+C copies the table
with its context, Ctrl+Shift+D the verdict, Ctrl+Shift+P exports the whole window, Ctrl+Shift+L floats the event log
or docks it again. They work from the floated event log too, once each (Qt takes a floated dock for part of its main
window); those that go to a field of the window make it the active window first. The hop table never keeps Tab to
itself (Tab leaves it; arrow keys move within it), and its right-click menu opens with the Menu key or Shift+F10
too. The trace graph is a Tab stop (after the table) for its marks: with the focus it shows them whole in a tooltip
(a narrow graph shortens them) and a frame; its plots neither pan nor zoom, and the hop table selects what it shows.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget

from pingmos.gui import shown_context
from pingmos.gui.timeline import PRESETS


class WindowActions(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self._shortcuts_first = _ShortcutsFirst(window, self)
        self._build()

    def _action(self, text: str, slot: Callable, keys=(), tip: str = "", checkable: bool = False) -> QAction:
        action = QAction(text, self.window)
        if isinstance(keys, str | QKeySequence.StandardKey):
            keys = (keys,)
        action.setShortcuts([QKeySequence(k) for k in keys])
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.setCheckable(checkable)
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda *_: slot())
        self.window.addAction(action)  # the shortcut works wherever the focus is in the window
        return action

    def _build(self) -> None:
        w = self.window
        bar = w.menuBar()
        # File: sessions and exports are added by session_actions before Quit.
        w.file_menu = bar.addMenu("&File")
        # Ctrl+Q too: the platform's Quit key is empty on some desktops (and offscreen), leaving Quit without one.
        quit_keys = [k for k in QKeySequence.keyBindings(QKeySequence.StandardKey.Quit) if not k.isEmpty()]
        quit_action = self._action("&Quit", w.close, quit_keys or ["Ctrl+Q"])
        w.file_menu.addAction(quit_action)

        edit = bar.addMenu("&Edit")
        w.copy_action = self._action(
            "&Copy table with its context",
            lambda: w.table.copy_text(w.table_context(), shown_context.diagnosis_lines(w)),
            "Ctrl+Shift+C",
            "the hop table as text, with target, time range, model and window above it and the diagnosis below",
        )
        edit.addAction(w.copy_action)
        # The verdict line's Copy, in the menu like every command, with a key (it was a Tab stop only).
        self.copy_verdict_action = self._action(
            "Copy &verdict",
            self.copy_verdict,
            "Ctrl+Shift+D",
            "the verdict (the diagnosis) as one sentence, e.g. for a ticket to your provider",
        )
        edit.addAction(self.copy_verdict_action)
        self.copy_image_action = self._action(
            "Copy window &image", w.copy_window_image, "Ctrl+Shift+I", "a picture of the whole window, to paste"
        )
        edit.addAction(self.copy_image_action)
        edit.addSeparator()
        edit.addAction(self._action("Quality &thresholds…", w.edit_thresholds))

        view = bar.addMenu("&View")
        w.view_menu = view  # (the event log's entries are added by evidence)
        self.goto = {
            "target": self._action("Go to &target", lambda: self._focus(w.target_combo, select=True), "Ctrl+L"),
            "model": self._action("Go to &model", lambda: self._focus(w.model_combo), "Ctrl+M"),
            "table": self._action("Go to &hop table", lambda: self._focus(w.table), "Ctrl+1"),
            "graph": self._action("Go to trace &graph (its marks whole)", lambda: self._focus(w.trace_graph), "Ctrl+2"),
            "timeline": self._action("Go to time&line", lambda: self._focus(w.timeline.focus_button), "Ctrl+3"),
        }
        for action in self.goto.values():
            view.addAction(action)
        view.addSeparator()
        self.pause_action = self._action(
            "&Pause display",
            w.pause_display,
            ("F6", "Pause"),
            "freeze what is shown to read it; the trace goes on measuring (F6 again to follow it)",
            checkable=True,
        )
        view.addAction(self.pause_action)
        self.follow_action = self._action("&Follow live", w.timeline.follow_live, "Ctrl+0")
        view.addAction(self.follow_action)
        focus_menu = view.addMenu("Focus &range")
        self.preset_actions = []
        for n, (label, minutes) in enumerate(PRESETS, start=5):
            action = self._action(f"Focus on the {label}", lambda m=minutes: w.timeline.preset(m), f"Ctrl+{n}")
            focus_menu.addAction(action)
            self.preset_actions.append(action)
        self.clear_focus_action = self._action("&Clear focus range (live window)", w.timeline.clear_focus, "Ctrl+9")
        focus_menu.addAction(self.clear_focus_action)

        trace = bar.addMenu("&Trace")
        trace.addAction(w.start_action)
        w.addAction(w.start_action)
        trace.addAction(w.edit_formula_action)
        w.addAction(w.edit_formula_action)
        # The verdict line's "Ask the routers" (the echo witness), in the menu like every command, with a key.
        self.ask_routers_action = self._action(
            "&Ask the routers",
            self.ask_routers,
            "Ctrl+Shift+R",
            "echo requests to each router that loses its own replies: evidence for the verdict",
        )
        trace.addAction(self.ask_routers_action)
        trace.aboutToShow.connect(self._sync_ask_routers)
        # Enabled again once the menu closes: the key then always answers (asks, or says why it cannot).
        trace.aboutToHide.connect(lambda: self.ask_routers_action.setEnabled(True))
        self.trace_menu = trace

        table = w.table
        table.setTabKeyNavigation(False)  # Tab leaves the table: arrows move within it (no keyboard trap)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        w.timeline.graphics.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # its buttons take the focus instead

    def _witness_button(self):
        evidence = getattr(self.window, "evidence", None)
        return evidence.verdict_bar.witness_button if evidence is not None else None

    def _sync_ask_routers(self) -> None:
        """The menu item is enabled as the verdict line's button is (no trace, a replayed session, no suspect
        router, or echoes under way: disabled)."""
        button = self._witness_button()
        self.ask_routers_action.setEnabled(button is not None and not button.isHidden() and button.isEnabled())

    def ask_routers(self) -> None:
        """Trace > Ask the routers (Ctrl+Shift+R): the verdict line's button; when it cannot, the status bar says
        why instead of nothing happening."""
        button = self._witness_button()
        if button is not None and not button.isHidden() and button.isEnabled():
            button.click()
            return
        why = "no router to ask now: none loses its own replies beyond the loss threshold, or no live trace"
        if button is not None and not button.isHidden() and button.text() != "Ask the routers":
            why = "the routers are being asked already"
        self.window.statusBar().showMessage(why, 5000)

    def copy_verdict(self) -> None:
        """Edit > Copy verdict (Ctrl+Shift+D): the verdict line's Copy; before the first verdict the status bar
        says so instead of nothing happening."""
        evidence = getattr(self.window, "evidence", None)
        if evidence is None or evidence.verdict_bar.diagnosis is None:
            self.window.statusBar().showMessage("no verdict yet: start a trace or open a session", 5000)
            return
        evidence.verdict_bar.copy()
        self.window.statusBar().showMessage("verdict copied", 3000)

    def _focus(self, widget: QWidget, select: bool = False) -> None:
        if QApplication.activeWindow() is not self.window:
            # Pressed in the floated event log (a window of its own, where the window's shortcuts work too): the
            # focus cannot go into an inactive window, so Ctrl+1, Ctrl+2, Ctrl+L... did nothing there. (Not
            # raised: without a window manager that would hide the floated log, a tool window, behind it.)
            self.window.activateWindow()
        widget.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if select and hasattr(widget, "lineEdit") and widget.lineEdit() is not None:
            widget.lineEdit().selectAll()

    def set_tab_order(self) -> None:
        """Toolbar left to right, the scoring row, the verdict's buttons, the table, the trace graph, the timeline's
        buttons, the event log. Called again when the model's settings (fields) change."""
        w = self.window
        chain: list[QWidget] = [*w.toolbar.fields(), *w.scoring_row.fields()]
        evidence = getattr(w, "evidence", None)
        if evidence is not None:
            bar = evidence.verdict_bar
            chain += [b for b in bar.findChildren(QWidget) if b.focusPolicy() & Qt.FocusPolicy.TabFocus]
        chain += [w.table, w.trace_graph, w.timeline.focus_button, w.timeline.preset_combo, w.timeline.live_button]
        if evidence is not None:
            log = evidence.event_log
            chain += [b for b in log.findChildren(QWidget) if b.focusPolicy() & Qt.FocusPolicy.TabFocus]
        chain = [c for c in chain if c is not None]
        for a, b in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(a, b)
        # The window's shortcuts work from its text fields too (the focus starts in the target field).
        for field in [*w.toolbar.fields(), *w.scoring_row.fields()]:
            for widget in (field, *field.findChildren(QLineEdit)):
                widget.installEventFilter(self._shortcuts_first)


class _ShortcutsFirst(QObject):
    """Event filter on the window's text fields: a key that is one of the window's shortcuts goes to the shortcut,
    not to the field's own key bindings. A line edit claims Ctrl+E on X11 (an emacs binding: end of line), so Ctrl+E
    (Edit formula) did nothing while the focus was in the target field, where it starts, or a setting's field."""

    def __init__(self, window: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() != QEvent.Type.ShortcutOverride:
            return False
        pressed = QKeySequence(event.keyCombination())
        # (QWidget.actions: the window's own ``actions`` attribute is its WindowActions.)
        for action in QWidget.actions(self.window):
            if action.isEnabled() and any(
                k.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch for k in action.shortcuts()
            ):
                event.ignore()  # not overridden by the field: the shortcut map gives it to the action
                return True
        return False
