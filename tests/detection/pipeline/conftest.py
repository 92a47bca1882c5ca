from __future__ import annotations

from pathlib import Path

import pytest

from tests.detection.pipeline.synthetic import Script, build_model, write_video


def session_script() -> Script:
    """One full loop of the demo game: pre-raid, a raid with two kills, survived, back to the stash."""
    script = Script()
    script.add("stash_screen", 2).add("character_select", 2, chosen="SCAV")
    script.add("map_select", 2, lines=("SELECT LOCATION", "CUSTOMS"), tick=True)
    script.add("queue_timer", 2).add("match_found", 1).add("loading_screen", 1).add("gameplay_hud", 3)
    script.add("gameplay_hud", 3, kill=("RAIDER", "AK-74M", True)).add("gameplay_hud", 2)
    script.add("gameplay_hud", 2.5, kill=("SCAV", "MOSIN", False)).add("gameplay_hud", 1)
    script.add("survived_screen", 2, lines=("SURVIVED", "EXFILTRATED AT: CROSSROADS"))
    script.add("post_raid_screen", 2).add("stash_screen", 1)
    return script


# (type, offset seconds, data) the session above must produce.
EXPECTED = [
    ("state_transition", 0.0, {"from_state": "idle", "to_state": "stash"}),
    ("state_transition", 2.0, {"from_state": "stash", "to_state": "pre_raid"}),
    ("state_transition", 6.0, {"from_state": "pre_raid", "to_state": "queuing"}),
    ("state_transition", 8.0, {"from_state": "queuing", "to_state": "deploying"}),
    ("raid_start", 10.0, {"map_name": "customs", "character_type": "scav", "game_mode": "pve"}),
    ("state_transition", 10.0, {"from_state": "deploying", "to_state": "raid_active"}),
    ("kill", 13.0, {"enemy_type": "raider", "weapon": "AK-74M", "headshot": True}),
    ("kill", 18.0, {"enemy_type": "scav", "weapon": "MOSIN", "headshot": False}),
    ("raid_end", 21.5, {"outcome": "survived", "extract_location": "crossroads"}),
    ("state_transition", 21.5, {"from_state": "raid_active", "to_state": "survived"}),
    ("state_transition", 23.5, {"from_state": "survived", "to_state": "post_raid_review"}),
    ("state_transition", 25.5, {"from_state": "post_raid_review", "to_state": "stash"}),
]


@pytest.fixture(scope="session")
def synthetic_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model(tmp_path_factory.mktemp("model") / "synthetic.onnx")


@pytest.fixture(scope="session")
def session_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(session_script(), tmp_path_factory.mktemp("video") / "session.mkv",
                       creation_time="2026-03-01T18:00:00.000000Z")
