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
import math
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


def echoed(text: str, limit: int = 200) -> str:
    """``text`` made terminal-safe and cut to ``limit`` characters with an ellipsis: input echoed in a message."""
    text = display_text(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


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


# -- loss and its interval: one text for the table, the verdict, the window and the alerts --------------------------

# The most decimals a loss or its interval is shown with (1 lost of 10 million is 0.00001 %).
_MOST_DECIMALS = 6


def loss_text(loss_pct: float | None, lost: int | None = None, sent: int | None = None) -> str:
    """Loss in percent (0-100) with the fewest decimals, at least one, that show a non-zero loss as non-zero and a
    partial loss as below 100: 1 lost of 3000 is "0.03", not "0.0"; 1 of 1000 "0.1". ``lost`` and ``sent``
    (probes) decide what is non-zero or partial when given; without them the value does. "-" for None or a
    non-finite value."""
    if loss_pct is None or not math.isfinite(loss_pct):
        return "-"
    some_lost = loss_pct > 0 if lost is None else lost > 0
    some_received = loss_pct < 100 if lost is None or sent is None else sent - lost > 0
    decimals = 1
    while decimals < _MOST_DECIMALS and (
        (some_lost and round(loss_pct, decimals) == 0.0) or (some_received and round(loss_pct, decimals) >= 100.0)
    ):
        decimals += 1
    return f"{loss_pct:.{decimals}f}"


def loss_ci_text(
    ci: tuple[float, float] | None, lost: int | None = None, sent: int | None = None, decimals: int = 1
) -> str:
    """The loss's 95 % interval in percent as "low-high", with at least ``decimals`` (1) decimals and more where
    fewer would read an upper end above 0 as 0 or a lower end below 100 as 100: 0 lost of 1000 gives "0.0-0.4",
    2 of 2000 "0.0-0.4", 0 of 100 000 "0.000-0.004" (never "0-0" or "0.0-0.0" beside an interval that is not
    empty). ``lost`` and ``sent`` are accepted for the callers' symmetry with ``loss_text``; the interval's own
    ends decide. "-" where the interval is unknown or not finite."""
    if ci is None or not all(v is not None and math.isfinite(v) for v in ci):
        return "-"
    lo, hi = ci
    while decimals < _MOST_DECIMALS and (
        (hi > 0 and round(hi, decimals) == 0.0) or (lo < 100 and round(lo, decimals) >= 100.0)
    ):
        decimals += 1
    return f"{lo:.{decimals}f}-{hi:.{decimals}f}"
