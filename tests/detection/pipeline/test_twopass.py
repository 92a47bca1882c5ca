from __future__ import annotations

from pathlib import Path

import pytest

from detection.pipeline.factory import DetectSettings, build_pipeline, open_source
from detection.pipeline.source import FileVideoSource
from detection.pipeline.twopass import Keyframe, Span, SpanSource, merge, spans_from
from tests.detection.pipeline.synthetic import PROFILE, Script, write_video


@pytest.mark.pure
def test_spans_surround_screen_changes_and_overlays() -> None:
    keys = [Keyframe(float(t), screen, overlay) for t, screen, overlay in [
        (0, "stash_screen", False), (2, "stash_screen", False), (4, "map_select", False), (6, "map_select", False),
        (8, "gameplay_hud", False), (10, "gameplay_hud", False), (12, "gameplay_hud", True), (14, "gameplay_hud", False),
        (16, "gameplay_hud", False), (18, "gameplay_hud", False)]]
    spans = spans_from(keys, profile=PROFILE, duration=20.0, shortest_overlay=2.0, settle=1.0)
    assert spans == [Span(0.0, 5.0), Span(6.0, 9.0), Span(10.0, 15.0)]


@pytest.mark.pure
def test_sparse_keyframes_decode_whole_raids() -> None:
    keys = [Keyframe(0.0, "stash_screen", False), Keyframe(5.0, "gameplay_hud", False),
            Keyframe(10.0, "gameplay_hud", False), Keyframe(15.0, "gameplay_hud", False)]
    spans = spans_from(keys, profile=PROFILE, duration=20.0, shortest_overlay=2.0, settle=1.0)
    assert spans == [Span(0.0, 20.0)]


@pytest.mark.pure
def test_merge_joins_overlapping_spans() -> None:
    assert merge([Span(5, 6), Span(0, 2), Span(1, 3)]) == [Span(0, 3), Span(5, 6)]


@pytest.mark.pure
@pytest.mark.slow
def test_two_pass_finds_the_same_events_decoding_less(tmp_path: Path, synthetic_model: Path) -> None:
    script = Script().add("stash_screen", 6).add("character_select", 4, chosen="PMC")
    script.add("map_select", 4, lines=("SELECT LOCATION", "WOODS"), tick=False).add("queue_timer", 8)
    script.add("match_found", 3).add("loading_screen", 4).add("gameplay_hud", 12)
    script.add("gameplay_hud", 3, kill=("BOSS", "SVDS", False)).add("gameplay_hud", 15)
    script.add("death_screen", 5, lines=("KILLED IN ACTION", "KILLED BY: BOSS")).add("post_raid_screen", 5)
    video = write_video(script, tmp_path / "long.mkv")
    one = build_pipeline(PROFILE, DetectSettings(model_path=str(synthetic_model)))
    single_source = FileVideoSource(video, detection_fps=10)
    single = one.run(single_source)
    settings = DetectSettings(model_path=str(synthetic_model), two_pass=True)
    source, proposal = open_source(video, one, settings)
    assert isinstance(source, SpanSource) and proposal is not None
    double = one.run(source)
    summary = [(e.type, round(e.video_time, 1), e.data) for e in double.events]
    assert summary == [(e.type, round(e.video_time, 1), e.data) for e in single.events]
    assert ("raid_end", 59.0, {"outcome": "killed", "killed_by": "boss"}) in summary
    assert ("kill", 41.0, {"enemy_type": "boss", "weapon": "SVDS", "headshot": False}) in summary
    assert source.source.frames_decoded < single_source.frames_decoded * 0.6
    assert proposal.covered < 0.6 * proposal.duration
