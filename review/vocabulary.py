"""The event schema as the review pages, the API and the export read it: the active game profile's `events:`.

One declaration (detection/profiles/<name>.yaml, parsed by detection.pipeline.schema); nothing here
repeats a type, a field or a choice. The profile named by `VODSCOPE_GAME_PROFILE` (a name or a
path) is parsed once per process.
"""
from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from detection.pipeline.profile import GameProfile, load_profile
from detection.pipeline.schema import EventSpec


@lru_cache(maxsize=4)
def _profile(name_or_path: str) -> GameProfile:
    return load_profile(name_or_path)


def game_profile() -> GameProfile:
    return _profile(str(settings.VODSCOPE_GAME_PROFILE))


def event_specs() -> dict[str, EventSpec]:
    """Every event type the profile declares, in its order (lanes, filters and colours follow it)."""
    return game_profile().events


def event_types() -> tuple[str, ...]:
    return game_profile().event_types


def default_added_type() -> str:
    """What `n` adds unless told: a notification's event (what a detector most often misses), else the first type."""
    profile = game_profile()
    return next(iter(profile.overlays.values()), profile.event_types[0])


def event_spec(event_type: str) -> EventSpec | None:
    return event_specs().get(event_type)


def event_problems(event_type: str, data: object) -> list[str]:
    """Why an event of this type with this data breaks the profile's schema (empty when it fits)."""
    spec = event_spec(event_type)
    if spec is None:
        return [f"event type {event_type!r} is not one of {list(event_types())}"]
    if not isinstance(data, dict):
        return ["data must be an object of field: value"]
    return spec.problems(data)
