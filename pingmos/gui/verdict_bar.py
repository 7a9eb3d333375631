"""Where is the problem? The diagnosis of the snapshot shown (``pingmos.diagnosis``) as a one-line verdict a
user can copy into a ticket, marks in the trace graph (where quality really deteriorates; which hops only
rate-limit their ICMP), and a button that asks the suspect routers directly (the echo witness).

``VerdictBar.diagnose`` is the window's one diagnosis per drawn update: the table's mark, the graph's title and
marks and this line all show its result. The diagnosis is pure: the refresher works it out with the update
(``offer`` takes it), and this line works it out itself only when the thresholds or witnesses changed meanwhile
(a few milliseconds for 30 hops). The witness sends probes and waits, so it runs in a worker.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QWidget,
)

from pingmos.diagnosis import (
    DEFAULT_THRESHOLDS,
    NO_PROBLEM,
    PROBLEM,
    Diagnosis,
    EchoWitness,
    candidates_for_witness,
    diagnose,
    range_words,
    samples_wanted_text,
)
from pingmos.diagnosis import Thresholds as DiagnosisThresholds
from pingmos.gui.mark_strip import Mark
from pingmos.gui.quality import RATE_LIMITED_COLOUR, Thresholds
from pingmos.hop_report import TraceSnapshot

# Verdict line backgrounds: problem, no problem, undecided (not enough samples yet).
STATUS_COLOURS = {PROBLEM: "#fde0dc", NO_PROBLEM: "#e3f2e1"}
UNDECIDED_COLOUR = "#ececec"


def diagnosis_thresholds(t: Thresholds) -> DiagnosisThresholds:
    """The diagnosis judges with the window's bands: a hop is degraded below the "acceptable" MOS band and
    above the loss warning (3.6 and 1 % by default, the diagnosis's own defaults too)."""
    return dataclasses.replace(DEFAULT_THRESHOLDS, mos_below=t.mos_acceptable, loss_pct_above=t.loss_warn_pct)


def problems_text(d: Diagnosis) -> str:
    """Per degraded hop, what it breaks, one line each (the tooltip)."""
    wanted = samples_wanted_text(d.record, d.rounds_needed, d.rounds_held, rounds=d.rounds) if d.rounds_needed else ""
    lines = [f"status: {d.status}" + (f", {wanted}" if wanted else "")]
    for ttl, problems in sorted(d.problems.items()):
        tag = ""
        span = d.location_ttls if d.status == PROBLEM and d.deteriorates_at_ttl is None else None
        if ttl == d.deteriorates_at_ttl:
            tag = " (problem starts here)"
        elif span is not None and span[0] <= ttl <= span[1]:
            tag = " (the problem may start here)"
        elif ttl in d.rate_limited_ttls:
            tag = " (does not carry on: rate limiting)"
        lines.append(f"hop {ttl}: {', '.join(problems)}{tag}")
    if len(lines) == 1:
        lines.append("no hop breaks a threshold beyond its 95 % interval")
    return "\n".join(lines)


class DiagnosisMarks:
    """The diagnosis's marks in the trace graph's mark strip (``gui.mark_strip``, above the plots, never over a
    point): the graph's title stands beside the line of the hop where quality deteriorates, with why ("▼ problem
    starts at hop 4: loss 19.0 %, MOS 2.77"), a grey "rate-limited" over each hop that only limits its ICMP; the
    strip's tooltip gives each marked hop's problems."""

    def __init__(self, graph):
        self.graph = graph
        self.strip = graph.mark_strip

    def show(self, d: Diagnosis | None) -> None:
        marks: tuple[Mark, ...] = ()
        flag_tip = ""
        flag_why = None
        if d is not None:
            if d.deteriorates_at_ttl is not None:
                problems = ", ".join(d.problems.get(d.deteriorates_at_ttl, ()))
                flag_tip = f"hop {d.deteriorates_at_ttl}: problem starts here" + (f": {problems}" if problems else "")
                # The title's "why": each problem without its interval ("loss 19.0 %"; the tooltip has it whole).
                why = tuple(p.split(" (")[0] for p in d.problems.get(d.deteriorates_at_ttl, ()))
                flag_why = (d.deteriorates_at_ttl, why) if why else None
            elif d.open_range is not None:
                # No one hop is supported: the range in the verdict line's words, short and whole (the graph's
                # bracket and the table's rows mark each hop of it).
                first, last = d.open_range
                flag_tip = f"hops {first}-{last}: {d.short}: {range_words(d.open_range)}"
            marks = tuple(
                Mark(
                    ttl,
                    ("rate-limited", "limited"),
                    RATE_LIMITED_COLOUR,
                    f"hop {ttl}: rate-limited (does not carry on)"
                    + (f": {', '.join(d.problems[ttl])}" if d.problems.get(ttl) else ""),
                )
                for ttl in sorted(d.rate_limited_ttls)
            )
        self.strip.set_marks(marks, flag_tip, flag_why)

    def texts(self) -> list[str]:
        """The labels the strip draws now (the title or the marked hop's flag first)."""
        return [label.text for label in self.strip.labels()]


class VerdictBar(QWidget):
    """The verdict, whole, across the window's width (selectable), with Copy and "Ask the routers" (the echo
    witness) stacked at its right.

    The verdict is the window's main answer, so it wraps onto as many lines as it takes at any width (at 800 x 500
    four lines for a problem located between two named hops, two at 1280 x 800); only a text higher than
    MAX_SHARE of the window scrolls (a Tab stop: arrows and Page keys move it; Copy gives it whole).

    ``witness_runner(snapshot, done)`` is set by the owner: it starts the witness in a worker and calls
    ``done(diagnosis, witnesses)`` or ``done(None, message)``; None hides the button (a replayed session:
    the routers of then cannot be asked now)."""

    MAX_SHARE = 0.3  # of the window's height, the most the verdict takes before it scrolls
    WIDE_PX = 1000  # from this width on, Copy and "Ask the routers" side by side

    def __init__(self, parent=None):
        super().__init__(parent)
        self.diagnosis: Diagnosis | None = None
        self.snapshot: TraceSnapshot | None = None
        self.witnesses: dict[int, EchoWitness] = {}
        self.witness_runner: Callable | None = None
        self.thresholds = Thresholds()
        self.over = ""  # which samples the verdict shown judged, in words (show_snapshot)
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("copy the verdict, e.g. into a ticket to your provider")
        self.copy_button.clicked.connect(self.copy)
        self.witness_button = QPushButton("Ask the routers")
        self.witness_button.setToolTip(
            "send echo requests to each router that loses its own replies, as many as it takes to tell its loss "
            "from none: evidence combined with the trace's, stale after a while (Ctrl+Shift+R)"
        )
        self.witness_button.clicked.connect(self.run_witness)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.label)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        # A Tab stop (arrows and Page keys scroll a verdict higher than its share): framed while it has the focus.
        self.scroll.setStyleSheet(
            "QScrollArea, QScrollArea > QWidget > QWidget { background: transparent; }"
            " QScrollArea { border: 1px solid transparent; }"
            " QScrollArea:focus { border: 1px solid palette(highlight); }"
        )
        self.scroll.setAccessibleName("verdict")
        self.scroll.viewport().installEventFilter(self)  # its width sets the lines the text takes
        self.low = False
        # Stacked where the window is narrow (the text gets their width: a line fewer at 800 px), side by side
        # where it is wide (two lines of text are lower than two buttons).
        self.buttons = buttons = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        buttons.setContentsMargins(0, 2, 2, 2)
        buttons.setSpacing(2)
        buttons.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        buttons.addWidget(self.witness_button, 0, Qt.AlignmentFlag.AlignTop)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        layout.addWidget(self.scroll, 1, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(buttons, 0)
        self.clear()

    def set_low(self, low: bool) -> None:
        """Kept for the window's resize (a low window): the verdict stays whole; only its share may change."""
        self.low = low
        self.fit()

    def fit(self) -> None:
        """Make the verdict's box as high as its text at the box's width (every line shown), at most MAX_SHARE
        of the window, at least as high as the two buttons beside it."""
        width = self.scroll.viewport().width()
        if width <= 0:
            return
        frame = 2 * self.scroll.frameWidth() + 2  # the focus frame, 1 px each side
        text = self.label.heightForWidth(width) if self.label.text() else self.label.sizeHint().height()
        window = self.window()
        cap = max(3 * self.label.fontMetrics().lineSpacing(), int(window.height() * self.MAX_SHARE))
        height = min(text + frame, cap)
        if self.scroll.height() != height or self.scroll.minimumHeight() != height:
            self.scroll.setFixedHeight(height)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Resize and obj is self.scroll.viewport():
            self.fit()
        return False

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        wide = event.size().width() >= self.WIDE_PX
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self.buttons.direction() != direction:
            self.buttons.setDirection(direction)

    def _set_text(self, html: str) -> None:
        self.label.setText(html)
        self.fit()

    def clear(self) -> None:
        self.diagnosis = None
        self.snapshot = None
        self.witnesses = {}
        self._set_text("Verdict: waiting for the first measurements.")
        self.label.setToolTip("")
        self.setStyleSheet("")
        self.copy_button.setEnabled(False)
        self.witness_button.setEnabled(False)

    def show_nothing_measured(self) -> None:
        """A trace that stopped before any probe was answered or lost (a refused target, no permission): no
        verdict about a path nobody measured (it read "Not enough samples yet: no hop answered ... the path to
        127.1" under the banner saying 127.1 was refused)."""
        self.clear()
        self._set_text("Verdict: none: nothing was measured (the message above says why).")

    def diagnose(self, snapshot: TraceSnapshot, thresholds: Thresholds) -> Diagnosis:
        """THE diagnosis of ``snapshot`` for this window: the producer's own when it has one, else
        ``pingmos.diagnosis.diagnose`` with the window's thresholds and the echo witnesses taken so far (each
        goes stale as new rounds arrive). The same snapshot gives the same object (one call per update)."""
        cached = getattr(self, "_cached", None)
        if cached is not None and cached[0] is snapshot and cached[1] == thresholds and cached[2] == self.witnesses:
            return cached[3]
        d = snapshot.diagnosis or diagnose(snapshot, diagnosis_thresholds(thresholds), self.witnesses)
        self._cached = (snapshot, thresholds, dict(self.witnesses), d)
        return d

    def offer(self, update, thresholds: Thresholds) -> None:
        """Take the diagnosis a refresher ``Update`` brings (worked out off the GUI thread) as ``diagnose``'s for
        its snapshot, when it was judged with ``thresholds`` and the echo witnesses this line holds now."""
        request = update.request
        if (
            update.diagnosis is None
            or request.diagnosis_thresholds != diagnosis_thresholds(thresholds)
            or dict(request.witnesses) != self.witnesses
        ):
            return
        self._cached = (update.snapshot, thresholds, dict(self.witnesses), update.diagnosis)
        self._candidates = (update.snapshot, request.diagnosis_thresholds, update.witness_candidates)

    def _has_candidates(self, snapshot: TraceSnapshot, th: DiagnosisThresholds) -> bool:
        offered = getattr(self, "_candidates", None)
        if offered is not None and offered[0] is snapshot and offered[1] == th:
            return bool(offered[2])
        return bool(candidates_for_witness(snapshot, th))

    def show_snapshot(
        self,
        snapshot: TraceSnapshot,
        thresholds: Thresholds,
        witnesses: Mapping[int, EchoWitness] | None = None,
        over: str = "",
    ) -> Diagnosis:
        """Show the verdict of ``snapshot`` (``diagnose``). ``over``: which samples it judged, in words ("over the
        last 100 of 1000 rounds"), shown beside the status: a reader comparing with ``pingmos report`` sees why
        the two may differ."""
        self.over = over
        if witnesses is not None:
            self.witnesses = dict(witnesses)
        self.thresholds = thresholds
        th = diagnosis_thresholds(thresholds)
        d = self.diagnose(snapshot, thresholds)
        self.diagnosis = d
        self.snapshot = snapshot
        colour = STATUS_COLOURS.get(d.status, UNDECIDED_COLOUR)
        if d.status == NO_PROBLEM and d.rate_limited_ttls:
            colour = "#fff4c2"
        status = f"{d.status}, {over}" if over else d.status
        self._set_text(f"<b>Verdict ({_html(status)}):</b> {_html(d.verdict)}")
        self.label.setToolTip(problems_text(d))
        sheet = f"VerdictBar {{ background: {colour}; }} QLabel {{ padding: 2px 3px; }}"
        if sheet != self.styleSheet():  # setting a style sheet restyles every child: ~7 ms, at each update
            self.setStyleSheet(sheet)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.copy_button.setEnabled(True)
        can_ask = self.witness_runner is not None and self._has_candidates(snapshot, th)
        self.witness_button.setVisible(self.witness_runner is not None)
        self.witness_button.setEnabled(can_ask and self.witness_button.text() == "Ask the routers")
        return d

    def verdict(self) -> str:
        return self.diagnosis.verdict if self.diagnosis is not None else ""

    def copy(self) -> None:
        if self.diagnosis is not None:
            QGuiApplication.clipboard().setText(self.diagnosis.verdict)

    def run_witness(self) -> None:
        if self.witness_runner is None or self.snapshot is None:
            return
        self.witness_button.setEnabled(False)
        self.witness_button.setText("Asking…")
        self.witness_runner(self.snapshot, self._witness_done)

    def _witness_done(self, diagnosis: Diagnosis | None, result) -> None:
        self.witness_button.setText("Ask the routers")
        self.witness_button.setEnabled(True)
        if diagnosis is None:
            self._set_text(f"<b>Verdict:</b> {_html(self.verdict())}<br><i>{_html(str(result))}</i>")
            return
        self.witnesses = dict(result)  # later updates keep this evidence (same trace)
        if self.snapshot is not None:
            self.show_snapshot(dataclasses.replace(self.snapshot, diagnosis=diagnosis), self.thresholds, over=self.over)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
