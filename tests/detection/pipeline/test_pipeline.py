from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from detection.pipeline.calibration import Calibration, Curve, calibration_path
from detection.pipeline.checkpoint import Checkpoint
from detection.pipeline.factory import DetectSettings, build_pipeline
from detection.pipeline.runner import PipelineResult
from detection.pipeline.source import FileVideoSource
from detection.pipeline.types import Event, Rejection, Uncertain
from tests.detection.pipeline.synthetic import EXPECTED, PROFILE, Script, session_script, write_video

pytestmark = [pytest.mark.pure, pytest.mark.slow]


def run(video: Path, model: Path, **settings: Any) -> PipelineResult:
    pipeline = build_pipeline(PROFILE, DetectSettings(model_path=str(model), **settings))
    source = FileVideoSource(video, detection_fps=settings.get("detection_fps", 10.0))
    try:
        return pipeline.run(source)
    finally:
        source.close()


def summary(events: list[Event]) -> list[tuple[str, float, dict[str, Any]]]:
    return [(e.type, round(e.video_time, 1), e.data) for e in events]


def test_a_session_becomes_the_expected_events(session_video: Path, synthetic_model: Path) -> None:
    result = run(session_video, synthetic_model)
    assert result.error == "" and result.rejections == []
    assert summary(result.events) == EXPECTED
    kill = next(e for e in result.events if e.type == "kill")
    assert kill.event_id == "kill-390" and kill.frame_number == 390
    assert kill.evidence["class"] == "kill_notification" and "ELIMINATED" in kill.evidence["ocr"]
    assert kill.thumbnail.startswith(b"\xff\xd8")  # JPEG
    timings = result.timings
    assert timings.frames == 265 and timings.ocr_reads >= 4


def test_the_gate_skips_inference_without_losing_events(session_video: Path, synthetic_model: Path) -> None:
    gated = run(session_video, synthetic_model)
    ungated = run(session_video, synthetic_model, gate=False)
    assert summary(gated.events) == summary(ungated.events)
    assert ungated.timings.inferences == ungated.timings.frames
    assert gated.timings.inferences < ungated.timings.frames / 5


def test_same_video_twice_gives_the_same_events(session_video: Path, synthetic_model: Path) -> None:
    first, second = run(session_video, synthetic_model), run(session_video, synthetic_model)
    assert [(e.event_id, e.data, e.confidence) for e in first.events] == [
        (e.event_id, e.data, e.confidence) for e in second.events
    ]


def test_a_resumed_run_finishes_with_the_same_events(session_video: Path, synthetic_model: Path) -> None:
    pipeline = build_pipeline(PROFILE, DetectSettings(model_path=str(synthetic_model)))
    pipeline.config = type(pipeline.config)(checkpoint_seconds=0.0, cache_epoch_seconds=0.0)
    checkpoints: list[tuple[Checkpoint, list[Event]]] = []

    def keep(checkpoint: Checkpoint, events: list[Event], rejections: list[Rejection], uncertain: list[Uncertain]) -> None:
        checkpoints.append((checkpoint, events))

    whole = pipeline.run(FileVideoSource(session_video, detection_fps=10), on_checkpoint=keep)
    # Pretend the worker died after the checkpoint taken in the middle of the raid.
    index = next(i for i, (c, _) in enumerate(checkpoints) if c.video_time > 15.5)
    before = [e for _, events in checkpoints[: index + 1] for e in events]
    resumed = pipeline.run(FileVideoSource(session_video, detection_fps=10), resume=checkpoints[index][0])
    assert checkpoints[index][0].machine["state"] == "raid_active"
    combined = sorted(before + resumed.events, key=lambda e: (e.video_time, e.event_id))
    assert summary(combined) == summary(whole.events)
    assert len({e.event_id for e in combined}) == len(combined)


def test_frames_the_detector_was_unsure_about_are_kept_spaced_and_survive_a_resume(
    session_video: Path, synthetic_model: Path
) -> None:
    pipeline = build_pipeline(PROFILE, DetectSettings(model_path=str(synthetic_model)))
    assert pipeline.run(FileVideoSource(session_video, detection_fps=10)).uncertain == ()  # no band: none kept
    pipeline = build_pipeline(PROFILE, DetectSettings(model_path=str(synthetic_model)), uncertain_band=(0.0, 1.01))
    pipeline.config = replace(pipeline.config, checkpoint_seconds=0.0, cache_epoch_seconds=0.0, uncertain_spacing=5.0)
    made: list[tuple[Checkpoint, list[Uncertain]]] = []

    def keep(checkpoint: Checkpoint, events: list[Event], rejections: list[Rejection], uncertain: list[Uncertain]) -> None:
        made.append((checkpoint, uncertain))

    whole = pipeline.run(FileVideoSource(session_video, detection_fps=10), on_checkpoint=keep)
    assert whole.uncertain and [u for _, new in made for u in new] == list(whole.uncertain)
    stretches = [(u.label, int(u.video_time // 5.0)) for u in whole.uncertain]
    assert len(stretches) == len(set(stretches))  # one frame per class per 5 s of video
    for frame in whole.uncertain:
        assert frame.confidence == min(d.confidence for d in frame.detections if d.label == frame.label)
    assert len({u.label for u in whole.uncertain}) >= 3  # screens of every kind, not only the first

    index = next(i for i, (c, _) in enumerate(made) if c.video_time > 15.5)
    before = [u.frame_number for _, new in made[: index + 1] for u in new]
    resumed = pipeline.run(FileVideoSource(session_video, detection_fps=10), resume=made[index][0])
    combined = before + [u.frame_number for u in resumed.uncertain]
    expected = [u.frame_number for u in whole.uncertain]
    assert set(expected) <= set(combined)
    assert len(combined) - len(expected) <= len(PROFILE.classes)  # at most one more per class where it resumed


def test_a_truncated_video_keeps_what_was_found_and_says_where(tmp_path: Path, synthetic_model: Path) -> None:
    script = Script().add("stash_screen", 2).add("character_select", 2, chosen="PMC").add("map_select", 20)
    video = write_video(script, tmp_path / "whole.mkv")
    cut = tmp_path / "cut.mkv"
    data = video.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    result = run(cut, synthetic_model)
    assert result.partial and "truncated or corrupt after" in result.error
    assert [e.data.get("to_state") for e in result.events] == ["stash", "pre_raid"]


def test_look_alike_terminal_screens_are_told_apart_by_their_words(tmp_path: Path, synthetic_model: Path) -> None:
    script = Script()
    for shot in session_script().shots:
        # The "model" sees a death screen where the words say SURVIVED.
        script.shots.append(replace(shot, screen="death_screen") if shot.screen == "survived_screen" else shot)
    result = run(write_video(script, tmp_path / "lookalike.mkv"), synthetic_model)
    assert ("raid_end", 21.5, {"outcome": "survived", "extract_location": "crossroads"}) in summary(result.events)


def test_events_carry_the_calibrated_confidence_of_the_model_they_came_from(
    session_video: Path, synthetic_model: Path, tmp_path: Path
) -> None:
    """The model's calibration file (fitted on held-out footage) turns every event's score into the chance it
    is right; the raw score stays in the evidence, and a model without one keeps raw scores."""
    model = tmp_path / "calibrated.onnx"
    model.write_bytes(synthetic_model.read_bytes())
    kills, changes = Curve((0.0, 1.0), (0.2, 0.9), n=40), Curve((0.0,), (0.33,), n=40)
    calibration = Calibration({("kill", False): kills, ("state_transition", False): changes},
                              hashlib.sha256(model.read_bytes()).hexdigest())
    calibration_path(model).write_text(json.dumps(calibration.to_json()))
    raw = {e.event_id: e for e in run(session_video, synthetic_model).events}
    calibrated = run(session_video, model).events
    assert [e.event_id for e in calibrated] == list(raw)
    for event in calibrated:
        before = raw[event.event_id].confidence
        expected = {"kill": kills(before), "state_transition": 0.33}.get(event.type, before)
        assert event.confidence == pytest.approx(expected, abs=1e-4), event
        assert event.evidence["raw_confidence"] == pytest.approx(before, abs=1e-4)
    assert {e.type for e in calibrated} >= {"kill", "state_transition", "raid_start"}
