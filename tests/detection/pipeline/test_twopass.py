from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from detection.pipeline.factory import DetectSettings, build_pipeline, open_source
from detection.pipeline.prefetch import PrefetchSource
from detection.pipeline.source import FileVideoSource
from detection.pipeline.proposal import SpanRules
from detection.pipeline.twopass import Keyframe, Span, SpanSource, merge, spans_from
from detection.pipeline.types import Frame
from tests.detection.pipeline.synthetic import PROFILE, Script, write_video


def into_raid(*, hud_seconds: float) -> Script:
    """Stash to raid (29 s), then `hud_seconds` of the raid's HUD."""
    script = Script().add("stash_screen", 6).add("character_select", 4, chosen="PMC")
    script.add("map_select", 4, lines=("SELECT LOCATION", "WOODS"), tick=False).add("queue_timer", 8)
    return script.add("match_found", 3).add("loading_screen", 4).add("gameplay_hud", hud_seconds)


def two_kills(*, first: float, gap: float, second: float) -> Script:
    """Into the raid, its HUD to 35 s, a kill shown `first` seconds, `gap` seconds of HUD, another shown `second`."""
    script = into_raid(hud_seconds=6)
    script.add("gameplay_hud", first, kill=("BOSS", "SVDS", False)).add("gameplay_hud", gap)
    return script.add("gameplay_hud", second, kill=("SCAV", "AKM", True)).add("gameplay_hud", 5)


def kills_read_in(spans: list[Span], script: Script, path: Path, model: Path) -> list[tuple[float, int, dict]]:
    """The kills a run over `spans` of the video of `script` finds: time, frame number and fields."""
    video = write_video(script, path)
    pipeline = build_pipeline(PROFILE, DetectSettings(model_path=str(model)))
    result = pipeline.run(SpanSource(FileVideoSource(video, detection_fps=10), spans))
    return [(round(e.video_time, 1), e.frame_number, e.data) for e in result.events if e.type == "kill"]


@pytest.mark.pure
def test_spans_surround_screen_changes_and_overlays() -> None:
    keys = [Keyframe(float(t), screen, overlay) for t, screen, overlay in [
        (0, "stash_screen", False), (2, "stash_screen", False), (4, "map_select", False), (6, "map_select", False),
        (8, "gameplay_hud", False), (10, "gameplay_hud", False), (12, "gameplay_hud", True), (14, "gameplay_hud", False),
        (16, "gameplay_hud", False), (18, "gameplay_hud", False)]]
    spans = spans_from(keys, profile=PROFILE, duration=20.0, activity=None, rules=SpanRules(settle=1.0))
    # Dense keyframes (2 s, the shortest notification): nothing between two same screens is decoded.
    assert spans == [Span(0.0, 1.0), Span(2.0, 5.0), Span(6.0, 9.0), Span(10.0, 13.0)]


@pytest.mark.pure
def test_sparse_keyframes_without_packet_sizes_decode_whole_raids() -> None:
    keys = [Keyframe(0.0, "stash_screen", False), Keyframe(5.0, "gameplay_hud", False),
            Keyframe(10.0, "gameplay_hud", False), Keyframe(15.0, "gameplay_hud", False)]
    spans = spans_from(keys, profile=PROFILE, duration=20.0, activity=None, rules=SpanRules(settle=1.0))
    assert spans == [Span(0.0, 20.0)]


@pytest.mark.pure
def test_merge_joins_overlapping_spans() -> None:
    assert merge([Span(5, 6), Span(0, 2), Span(1, 3)]) == [Span(0, 3), Span(5, 6)]


@pytest.mark.pure
@pytest.mark.slow
def test_two_pass_finds_the_same_events_decoding_less(tmp_path: Path, synthetic_model: Path) -> None:
    script = into_raid(hud_seconds=12)
    script.add("gameplay_hud", 3, kill=("BOSS", "SVDS", False)).add("gameplay_hud", 15)
    script.add("death_screen", 5, lines=("KILLED IN ACTION", "KILLED BY: BOSS")).add("post_raid_screen", 5)
    video = write_video(script, tmp_path / "long.mkv")
    one = build_pipeline(PROFILE, DetectSettings(model_path=str(synthetic_model)))
    single_source = FileVideoSource(video, detection_fps=10)
    single = one.run(single_source)
    settings = DetectSettings(model_path=str(synthetic_model), two_pass=True)
    source, proposal = open_source(video, one, settings)
    assert isinstance(source, PrefetchSource) and isinstance(source.inner, SpanSource) and proposal is not None
    double = one.run(source)
    summary = [(e.type, round(e.video_time, 1), e.data) for e in double.events]
    assert summary == [(e.type, round(e.video_time, 1), e.data) for e in single.events]
    assert ("raid_end", 59.0, {"outcome": "killed", "killed_by": "boss"}) in summary
    assert ("kill", 41.0, {"enemy_type": "boss", "weapon": "SVDS", "headshot": False}) in summary
    assert source.inner.source.frames_decoded < single_source.frames_decoded * 0.6
    assert proposal.covered < 0.6 * proposal.duration


@pytest.mark.pure
@pytest.mark.slow
def test_a_notification_right_after_a_skipped_gap_is_a_kill_of_its_own(tmp_path: Path, synthetic_model: Path) -> None:
    script = two_kills(first=3, gap=1, second=3)
    # The span ends while the first notification shows; the next starts on the second one.
    spans = [Span(0.0, 38.0), Span(39.0, sum(shot.seconds for shot in script.shots))]
    assert kills_read_in(spans, script, tmp_path / "gap.mkv", synthetic_model) == [
        (35.0, 35 * 30, {"enemy_type": "boss", "weapon": "SVDS", "headshot": False}),
        (39.0, 39 * 30, {"enemy_type": "scav", "weapon": "AKM", "headshot": True})]


@pytest.mark.pure
@pytest.mark.slow
def test_a_notification_already_showing_when_a_span_begins_is_timed_where_it_appeared(
        tmp_path: Path, synthetic_model: Path) -> None:
    script = into_raid(hud_seconds=6)  # the raid starts at 29 s
    script.add("gameplay_hud", 3, kill=("BOSS", "SVDS", False)).add("gameplay_hud", 5)
    # The second span begins a second into the notification (35-38 s): its burst was missed, a later one was not.
    assert kills_read_in([Span(0.0, 31.0), Span(36.0, 43.0)], script, tmp_path / "late.mkv", synthetic_model) == [
        (35.0, 35 * 30, {"enemy_type": "boss", "weapon": "SVDS", "headshot": False})]


@pytest.mark.pure
@pytest.mark.slow
def test_the_look_back_stops_at_a_break_between_two_notifications(tmp_path: Path, synthetic_model: Path) -> None:
    script = two_kills(first=1, gap=0.1, second=2.9)
    # Both notifications lie before the second span: the one it begins on showed from 36.1 s, after a break.
    assert kills_read_in([Span(0.0, 31.0), Span(36.5, 43.0)], script, tmp_path / "break.mkv", synthetic_model) == [
        (36.1, 1083, {"enemy_type": "scav", "weapon": "AKM", "headshot": True})]


@pytest.mark.pure
@pytest.mark.slow
def test_frames_that_cannot_be_read_back_leave_the_span_source_as_it_was(tmp_path: Path) -> None:
    video = write_video(Script().add("stash_screen", 4), tmp_path / "gone.mkv")
    source = SpanSource(FileVideoSource(video, detection_fps=10), [Span(0.0, 1.0), Span(2.5, 3.0)])
    replacement = tmp_path / "garbage.mkv"
    replacement.write_bytes(b"not a video any more")
    replacement.replace(video)  # a new file at the path: the open source keeps reading the one it opened
    assert list(source.skipped_before(2.5, 4.0)) == []
    first = source.read_frame()
    assert first is not None and first.video_time == 0.0


@pytest.mark.pure
@pytest.mark.slow
def test_the_frames_a_span_source_passed_over_reach_back_to_the_span_before(tmp_path: Path) -> None:
    video = write_video(Script().add("stash_screen", 4), tmp_path / "gaps.mkv")
    source = SpanSource(FileVideoSource(video, detection_fps=10), [Span(0.0, 1.0), Span(2.5, 3.0)])

    def times(frames: Iterable[Frame]) -> list[float]:
        return [round(frame.video_time, 1) for frame in frames]

    assert times(source.skipped_before(2.5, 4.0)) == [round(1.0 + i / 10, 1) for i in range(15)]
    assert times(source.skipped_before(2.5, 0.5)) == [2.0, 2.1, 2.2, 2.3, 2.4]
    assert times(source.skipped_before(1.0, 4.0)) == [] and times(source.skipped_before(0.0, 4.0)) == []
    assert times(FileVideoSource(video, detection_fps=10).skipped_before(2.5, 4.0)) == []  # it gives every frame
    first = source.read_frame()  # reading on is not disturbed
    assert first is not None and first.video_time == 0.0
