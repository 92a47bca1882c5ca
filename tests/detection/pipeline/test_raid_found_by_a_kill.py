"""A raid whose queue, match-found and loading screens all went unseen, with a kill shown before its HUD had been
held long enough to be believed: the kill's words prove the HUD, so neither the raid nor the kill is lost."""
from __future__ import annotations

from pathlib import Path

import pytest

from detection.pipeline.factory import DetectSettings, build_pipeline
from detection.pipeline.source import FileVideoSource
from tests.detection.pipeline.synthetic import PROFILE, Script, write_video

pytestmark = [pytest.mark.pure, pytest.mark.slow]


def test_a_kill_early_in_a_raid_whose_menus_went_unseen_is_kept_with_its_raid(tmp_path: Path,
                                                                            synthetic_model: Path) -> None:
    # The queue hidden behind a "be right back" scene: neither its key nor its words show (the pre-raid probe reads them).
    loop = (Script().add("stash_screen", 2).add("character_select", 2, chosen="PMC")
            .add("map_select", 2, lines=("SELECT LOCATION", "CUSTOMS"), tick=True)
            .add("queue_timer", 2, key="", lines=("BE RIGHT BACK",)).add("match_found", 1, key="").add("loading_screen", 1, key="")
            .add("gameplay_hud", 1).add("gameplay_hud", 2.5, kill=("RAIDER", "AK-74M", True)).add("gameplay_hud", 4))
    pipeline = build_pipeline(PROFILE, DetectSettings(model_path=str(synthetic_model)))
    with FileVideoSource(write_video(loop, tmp_path / "unseen-menus.mkv"), detection_fps=10) as source:
        result = pipeline.run(source)
    events = [(e.type, round(e.video_time, 1), e.data) for e in result.events if e.type in ("raid_start", "kill")]
    assert [(kind, second) for kind, second, _ in events] == [("raid_start", 10.0), ("kill", 11.0)], events
    assert events[0][2]["map_name"] == "customs" and events[1][2]["weapon"] == "AK-74M"
    inferred = {e.type: e.evidence.get("inferred") for e in result.events if e.type in ("raid_start", "kill")}
    assert inferred["raid_start"] and not inferred.get("kill")
