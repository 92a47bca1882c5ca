"""A synthetic mouse/keyboard log for a rendered session, planned from its truth file (docs/input-log.md).

What a player would plausibly have done, consistent with what the video shows:
- menus: the cursor travels to what the renderer drew (the character buttons, the map name, the PVE
  checkbox, the stash grid, the READY/NEXT button) and left-clicks it; queue and loading: hands off;
- raids: the aim wanders around the middle of the screen; before each kill it flicks to a target,
  right button held to aim, two left clicks just before the kill notification appears; "1" draws the
  weapon at the raid's start, "W" is held while moving, "R" reloads after some kills, "Q"/"E" lean
  before some, and "4" heals after a hit (a drop of health in the truth's HUD values).
Times are seconds from the recording's start, positions pixels of the rendered resolution (the log
declares it). Everything follows the seed; no Django here.
"""
from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from pathlib import Path

from detection.pipeline.event_log import EventLog, read_event_log

from .profile import Region, load_profile

MOVE_HZ = 30
NEXT_BUTTON: Region = (0.78, 0.86, 0.98, 0.97)   # where screens.py paints READY/NEXT
STASH_GRID: Region = (0.05, 0.15, 0.6, 0.8)
AIM: Region = (0.38, 0.36, 0.62, 0.58)           # where the aim wanders between fights
TARGETS: Region = (0.25, 0.25, 0.75, 0.62)       # where enemies are met
MENU_CLICKS = {
    "stash_screen": ("grid",), "character_select": ("character_select", "next"),
    "map_select": ("map_select", "map_select_checkbox", "next"), "survived_screen": ("next",),
    "death_screen": ("next",), "mia_screen": ("next",), "post_raid_screen": ("next",),
}
INPUT_LOG_SUFFIX = ".inputs.csv"


@dataclass(frozen=True)
class InputRow:
    t: float
    event: str                # move | down | up | key_down | key_up
    x: float | None = None    # 0-1 of the screen
    y: float | None = None
    button: str = ""
    key: str = ""


class _Player:
    """The cursor and the rows it leaves; every action is planned at its own time, sorted at the end."""

    def __init__(self, rng: random.Random, duration: float) -> None:
        self.rng, self.duration = rng, duration
        self.x, self.y = 0.5, 0.5
        self.rows: list[InputRow] = []

    def point(self, region: Region, *, inset: float = 0.2) -> tuple[float, float]:
        x0, y0, x1, y1 = region
        w, h = x1 - x0, y1 - y0
        return (self.rng.uniform(x0 + w * inset, x1 - w * inset), self.rng.uniform(y0 + h * inset, y1 - h * inset))

    def move(self, start: float, end: float, target: tuple[float, float]) -> None:
        """A smooth stroke (ease in and out) sampled at MOVE_HZ, as a logger sees a hand move."""
        if end <= start or not self._inside(start):
            return
        end = min(end, self.duration)
        x0, y0 = self.x, self.y
        steps = max(1, round((end - start) * MOVE_HZ))
        for i in range(1, steps + 1):
            u = i / steps
            u = u * u * (3 - 2 * u)
            self.x, self.y = x0 + (target[0] - x0) * u, y0 + (target[1] - y0) * u
            self.rows.append(InputRow(round(start + (end - start) * i / steps, 3), "move", self.x, self.y))

    def click(self, t: float, button: str = "left", hold: float = 0.08) -> None:
        """Pressed where the cursor is now; the release carries no position (the cursor may move meanwhile)."""
        if self._inside(t) and self._inside(t + hold):
            self.rows.append(InputRow(round(t, 3), "down", self.x, self.y, button=button))
            self.rows.append(InputRow(round(t + hold, 3), "up", button=button))

    def tap(self, t: float, key: str, hold: float = 0.08) -> None:
        if self._inside(t) and self._inside(t + hold):
            self.rows.append(InputRow(round(t, 3), "key_down", key=key))
            self.rows.append(InputRow(round(t + hold, 3), "key_up", key=key))

    def _inside(self, t: float) -> bool:
        return 0.0 <= t <= self.duration


def synthetic_inputs(truth: EventLog, *, seed: int) -> list[InputRow]:
    """The rows of a session's log, in time order, from its truth (segments, kills, HUD values)."""
    regions = load_profile().regions
    duration = float(truth.metadata.get("duration_seconds") or max((end for _, end, _ in truth.segments), default=0.0))
    player = _Player(random.Random(f"{seed}:inputs"), duration)
    kills = sorted(e.video_offset_seconds for e in truth.events if e.type == "kill")
    hud = [(float(t), int(hp)) for t, hp, _ in truth.metadata.get("hud", [])]
    for start, end, screen in sorted(truth.segments):
        if screen in MENU_CLICKS:
            _menu(player, start, end, [NEXT_BUTTON if name == "next" else STASH_GRID if name == "grid"
                                       else regions[name] for name in MENU_CLICKS[screen]])
        elif screen == "gameplay_hud":
            _raid(player, start, end, [k for k in kills if start + 0.8 <= k < end], hud)
    return sorted(player.rows, key=lambda row: row.t)


def _menu(player: _Player, start: float, end: float, targets: list[Region]) -> None:
    """Each target reached and clicked in turn, the last a little before the screen changes."""
    length = end - start
    for i, region in enumerate(targets, start=1):
        arrive = start + length * (0.15 + 0.7 * i / len(targets)) - 0.15
        player.move(max(start, arrive - min(0.5, length * 0.25)), arrive, player.point(region))
        player.click(arrive + 0.05)


def _raid(player: _Player, start: float, end: float, kills: list[float], hud: list[tuple[float, int]]) -> None:
    rng = player.rng
    player.tap(start + 0.4, "1")
    walk = start + 1.0
    player.rows.append(InputRow(round(walk, 3), "key_down", key="W"))
    t = start
    for kill in [*kills, end]:
        while t + 1.2 < kill - 1.0:   # wander until the fight begins
            hold = rng.uniform(0.3, 1.2)
            player.move(t + hold, min(t + hold + rng.uniform(0.3, 0.8), kill - 1.0), player.point(AIM, inset=0.0))
            t = max(t + hold, player.rows[-1].t if player.rows else t)
        if kill >= end:
            break
        if rng.random() < 0.3:
            player.tap(kill - 0.9, rng.choice(["Q", "E"]), hold=0.5)
        player.click(kill - 0.65, "right", hold=0.8)            # aim down sights through the fight
        player.move(kill - 0.6, kill - 0.35, player.point(TARGETS, inset=0.0))
        player.click(kill - 0.3)
        player.click(kill - 0.15, hold=0.1)
        if rng.random() < 0.5:
            player.tap(kill + 0.6, "R")
        t = kill + 0.5
    player.rows.append(InputRow(round(max(walk, end - 0.3), 3), "key_up", key="W"))
    previous = None
    for at, hp in hud:
        if previous is not None and hp < previous and start <= at < end - 1.2:
            player.tap(at + 1.0, "4")
        previous = hp


def input_log_csv(rows: list[InputRow], *, screen: tuple[int, int], seed: int) -> str:
    width, height = screen
    out = io.StringIO()
    out.write(f"# vodscope input log, synthetic (render_demo, seed {seed})\n# screen: {width}x{height}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["time", "event", "x", "y", "button", "key"])
    for row in rows:
        x = "" if row.x is None else round(row.x * width)
        y = "" if row.y is None else round(row.y * height)
        writer.writerow([f"{row.t:.3f}", row.event, x, y, row.button, row.key])
    return out.getvalue()


def input_log_path(video: Path) -> Path:
    return video.with_name(video.stem + INPUT_LOG_SUFFIX)


def write_session_input_log(video: Path, truth_path: Path, *, seed: int) -> Path:
    """`<name>.inputs.csv` beside the video, from its truth file."""
    truth = read_event_log(truth_path)
    screen = (int(truth.metadata["width"]), int(truth.metadata["height"]))
    path = input_log_path(video)
    path.write_text(input_log_csv(synthetic_inputs(truth, seed=seed), screen=screen, seed=seed), encoding="utf-8")
    return path
