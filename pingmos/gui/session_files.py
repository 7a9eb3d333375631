"""Reading a session file for the window: a pingmos recording is replayed into a LiveTrace (never started), an
mtr report's totals are scored with the model; and the raw samples of a session as CSV/JSON. Worker threads only
(these read the disk and may start a scoring worker process)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from pingmos import export
from pingmos.gui import models
from pingmos.gui.recording import KnownNames, replaced_when_written
from pingmos.hop_report import RECORD_FINISHED, TraceSnapshot
from pingmos.live_trace import LiveTrace
from pingmos.session import SessionError, SessionEvent, SessionInfo, open_session
from pingmos.session.replay import Session


def _int_or_none(value) -> int | None:
    """A whole number from a session's settings record (a foreign or damaged file may hold anything)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


@dataclass(frozen=True)
class OpenedSession:
    """A session file as the window shows it. Raw samples are replayed into ``trace`` (never started), so the
    table, graphs, focus range and re-scoring work as they do live. An mtr --json report has only mtr's totals:
    ``trace`` is None, ``session`` is kept to re-score them, ``summary`` is their snapshot."""

    path: str
    info: SessionInfo
    trace: LiveTrace | None
    session: Session | None
    summary: TraceSnapshot | None
    events: tuple[SessionEvent, ...]
    samples: int
    probe: int | None = None  # the RIPE Atlas probe whose runs are shown (a file may hold several)


def summary_of(
    session: Session, model_name: str, model_settings: dict, loaded: list | None = None
) -> TraceSnapshot | None:
    """An mtr --json report's totals scored with a model (worker thread: loading may start a worker process).
    ``loaded``: the model is appended to it while it scores, so that another thread can cancel the scoring (a newer
    choice of model): it appends None and closes the models in it (``LoadedModel.close`` kills a user formula's
    worker without waiting). Cancelled: None (or the snapshot of a cut-short scoring, which nobody shows)."""
    if loaded is not None and None in loaded:
        return None
    model = models.load_model(model_name, model_settings)
    if loaded is not None:
        loaded.append(model)
        if None in loaded:  # cancelled while it loaded
            model.close()
            return None
    try:
        snapshot = session.snapshot(None, model, model_name)
    finally:
        model.close()
    return replace(snapshot, model_settings=tuple(model_settings.items()))


def load_session(path: str, model_name: str, model_settings: dict, probe: int | None = None) -> OpenedSession:
    """Open and replay a session file (worker thread); ``probe``: which RIPE Atlas probe's runs. SessionError with
    the message for the user (SeveralProbes: RIPE Atlas results of several probes and ``probe`` None)."""
    session = open_session(path, probe=probe)
    try:
        info = session.info
        if session.summaries():
            return OpenedSession(
                path, info, None, session, summary_of(session, model_name, model_settings), tuple(session.events()), 0
            )
        trace = LiveTrace(
            info.target,
            protocol=info.protocol,
            interval_s=info.interval_s,
            max_ttl=info.max_ttl or 30,
            names=KnownNames(session.names()),  # type: ignore[arg-type]  (duck-typed: name() and close())
            port=_int_or_none(info.extra.get("port")),
            flows=_int_or_none(info.extra.get("flows")) or 1,  # route changes are followed per flow
        )
        trace.record = RECORD_FINISHED  # replayed, never started: its diagnosis says no more rounds come
        if info.address:
            trace.set_address(info.address)
        n = session.replay(trace)
        if n == 0:
            raise SessionError(f"{path}: the session holds no samples (the trace was stopped before any reply)")
        return OpenedSession(path, info, trace, None, None, tuple(session.events()), n, probe)
    finally:
        session.close()


def export_samples(out_path: str, path: str, time_range, ttl: int | None, fmt: str, probe: int | None = None) -> int:
    """Write the raw samples of session ``path`` (sent within ``time_range``, of hop ``ttl`` if given; ``probe``:
    which RIPE Atlas probe's runs) to ``out_path`` as CSV or JSON (``fmt``), the text `pingmos export --what
    samples` prints, as they are read (``export.write_samples_csv``/``_json``: a few thousand rows at a time,
    memory that does not grow with the session) into a ``.partial`` file beside ``out_path``, renamed to it once
    complete. Returns the rows written. Worker thread. SessionError (the file cannot be read, or holds no raw
    samples) or OSError (cannot be written); either way no file is left beside ``out_path``, half or empty."""
    write = export.write_samples_json if fmt == "json" else export.write_samples_csv
    with open_session(path, probe=probe) as session:
        if session.summaries():
            raise SessionError(f"{path} is an mtr --json report: it holds mtr's totals per hop, not raw samples")
        with replaced_when_written(out_path) as out:
            return write(session.samples(time_range), out, ttl, export.sample_context(session.info))


def format_of(path: str, selected_filter: str = "") -> str:
    ext = Path(path).suffix.lower().lstrip(".")
    if ext in ("csv", "json", "png", "svg", "txt"):
        return ext
    return "json" if "json" in selected_filter.lower() else ("svg" if "svg" in selected_filter.lower() else "")
