"""Alert episodes on the timeline: a red shaded band from each rule's fire event to its clear event (to now while
it still fires), behind the curves, with the rule and its values as a tooltip."""

from __future__ import annotations

import pyqtgraph as pg

from pingmos.alerts import AlertEpisode

EPISODE_BRUSH = (229, 57, 53, 45)


class EpisodeShading:
    def __init__(self, timeline):
        self.timeline = timeline
        self.plot = timeline.plot
        self.items: list[pg.LinearRegionItem] = []
        self.shown: list[tuple[str, float, float]] = []
        self._episodes: list[AlertEpisode] = []
        timeline.origin_listeners.append(self._replace)

    def _replace(self) -> None:
        """The timeline's origin moved: the bands go where their times now are."""
        shown, self.shown = self.shown, []
        if shown:
            self._draw(self._episodes, shown)

    def show(self, episodes: list[AlertEpisode], now: float) -> None:
        """Draw ``episodes``; an open one ends at ``now`` (wall-clock seconds)."""
        wanted = [(ep.rule, ep.start, ep.end if ep.end is not None else max(now, ep.start)) for ep in episodes]
        if wanted == self.shown:
            return
        self._episodes = list(episodes)
        self._draw(episodes, wanted)

    def _draw(self, episodes, wanted) -> None:
        for item in self.items:
            self.plot.removeItem(item)
        self.items = []
        for ep, (rule, start, end) in zip(episodes, wanted, strict=True):
            item = pg.LinearRegionItem(
                values=(self.timeline.to_x(start), self.timeline.to_x(end)),
                movable=False,
                brush=pg.mkBrush(*EPISODE_BRUSH),
                pen=pg.mkPen(None),
            )
            item.setZValue(-30)  # behind the focus range and the curves
            state = "cleared" if ep.end is not None else "still firing"
            message = ep.fire.data.get("message", rule)
            item.setToolTip(f"{message} ({state})")
            self.plot.addItem(item, ignoreBounds=True)
            self.items.append(item)
        self.shown = wanted
