"""What the window shows, in words: the line above the hop table (focus range, live window or the session file it
was read from) and the context that goes with a copy or export of the table (target, probes, model, time range)."""

from __future__ import annotations

import os
import time
from html import escape
from pathlib import Path

from pingmos.display_text import display_text
from pingmos.gui.hop_table import jitter_unknown
from pingmos.run import NETWORK


def model_text(window, shown=None) -> str:
    """The model and the settings its MOS assumed (buffer, codec, ...: ITU-T P.564 asks for them beside a score),
    e.g. ``g107-jb (buffer=adaptive, codec=g711)``. ``shown``: the TraceSnapshot whose scores are meant (its model
    and the settings it was scored with, which may differ from the chosen ones while an update is computed), a
    model name (with the chosen settings), or None (the chosen model)."""
    name, pairs = window.model_name, window.model_settings()
    if isinstance(shown, str):
        name = shown
    elif shown is not None:
        name = shown.model or name
        pairs = shown.model_settings if shown.model_settings or shown.model != window.model_name else pairs
    settings = ", ".join(f"{k}={v}" for k, v in pairs)
    return name + (f" ({settings})" if settings else "")


def table_context(window) -> list[str]:
    """What the hop table shows, in words, for a copy or an export: target, time range, model, window."""
    snapshot = window.evidence.shown_snapshot() if hasattr(window, "evidence") else None
    if snapshot is None:
        return []
    target, address = display_text(snapshot.target), display_text(snapshot.address)
    lines = [f"pingmos: {target}" + (f" ({address})" if address else "")]
    rounds = "rounds unknown" if snapshot.rounds is None else f"{snapshot.rounds} rounds"
    lines.append(f"probes: {display_text(snapshot.protocol).upper()} every {snapshot.interval_s:g} s, {rounds}")
    lines.append(f"model: {model_text(window, snapshot)}")
    if window.focus is not None:
        t0, t1 = (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) for t in window.focus)
        lines.append(f"statistics over: the focus range {t0} to {t1}")
    else:
        what = "every sample" if snapshot.window is None else f"the last {snapshot.window} samples"
        lines.append(f"statistics over: {what} of each hop")
        span = window.trace.time_span() if window.trace is not None else None
        if span:
            t0, t1 = (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) for t in span)
            lines.append(f"trace from {t0} to {t1}")
    lines.append(f"copied at {time.strftime('%Y-%m-%d %H:%M:%S')}")
    return lines


def diagnosis_lines(window) -> list[str]:
    """The diagnosis of the hop table shown, as ``pingmos report`` ends its table ("diagnosis (problem): ...", the
    same words as the verdict line), for a copy or an export with its context; [] before there is a table."""
    snapshot = window.evidence.shown_snapshot() if hasattr(window, "evidence") else None
    if snapshot is None or not snapshot.hops:
        return []
    d = window.evidence.diagnosis_for(snapshot)
    return [display_text(f"diagnosis ({d.status}): {d.verdict}")]


def shown_time_range(window) -> tuple[float, float] | None:
    """Send times (wall clock, s since the epoch) of the first and last sample of the trace shown, within the focus
    range when one is set; None without samples. The span `pingmos export` and `report --session` give a file's
    hop table (``session.replay``: the record's span, clipped to --from/--to), so the window's export has it too."""
    trace = window.trace
    span = trace.time_span() if trace is not None else None
    if span is None:
        return None
    if window.focus is not None:
        span = (max(span[0], window.focus[0]), min(span[1], window.focus[1]))
    return span if span[0] <= span[1] else None


def judged_words(window, snapshot) -> str:
    """Which samples ``snapshot``'s figures judge, for beside the verdict: "over the focus range", "over the last
    100 of 1000 rounds" (a window shorter than the record: `pingmos report` judges all of a file), or "over all
    1000 rounds"."""
    if window.focus is not None:
        return "over the focus range"
    rounds = snapshot.rounds
    if rounds is None:
        return ""
    if snapshot.window is not None and rounds > snapshot.window:
        return f"over the last {snapshot.window} of {rounds} rounds"
    return f"over all {rounds} round{'s' if rounds != 1 else ''}"


def update_range_label(window) -> None:
    """Above the table: what its statistics are over (the focus range, the live window, or a session file)."""
    if window.focus is not None:
        t0, t1 = (time.strftime("%H:%M:%S", time.localtime(t)) for t in window.focus)
        window.range_label.setText(
            f"<b>Focus {t0} - {t1}</b>: statistics over the samples sent in the yellow range of the timeline. "
            "Uncheck <i>Focus range</i> to return to the live window."
        )
        window.range_label.setStyleSheet("QLabel { background: #fff4c2; padding: 3px; }")
    else:
        what = "every sample" if window.window_size is None else f"the last {window.window_size} samples"
        opened = opened_session(window)
        if opened is not None:
            path, span = opened
            if span is None:
                name = escape(display_text(path.name))
                opened = window.evidence.sessions.opened
                tool = "Trippy" if opened is not None and opened.info.source.startswith("trippy") else "mtr"
                text = f"<b>{tool} report {name}</b>: {tool}'s own totals per hop, scored with the model."
                summary = window.evidence.summary
                if summary is not None and any(jitter_unknown(h) for h in summary.hops):
                    text += " It has no jitter: the MOS takes jitter as 0 ms (marked \u2020)."
            else:
                t0, t1 = (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) for t in span)
                when = f"{t0} to {t1[11:] if t0[:10] == t1[:10] else t1}"
                # (Short: at 800 px "statistics over" took a second line, off the hop table's rows.)
                text = f"<b>Session {escape(display_text(path.name))}</b> ({when}): {what} of each hop."
            window.range_label.setText(text)
            window.range_label.setToolTip(display_text(str(path)))
        else:
            window.range_label.setText(f"Live: statistics over {what} of each hop.")
            window.range_label.setToolTip("")
        window.range_label.setStyleSheet("QLabel { padding: 3px; }")


def opened_session(window):
    """(file, time span or None) of the session read from a file that is shown, else None (a live trace)."""
    evidence = getattr(window, "evidence", None)  # (the label is first set before the evidence exists)
    if evidence is None:
        return None
    opened = evidence.sessions.opened
    if opened is not None and window.trace is None and evidence.summary is not None:
        return Path(opened.path), None  # an mtr --json report: totals, no times
    if opened is None or not evidence.is_replay(window.trace):
        return None
    return Path(opened.path), window.trace.time_span()


def trace_error_text(status) -> str | None:
    """Why the trace stopped (``TraceStatus.error``, in no front end's words) in the window's words: the command
    line's options named as the toolbar's boxes, and what Start does after a network failure. None: no error."""
    message = status.error
    if not message:
        return None
    message = message.replace("(--protocol icmp / udp)", "(the Protocol box in the toolbar)").replace(
        "--protocol icmp or udp", "ICMP or UDP in the Protocol box"
    )
    if status.error_stage == NETWORK:
        message += ". Measured data is kept; press Start to try again."
    return message


def score_failure_text(hops, model_name: str, model_error: str | None = None) -> str | None:
    """One line for where the MOS is drawn when the model gave no scores: which model failed and why, in the
    scoring layer's words (``model_error``: it could not be loaded; else the first of ``hops``' ``score_error``,
    ``file:line: message``, the file by its name). None when every scored hop has its score."""
    errors = [h.score_error for h in hops if h.score_error]
    reason = model_error or (errors[0] if errors else None)
    if reason is None:
        return None
    if not model_error:
        # The file by its name (the graph is narrow; the banner above the table gives the whole path).
        where, sep, message = reason.partition(": ")
        if sep and not where.startswith(" ") and os.sep in where:
            reason = f"{os.path.basename(where)}: {message}"
    return f"{model_name} failed: {reason}"


def score_errors_text(hops) -> str | None:
    """The banner's line for a failing formula (the first error of ``hops``, its file in full), or None."""
    errors = sorted({h.score_error for h in hops if h.score_error})
    return f"the scoring formula failed: {errors[0]}" if errors else None
