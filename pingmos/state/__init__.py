"""The state of a trace: one history (the fold of the Sample stream) and one snapshot builder.

``TraceHistory`` (history.py) keeps every sample per hop in numpy arrays, the responders, the destination's TTL
(which follows the path both ways) and route changes; ``TraceHistory.select`` copies out what one snapshot shows;
``build_snapshot`` (snapshot.py) turns that into the ``TraceSnapshot`` the report, a replayed session, the window
and the alert rules all show. ``TraceState`` (trace.py) is a history with its trace's name, address and settings.
"""

from pingmos.state.history import RowData, Selection, TimeRange, TraceHistory
from pingmos.state.snapshot import build_snapshot, snapshot_of, unreachable_words
from pingmos.state.trace import TraceState

__all__ = [
    "RowData",
    "Selection",
    "TimeRange",
    "TraceHistory",
    "TraceState",
    "build_snapshot",
    "snapshot_of",
    "unreachable_words",
]
