"""The demo profile as the renderer reads it: classes, regions and vocabularies from demo.yaml.

The yaml is the single copy of the vocabularies; nothing here repeats them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

PROFILE_PATH = Path(__file__).resolve().parent.parent / "profiles" / "demo.yaml"

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
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    vocab = document["vocabularies"]
    return DemoProfile(
        name=str(document["name"]),
        classes=tuple(document["classes"]),
        regions={name: tuple(float(v) for v in box) for name, box in document["regions"].items()},  # type: ignore[misc]
        enemy_types=tuple(vocab["enemy_types"]),
        weapons=tuple(vocab["weapons"]),
        maps={name: tuple(extracts) for name, extracts in vocab["maps"].items()},
    )
