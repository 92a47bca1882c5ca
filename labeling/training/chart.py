"""The training chart on the job card: two small panels (losses, validation mAP) as SVG polylines.

Computed server-side from the epochs a job has stored, so the card that HTMX re-renders every second
draws itself with no JavaScript and no chart library.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PANEL_WIDTH = 220.0
PANEL_HEIGHT = 90.0
LOSSES = (("box_loss", "box"), ("cls_loss", "cls"), ("dfl_loss", "dfl"))
METRICS = (("map50", "mAP50"), ("map50_95", "mAP50-95"))


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    points: str  # "x,y x,y ..." in the panel's own coordinates
    last: float
    last_x: float  # where the latest epoch's dot goes (a single epoch draws no line)
    last_y: float


@dataclass(frozen=True)
class Panel:
    title: str
    top: float  # the value at the top edge (the bottom is 0)
    series: tuple[Series, ...]


@dataclass(frozen=True)
class TrainingChart:
    epochs: int
    total: int
    width: float
    height: float
    panels: tuple[Panel, ...]


def _coords(values: Sequence[float], *, top: float, total: int) -> list[tuple[float, float]]:
    steps = max(1, total - 1)
    return [(PANEL_WIDTH * i / steps,
             PANEL_HEIGHT * (1 - min(max(value, 0.0), top) / top) if top > 0 else PANEL_HEIGHT)
            for i, value in enumerate(values)]


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _panel(title: str, keys: Sequence[tuple[str, str]], epochs: Sequence[Mapping[str, object]], *, total: int,
           top: float | None) -> Panel:
    columns = {key: [_number(e.get(key)) for e in epochs] for key, _ in keys}
    ceiling = top if top is not None else max((v for values in columns.values() for v in values), default=0.0) * 1.1
    series = []
    for key, label in keys:
        coords = _coords(columns[key], top=ceiling, total=total)
        series.append(Series(key=key, label=label, points=" ".join(f"{x:.1f},{y:.1f}" for x, y in coords),
                             last=columns[key][-1], last_x=round(coords[-1][0], 1), last_y=round(coords[-1][1], 1)))
    return Panel(title=title, top=ceiling, series=tuple(series))


def training_chart(epochs: Sequence[Mapping[str, object]], *, total: int) -> TrainingChart | None:
    """None until the first epoch is in. `total`: the epochs asked for, so the x axis does not stretch."""
    if not epochs:
        return None
    total = max(total, len(epochs))
    panels = (_panel("loss", LOSSES, epochs, total=total, top=None),
              _panel("validation", METRICS, epochs, total=total, top=1.0))
    return TrainingChart(epochs=len(epochs), total=total, width=PANEL_WIDTH * 2 + 60, height=PANEL_HEIGHT + 36,
                         panels=panels)
