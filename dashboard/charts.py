"""Bar charts drawn as inline SVG by the templates: no chart library, no JavaScript.

``bar_chart`` turns (label, value) points into bars scaled to the largest value, with a
title per bar (the exact value on hover and for screen readers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

WIDTH = 600
HEIGHT = 160


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    total: int
    peak: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self) -> bool:
        return not self.bars or self.peak == 0


def bucket_label(moment: datetime, period: str) -> str:
    return moment.strftime("%d %b %H:00" if period == "hour" else "%d %b %Y")


def bar_chart(title: str, points: list[tuple[str, int]]) -> Chart:
    peak = max((value for _, value in points), default=0)
    slot = WIDTH / max(1, len(points))
    bars = []
    for index, (label, value) in enumerate(points):
        height = (value / peak) * (HEIGHT - 10) if peak else 0
        bars.append(Bar(x=index * slot + slot * 0.1, y=HEIGHT - height, width=slot * 0.8, height=height,
                        label=label, value=value))  # fmt: skip
    return Chart(title=title, bars=bars, total=sum(value for _, value in points), peak=peak)
