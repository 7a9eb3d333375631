"""The hop table's right-click menu (also the Menu key or Shift+F10): copy the hop's address or row, trace it,
ping it, show it alone on the timeline.

"Ping this hop" sends PING_COUNT echo requests straight to the router (the echo witness's machinery, in a worker
thread) and writes what came back to the event log: loss and round-trip times of the router's own answers, which
a router that rate-limits its time-exceeded replies still gives.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QContextMenuEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QMenu

from pingmos.engine import echo_probe
from pingmos.gui.background import Background
from pingmos.gui.hop_table import table_as_text
from pingmos.hop_report import HopReport

PING_COUNT = 10


def ping_summary(address: str, rtts_ms: list[float | None]) -> str:
    """'ping A: N sent, M received (L % loss), RTT min/avg/max a/b/c ms' from echo_probe's list for A."""
    got = [r for r in rtts_ms if r is not None and not math.isnan(r)]
    sent = len(rtts_ms)
    loss = 100.0 * (sent - len(got)) / sent if sent else 0.0
    text = f"ping {address}: {sent} sent, {len(got)} received ({loss:.0f} % loss)"
    if got:
        text += f", RTT min/avg/max {min(got):.1f}/{sum(got) / len(got):.1f}/{max(got):.1f} ms"
    return text


class HopMenu(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.worker = Background("ping", self)
        self.menu: QMenu | None = None
        self.last_ping: str = ""
        window.table.customContextMenuRequested.connect(self.open_at)
        # The Menu key sends a context menu event by itself; Shift+F10 is the other key users know for it.
        self.key = QShortcut(QKeySequence("Shift+F10"), window.table, context=Qt.ShortcutContext.WidgetShortcut)
        self.key.activated.connect(lambda: self.open_at(QPoint(-1, -1)))
        window.table.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        # From the keyboard (Menu key) the menu is for the current row, not for the row at some position.
        if event.type() == QEvent.Type.ContextMenu and event.reason() == QContextMenuEvent.Reason.Keyboard:
            self.open_at(QPoint(-1, -1))
            return True
        return False

    def hop_at(self, pos: QPoint) -> HopReport | None:
        table = self.window.table
        index = table.indexAt(pos)
        if not index.isValid():
            index = table.currentIndex()  # the keyboard's Menu key: the current row
        if not index.isValid():
            return None
        row = table.proxy.mapToSource(index).row()
        hops = table.source_model.hops
        return hops[row] if 0 <= row < len(hops) else None

    def build(self, hop: HopReport) -> QMenu:
        """The menu for ``hop`` (tests look at it without opening it)."""
        menu = QMenu(self.window)
        address = hop.address
        who = address or "???"
        copy_address = menu.addAction(f"Copy address {who}", lambda: self.copy(address or ""))
        copy_address.setEnabled(address is not None)
        if hop.name:
            menu.addAction(f"Copy name {hop.name}", lambda: self.copy(hop.name or ""))
        menu.addAction("Copy row", lambda: self.copy(table_as_text(self.window.table_model, [self._row_of(hop)])))
        menu.addSeparator()
        trace = menu.addAction(f"Trace {who}", lambda: self.trace(hop))
        trace.setEnabled(address is not None)
        ping = menu.addAction(f"Ping {who} ({PING_COUNT} echo requests)", lambda: self.ping(hop))
        ping.setEnabled(address is not None and self.window.trace is not None)
        menu.addSeparator()
        menu.addAction(f"Show hop {hop.ttl} alone on the timeline", lambda: self.window.table.select_ttl(hop.ttl))
        return menu

    def _row_of(self, hop: HopReport) -> int:
        return next(i for i, h in enumerate(self.window.table_model.hops) if h.ttl == hop.ttl)

    def open_at(self, pos: QPoint) -> None:
        hop = self.hop_at(pos)
        if hop is None:
            return
        self.menu = self.build(hop)
        table = self.window.table
        if not table.indexAt(pos).isValid():  # opened from the keyboard: at the current cell
            pos = table.visualRect(table.currentIndex()).center()
        self.menu.popup(table.viewport().mapToGlobal(pos))

    def copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.window.statusBar().showMessage("copied to the clipboard", 5000)

    def trace(self, hop: HopReport) -> None:
        """Trace the hop's address as the new target (asks first while a trace runs)."""
        if hop.address is None or not self.window.confirm_replace_trace(f"trace {hop.address}"):
            return
        self.window.target_combo.setCurrentText(hop.address)
        self.window.start()

    def ping(self, hop: HopReport) -> None:
        """Echo requests to the hop's address in a worker; the result goes to the event log and status bar."""
        address = hop.address
        if address is None:
            return
        opener = self.window.evidence.witness_network(address)
        self.window.statusBar().showMessage(f"pinging {address}…", 10000)

        def run() -> str:
            network = opener()
            try:
                return ping_summary(address, echo_probe([address], network, count=PING_COUNT)[address])
            finally:
                network.close()

        self.worker.run(run, on_done=self._pinged, on_error=lambda exc: self._pinged(f"ping {address} failed: {exc}"))

    def _pinged(self, text: str) -> None:
        self.last_ping = text
        self.window.statusBar().showMessage(text, 30000)
        self.window.evidence.event_log.add_note(text)

    def close(self) -> None:
        self.worker.close(wait=False)
