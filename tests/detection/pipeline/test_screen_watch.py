"""Two screens in a row that the detector names alike: the first is relabelled by its words, and the second,
no change to the screen filter, is found by reading the held screen's words again."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from detection.pipeline.checkpoint import Checkpoint, ScreenWatch
from detection.pipeline.factory import DetectSettings, build_pipeline
from detection.pipeline.source import FileVideoSource
from tests.detection.pipeline.synthetic import PROFILE, Script, write_video

pytestmark = [pytest.mark.pure, pytest.mark.slow]


def script(*, disguised: bool) -> Script:
    """A loop whose character select the detector takes for a map select (its key colour) when `disguised`."""
    character = ("map_select", {"lines": ("CHOOSE YOUR CHARACTER",)}) if disguised else ("character_select", {})
    return (Script().add("stash_screen", 2).add(character[0], 2, chosen="SCAV", **character[1])
            .add("map_select", 2, lines=("SELECT LOCATION", "CUSTOMS"), tick=True)
            .add("queue_timer", 2).add("match_found", 1).add("loading_screen", 1).add("gameplay_hud", 3))


def raid_starts(video: Path, model: Path) -> list[dict[str, object]]:
    pipeline = build_pipeline(PROFILE, DetectSettings(model_path=str(model)))
    with FileVideoSource(video, detection_fps=10) as source:
        result = pipeline.run(source)
    return [e.data for e in result.events if e.type == "raid_start"]


def test_the_screen_after_a_relabelled_one_is_read_though_the_detector_sees_no_change(tmp_path: Path,
                                                                                       synthetic_model: Path) -> None:
    plain = raid_starts(write_video(script(disguised=False), tmp_path / "plain.mkv"), synthetic_model)
    disguised = raid_starts(write_video(script(disguised=True), tmp_path / "disguised.mkv"), synthetic_model)
    assert [d["map_name"] for d in plain] == ["customs"] and plain[0]["game_mode"] == "pve"
    assert [(d["map_name"], d["game_mode"]) for d in disguised] == [("customs", "pve")]


def test_a_watch_survives_a_checkpoint() -> None:
    checkpoint = Checkpoint(video_time=3.0, screen="map_select", watch=ScreenWatch("map_select", "character_select", 2.5))
    assert Checkpoint.from_json(json.loads(json.dumps(checkpoint.to_json()))).watch == checkpoint.watch
    assert Checkpoint.from_json({"video_time": 1.0}).watch is None  # one written before watches existed


def test_a_screen_only_a_probe_found_is_watched_so_the_next_one_named_like_it_is_read(tmp_path: Path,
                                                                                     synthetic_model: Path) -> None:
    """The detector misses the map select (the pre-raid probe reads its map name), then calls the queue a map
    select: without the watch the queue was no change to the filter and the raid lost its queuing."""
    loop = (Script().add("stash_screen", 2).add("character_select", 2, chosen="SCAV")
            .add("map_select", 2, key="", lines=("CUSTOMS", "", "", "SELECT LOCATION"), tick=True)
            .add("queue_timer", 3, key="map_select").add("match_found", 1).add("loading_screen", 1)
            .add("gameplay_hud", 3))
    pipeline = build_pipeline(PROFILE, DetectSettings(model_path=str(synthetic_model)))
    with FileVideoSource(write_video(loop, tmp_path / "missed.mkv"), detection_fps=10) as source:
        result = pipeline.run(source)
    changes = [(e.data["from_state"], e.data["to_state"]) for e in result.events if e.type == "state_transition"]
    assert ("pre_raid", "queuing") in changes, changes
    starts = [e.data for e in result.events if e.type == "raid_start"]
    assert [(d["map_name"], d["game_mode"]) for d in starts] == [("customs", "pve")]
