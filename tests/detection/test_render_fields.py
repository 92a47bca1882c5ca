"""Contract with the pipeline: its field reader reads the renderer's screens right, in random styles.

The detector is out of the loop here (the boxes are the renderer's own); what is checked is
that every data field a screen carries (map, mode, character, enemy, weapon, headshot,
extract, killer) survives the style randomisation and comes back through OCR.
"""
from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from detection.pipeline.fields import FieldReader
from detection.pipeline.profile import load_profile as pipeline_profile
from detection.pipeline.text import RapidTextReader
from detection.pipeline.types import Box, Detection, Frame
from detection.render.families import CLASSIC, Family
from detection.render.frames import menu_frame, raid_frame, random_kill
from detection.render.layout import Box as PixelBox
from detection.render.profile import DemoProfile, load_profile
from detection.render.style import random_style
from detection.render.timeline import snake

pytestmark = pytest.mark.pure


def screen(kind: str, size: tuple[int, int], profile: DemoProfile, rng: random.Random, *,
           family: Family = CLASSIC) -> tuple[Any, str, PixelBox, dict[str, Any], dict[str, Any]]:
    """A frame of `kind` in a style of `family`, the class to read, its box, the fields it must give and the
    reading context."""
    style = random_style(rng, family=family)
    if kind == "kill_notification":
        kill = random_kill(profile, rng)
        image, boxes = raid_frame(size, style, profile, rng, kill=kill)
        want = {"enemy_type": kill["enemy"].lower(), "weapon": kill["weapon"], "headshot": kill["headshot"]}
        return image, kind, boxes[kind], want, {}
    if kind == "map_select":
        map_name, pve = rng.choice(list(profile.maps)), rng.random() < 0.5
        image, boxes = menu_frame(kind, size, style, profile, rng, {"map_name": map_name, "pve": pve})
        return image, kind, boxes[kind], {"map_name": snake(map_name), "game_mode": "pve" if pve else "pvp"}, {}
    if kind == "character_select":
        choice = rng.choice(["PMC", "SCAV"])
        image, boxes = menu_frame(kind, size, style, profile, rng, {"choice": choice})
        return image, kind, boxes[kind], {"character_type": choice.lower()}, {}
    if kind == "survived_screen":
        map_name = rng.choice(list(profile.maps))
        extract = rng.choice(profile.maps[map_name])
        image, boxes = menu_frame("survived", size, style, profile, rng, {"extract": extract, "time_in_raid": 312})
        return image, kind, boxes[kind], {"extract_location": extract.lower()}, {"map_name": snake(map_name)}
    killer = rng.choice(profile.enemy_types)
    image, boxes = menu_frame("killed", size, style, profile, rng, {"killed_by": killer})
    return image, "death_screen", boxes["death_screen"], {"killed_by": killer.lower()}, {}


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_the_pipeline_reads_every_field_of_randomised_screens(size: tuple[int, int]) -> None:
    game = pipeline_profile("demo")
    reader = FieldReader(game, RapidTextReader(max_side=game.ocr.max_side, min_score=game.ocr.min_score))
    profile = load_profile()
    rng = random.Random(size[0])
    width, height = size
    for kind in ("map_select", "character_select", "kill_notification", "survived_screen", "death_screen") * 2:
        image, cls, box, want, context = screen(kind, size, profile, rng)
        frame = Frame(picture=np.ascontiguousarray(np.asarray(image)[..., ::-1]), number=0, video_time=0.0)
        detection = Detection(cls, 1.0, Box(box.x0 / width, box.y0 / height, box.x1 / width, box.y1 / height))
        got = reader.read(frame, detection, context=context).data
        assert {k: got.get(k) for k in want} == want, (cls, size)
