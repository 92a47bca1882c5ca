"""The demo profile as the renderer reads it: classes, regions and the words it paints.

Built from the pipeline's game profile (detection.pipeline.profile), the one reader of the
profile file: the renderer draws the very vocabularies the detector reads and the event schema
names. Words are as the game shows them (upper case); the event log stores them by the schema.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from detection.pipeline.profile import PROFILES_DIR
from detection.pipeline.profile import load_profile as load_game_profile

PROFILE_PATH = PROFILES_DIR / "demo.yaml"

Region = tuple[float, float, float, float]


@dataclass(frozen=True)
class DemoProfile:
    name: str
    classes: tuple[str, ...]
    regions: dict[str, Region]
    enemy_types: tuple[str, ...]
    weapons: tuple[str, ...]
    maps: dict[str, tuple[str, ...]]

    def class_index(self, name: str) -> int:
        return self.classes.index(name)


@lru_cache(maxsize=4)
def load_profile(path: Path = PROFILE_PATH) -> DemoProfile:
    game = load_game_profile(path)
    return DemoProfile(
        name=game.name,
        classes=game.classes,
        regions={name: (box.x0, box.y0, box.x1, box.y1) for name, box in game.regions.items()},
        enemy_types=tuple(game.vocabulary("enemy_types")),
        weapons=tuple(game.vocabulary("weapons")),
        maps={name: tuple(extracts) for name, extracts in game.maps.items()},
    )
