"""The profile's `events:` section is the one declaration of event types, fields and choices."""
from __future__ import annotations

import copy

import pytest
import yaml

from detection.pipeline.profile import PROFILES_DIR, ProfileError, load_profile, profile_from_dict

pytestmark = pytest.mark.pure


def demo_document() -> dict:
    return yaml.safe_load((PROFILES_DIR / "demo.yaml").read_text(encoding="utf-8"))


def test_demo_schema_stores_values_as_the_spec_writes_them() -> None:
    profile = load_profile("demo")
    assert profile.event_types == ("state_transition", "raid_start", "kill", "raid_end")
    raid_start = profile.event("raid_start")
    assert "streets_of_tarkov" in raid_start.field("map_name").values
    assert raid_start.field("character_type").values == ("pmc", "scav")
    assert raid_start.field("game_mode").values == ("pve", "pvp")
    extract = profile.event("raid_end").field("extract_location")
    assert "smuggler's boat" in extract.values and extract.optional
    assert profile.event("kill").field("weapon").values[:2] == ("AK-74M", "AKM")
    assert profile.event("state_transition").field("to_state").values == profile.states


def test_problems_name_each_fault() -> None:
    kill = load_profile("demo").event("kill")
    assert kill.problems({"enemy_type": "boss", "weapon": "VSS", "headshot": False}) == []
    assert kill.problems({"enemy_type": "dragon", "weapon": "VSS", "headshot": "yes", "extra": 1}) == [
        "kill has no field 'extra'",
        "enemy_type 'dragon' is not one of ['scav', 'pmc', 'raider', 'rogue', 'boss', 'cultist']",
        "headshot must be true or false",
    ]
    assert load_profile("demo").event("raid_end").problems({"outcome": "mia"}) == []


def test_a_second_game_declares_its_own_vocabulary() -> None:
    document = demo_document()
    document["vocabularies"]["enemy_types"] = ["ZOMBIE", "GHOUL"]
    document["events"]["kill"]["fields"]["weapon"] = {"label": "Spell", "choices": ["FIREBALL", "FROST"]}
    profile = profile_from_dict(document)
    assert profile.event("kill").field("enemy_type").values == ("zombie", "ghoul")
    assert profile.event("kill").field("weapon").values == ("FIREBALL", "FROST")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("events"), "missing 'events'"),
        (lambda d: d["events"].pop("kill"), "not declared under `events`: ['kill']"),
        (lambda d: d["events"]["kill"]["fields"]["weapon"].update(choices="spells"), "names no vocabulary"),
        (lambda d: d["events"]["kill"]["fields"]["headshot"].update(kind="number"), "kind 'number'"),
    ],
)
def test_an_inconsistent_schema_is_refused_with_the_key(change, message) -> None:  # type: ignore[no-untyped-def]
    document = copy.deepcopy(demo_document())
    change(document)
    with pytest.raises(ProfileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        profile_from_dict(document)
