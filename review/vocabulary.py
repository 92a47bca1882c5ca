"""Choices for the edit form: event types and their data fields, from the game profile's vocabularies.

Stored values follow the demo-game spec: enemy types and extracts lower-case, map names
lower-case with spaces as underscores, weapons as written.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from detection.pipeline.event_log import EVENT_TYPES

PROFILES_DIR = Path(__file__).resolve().parent.parent / "detection" / "profiles"


@dataclass(frozen=True)
class DataField:
    name: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()  # (stored value, label); empty for a yes/no field
    boolean: bool = False
    optional: bool = False


@lru_cache(maxsize=4)
def event_fields(profile: str | None = None) -> dict[str, tuple[DataField, ...]]:
    document = _profile(profile or settings.VODSCOPE_GAME_PROFILE)
    vocab: dict[str, Any] = document.get("vocabularies") or {}
    # States and outcomes come from the profile's state machine: a second game is data, not code.
    states = tuple((s, s.replace("_", " ")) for s in (document.get("transitions") or {}))
    outcomes = tuple(dict.fromkeys((document.get("raid") or {}).get("outcomes", {}).values()))
    enemies = tuple((e.lower(), e) for e in vocab.get("enemy_types", []))
    weapons = tuple((w, w) for w in vocab.get("weapons", []))
    maps: dict[str, list[str]] = vocab.get("maps", {})
    map_choices = tuple((m.lower().replace(" ", "_"), m) for m in maps)
    extracts = tuple((x.lower(), f"{x} ({m})") for m, names in maps.items() for x in names)
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
            DataField("outcome", "Outcome", tuple((o, o.upper()) for o in outcomes)),
            DataField("extract_location", "Extract", extracts, optional=True),
            DataField("killed_by", "Killed by", enemies, optional=True),
        ),
    }


def event_types() -> tuple[str, ...]:
    return EVENT_TYPES


def _profile(profile: str) -> dict[str, Any]:
    return yaml.safe_load((PROFILES_DIR / f"{profile}.yaml").read_text(encoding="utf-8")) or {}
