"""The hop table: one row per hop, MOS and loss cells coloured by quality band, sortable, copyable as text."""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRect, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QKeySequence,
    QPainter,
    QPen,
    QPixmap,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionHeader,
    QStyleOptionViewItem,
    QTableView,
)

from pingmos.diagnosis import RATE_LIMITED_WORDS, range_words
from pingmos.display_text import safe_hop
from pingmos.gui.quality import BAND_COLOURS, Thresholds, loss_band, mos_band
from pingmos.hop_report import HopReport
from pingmos.report.formats import FEW_SAMPLES_MARK, few_samples_note, loss_ci_text, loss_text, lost_count

SPARK_POINTS = 60  # samples in a hop's sparkline
COLUMNS = (
    "Hop",
    "Count",
    "Address",
    "Name",
    "Avg",
    "Min",
    "Max",
    "Cur",
    "Loss %",
    "Jitter",
    "R",
    "MOS",
    "Loss 95 %",
    "MOS 95 %",
    "Latency",
)
TOOLTIPS = (
    "TTL of the probes",
    "probes in the window (sent)",
    "the address that answered most often (??? = never answered); +N: N more addresses answered at this hop; "
    "a blue cell: the route changed within the window",
    "reverse-DNS name",
    "average round-trip time over the window, ms",
    "fastest round trip, ms",
    "slowest round trip, ms",
    "latest round trip, ms",
    "lost probes, percent of the window",
    "jitter (mean difference between consecutive round trips), ms",
    "R factor from the scoring model (0-100)",
    "estimated MOS (1-4.5) from the scoring model (blank for a router that gave no reply: nothing to score)",
    "95 % interval of the loss (Wilson): the true loss rate is within it, given the probes sent",
    "95 % interval of the MOS from the sampling uncertainty of its inputs (none yet: not computed for these "
    "samples yet; none: no reply to resample); in the MOS cell itself while this column is hidden",
    f"round-trip times of the last {SPARK_POINTS} samples of the window (a red tick: lost)",
)
COL_HOP, COL_COUNT, COL_ADDRESS, COL_NAME, COL_AVG, COL_MIN, COL_MAX, COL_CUR = range(8)
COL_LOSS, COL_JITTER, COL_R, COL_MOS = range(8, 12)
COL_LOSS_CI, COL_MOS_CI, COL_SPARK = range(12, 15)
# Where the columns show (logical numbers above stay; the intervals sit beside their values, the sparkline
# beside the name).
VISUAL_ORDER = (
    COL_HOP, COL_COUNT, COL_ADDRESS, COL_NAME, COL_SPARK, COL_AVG, COL_MIN, COL_MAX, COL_CUR,
    COL_LOSS, COL_LOSS_CI, COL_JITTER, COL_R, COL_MOS, COL_MOS_CI,
)  # fmt: skip
SPARK_ROLE = Qt.ItemDataRole.UserRole + 2
SPARK_WIDTH = 90
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
UNANSWERED = "???"
ROUTE_CHANGED_COLOUR = "#cfe0fc"  # the address cell of a hop whose route changed within the window
# Hidden in this order when the table is too narrow for every column (Hop, Address, Avg, Loss, Jitter, MOS stay).
# What tells the least goes first: the count (the status line has the rounds), the intervals (in the Loss cell's
# tooltip too), R (MOS says it on the scale people read), the latency details (Min, the path's own delay, last);
# the name, which says whose router a hop is, goes last (it went first, and a 1280 px window hid it while
# "MOS 95 %" was shown). A column with nothing in it (no names: --no-dns, a lab) goes before any (fit_to_width).
OPTIONAL_COLUMNS = (
    COL_COUNT, COL_MOS_CI, COL_LOSS_CI, COL_R, COL_CUR, COL_MAX, COL_MIN, COL_SPARK, COL_NAME,
)  # fmt: skip
# Address and name cells wider than this many digits' width are elided in the middle (both ends show: the host and
# its domain), the whole text in the cell's tooltip: a legal host name holds 253 characters, and one made the
# Address column 1,841 px wide, pushing Loss % and MOS out of view at 1280 x 860. 39: a full IPv6 address.
LONG_CELL_CHARS = 39


# The cells a model change empties until the new model's scores arrive (HopTableModel.pending).
PENDING_COLUMNS = (COL_R, COL_MOS, COL_MOS_CI)
PENDING_TEXT = "\u2026"


def responders_text(hop: HopReport) -> str:
    """Each address that answered at this hop with its share of the replies, most first; then the route changes
    within the window (the numbers of such a hop mix two paths)."""
    total = sum(hop.responders.values())
    lines = []
    if len(hop.responders) > 1:
        lines.append("answered from:")
        for address, n in sorted(hop.responders.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {address}: {n} of {total} replies ({100.0 * n / total:.0f} %)")
    if hop.route_changes:
        lines.append(
            f"route changed {len(hop.route_changes)} time{'s' if len(hop.route_changes) != 1 else ''} "
            "within the window; the numbers of this hop mix the paths:"
        )
        for c in hop.route_changes[-5:]:
            lines.append(f"  {time.strftime('%H:%M:%S', time.localtime(c.sent_at))} {c.old} \u2192 {c.new}")
        if len(hop.route_changes) > 5:
            lines.append(f"  ({len(hop.route_changes) - 5} earlier changes not listed)")
    return "\n".join(lines)


ASSUMED_MARK = "\u2020"  # after a MOS scored with an input the data does not have (jitter taken as 0)


def jitter_unknown(hop: HopReport) -> bool:
    """Replies were measured but the jitter was not (an mtr report without its J fields, or one reply): the
    models score such a window with jitter 0, which the table says instead of hiding it."""
    return hop.received != 0 and hop.avg_ms is not None and hop.jitter_ms is None  # received None: unknown


def spark_series(hop: HopReport) -> np.ndarray:
    """The last SPARK_POINTS round-trip times of the hop's window (ms, NaN = lost); empty when unknown."""
    rtts = hop.window_rtts_ms
    if rtts is None:
        return np.empty(0)
    return np.asarray(rtts, dtype=float)[-SPARK_POINTS:]


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def current_ms(hop: HopReport) -> float | None:
    """The "Cur" RTT: a live trace's newest answer in the rounds still in flight after its window, else the
    window's newest probe's (``last_ms``: None when that one was lost)."""
    return hop.in_flight_rtt_ms if hop.in_flight_rtt_ms is not None else hop.last_ms


def mos_ci_text(hop: HopReport) -> str:
    """The MOS's 95 % interval as the table says it: "2.61-4.40"; "none yet" while none was computed for these
    samples (too few yet, its turn not come, or the one kept no longer holds the MOS: scoring.interval); "none"
    for a hop that got no reply (nothing to resample); "" where no MOS is shown."""
    if hop.mos is None:
        return ""
    if hop.mos_ci is not None:  # marked where it is from not enough samples (bounds, wide on purpose)
        return f"{hop.mos_ci[0]:.2f}-{hop.mos_ci[1]:.2f}" + (FEW_SAMPLES_MARK if hop.mos_ci_few_samples else "")
    return "none yet" if hop.received else "none"


def cell_text(hop: HopReport, column: int, mos_ci_inline: bool = False) -> str:
    """What a cell shows. Numbers nothing was measured for are blank (never 0). ``mos_ci_inline``: the "MOS 95 %"
    column is hidden, so the MOS cell carries its interval: "4.40 (2.61-4.40)", "4.40 (none yet)"."""
    if column == COL_HOP:
        return str(hop.ttl)
    if column == COL_COUNT:
        return "" if hop.sent is None else str(hop.sent)  # None: another tool's report without counts
    if column == COL_ADDRESS:
        if hop.address is None:
            return UNANSWERED
        extra = len(hop.responders) - 1
        return hop.address + (f" +{extra}" if extra > 0 else "")
    if column == COL_NAME:
        return hop.name or ""
    if column == COL_AVG:
        return _ms(hop.avg_ms)
    if column == COL_MIN:
        return _ms(hop.min_ms)
    if column == COL_MAX:
        return _ms(hop.max_ms)
    if column == COL_CUR:
        # The newest probe's RTT (hop_report.newest_rtt_ms): "-" once it was lost, as the report's LAST says; in a
        # live trace the newest answer of the rounds still in flight first (current_ms).
        current = current_ms(hop)
        return "-" if current is None and hop.received else _ms(current)
    if column == COL_LOSS:
        return "" if hop.loss_pct is None else loss_text(hop.loss_pct, lost_count(hop), hop.sent)
    if column == COL_JITTER:
        if hop.jitter_ms is None and jitter_unknown(hop):
            return "unknown"
        return _ms(hop.jitter_ms)
    if column == COL_LOSS_CI:
        text = loss_ci_text(hop.loss_ci_pct, lost_count(hop), hop.sent, decimals=1)
        return "" if text == "-" else text
    if column == COL_MOS_CI:
        return mos_ci_text(hop)
    if column == COL_SPARK:
        return ""
    fallback = hop.score_fallback if hop.score_error is not None else None
    if column == COL_R:
        if fallback is not None:  # the last working version of the user's formula, marked as such
            return f"{fallback.r:.1f}*"
        return "" if hop.r is None else f"{hop.r:.1f}"
    if column == COL_MOS:
        if fallback is not None:
            return f"{fallback.mos:.2f}* ERR"
        if hop.score_error is not None:
            return "ERR"  # as the report's table; the error itself is above the table and in the tooltip
        if hop.mos is None:
            return ""
        text = f"{hop.mos:.2f}" + (ASSUMED_MARK if jitter_unknown(hop) else "")
        # Never a MOS without its uncertainty beside it: in its own column, or here while that is hidden.
        return text + (f" ({mos_ci_text(hop)})" if mos_ci_inline else "")
    raise IndexError(column)


def _sort_key(hop: HopReport, column: int):
    numbers = {
        COL_HOP: hop.ttl,
        COL_COUNT: hop.sent,
        COL_AVG: hop.avg_ms,
        COL_MIN: hop.min_ms,
        COL_MAX: hop.max_ms,
        COL_CUR: current_ms(hop),
        COL_LOSS: hop.loss_pct,
        COL_JITTER: hop.jitter_ms,
        COL_R: hop.r,
        COL_MOS: hop.mos,
        COL_LOSS_CI: hop.loss_ci_pct[1] if hop.loss_ci_pct else None,
        COL_MOS_CI: hop.mos_ci[0] if hop.mos_ci and hop.mos is not None else None,
        COL_SPARK: hop.avg_ms,
    }
    if column in numbers:
        value = numbers[column]
        return math.inf if value is None else float(value)  # unmeasured sorts after every number
    return cell_text(hop, column)


_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_BRUSHES: dict[str, QBrush] = {}
_BLACK: QBrush | None = None
_GREY: QBrush | None = None
_BOLD: QFont | None = None


def _init_styles() -> None:
    global _BLACK, _GREY, _BOLD
    if _BOLD is None:  # made once a QApplication exists
        _BRUSHES.update({band: QBrush(QColor(colour)) for band, colour in BAND_COLOURS.items()})
        _BRUSHES["route-changed"] = QBrush(QColor(ROUTE_CHANGED_COLOUR))
        _BLACK = QBrush(QColor("#000000"))
        _GREY = QBrush(QColor("#808080"))
        _BOLD = QFont()
        _BOLD.setBold(True)


# Why a rate-limited hop's loss and MOS cells carry no band colour (Diagnosis.rate_limited_ttls).
RATE_LIMITED_TIP = (
    f"the diagnosis: {RATE_LIMITED_WORDS}: this router's own loss, which the hops after it do not share, is ICMP "
    "rate limiting or deprioritisation at that router, not path loss (see the verdict); so no quality colour"
)
# Why a hop with no responder samples (HopReport.unmeasured) has no R or MOS.
UNMEASURED_TIP = (
    "no reply from this hop in the window: nothing to score (a router that does not answer says nothing about "
    "the path through it)"
)


def cell_tooltip(
    hop: HopReport,
    column: int,
    marked_ttl: int | None,
    span: tuple[int, int] | None = None,
    rate_limited: bool = False,
) -> str | None:
    """A cell's tooltip (None: none). ``span``: the range of hops a problem is located to when no one hop is
    supported (``Diagnosis.open_range``); each of its rows is marked as ``marked_ttl``'s is. ``rate_limited``: the
    diagnosis calls the hop's own numbers rate limiting (``Diagnosis.rate_limited_ttls``): its loss and MOS cells
    say so."""
    col = column
    if rate_limited and col in (COL_LOSS, COL_MOS):
        own = cell_tooltip(hop, col, marked_ttl, span)
        return f"{own}\n{RATE_LIMITED_TIP}" if own else RATE_LIMITED_TIP
    if col in (COL_MOS, COL_R) and hop.unmeasured:
        return UNMEASURED_TIP
    if col in (COL_MOS, COL_R) and hop.score_error and hop.score_fallback is not None:
        return (
            f"the scoring model failed: {hop.score_error}\n* R {hop.score_fallback.r:.1f}, MOS "
            f"{hop.score_fallback.mos:.2f} from the last version of the formula that worked"
        )
    if col == COL_MOS and hop.score_error:
        return f"the scoring model failed: {hop.score_error}"
    if col == COL_MOS:
        assumed = (
            "\nscored with the jitter taken as 0 ms (\u2020): the data has no jitter for this hop "
            "(an mtr report without its jitter fields, or a single reply); a real jitter gives a lower MOS "
            "with the built-in models"
            if jitter_unknown(hop)
            else ""
        )
        if hop.score_detail:
            return "\n".join(f"{k} = {v:.4g}" for k, v in hop.score_detail.items()) + assumed
        if assumed:
            return assumed.strip()
    if col == COL_MOS_CI and hop.mos_ci is not None and hop.mos is not None and hop.mos_ci_few_samples:
        return few_samples_note([hop])
    if col == COL_JITTER and jitter_unknown(hop):
        return "not measured: the data has no jitter for this hop; the MOS takes it as 0 ms (\u2020)"
    if col == COL_LOSS and hop.loss_ci_pct is not None and hop.sent is not None and hop.received is not None:
        lo, hi = hop.loss_ci_pct
        return f"{hop.sent - hop.received} of {hop.sent} lost; 95 % interval {lo:.1f}-{hi:.1f} %"
    if col == COL_ADDRESS and (len(hop.responders) > 1 or hop.route_changes):
        return responders_text(hop)
    if col in (COL_ADDRESS, COL_NAME) and len(text := cell_text(hop, col)) > LONG_CELL_CHARS:
        return text  # elided in the cell (LONG_CELL_CHARS): the whole of it here
    if col == COL_HOP and hop.ttl == marked_ttl:
        return "the diagnosis: quality deteriorates here and it carries on to the destination (see the verdict)"
    if col == COL_HOP and span is not None and span[0] <= hop.ttl <= span[1]:
        # The verdict line's words for the range (diagnosis.range_words), short and whole.
        return (
            f"the diagnosis: {range_words(span, short=True)}: the problem may start at this hop or at any other of "
            f"hops {span[0]}-{span[1]} ({range_words(span)}; see the verdict)"
        )
    return None


# The roles a cell's value is kept for, in the order of HopTableModel._cells' tuples (alignment is set once).
_ROLES = (
    Qt.ItemDataRole.DisplayRole,
    SORT_ROLE,
    Qt.ItemDataRole.BackgroundRole,
    Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.FontRole,
    Qt.ItemDataRole.ToolTipRole,
    SPARK_ROLE,
)
_ITEM_FLAGS = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemNeverHasChildren


def _same(a, b) -> bool:
    if a is b:
        return True
    if a is None or b is None:
        return False
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and bool(np.array_equal(a, b, equal_nan=True))
        )
    return type(a) is type(b) and a == b


class HopTableModel(QStandardItemModel):
    """One row per hop (``hops``, in TTL order), one column per COLUMNS entry.

    The cells' values live in Qt's own item model (C++): the view asks for some seven roles of every cell it
    paints, and a Python ``data()`` (plus the ``rowCount``/``columnCount`` that each ``index()`` calls) was some
    6,600 Python calls and ~20 ms of the GUI thread per paint of 19 rows (scripts/bench_gui.py). Each update
    here works every value out once and sets only those that changed, then says which cells changed (one
    ``dataChanged`` over the rectangle they span), so the view repaints those cells only. ``shown`` is emitted after
    every update."""

    shown = Signal()

    def __init__(self, thresholds: Thresholds | None = None, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        _init_styles()
        for c, (name, tip) in enumerate(zip(COLUMNS, TOOLTIPS, strict=True)):
            self.setHeaderData(c, Qt.Orientation.Horizontal, name, Qt.ItemDataRole.DisplayRole)
            self.setHeaderData(c, Qt.Orientation.Horizontal, tip, Qt.ItemDataRole.ToolTipRole)
        self.hops: tuple[HopReport, ...] = ()
        self._texts: list[list[str]] = []
        self._keys: list[list] = []
        self._cells: list[list[tuple]] = []  # per row and column, the values of _ROLES as set on the item
        self.thresholds = thresholds or Thresholds()
        self.marked_ttl: int | None = None
        self.marked_span: tuple[int, int] | None = None  # a problem located to a range: each of its rows marked
        # Hops whose own numbers the diagnosis calls rate limiting (Diagnosis.rate_limited_ttls): no band colour.
        self.rate_limited: frozenset[int] = frozenset()
        # While the chosen model's first update is computed ("computing with NAME…"): its score cells read "…".
        self.pending: str | None = None
        # The view hides "MOS 95 %" (too narrow): the MOS cells carry their interval (set_mos_ci_inline).
        self.mos_ci_inline = False

    def set_hops(
        self,
        hops: tuple[HopReport, ...],
        marked_ttl: int | None,
        span: tuple[int, int] | None = None,
        rate_limited: tuple[int, ...] = (),
    ) -> None:
        """Show ``hops``; ``marked_ttl`` the hop where the problem starts (its Hop and MOS cells bold, the Hop cell's
        tooltip says why), or ``span`` (first, last) the range of hops it is located to when no one hop is supported
        (``Diagnosis.open_range``): each row of the range marked so, its tooltip in the verdict's words.
        ``rate_limited``: the hops whose own numbers the same diagnosis calls rate limiting
        (``Diagnosis.rate_limited_ttls``, given while it is undecided too): their loss and MOS cells get no band
        colour (a router's loss that the hops after it do not share is not path loss), their tooltips say why."""
        self.rate_limited = frozenset(rate_limited)
        # Text from files and the network (names, addresses, errors) made safe once here: cells, tooltips and
        # copies all read these hops.
        hops = tuple(safe_hop(h) for h in hops)
        self._texts = [[cell_text(h, c, self.mos_ci_inline) for c in range(len(COLUMNS))] for h in hops]
        if self.pending:
            for row in self._texts:
                for c in PENDING_COLUMNS:
                    row[c] = PENDING_TEXT
        self._keys = [[_sort_key(h, c) for c in range(len(COLUMNS))] for h in hops]
        reset = len(hops) != len(self.hops)
        self.hops = hops
        self.marked_ttl = marked_ttl
        self.marked_span = span
        if reset:
            self.beginResetModel()
            self.blockSignals(True)  # one reset says it all (the rows and items below would each be a signal)
            try:
                self._cells = []
                self.setRowCount(len(hops))
                self._store()
            finally:
                self.blockSignals(False)
            self.endResetModel()
        else:
            # Same rows: update in place so selection, scroll position and sorting survive each refresh.
            self._update()
        self.shown.emit()

    def _row_values(self, row: int) -> list[tuple]:
        hop = self.hops[row]
        texts, keys = self._texts[row], self._keys[row]
        backgrounds = self._row_backgrounds(hop)
        spark = spark_series(hop)
        span = self.marked_span
        marked = hop.ttl == self.marked_ttl or (span is not None and span[0] <= hop.ttl <= span[1])
        out = []
        limited = hop.ttl in self.rate_limited
        greyed = hop.address is None or hop.unmeasured
        for col in range(len(COLUMNS)):
            foreground = None
            if col in (COL_MOS, COL_LOSS) or greyed or (col == COL_ADDRESS and hop.route_changes):
                # Band backgrounds are light: keep their text black whatever the palette; ??? rows (and hops with
                # no reply in the window) are greyed, and so are a rate-limited router's loss and MOS, as the
                # graph's "rate-limited" mark.
                foreground = _GREY if greyed or (limited and col in (COL_MOS, COL_LOSS)) else _BLACK
            out.append(
                (
                    texts[col],
                    keys[col],
                    backgrounds.get(col),
                    foreground,
                    _BOLD if marked and col in (COL_HOP, COL_MOS) else None,
                    self.pending
                    if self.pending and col in PENDING_COLUMNS
                    else cell_tooltip(hop, col, self.marked_ttl, span, limited),
                    spark if col == COL_SPARK else None,
                )
            )
        return out

    def _store(self) -> None:
        """Every cell of every row, items made where missing (after a reset)."""
        for row in range(len(self.hops)):
            values = self._row_values(row)
            for col, cell in enumerate(values):
                item = self.item(row, col)
                if item is None:
                    item = QStandardItem()
                    item.setFlags(_ITEM_FLAGS)
                    item.setData(_LEFT if col in (COL_ADDRESS, COL_NAME) else _RIGHT, Qt.ItemDataRole.TextAlignmentRole)
                    self.setItem(row, col, item)
                for role, value in zip(_ROLES, cell, strict=True):
                    item.setData(value, role)
            self._cells.append(values)

    def _update(self) -> None:
        """Set the values that changed; one dataChanged over the rectangle of the cells that changed."""
        changed_rows = []
        self.blockSignals(True)
        try:
            for row in range(len(self.hops)):
                values = self._row_values(row)
                old = self._cells[row]
                first = last = None
                for col, (cell, before) in enumerate(zip(values, old, strict=True)):
                    if col != COL_SPARK:
                        if cell == before:
                            continue
                        # Only the roles that changed (plain values: text, sort key, brush, font, tooltip).
                        changed = [
                            (role, value)
                            for role, value, was in zip(_ROLES, cell, before, strict=True)
                            if value is not was and (value is None or was is None or value != was)
                        ]
                    else:  # (a sparkline's array has no plain ==)
                        changed = [
                            (role, value)
                            for role, value, was in zip(_ROLES, cell, before, strict=True)
                            if not _same(value, was)
                        ]
                    item = None
                    for role, value in changed:
                        item = item or self.item(row, col)
                        item.setData(value, role)
                    if item is not None:
                        first = col if first is None else first
                        last = col
                self._cells[row] = values
                if first is not None:
                    changed_rows.append((row, first, last))
        finally:
            self.blockSignals(False)
        if changed_rows:
            # One signal for the rectangle the changes span: the sorting proxy handles each dataChanged on its own
            # (~0.5 ms each, one per row was 15 ms per update of 30 rows).
            top, bottom = changed_rows[0][0], changed_rows[-1][0]
            left, right = min(r[1] for r in changed_rows), max(r[2] for r in changed_rows)
            self.dataChanged.emit(self.index(top, left), self.index(bottom, right))

    def _row_backgrounds(self, hop: HopReport) -> dict[int, QBrush]:
        out = {}
        # Quality colours only where the numbers say something about the path: not for a router that gave no
        # reply in the window (its 100 % "loss" says nothing about the path through it, and it has no MOS), and
        # not for one whose own loss the diagnosis calls rate limiting (the hops after it do not share it).
        coloured = hop.address is not None and not hop.unmeasured and hop.ttl not in self.rate_limited
        band = mos_band(hop.mos, self.thresholds) if coloured else None
        if band:
            out[COL_MOS] = _BRUSHES[band]
        band = loss_band(hop.loss_pct, self.thresholds) if coloured else None
        if band:
            out[COL_LOSS] = _BRUSHES[band]
        if hop.route_changes:
            out[COL_ADDRESS] = _BRUSHES["route-changed"]
        return out

    def set_mos_ci_inline(self, inline: bool) -> None:
        """The MOS cells carry their interval ("4.40 (2.61-4.40)") while the view hides the "MOS 95 %" column."""
        if inline == self.mos_ci_inline:
            return
        self.mos_ci_inline = inline
        for row, hop in zip(self._texts, self.hops, strict=True):
            if not (self.pending and COL_MOS in PENDING_COLUMNS):
                row[COL_MOS] = cell_text(hop, COL_MOS, inline)
        self._update()
        self.shown.emit()

    def set_thresholds(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self._update()
        self.shown.emit()


def table_as_text(
    model: HopTableModel, rows: list[int] | None = None, context: list[str] | None = None, footer: list[str] = ()
) -> str:
    """The table (or the given source rows) as aligned plain text, header first, for the clipboard; ``context``
    lines (target, time range, model...) go above it, each starting with '# '; ``footer`` lines below it as they
    are (the diagnosis line, as ``pingmos report`` ends its table)."""
    hops = model.hops if rows is None else [model.hops[r] for r in rows]
    columns = [c for c in VISUAL_ORDER if c != COL_SPARK]  # a picture has no text
    cells = [[COLUMNS[c] for c in columns]] + [[cell_text(h, c) for c in columns] for h in hops]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = []
    for row in cells:
        parts = [
            row[i].ljust(widths[i]) if c in (COL_ADDRESS, COL_NAME) else row[i].rjust(widths[i])
            for i, c in enumerate(columns)
        ]
        lines.append("  ".join(parts).rstrip())
    head = [f"# {line}" for line in context or ()]
    return "\n".join(head + lines + list(footer)) + "\n"


class BandCellDelegate(QStyledItemDelegate):
    """MOS and loss cells keep their band colour when their row is selected: drawn as unselected, with the
    selection colour laid over them translucently (Qt would otherwise paint the selection over the band)."""

    def paint(self, painter, option, index):
        if not (option.state & QStyle.StateFlag.State_Selected) or index.data(Qt.ItemDataRole.BackgroundRole) is None:
            super().paint(painter, option, index)
            return
        plain = QStyleOptionViewItem(option)
        plain.state &= ~QStyle.StateFlag.State_Selected
        super().paint(painter, plain, index)
        tint = QColor(option.palette.highlight().color())
        tint.setAlpha(90)
        painter.fillRect(option.rect, tint)


class SparklineDelegate(QStyledItemDelegate):
    """A hop's recent round-trip times as a small line (scaled to their own range), lost samples as red ticks.

    Each line is drawn once into a pixmap and kept while the hop's series (the same array: the model keeps it
    while its values stay) and the cell's size stay: a paint of the table then copies 19 pixmaps instead of
    drawing 19 antialiased lines from 1,100 points made in Python."""

    CACHE_MAX = 256

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pixmaps: dict[int, tuple[np.ndarray, tuple[int, int, float], QPixmap]] = {}

    def paint(self, painter, option, index):
        if option.state & (QStyle.StateFlag.State_Selected | QStyle.StateFlag.State_HasFocus):
            # Selection and focus. Otherwise the cell has nothing else to draw (no text, no background of its
            # own; the view drew the row's alternating background before): 0.2 ms a cell saved.
            super().paint(painter, option, index)
        rtts = index.data(SPARK_ROLE)
        if rtts is None or len(rtts) == 0:
            return
        rect = option.rect
        if rect.width() <= 6 or rect.height() <= 6:
            return
        ratio = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        size = (rect.width(), rect.height(), ratio)
        kept = self._pixmaps.get(id(rtts))
        if kept is None or kept[0] is not rtts or kept[1] != size:
            if len(self._pixmaps) >= self.CACHE_MAX:
                self._pixmaps.clear()
            kept = (rtts, size, sparkline_pixmap(rtts, rect.width(), rect.height(), ratio))
            self._pixmaps[id(rtts)] = kept
        painter.drawPixmap(rect.topLeft(), kept[2])


_SPARK_PENS: list[QPen] = []  # the line's and the lost ticks' pens, made once a QApplication exists


def sparkline_pixmap(rtts: np.ndarray, cell_width: int, cell_height: int, ratio: float = 1.0) -> QPixmap:
    """The sparkline of ``rtts`` (ms, NaN = lost; the newest at the right edge, 3 px inside the cell) on a
    transparent pixmap of the cell's size (logical pixels, ``ratio`` device pixels each).

    The line is 1 px wide, antialiased: Qt's raster engine draws such a line with its cosmetic stroker, six times
    faster than the 1.2 px line it was (a stroked outline filled), and the table draws every hop's sparkline again
    at each update of a live trace (30 of them, 10 ms of the GUI thread, at 10 rounds/s)."""
    if not _SPARK_PENS:
        _SPARK_PENS.extend((QPen(QColor("#1f77b4"), 1.0), QPen(QColor("#d62728"), 1.5)))
    line_pen, lost_pen = _SPARK_PENS
    pixmap = QPixmap(max(1, round(cell_width * ratio)), max(1, round(cell_height * ratio)))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    width, height = cell_width - 6, cell_height - 6  # the line's room: the cell less 3 px on each side
    n = len(rtts)
    ok = ~np.isnan(rtts)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        step = width / max(1, SPARK_POINTS - 1)
        x = 3 + width - step * (n - 1) + step * np.arange(n)  # the newest sample at the right edge
        bottom = 3 + height - 1  # QRect.bottom() of that room
        if ok.any():
            received = rtts[ok]
            lo, hi = float(received.min()), float(received.max())
            span = max(hi - lo, 1.0)  # a flat line for a steady hop, not noise blown up to full height
            y = bottom - 3 - (height - 6) * (received - lo) / span
            painter.setPen(line_pen)
            if len(y) > 1:
                painter.drawPolyline(pg.functions.arrayToQPolygonF(x[ok], y))  # filled from numpy, not per point
            else:
                painter.drawEllipse(QPointF(float(x[ok][0]), float(y[0])), 1.5, 1.5)
        lost = x[~ok].tolist()
        if lost:
            painter.setPen(lost_pen)
            painter.drawLines([QLineF(px, bottom, px, bottom - 5) for px in lost])
    finally:
        painter.end()
    return pixmap


def header_arrow_room(header: QHeaderView, opt: QStyleOptionHeader) -> int:
    """Pixels the sort arrow takes beside a header's text (its size and a margin)."""
    style = header.style()
    return style.pixelMetric(QStyle.PixelMetric.PM_HeaderMarkSize, opt, header) + style.pixelMetric(
        QStyle.PixelMetric.PM_HeaderMargin, opt, header
    )


class HopTableView(QTableView):
    """The view: sorting through a proxy, whole-row selection (several rows for the timeline), Ctrl+C copies."""

    def __init__(self, model: HopTableModel, parent=None):
        super().__init__(parent)
        self.source_model = model
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setSortRole(SORT_ROLE)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(COL_HOP, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.setAccessibleName("hop table")
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.horizontalHeader()
        # Column widths follow the contents, but are measured only when the longest text of a column changes
        # (ResizeToContents would measure every cell on every update).
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(36)
        self._widest: tuple = ()  # per column, what its width was last measured for (see fit_columns)
        self._need: dict[int, int] = {}  # per column, its last measured width (column_need)
        self.hidden_columns: tuple[int, ...] = ()
        model.shown.connect(self.fit_columns)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a long host name keeps its host and its domain
        self.band_delegate = BandCellDelegate(self)
        self.setItemDelegateForColumn(COL_MOS, self.band_delegate)
        self.setItemDelegateForColumn(COL_LOSS, self.band_delegate)
        self.setItemDelegateForColumn(COL_ADDRESS, self.band_delegate)
        self.spark_delegate = SparklineDelegate(self)
        self.setItemDelegateForColumn(COL_SPARK, self.spark_delegate)
        for visual, logical in enumerate(VISUAL_ORDER):
            header.moveSection(header.visualIndex(logical), visual)
        header.setSectionResizeMode(COL_SPARK, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(COL_SPARK, SPARK_WIDTH)
        # The sort arrow takes room in the sorted column's header: widths are measured again with it.
        header.sortIndicatorChanged.connect(lambda *_: self._refit())
        # Fitted from the start, to the headers: the empty table of a new window kept Qt's 100 px per column
        # (taken for widths the user chose), hid columns it had room for and scrolled MOS out of view.
        self.fit_columns()

    def _refit(self) -> None:
        self._widest = ()
        self._need.clear()
        self.fit_columns()

    def header_width(self, column: int) -> int:
        """The narrowest section showing the header text whole: the text's width in the header's font plus what
        the style takes around the label (margins; the sort arrow on the sorted column), as QHeaderView paints
        it (``SE_HeaderLabel`` of the section's own style option)."""
        header = self.horizontalHeader()
        opt = QStyleOptionHeader()
        header.initStyleOptionForIndex(opt, column)
        probe = 1000  # any width: the label is the section less a fixed amount
        opt.rect = QRect(0, 0, probe, max(header.height(), header.sizeHint().height()))
        style = header.style()
        label = style.subElementRect(QStyle.SubElement.SE_HeaderLabel, opt, header)
        # Bold: a header whose column holds the selection (every column, a row being selected) is painted bold.
        bold = QFont(header.font())
        bold.setBold(True)
        need = QFontMetrics(bold).horizontalAdvance(opt.text) + probe - label.width() + 1
        if opt.sortIndicator != QStyleOptionHeader.SortIndicator.None_:
            # Fusion draws the arrow beside the text, inside the label's rectangle: room for it and a margin.
            need += header_arrow_room(header, opt)
        return need

    def column_need(self, column: int) -> int:
        """A column's width: its header whole and its widest shown cell (``sizeHintForColumn``), at least the
        header's minimum. Measured for hidden columns too, so a column that comes back is never cut."""
        if column == COL_SPARK:
            return max(SPARK_WIDTH, self.header_width(column))
        need = max(self.horizontalHeader().minimumSectionSize(), self.header_width(column))
        cells = self.sizeHintForColumn(column)
        if column in (COL_ADDRESS, COL_NAME):  # a long host name is elided (LONG_CELL_CHARS), never the table's width
            cells = min(cells, self.fontMetrics().horizontalAdvance("8" * LONG_CELL_CHARS) + 12)
        return max(need, cells)

    def fit_columns(self, *_) -> None:
        """Measure again the columns whose longest text changed (or whose bold row moved), and fit the table.

        Only those: ``sizeHintForColumn`` asks the model for every role of every shown cell of the column, and
        measuring all 15 columns twice per update took 70-120 ms of the GUI thread at each refresh of a 30-hop
        trace at 10 rounds/s (scripts/bench_gui.py, part 2), while one or two columns had changed."""
        model = self.source_model
        texts = model._texts
        marked = (model.marked_ttl, model.marked_span)  # (the bold rows)
        widest = tuple(
            (max((len(row[c]) for row in texts), default=0), marked if c in (COL_HOP, COL_MOS) else None)
            for c in range(len(COLUMNS))
        )
        if widest == self._widest:
            return
        changed = [c for c in range(len(COLUMNS)) if len(self._widest) != len(widest) or self._widest[c] != widest[c]]
        self._widest = widest
        header = self.horizontalHeader()
        for c in changed:
            self._need[c] = need = self.column_need(c)
            if c != COL_NAME and header.sectionSize(c) != need:
                header.resizeSection(c, need)
        self.fit_to_width()

    def _needs(self) -> dict[int, int]:
        """Every column's last measured width, measuring those never measured yet."""
        for c in range(len(COLUMNS)):
            if c not in self._need:
                self._need[c] = self.column_need(c)
        return self._need

    def fit_to_width(self) -> None:
        """A narrow table hides its least needed columns (OPTIONAL_COLUMNS, first to go first) instead of
        scrolling Loss and MOS out of sight; they come back when there is room. Hidden ones are named in the
        header's tooltip."""
        header = self.horizontalHeader()
        room = self.viewport().width()
        if room <= 0:
            return
        need = dict(self._needs())
        # A width the user dragged wider is kept (a hidden column's width reads 0).
        needed = {c: max(need[c], self.columnWidth(c)) for c in range(len(COLUMNS))}
        # Name stretches over the room left: its width now is that room, not a need (taken as one, a column hidden
        # in a narrow moment widened Name, which then kept it hidden).
        needed[COL_NAME] = max(self.header_width(COL_NAME), min(need[COL_NAME], 120))
        # The MOS cells carry their interval while "MOS 95 %" is hidden, which widens them: judged at their plain
        # width (else once hidden the column never came back: the wide MOS left it no room), widened as it goes.
        # The growth is taken a little short, so a column shown on that guess never has to go again (no flicker).
        grow = self._mos_ci_growth()
        if self.source_model.mos_ci_inline:
            needed[COL_MOS] = max(self.header_width(COL_MOS), needed[COL_MOS] - grow)
        shown = set(range(len(COLUMNS)))
        hidden = []
        texts = self.source_model._texts
        # Columns with nothing in them (no names resolved, no MOS interval computed) go first.
        empty = [c for c in OPTIONAL_COLUMNS if c != COL_SPARK and texts and not any(row[c] for row in texts)]
        for c in empty + [c for c in OPTIONAL_COLUMNS if c not in empty]:
            if sum(needed[k] for k in shown) <= room:
                break
            shown.discard(c)
            hidden.append(c)
            if c == COL_MOS_CI:
                needed[COL_MOS] += grow
        for c in range(len(COLUMNS)):
            if self.isColumnHidden(c) != (c not in shown):
                self.setColumnHidden(c, c not in shown)
            # A column shown again comes back at the width it had when hidden (or the minimum): never narrower
            # than its header and cells.
            if c in shown and c != COL_NAME and self.columnWidth(c) < need[c]:
                header.resizeSection(c, need[c])
        self.hidden_columns = tuple(sorted(hidden))
        names = ", ".join(COLUMNS[c] for c in self.hidden_columns)
        self.setToolTip(f"too narrow for every column: {names} hidden (widen the table to see them)" if names else "")
        # Last: the MOS cells' text changes with it, and the columns are measured and fitted again from there.
        self.source_model.set_mos_ci_inline(COL_MOS_CI in hidden)

    def _mos_ci_growth(self) -> int:
        """How many pixels the widest MOS cell text grows by when the cells carry their interval ("2.68" to
        "2.68 (2.45-3.46)"), bold in the marked row as drawn: the measured column less this is never narrower
        than its plain cells."""
        model = self.source_model
        font = QFont(self.font())
        font.setBold(True)
        plain, bold = self.fontMetrics(), QFontMetrics(font)
        widths = [
            ((bold if h.ttl == model.marked_ttl else plain).horizontalAdvance(cell_text(h, COL_MOS, inline)))
            for inline in (False, True)
            for h in model.hops
        ]
        n = len(model.hops)
        return max(0, max(widths[n:], default=0) - max(widths[:n], default=0))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._need.clear()  # measured again for the new room (a change of height alone keeps them)
        self.fit_to_width()

    def selected_ttls(self) -> list[int]:
        rows = sorted({self.proxy.mapToSource(i).row() for i in self.selectionModel().selectedRows()})
        return [self.source_model.hops[r].ttl for r in rows if r < len(self.source_model.hops)]

    def select_ttl(self, ttl: int) -> None:
        for row, hop in enumerate(self.source_model.hops):
            if hop.ttl == ttl:
                self.selectRow(self.proxy.mapFromSource(self.source_model.index(row, 0)).row())
                return

    def copy_text(self, context: list[str] | None = None, footer: list[str] = ()) -> str:
        """Copy the selected rows (every row when none is selected), under the ``context`` lines and above the
        ``footer`` ones (``table_as_text``), to the clipboard; returns the text."""
        # In the order on screen (sorted as the user sorted it).
        order = [self.proxy.mapToSource(self.proxy.index(r, 0)).row() for r in range(self.proxy.rowCount())]
        selected = {self.proxy.mapToSource(i).row() for i in self.selectionModel().selectedRows()}
        text = table_as_text(
            self.source_model, [r for r in order if r in selected] if selected else order, context, footer
        )
        QGuiApplication.clipboard().setText(text)
        return text

    def keyPressEvent(self, event):
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_text()
            return
        super().keyPressEvent(event)
