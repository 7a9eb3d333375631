"""What ``pingmos report --session FILE`` needs: open a session, pick a time range in the user's words, re-score.

Times for ``--from``/``--to``: an ISO 8601 date and time (``2026-11-23T10:15:00``, local time unless it carries an
offset or ``Z``), seconds since the epoch (``1795430705.5``), or an offset from the session's first sample
(``+90``, ``+15m``, ``+2h``; s, m, h). ``--from`` alone runs to the end, ``--to`` alone from the start.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from pingmos.session.model import SessionError
from pingmos.session.replay import Session, TimeRange

_OFFSET = re.compile(r"^\+(\d+(?:\.\d+)?)([smh]?)$")
_UNIT_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_time(text: str, start: float) -> float:
    """Wall-clock seconds for ``text`` (see the module docstring); ValueError with the accepted forms."""
    text = text.strip()
    if not text.isascii():  # float(), \d and fromisoformat take any script's digits: ASCII only
        raise ValueError(f"cannot read the time {text[:60]!r}: give it in ASCII digits (0-9)")
    m = _OFFSET.match(text)
    if m:
        return start + float(m.group(1)) * _UNIT_S[m.group(2)]
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        # float() also takes "nan" and "inf": a NaN bound selected nothing yet compared as inside the session.
        if not math.isfinite(seconds):
            raise ValueError(f"{text!r} is not a time: give an ISO date and time, seconds since the epoch or +90")
        return seconds
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValueError(
            f"cannot read the time {text!r}: give an ISO date and time (2026-11-23T10:15:00), seconds since the "
            "epoch, or an offset from the start of the session (+90, +15m, +2h)"
        ) from None


def time_range(span: TimeRange | None, start_text: str | None, end_text: str | None) -> TimeRange | None:
    """The range the user asked for within a session spanning ``span``; None when neither end is given.
    SessionError when the range is empty or misses the session entirely."""
    if start_text is None and end_text is None:
        return None
    if span is None:
        raise SessionError("the session has no samples, so --from/--to select nothing")
    lo = parse_time(start_text, span[0]) if start_text is not None else span[0]
    hi = parse_time(end_text, span[0]) if end_text is not None else span[1]
    if hi < span[0] or lo > span[1]:
        first, last = (datetime.fromtimestamp(t).isoformat(timespec="seconds") for t in span)
        raise SessionError(f"the range holds no samples: the session runs from {first} to {last}")
    if hi < lo:
        raise SessionError("--to is before --from")
    return (lo, hi)


def select_range(session: Session, start_text: str | None, end_text: str | None) -> TimeRange | None:
    """``time_range`` over ``session``'s span, and SessionError too when the range falls between two samples
    (a gap in the recording, or a range shorter than a round): the range must select at least one sample."""
    span = session.time_span()
    selected = time_range(span, start_text, end_text)
    if selected is not None and next(iter(session.samples(selected)), None) is None:
        lo, hi = (datetime.fromtimestamp(t).isoformat(timespec="milliseconds") for t in selected)
        raise SessionError(f"the range {lo} to {hi} holds no samples (none was sent in it); widen the range")
    return selected
