"""Alert episodes on the timeline: a red shaded band from each rule's fire event to its clear event (to now while
it still fires), behind the curves, with the rule and its values as a tooltip."""

from __future__ import annotations

import pyqtgraph as pg

from pingmos.alerts import AlertEpisode

EPISODE_BRUSH = (229, 57, 53, 45)


class EpisodeShading:
    def __init__(self, timeline):
        self.plot = timeline.plot
        self.items: list[pg.LinearRegionItem] = []
        self.shown: list[tuple[str, float, float]] = []

    def show(self, episodes: list[AlertEpisode], now: float) -> None:
        """Draw ``episodes``; an open one ends at ``now`` (wall-clock seconds)."""
        wanted = [(ep.rule, ep.start, ep.end if ep.end is not None else max(now, ep.start)) for ep in episodes]
        if wanted == self.shown:
            return
        for item in self.items:
            self.plot.removeItem(item)
        self.items = []
        for ep, (rule, start, end) in zip(episodes, wanted, strict=True):
            item = pg.LinearRegionItem(
                values=(start, end), movable=False, brush=pg.mkBrush(*EPISODE_BRUSH), pen=pg.mkPen(None)
            )
            item.setZValue(-30)  # behind the focus range and the curves
            state = "cleared" if ep.end is not None else "still firing"
            message = ep.fire.data.get("message", rule)
            item.setToolTip(f"{message} ({state})")
            self.plot.addItem(item, ignoreBounds=True)
            self.items.append(item)
        self.shown = wanted
