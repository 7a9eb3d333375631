"""Text from files and the network made safe to show, on a terminal and in the window alike.

Targets, reverse-DNS names, mtr hosts, a session's settings and another tool's report are data anyone can craft. Shown
raw, an ESC sequence moves the cursor or retitles the terminal, a BEL rings it, a newline forges a line of the report
or of a table cell, and Unicode's bidirectional overrides (U+202A-202E, U+2066-2069) make ``evil.test`` read as
``tset.live``. Every front end passes such text through ``display_text`` before showing it: the report formats
(``report.formats.terminal_safe``), the importers (``session.mtr_import.clean_text``) and the
window's views (hop table, tooltips, summary table, session information).
"""

from __future__ import annotations

import dataclasses
import re

# C0 controls (tab, newline, ESC, BEL ...), DEL and C1 controls (CSI U+009B ...), the line and paragraph separators
# (a line break to a text view) and the bidirectional embeddings, overrides and isolates (they reorder what follows).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
REPLACEMENT = "?"


def display_text(text: object, limit: int | None = None) -> str:
    """``text`` (anything: it is made a str first) with every character that could control a terminal or a text view
    replaced by '?', cut to ``limit`` characters first when given. Printable text, any script, passes unchanged."""
    s = text if isinstance(text, str) else str(text)
    if limit is not None:
        s = s[:limit]
    return _UNSAFE.sub(REPLACEMENT, s)


def _safe_key_dict(d: dict) -> dict:
    return {display_text(k): v for k, v in d.items()}


def safe_hop(hop):
    """A ``HopReport`` with its text (address, name, responders, route changes, errors) made safe to show; the
    same object when it already is (a second pass over a safe snapshot copies nothing)."""
    changes = tuple(_safe_change(c) for c in hop.route_changes)
    fields = {
        "address": None if hop.address is None else display_text(hop.address),
        "name": None if hop.name is None else display_text(hop.name),
        "responders": _safe_key_dict(hop.responders),
        "route_changes": changes,
        "score_error": None if hop.score_error is None else display_text(hop.score_error),
        "unreachable": None if hop.unreachable is None else display_text(hop.unreachable),
    }
    if all(value == getattr(hop, key) for key, value in fields.items()):
        return hop
    return dataclasses.replace(hop, **fields)


def _safe_change(change):
    return dataclasses.replace(change, old=display_text(change.old), new=display_text(change.new))


def safe_snapshot(snap):
    """A ``TraceSnapshot`` whose every text from files or the network (target, address, the hops' addresses and
    names, route changes) is made safe to show: what the window's views take, so none of them can forget it.
    Numbers and the per-round arrays are shared, not copied."""
    return dataclasses.replace(
        snap,
        target=display_text(snap.target),
        address=display_text(snap.address),
        hops=tuple(safe_hop(h) for h in snap.hops),
        route_changes=tuple(_safe_change(c) for c in snap.route_changes),
    )
