"""Choices for the edit form: event types and their data fields, from the game profile's vocabularies.

Stored values follow the demo-game spec: enemy types and extracts lower-case, map names
lower-case with spaces as underscores, weapons as written.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from pathlib import Path

import yaml
from django.conf import settings

from detection.pipeline.event_log import EVENT_TYPES

PROFILES_DIR = Path(__file__).resolve().parent.parent / "detection" / "profiles"
STATES = (
    "idle",
    "stash",
    "pre_raid",
    "queuing",
    "deploying",
    "raid_active",
    "survived",
    "killed_in_action",
    "missing_in_action",
    "post_raid_review",
)


@dataclass(frozen=True)
class DataField:
    name: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()  # (stored value, label); empty for a yes/no field
    boolean: bool = False
    optional: bool = False


@lru_cache(maxsize=4)
def event_fields(profile: str | None = None) -> dict[str, tuple[DataField, ...]]:
    vocab = _vocabularies(profile or settings.VODSCOPE_GAME_PROFILE)
    enemies = tuple((e.lower(), e) for e in vocab.get("enemy_types", []))
    weapons = tuple((w, w) for w in vocab.get("weapons", []))
    maps: dict[str, list[str]] = vocab.get("maps", {})
    map_choices = tuple((m.lower().replace(" ", "_"), m) for m in maps)
    extracts = tuple((x.lower(), f"{x} ({m})") for m, names in maps.items() for x in names)
    states = tuple((s, s.replace("_", " ")) for s in STATES)
    return {
        "state_transition": (DataField("from_state", "From", states), DataField("to_state", "To", states)),
        "raid_start": (
            DataField("map_name", "Map", map_choices),
            DataField("character_type", "Character", (("pmc", "PMC"), ("scav", "SCAV"))),
            DataField("game_mode", "Mode", (("pve", "PvE"), ("pvp", "PvP"))),
        ),
        "kill": (
            DataField("enemy_type", "Enemy", enemies),
            DataField("weapon", "Weapon", weapons),
            DataField("headshot", "Headshot", boolean=True),
        ),
        "raid_end": (
            DataField("outcome", "Outcome", (("survived", "Survived"), ("killed", "Killed"), ("mia", "MIA"))),
            DataField("extract_location", "Extract", extracts, optional=True),
            DataField("killed_by", "Killed by", enemies, optional=True),
        ),
    }


def event_types() -> tuple[str, ...]:
    return EVENT_TYPES


def _vocabularies(profile: str) -> dict[str, Any]:
    document = yaml.safe_load((PROFILES_DIR / f"{profile}.yaml").read_text(encoding="utf-8"))
    return document.get("vocabularies") or {}
