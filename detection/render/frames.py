"""Single frames: any screen of the spec over its backdrop, with random content and its boxes.

The dataset maker draws its images here; the video renderer uses the same painters
but caches what does not change between frames.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

from . import scenery, screens
from .layout import Box, Painter
from .profile import DemoProfile
from .style import Style

PAINTERS: dict[str, Callable[..., screens.Boxes]] = {
    "stash": screens.paint_stash,
    "character_select": screens.paint_character_select,
    "map_select": screens.paint_map_select,
    "queue": screens.paint_queue,
    "match_found": screens.paint_match_found,
    "loading": screens.paint_loading,
    "survived": screens.paint_survived,
    "killed": screens.paint_death,
    "mia": screens.paint_mia,
    "post_raid": screens.paint_post_raid,
}
MENU_SCREENS = tuple(PAINTERS)
# Screens whose backdrop is often the (dimmed, blurred) game world rather than a menu.
WORLD_BACKDROP = {"loading": 0.5, "survived": 0.5, "killed": 0.6, "mia": 0.5}


def random_kill(profile: DemoProfile, rng: random.Random) -> dict[str, Any]:
    return {"enemy": rng.choice(profile.enemy_types), "weapon": rng.choice(profile.weapons), "headshot": rng.random() < 0.35}


def random_hud(rng: random.Random) -> dict[str, Any]:
    capacity = rng.choice([5, 8, 10, 20, 30, 30, 30, 45, 60])
    return {"hp": rng.randint(1, 100), "shield": rng.randint(0, 100), "ammo": rng.randint(0, capacity), "capacity": capacity}


def random_content(screen: str, profile: DemoProfile, rng: random.Random) -> dict[str, Any]:
    maps = list(profile.maps)
    if screen == "stash":
        return {"tab": rng.randint(0, 2)}
    if screen == "character_select":
        return {"choice": rng.choice(["PMC", "SCAV"])}
    if screen == "map_select":
        return {"map_name": rng.choice(maps), "pve": rng.random() < 0.5}
    if screen == "queue":
        return {"elapsed": rng.uniform(0, 600), "estimate": rng.uniform(10, 900)}
    if screen == "match_found":
        return {"countdown": rng.randint(0, 10)}
    if screen == "loading":
        return {"progress": rng.random()}
    if screen == "survived":
        return {"extract": rng.choice(profile.maps[rng.choice(maps)]), "time_in_raid": rng.uniform(30, 2700)}
    if screen == "killed":
        return {"killed_by": rng.choice(profile.enemy_types)}
    if screen == "post_raid":
        return {"kills": [tuple(random_kill(profile, rng).values()) for _ in range(rng.choice([0, 1, 1, 2, 3, 4, 6, 9]))]}
    return {}


def menu_background(screen: str, size: tuple[int, int], style: Style, rng: random.Random) -> Image.Image:
    if rng.random() < WORLD_BACKDROP.get(screen, 0.0):
        world = scenery.raid_scene(size, rng, detail=0.7).filter(ImageFilter.GaussianBlur(rng.uniform(2, 10) * size[1] / 1080))
        return Image.blend(world, Image.new("RGB", size, (0, 0, 0)), rng.uniform(0.35, 0.7))
    if style.backdrop == "busy":
        return scenery.busy_backdrop(size, rng, style.hue, muted=style.muted)
    return scenery.menu_backdrop(size, rng, style.hue)


def menu_frame(screen: str, size: tuple[int, int], style: Style, profile: DemoProfile, rng: random.Random,
               content: dict[str, Any] | None = None) -> tuple[Image.Image, screens.Boxes]:
    background = menu_background(screen, size, style, rng)
    painter = Painter(size, style)
    boxes = PAINTERS[screen](painter, profile, rng, **(content if content is not None else random_content(screen, profile, rng)))
    background.paste(painter.layer, (0, 0), painter.layer)
    return background, boxes


def raid_frame(size: tuple[int, int], style: Style, profile: DemoProfile, rng: random.Random, *,
               kill: dict[str, Any] | None, hud: bool = True, occlude: bool = False) -> tuple[Image.Image, screens.Boxes]:
    """A raid frame: the scene, the HUD (unless a negative) and optionally a kill notification."""
    frame = scenery.raid_scene(size, rng)
    painter = Painter(size, style)
    boxes: screens.Boxes = {}
    if hud:
        boxes.update(screens.paint_hud(painter, profile, rng, **random_hud(rng)))
    if kill is not None:
        boxes.update(screens.paint_kill(painter, profile, rng, **kill))
    frame.paste(painter.layer, (0, 0), painter.layer)
    if occlude and "kill_notification" in boxes:
        _occlude(frame, boxes["kill_notification"], rng)
    return frame, boxes


def _occlude(frame: Image.Image, box: Box, rng: random.Random) -> None:
    """Smoke, a muzzle flash or foliage over part of the notification: the hard cases."""
    overlay = Image.new("RGBA", frame.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(rng.randint(1, 3)):
        r = rng.uniform(0.15, 0.35) * box.h
        cx = rng.uniform(box.x0, box.x1)
        cy = rng.choice([box.y0, box.y1]) + rng.uniform(-0.2, 0.2) * box.h
        colour = rng.choice([(230, 230, 220), (255, 220, 120), (40, 70, 30), (120, 120, 120)])
        draw.ellipse((cx - r * 1.6, cy - r, cx + r * 1.6, cy + r), fill=colour + (rng.randint(90, 170),))
    frame.paste(overlay, (0, 0), overlay)


def negative_frame(size: tuple[int, int], style: Style, rng: random.Random) -> Image.Image:
    """No UI at all: the world without HUD, a transition black, an empty menu backdrop, a blurred cut."""
    kind = rng.choice(["world", "world", "black", "backdrop", "blurred"])
    if kind == "world":
        return scenery.raid_scene(size, rng)
    if kind == "black":
        return scenery.transition_black(size, rng)
    if kind == "backdrop":
        return scenery.menu_backdrop(size, rng, style.hue)
    return scenery.raid_scene(size, rng).filter(ImageFilter.GaussianBlur(rng.uniform(4, 15) * size[1] / 1080))
