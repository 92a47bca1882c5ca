"""Video frames from a timeline, cheaply: paint once, reuse, blend only what changes.

Menu screens are painted once per distinct look (the queue timer once a second, the
loading bar once per step) and the same array is handed out for every frame that
shows it. Raid frames are a crop of a larger scene that the camera pans across
(numpy slicing), with the HUD and the kill notification blended in as small
premultiplied patches cut from their painted layers.
"""
from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from . import scenery, screens
from .frames import PAINTERS, menu_background
from .layout import Painter
from .profile import DemoProfile
from .style import Style
from .timeline import Segment, Timeline


@dataclass(frozen=True)
class Patch:
    """A piece of a painted layer, ready to blend: out = bg * keep + ink."""

    x: int
    y: int
    ink: np.ndarray  # float32 (h, w, 3), colour already multiplied by alpha
    keep: np.ndarray  # float32 (h, w, 1), 1 - alpha

    def blend(self, frame: np.ndarray) -> None:
        h, w = self.keep.shape[:2]
        region = frame[self.y:self.y + h, self.x:self.x + w]
        region[:] = region * self.keep + self.ink


def layer_patches(layer: Image.Image, gap: int = 16) -> list[Patch]:
    """Cut a mostly transparent layer into patches around its painted column runs."""
    rgba = np.asarray(layer)
    alpha = rgba[..., 3]
    columns = np.flatnonzero(alpha.any(axis=0))
    if columns.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(columns) > gap)
    starts = np.concatenate(([columns[0]], columns[breaks + 1]))
    ends = np.concatenate((columns[breaks], [columns[-1]])) + 1
    patches = []
    for x0, x1 in zip(starts, ends):
        rows = np.flatnonzero(alpha[:, x0:x1].any(axis=1))
        y0, y1 = rows[0], rows[-1] + 1
        a = rgba[y0:y1, x0:x1, 3:4].astype(np.float32) / 255.0
        ink = rgba[y0:y1, x0:x1, :3].astype(np.float32) * a
        patches.append(Patch(int(x0), int(y0), ink, 1.0 - a))
    return patches


@dataclass(frozen=True)
class Look:
    """Per-render randomisation of the footage itself (not the UI): grain, softness, camera."""

    grain: float
    blur: float
    pan: float  # how far the camera wanders, as a fraction of the frame

    @classmethod
    def random(cls, rng: random.Random) -> Look:
        return cls(grain=rng.choice([0.0, 0.0, rng.uniform(1.5, 6.0)]), blur=rng.choice([0.0, rng.uniform(0.3, 1.2)]),
                   pan=rng.uniform(0.08, 0.2))


class Compositor:
    def __init__(self, timeline: Timeline, size: tuple[int, int], style: Style, profile: DemoProfile, *, seed: int, look: Look) -> None:
        self.timeline, self.size, self.style, self.profile, self.seed, self.look = timeline, size, style, profile, seed, look
        self._menus: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
        self._backdrops: dict[str, np.ndarray] = {}
        self._patches: dict[tuple[Any, ...], list[Patch]] = {}
        self._scene: tuple[int, np.ndarray, list[tuple[float, int, int]]] | None = None
        self._black = np.full((size[1], size[0], 3), 8, dtype=np.uint8)
        self._frozen: dict[int, np.ndarray] = {}
        self._noise: list[np.ndarray] = []
        self._buffer = np.empty((size[1], size[0], 3), dtype=np.uint8)

    def _rng(self, *key: object) -> random.Random:
        return random.Random(":".join(str(k) for k in (self.seed, *key)))

    def _finish(self, image: Image.Image, rng: random.Random) -> np.ndarray:
        if self.look.blur:
            image = image.filter(ImageFilter.GaussianBlur(self.look.blur * self.size[1] / 1080))
        array = np.asarray(image, dtype=np.uint8)
        if self.look.grain:
            noise = np.random.default_rng(rng.getrandbits(32)).normal(0, self.look.grain, array.shape[:2])
            array = (array.astype(np.int16) + noise[..., None].astype(np.int16)).clip(0, 255).astype(np.uint8)
        return np.ascontiguousarray(array)

    def frame(self, t: float) -> np.ndarray:
        segment = self.timeline.segment_at(t)
        hidden = self.timeline.blanked.get(segment.index)
        if hidden is not None:
            return self._blank(hidden, segment, t)
        if segment.screen == "black":
            return self._black
        if segment.screen == "raid":
            return self._raid(segment, t)
        return self._menu(segment, t)

    def _blank(self, kind: str, segment: Segment, t: float) -> np.ndarray:
        """A screen that never reached the video: black, the last frame before it frozen, or signal noise."""
        if kind == "black":
            return self._black
        if kind == "frozen":
            if segment.index not in self._frozen:
                self._frozen[segment.index] = self.frame(max(0.0, segment.start - 1e-3)).copy()
            return self._frozen[segment.index]
        if not self._noise:
            rng = np.random.default_rng(self.seed)
            self._noise = [rng.integers(0, 256, (self.size[1], self.size[0], 1), dtype=np.uint8).repeat(3, axis=2) for _ in range(4)]
        return self._noise[int(t * 15) % len(self._noise)]

    # -- menus ---------------------------------------------------------------------
    def _dynamic(self, segment: Segment, t: float) -> dict[str, Any]:
        elapsed = max(0.0, t - segment.start)
        if segment.screen == "queue":
            return {"elapsed": int(elapsed)}
        if segment.screen == "match_found":
            return {"countdown": max(1, segment.content["countdown"] - int(elapsed))}
        if segment.screen == "loading":
            return {"progress": round(elapsed / max(0.1, segment.end - segment.start) * 40) / 40}
        return {}

    def _menu(self, segment: Segment, t: float) -> np.ndarray:
        dynamic = self._dynamic(segment, t)
        key = (segment.index, *sorted(dynamic.items()))
        if key in self._menus:
            self._menus.move_to_end(key)
            return self._menus[key]
        screen = segment.screen
        if screen not in self._backdrops:
            rng = self._rng("backdrop", screen)
            self._backdrops[screen] = self._finish(menu_background(screen, self.size, self.style, rng), rng)
        painter = Painter(self.size, self.style)
        PAINTERS[screen](painter, self.profile, self._rng("layout", screen), **{**segment.content, **dynamic})
        image = Image.fromarray(self._backdrops[screen])
        image.paste(painter.layer, (0, 0), painter.layer)
        frame = np.ascontiguousarray(np.asarray(image))
        self._menus[key] = frame
        if len(self._menus) > 6:
            self._menus.popitem(last=False)
        return frame

    # -- raid --------------------------------------------------------------------
    def _raid(self, segment: Segment, t: float) -> np.ndarray:
        width, height = self.size
        if self._scene is None or self._scene[0] != segment.index:
            rng = self._rng("scene", segment.index)
            margin = 1.0 + self.look.pan
            picture = scenery.raid_scene((round(width * margin), round(height * margin)), rng)
            self._scene = (segment.index, self._finish(picture, rng), self._camera_path(segment, rng))
        _, scene, path = self._scene
        x, y = _camera(path, t)
        frame = self._buffer
        frame[:] = scene[y:y + height, x:x + width]
        hud = self.timeline.hud_at(t)
        for patch in self._overlay(("hud", hud.hp, hud.shield, hud.ammo, hud.capacity)):
            patch.blend(frame)
        kill = self.timeline.kill_at(t)
        if kill is not None:
            for patch in self._overlay(("kill", kill.enemy, kill.weapon, kill.headshot)):
                patch.blend(frame)
        return frame

    def _overlay(self, key: tuple[Any, ...]) -> list[Patch]:
        if key not in self._patches:
            painter = Painter(self.size, self.style)
            if key[0] == "hud":
                screens.paint_hud(painter, self.profile, self._rng("hud"), hp=key[1], shield=key[2], ammo=key[3], capacity=key[4])
            else:
                screens.paint_kill(painter, self.profile, self._rng("kill"), enemy=key[1], weapon=key[2], headshot=key[3])
            if len(self._patches) > 64:
                self._patches.clear()
            self._patches[key] = layer_patches(painter.layer)
        return self._patches[key]

    def _camera_path(self, segment: Segment, rng: random.Random) -> list[tuple[float, int, int]]:
        """Waypoints: the camera holds, then turns smoothly to a new spot, as a player looks around."""
        max_x, max_y = round(self.size[0] * self.look.pan), round(self.size[1] * self.look.pan)
        t = segment.start
        points = [(t, rng.randint(0, max_x), rng.randint(0, max_y))]
        while t < segment.end:
            t += rng.uniform(0.8, 4.0)
            if rng.random() < 0.3:
                points.append((t, points[-1][1], points[-1][2]))
            else:
                points.append((t, rng.randint(0, max_x), rng.randint(0, max_y)))
        return points


def _camera(path: list[tuple[float, int, int]], t: float) -> tuple[int, int]:
    for (t0, x0, y0), (t1, x1, y1) in zip(path, path[1:]):
        if t0 <= t < t1:
            u = (t - t0) / (t1 - t0)
            u = u * u * (3 - 2 * u)
            return round(x0 + (x1 - x0) * u), round(y0 + (y1 - y0) * u)
    return path[-1][1], path[-1][2]
