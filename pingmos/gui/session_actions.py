"""The File menu's sessions and exports: recording every trace (``recording``), Open… (``session_files``),
Save As… (Ctrl+S), recent sessions, and export of the hop table, the raw samples, the event log, the graphs and
the whole window (``image_export``). "Record every trace" in the File menu turns recording off (remembered).

The GUI thread never touches the disk here: the session file is created, written (SessionRecorder's writer
thread), closed, opened, replayed, copied and exported in worker threads (``Background``); only the file
dialogs run in the GUI thread, as they must.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QMessageBox

from pingmos import export
from pingmos.display_text import display_text, echoed
from pingmos.gui.background import Background
from pingmos.gui.hop_table import table_as_text
from pingmos.gui.image_export import image_job
from pingmos.gui.recording import Recording, removed_on_failure, session_file_name, sessions_dir, write_text
from pingmos.gui.session_files import OpenedSession, export_samples, format_of, load_session, summary_of
from pingmos.gui.shown_context import diagnosis_lines, shown_time_range
from pingmos.hop_report import TraceSnapshot
from pingmos.live_trace import LiveTrace
from pingmos.session import SessionError, SessionEvent, SessionInfo, SeveralProbes

RECENT_KEY = "sessions/recent"
RECORD_KEY = "sessions/record"
RECENT_MAX = 8
OPEN_FILTER = "pingmos sessions (*.pingmos);;exports and reports (*.csv *.json *.txt *.raw *.log);;All files (*)"

__all__ = ["OpenedSession", "SessionActions", "load_session", "sessions_dir"]


def export_failure(path: str, exc: BaseException) -> str:
    """The one line saying an export to ``path`` failed and why; its ``.partial`` file is gone by then
    (``replaced_when_written``), and a file already at ``path`` is as it was."""
    if isinstance(exc, OSError):
        why = exc.strerror or str(exc)
        if exc.filename and os.fspath(exc.filename) not in (path, path + ".partial"):
            why += f" ({exc.filename})"  # (the .partial file beside the target is no name the user knows)
    else:
        why = str(exc) or type(exc).__name__
    return echoed(f"export to {path} failed: {why}; nothing was written", 500)


class SessionActions(QObject):
    """File-menu actions of one MainWindow. ``owner`` is the window's evidence hub (``pingmos.gui.evidence``):
    it is told when a session opens and knows the event log."""

    def __init__(self, window, owner):
        super().__init__(window)
        self.window = window
        self.owner = owner
        self.worker = Background("sessions", self)
        self.recording: Recording | None = None
        self.opened: OpenedSession | None = None
        self.replays: set[int] = set()  # ids of traces replayed from files: Start never resumes them
        self.message_box: QMessageBox | None = None
        self.last_message = ""
        self._recorded_names: dict[str, str] = {}
        self._rescoring: list = []  # the models scoring an mtr report for the latest choice (see rescore_summary)
        self._build_menu()

    # -- menu -----------------------------------------------------------------------------------------

    def _action(self, text: str, slot: Callable, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(lambda *_: slot())
        return action

    def _build_menu(self) -> None:
        menu: QMenu = self.window.file_menu
        first = menu.actions()[0] if menu.actions() else None  # Quit stays last
        self.open_action = self._action("&Open session…", self.open_dialog, QKeySequence.StandardKey.Open,
                                        "open a recorded session or an mtr --json / --raw report")  # fmt: skip
        self.recent_menu = QMenu("Open &recent", self.window)
        self.save_action = self._action("&Save session as…", self.save_as_dialog, "Ctrl+S",
                                        "save a copy of the session shown (Ctrl+S)")  # fmt: skip
        self.record_action = QAction("Record e&very trace", self.window)  # (R is Open recent's)
        self.record_action.setCheckable(True)
        self.record_action.setChecked(self.record_enabled())
        self.record_action.setToolTip(f"record each trace's raw samples and events in {sessions_dir()}")
        self.record_action.toggled.connect(lambda on: self.window.settings.q.setValue(RECORD_KEY, bool(on)))
        export_menu = QMenu("&Export", self.window)
        self.export_actions = {
            "hops_csv": self._action("Hop table as CSV…", lambda: self.export_dialog("hops", "csv")),
            "hops_json": self._action("Hop table as JSON…", lambda: self.export_dialog("hops", "json")),
            "hops_text": self._action(
                "Hop table as text with its context…",
                lambda: self.export_dialog("hops", "txt"),
                tip="the table as the window shows it, with target, time range, model and window above it",
            ),
            "samples_all": self._action("Raw samples of all hops…", lambda: self.export_dialog("samples", "")),
            "samples_hop": self._action("Raw samples of the selected hop…", lambda: self.export_dialog("hop", "")),
            "events": self._action("Event log…", lambda: self.export_dialog("events", "")),
            "trace_graph": self._action("Trace graph image…", lambda: self.export_dialog("trace_graph", "")),
            "timeline": self._action("Timeline image…", lambda: self.export_dialog("timeline", "")),
            "window": self._action(
                "Whole window image…",
                lambda: self.export_dialog("window", ""),
                "Ctrl+Shift+P",
                "the whole window as one PNG or SVG picture, e.g. for a ticket",
            ),
        }
        for key, action in self.export_actions.items():
            if key in ("samples_all", "events", "trace_graph"):
                export_menu.addSeparator()
            export_menu.addAction(action)
        for item in (self.open_action, self.recent_menu, self.save_action, self.record_action, None, export_menu):
            if item is None:
                menu.insertSeparator(first) if first else menu.addSeparator()
            elif isinstance(item, QMenu):
                menu.insertMenu(first, item) if first else menu.addMenu(item)
            else:
                menu.insertAction(first, item) if first else menu.addAction(item)
        if first is not None:
            menu.insertSeparator(first)
        self._fill_recent()
        self.refresh_actions()

    def record_enabled(self) -> bool:
        value = self.window.settings.q.value(RECORD_KEY, True)
        return value not in (False, "false", "0", 0)

    def recent(self) -> list[str]:
        value = self.window.settings.q.value(RECENT_KEY, [])
        if isinstance(value, str):  # QSettings' INI format gives a one-element list back as a string
            value = [value]
        return [v for v in value or [] if isinstance(v, str) and v]

    def _add_recent(self, path: str) -> None:
        paths = [path] + [p for p in self.recent() if p != path]
        self.window.settings.q.setValue(RECENT_KEY, paths[:RECENT_MAX])
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.recent():
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda *_, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.recent_menu.actions()))

    def session_path(self) -> str | None:
        """The file behind what the window shows: the live recording or the opened session."""
        if self.opened is not None and self._showing_opened():
            return self.opened.path
        if self.recording is not None and self.recording.opening and self.recording.problem is None:
            return str(self.recording.path)
        return None

    def _showing_opened(self) -> bool:
        o = self.opened
        return o is not None and (self.window.trace is o.trace if o.trace is not None else self.window.trace is None)

    def refresh_actions(self) -> None:
        has_session = self.session_path() is not None
        self.save_action.setEnabled(has_session)
        for key in ("samples_all", "samples_hop"):
            self.export_actions[key].setEnabled(has_session and not (self._showing_opened() and self.opened.summary))

    def _say(self, message: str, error: bool = False) -> None:
        self.last_message = message
        self.window.statusBar().showMessage(message, 15000)
        if error:
            box = QMessageBox(QMessageBox.Icon.Warning, "pingmos", message, QMessageBox.StandardButton.Ok, self.window)
            box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            box.open()  # not exec(): nothing waits on the user, the trace keeps being drawn
            self.message_box = box

    # -- recording --------------------------------------------------------------------------------------

    def trace_created(self, trace: LiveTrace, info: SessionInfo) -> None:
        """A new live trace: the previous recording is finished, a new one starts (when recording is on)."""
        self.finish_recording()
        self._recorded_names = {}
        if self.record_action.isChecked():
            rec = Recording(sessions_dir() / session_file_name(info.target, info.started_at or time.time()), info)
            trace.add_observer(rec.record)
            self.recording = rec  # its file is created once the trace measured something (_open_when_measured)
        self.refresh_actions()

    def _open_when_measured(self) -> None:
        """Create the recording's file (in a worker) once the trace has samples: a target refused before the first
        probe (a file name, a malformed or unknown host) leaves no empty session behind."""
        rec = self.recording
        if rec is not None and not rec.opening and rec.has_samples():
            rec.opening = True
            self.worker.run(rec.open, on_done=lambda _: self._recording_opened(rec))
            self.refresh_actions()

    def _recording_opened(self, rec: Recording) -> None:
        if rec.problem:
            self._say(rec.problem, error=True)
        elif rec is self.recording:
            self._add_recent(str(rec.path))
        self.refresh_actions()

    def finish_recording(self) -> None:
        if self.recording is not None:
            rec, self.recording = self.recording, None
            if not rec.opening and rec.has_samples():  # measured, but no update drawn since: written all the same
                rec.opening = True
                self.worker.run(rec.open)
            self.worker.run(rec.close)  # (the worker runs its jobs in order: after open)

    def update_shown(self, snapshot: TraceSnapshot, address: str | None) -> None:
        """After each drawn update: names and the resolved address go into the recording."""
        self._open_when_measured()
        rec = self.recording
        if rec is None or self.window.trace is None or id(self.window.trace) in self.replays:
            return
        if address and rec.info.address != address:
            rec.set_info(replace(rec.info, address=address))
        for hop in snapshot.hops:
            if hop.address and hop.name and self._recorded_names.get(hop.address) != hop.name:
                self._recorded_names[hop.address] = hop.name
                rec.record_name(hop.address, hop.name)

    def record_event(self, event: SessionEvent) -> None:
        if self.recording is not None:
            self.recording.record_event(event)

    # -- opening ----------------------------------------------------------------------------------------

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open session", str(sessions_dir()), OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str, probe: int | None = None, confirmed: bool = False) -> None:
        """Open ``path`` in a worker; the window shows it when it is read, or a message says why it cannot. While a
        trace runs, the user is asked first (opening a file stops it). RIPE Atlas results of several probes: the
        user picks the probe (``choose_probe``), each probe being its own path; ``probe`` opens that one."""
        if not confirmed and not self.window.confirm_replace_trace(f"open {Path(path).name}"):
            return
        self._say(f"opening {path}…")
        rec = self.recording
        recording_it = rec is not None and Path(path).resolve() == rec.path.resolve()

        def load(path: str, model_name: str, model_settings: dict) -> OpenedSession:
            if recording_it:
                rec.flush()  # the file being recorded: everything measured so far, not only the last batch
            return load_session(path, model_name, model_settings, probe)

        self.worker.run(
            load,
            path,
            self.window.model_name,
            dict(self.window.model_settings()),
            on_done=self._opened,
            on_error=lambda exc: self._open_failed(path, exc),
        )

    def _open_failed(self, path: str, exc: BaseException) -> None:
        if isinstance(exc, SeveralProbes):
            probe = self.choose_probe(path, exc.probes)
            if probe is not None:
                self.open_path(path, probe=probe, confirmed=True)
                return
            self._say(f"{path}: not opened (no probe chosen of {len(exc.probes)})")
            return
        if isinstance(exc, SessionError):
            message = str(exc)
        else:  # anything else is our bug; the user still gets a sentence and the window stays
            message = f"{path}: cannot open the session ({type(exc).__name__}: {exc})"
        self._say(message, error=True)

    def choose_probe(self, path: str, probes: tuple[tuple[int, int], ...]) -> int | None:
        """Ask which RIPE Atlas probe's runs to open (each probe traced its own path); None when cancelled."""
        items = [f"probe {p} ({n} run{'s' if n != 1 else ''})" for p, n in probes]
        item, ok = QInputDialog.getItem(
            self.window,
            "RIPE Atlas probes",
            f"{display_text(Path(path).name)} holds traceroutes from {len(probes)} probes, each its own path.\n"
            "Open the runs of:",
            items,
            0,
            False,
        )
        if not ok or item not in items:
            return None
        return probes[items.index(item)][0]

    def _opened(self, opened: OpenedSession) -> None:
        self.finish_recording()
        self.opened = opened
        if opened.trace is not None:
            self.replays.add(id(opened.trace))
        self.owner.show_opened(opened)
        if opened.trace is not None:
            span = opened.trace.time_span()
            try:
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(span[0])) if span else "?"
            except (OverflowError, OSError, ValueError):  # a crafted time: the GUI thread must not raise
                when = "?"
            self._say(f"opened {opened.path}: {opened.samples} samples from {when}")
        else:
            self._say(f"opened {opened.path}: an mtr --json report (mtr's totals per hop; no window or focus range)")
        self._add_recent(opened.path)
        self.refresh_actions()

    def rescore_summary(self, model_name: str, model_settings: dict) -> None:
        """Score an opened mtr --json report again with another model (worker thread)."""
        opened = self.opened
        if opened is None or opened.session is None:
            return
        # The latest choice wins: a scoring still under way with the model left is cut short (its formula's
        # worker killed at once), never waited for, and its result never shown.
        self._rescoring.append(None)  # (summary_of: cancelled) then close what it may have loaded already
        for model in self._rescoring:
            if model is not None:
                model.close()
        loaded: list = []
        self._rescoring = loaded
        chosen = (model_name, tuple(model_settings.items()))

        def failed(exc: BaseException) -> None:
            if (self.window.model_name, self.window.model_settings()) == chosen:
                self._say(f"cannot score the report with {model_name}: {exc}", error=True)

        self.worker.run(
            summary_of,
            opened.session,
            model_name,
            model_settings,
            loaded,
            on_done=lambda snap: self._rescored(opened, snap, chosen),
            on_error=failed,
        )

    def _rescored(self, opened: OpenedSession, snapshot: TraceSnapshot, chosen: tuple | None = None) -> None:
        left = chosen is not None and (self.window.model_name, self.window.model_settings()) != chosen
        if snapshot is None or left:
            return  # scored with a model since left, or cancelled (the newer choice's scoring follows)
        if self.opened is opened and self._showing_opened():
            self.opened = replace(opened, summary=snapshot)
            self.owner.show_summary(snapshot)

    # -- saving -----------------------------------------------------------------------------------------

    def save_as_dialog(self) -> None:
        source = self.session_path()
        if source is None:
            self._say("There is no session to save yet: start a trace with recording on, or open one.")
            return
        start = str(sessions_dir() / Path(source).name)
        path, _ = QFileDialog.getSaveFileName(self.window, "Save session as", start, OPEN_FILTER)
        if path:
            self.save_as(path)

    def save_as(self, path: str) -> None:
        """Copy the session shown to ``path`` (a recording keeps going into its own file)."""
        source = self.session_path()
        if source is None:
            self._say("There is no session to save yet: start a trace with recording on, or open one.")
            return
        rec = self.recording if self.recording is not None and str(self.recording.path) == source else None

        def save() -> None:
            src = str(rec.path) if rec is not None else source  # the recording's final name is chosen when opened
            if Path(path).resolve() == Path(src).resolve():
                return
            # (SessionRecorder.save_as writes the same path + ".partial" first; removed here too when it fails.)
            with removed_on_failure(path + ".partial"):
                if rec is not None and rec.recorder is not None:
                    rec.recorder.save_as(path, overwrite=True)
                else:
                    try:
                        shutil.copyfile(src, path + ".partial")
                        os.replace(path + ".partial", path)
                    except OSError as exc:
                        raise SessionError(f"{path}: cannot save the session: {exc.strerror or exc}") from None

        self.worker.run(
            save,
            on_done=lambda _: (self._say(f"saved the session as {path}"), self._add_recent(path)),
            on_error=lambda exc: self._say(str(exc), error=True),
        )

    # -- export -----------------------------------------------------------------------------------------

    def export_dialog(self, what: str, fmt: str) -> None:
        filters = {
            "hops": {"csv": "CSV (*.csv)", "json": "JSON (*.json)"}.get(fmt, "Text (*.txt)"),
            "samples": "CSV (*.csv);;JSON (*.json)",
            "hop": "CSV (*.csv);;JSON (*.json)",
            "events": "CSV (*.csv);;JSON (*.json)",
            "trace_graph": "PNG image (*.png);;SVG drawing (*.svg)",
            "timeline": "PNG image (*.png);;SVG drawing (*.svg)",
            "window": "PNG image (*.png);;SVG drawing (*.svg)",
        }[what]
        target = self.window.trace.target if self.window.trace is not None else "pingmos"
        default = f"{re.sub(r'[^A-Za-z0-9._-]+', '_', target)}-{what}.{fmt or filters.split('*.')[1][:3]}"
        path, chosen = QFileDialog.getSaveFileName(self.window, "Export", str(Path.home() / default), filters)
        if path:
            fmt = fmt or format_of(path, chosen)
            self.export(what, path, fmt)

    def export(self, what: str, path: str, fmt: str = "") -> None:
        """Write an export to ``path``: ``what`` is hops, samples, hop (the selected hop's samples), events,
        trace_graph or timeline; ``fmt`` csv/json (png/svg for images), by default from the file's suffix."""
        fmt = fmt or format_of(path)
        try:
            job = self._export_job(what, path, fmt)
        except ValueError as exc:
            self._say(str(exc), error=True)
            return
        self.worker.run(
            job,
            on_done=lambda _: self._say(f"exported to {path}"),
            on_error=lambda exc: self._say(export_failure(path, exc), error=True),
        )

    def _export_job(self, what: str, path: str, fmt: str) -> Callable[[], None]:
        """Collect what the export needs in the GUI thread (cheap, in memory); the returned job writes it."""
        if what in ("trace_graph", "timeline", "window"):
            if fmt not in ("png", "svg"):
                raise ValueError("an image is exported as .png or .svg")
            self.window.finish_update()  # the whole of the update being shown (its table held till its last part)
            widget = {
                "trace_graph": self.window.trace_graph,
                "timeline": self.window.timeline.graphics,
                "window": self.window,
            }[what]
            return image_job(widget, path, fmt)
        if what == "hops" and fmt == "txt":
            if not self.window.table_model.hops:
                raise ValueError("There is no hop table to export yet.")
            footer = diagnosis_lines(self.window)  # the verdict line too, as `pingmos report` prints it
            text = table_as_text(self.window.table_model, None, self.window.table_context(), footer)
            return lambda: write_text(path, text)
        if fmt not in ("csv", "json"):
            raise ValueError("export as .csv or .json (the hop table also as .txt)")
        if what == "hops":
            snapshot = self.owner.shown_snapshot()
            if snapshot is None:
                raise ValueError("There is no hop table to export yet.")
            if snapshot.time_range is None:  # a live trace's snapshot has none: the file says when it measured
                snapshot = replace(snapshot, time_range=shown_time_range(self.window))
            text = export.hop_table(snapshot, fmt)
            return lambda: write_text(path, text)
        if what == "events":
            events = self.owner.event_log.session_events()
            text = export.events_to_json(events) if fmt == "json" else export.events_to_csv(events)
            return lambda: write_text(path, text)
        source = self.session_path()
        if source is None:
            raise ValueError("Raw samples come from a session: turn on File > Record every trace, or open one.")
        ttl = None
        if what == "hop":
            ttls = self.window.table.selected_ttls()
            if not ttls:
                raise ValueError("Select a hop in the table first.")
            ttl = ttls[0]
        rec = self.recording if self.recording is not None and str(self.recording.path) == source else None
        focus = self.window.focus
        shown = self.opened if self.opened is not None and self.opened.path == source else None
        probe = shown.probe if shown is not None else None  # RIPE Atlas: the probe shown, not the whole file

        def job() -> None:
            src = source
            if rec is not None:
                rec.flush()  # what the window shows is on disk before it is read back
                src = str(rec.path)
            # Streamed from the session file into a .partial file beside the target, as `pingmos export` prints
            # it (the whole text held in memory took 130 MB more for the JSON of 250,000 probes).
            export_samples(path, src, focus, ttl, fmt, probe)

        return job

    def close(self) -> None:
        """The window closes: finish the recording (a non-daemon worker: it completes before the process ends)."""
        self.finish_recording()
        self.worker.close(wait=False)
