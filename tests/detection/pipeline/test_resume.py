"""A run resumed from any checkpoint ends exactly as the unbroken run: same events (ids, times, data,
confidences, evidence, thumbnails), same rejections, and from then on the same checkpoints.

The fast tests use frames whose grey level fades between screens, a detector that names the screen
by that level and scores it by one noisy pixel, and a reader that reads the words of that level: a
resumed run sees other frames than the unbroken one unless the gate's reference, the detector's
last answer and the probes' timing come through the checkpoint. The slow test runs the bundled
model and OCR on rendered demo footage, stopped and resumed at several points.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from detection.pipeline.checkpoint import Checkpoint
from detection.pipeline.detector import Detector
from detection.pipeline.factory import detector_for, model_threads, open_source
from detection.pipeline.prefetch import PrefetchSource
from detection.pipeline.run_settings import BUNDLED_MODEL, DetectSettings
from detection.pipeline.runner import Pipeline, PipelineConfig, PipelineResult, next_sample_time
from detection.pipeline.source import DecodeOptions, FileVideoSource, VideoSource
from detection.pipeline.text import RapidTextReader, TextLine, TextReader
from detection.pipeline.twopass import Span, SpanSource
from detection.pipeline.types import Box, Detection, Event, Frame, Rejection, Uncertain
from tests.detection.pipeline.synthetic import PROFILE, Script, write_video

FPS = 10.0
NOISE = (7, 3)  # row, column of a 64x36 frame: outside every region of the profile but the whole frame


@dataclass(frozen=True)
class Look:
    level: int  # the screen's grey level
    seen: bool  # by the detector; the others only a text probe finds
    words: tuple[str, ...]


LOOKS = {
    "stash_screen": Look(20, False, ("STASH",)),
    "character_select": Look(60, True, ("CHOOSE YOUR CHARACTER", "PMC", "SCAV")),
    "queue_timer": Look(100, True, ("SEARCHING FOR MATCH",)),
    "loading_screen": Look(140, True, ("LOADING LOCATION DATA",)),
    "gameplay_hud": Look(180, False, ("SHIELD",)),
    "death_screen": Look(210, True, ("KILLED IN ACTION", "KILLED BY", "SCAV")),
    "post_raid_screen": Look(240, True, ("RAID SUMMARY",)),
}


def nearest(image: np.ndarray) -> tuple[str, float]:
    """The screen whose level is nearest the image's median, and how far off it is."""
    level = float(np.median(image)) if image.size else 0.0
    label = min(LOOKS, key=lambda name: abs(LOOKS[name].level - level))
    return label, abs(LOOKS[label].level - level)


class LevelDetector(Detector):
    """Names the screen by the frame's grey level, less sure half-way through a fade; the score
    also moves with the noise pixel, which the gate lets pass."""

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        found: list[list[Detection]] = []
        for image in images:
            label, off = nearest(image)
            score = 0.9 - off / 100 + float(image[NOISE][0]) / 1000
            found.append([Detection(label, score, Box(0.0, 0.0, 1.0, 1.0))] if LOOKS[label].seen else [])
        return found


class LevelReader(TextReader):
    def read(self, image: np.ndarray, *, max_side: int | None = None) -> list[TextLine]:
        words = LOOKS[nearest(image)[0]].words
        height, width = image.shape[:2]
        return [TextLine(w, 0.9, (0, i * height // 4, width, (i + 1) * height // 4)) for i, w in enumerate(words)]


def session_levels() -> list[int]:
    """Three raids, each screen held for a while and faded into the next over an odd number of frames."""
    levels = [LOOKS["stash_screen"].level] * 12
    for hold, steps in ((23, 11), (31, 7), (17, 13)):
        for name in ("character_select", "queue_timer", "loading_screen", "gameplay_hud", "death_screen",
                     "post_raid_screen", "stash_screen"):
            start, end = levels[-1], LOOKS[name].level
            levels += [round(start + (end - start) * (i + 1) / steps) for i in range(steps)] + [end] * hold
    return levels


def frames_of(levels: list[int]) -> list[Frame]:
    frames = []
    for number, level in enumerate(levels):
        image = np.full((36, 64, 3), level, dtype=np.uint8)
        image[NOISE] = (number * 37) % 60
        frames.append(Frame(image, number * 3, number / FPS))
    return frames


class FrameList(VideoSource):
    def __init__(self, frames: list[Frame]) -> None:
        self.frames = frames
        self.index = 0

    def read_frame(self) -> Frame | None:
        if self.index >= len(self.frames):
            return None
        self.index += 1
        return self.frames[self.index - 1]

    def seek(self, seconds: float) -> None:
        self.index = next((i for i, f in enumerate(self.frames) if f.video_time >= seconds), len(self.frames))

    @property
    def fps(self) -> float:
        return FPS

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class Saved:
    """What a job keeps at a checkpoint: the checkpoint as its row stores it, and what was made."""

    checkpoint: dict[str, object]
    events: list[Event]
    rejections: list[Rejection]


def record(pipeline: Pipeline, source: VideoSource, *, resume: Checkpoint | None = None) -> tuple[PipelineResult, list[Saved]]:
    saved: list[Saved] = []

    def keep(checkpoint: Checkpoint, events: list[Event], rejections: list[Rejection], uncertain: list[Uncertain]) -> None:
        # Through JSON, as the Job row stores it.
        saved.append(Saved(json.loads(json.dumps(checkpoint.to_json())), events, rejections))

    try:
        return pipeline.run(source, resume=resume, on_checkpoint=keep), saved
    finally:
        source.close()


def whole_record(event: Event) -> tuple[object, ...]:
    return (event.event_id, event.type, event.video_time, event.frame_number, event.confidence,
            json.dumps(event.data, sort_keys=True), json.dumps(event.evidence, sort_keys=True), event.thumbnail)


def assert_resumes_exactly(
    make_pipeline: Callable[[], Pipeline], make_source: Callable[[], VideoSource], points: Iterable[int]
) -> int:
    """Stops the unbroken run after each checkpoint in `points` (indexes), resumes a fresh pipeline
    from it and compares; returns how many points were tried."""
    whole, saved = record(make_pipeline(), make_source())
    tried = 0
    for k in points:
        if k >= len(saved) - 1:
            continue
        checkpoint = Checkpoint.from_json(saved[k].checkpoint)
        resumed, later = record(make_pipeline(), make_source(), resume=checkpoint)
        events = [e for s in saved[: k + 1] for e in s.events] + resumed.events
        events.sort(key=lambda e: (e.video_time, e.event_id))
        rejections = [r for s in saved[: k + 1] for r in s.rejections] + resumed.rejections
        where = f"resumed from checkpoint {k} at {checkpoint.video_time:.1f} s"
        assert [whole_record(e) for e in events] == [whole_record(e) for e in whole.events], where
        assert rejections == whole.rejections, where
        assert [s.checkpoint for s in later] == [s.checkpoint for s in saved[k + 1 :]], where
        tried += 1
    return tried


def level_pipeline() -> Pipeline:
    return Pipeline(profile=PROFILE, detector=LevelDetector(), reader=LevelReader(),
                    config=PipelineConfig(detection_fps=FPS, batch_size=4, checkpoint_seconds=0.0, cache_epoch_seconds=0.0))


@pytest.mark.pure
def test_the_fake_session_needs_what_the_checkpoint_carries() -> None:
    """The material is sharp: raids start and stashes show only to the probes, and the detector
    looks at the frames the gate picks."""
    result = level_pipeline().run(FrameList(frames_of(session_levels())))
    assert [e.type for e in result.events].count("raid_start") == 3
    assert [e.type for e in result.events].count("raid_end") == 3
    probed = [e for e in result.events if e.evidence["class"] in ("gameplay_hud", "stash_screen")]
    assert len(probed) == 10 and {e.evidence["confidence"] for e in probed} == {0.5}
    assert result.rejections == []
    assert result.timings.inferences < result.timings.frames / 2


@pytest.mark.pure
def test_a_run_resumed_from_any_checkpoint_ends_as_the_unbroken_run() -> None:
    frames = frames_of(session_levels())
    tried = assert_resumes_exactly(level_pipeline, lambda: FrameList(frames), range(0, 10_000, 9))
    assert tried > 15, tried


@pytest.mark.pure
def test_frames_pushed_in_by_hand_make_what_a_pulled_source_makes() -> None:
    """The live process feeds its own batches to a `Run`; resumed the same way, it ends the same."""
    frames = frames_of(session_levels())
    pulled, _ = record(level_pipeline(), FrameList(frames))
    run = level_pipeline().start()
    for start in range(0, 200, 4):
        run.feed(frames[start : start + 4])
    assert run.quiet()
    checkpoint = Checkpoint.from_json(json.loads(json.dumps(run.checkpoint().to_json())))
    before = run.take_new_events()
    resumed = level_pipeline().start(checkpoint)
    for start in range(200, len(frames), 4):
        resumed.feed(frames[start : start + 4])
    resumed.finish()
    pushed = sorted(before + resumed.take_new_events(), key=lambda e: (e.video_time, e.event_id))
    assert [whole_record(e) for e in pushed] == [whole_record(e) for e in pulled.events]


@pytest.mark.pure
def test_a_checkpoint_of_an_earlier_version_still_resumes() -> None:
    old = {"video_time": 16.5, "machine": {"state": "raid_active", "context": {}}, "current": "gameplay_hud"}
    checkpoint = Checkpoint.from_json(old)
    assert (checkpoint.video_time, checkpoint.screen, checkpoint.next_track) == (16.5, "gameplay_hud", 1)
    assert checkpoint.detections == () and checkpoint.gate.reference is None


def late_samples_video(path: Path) -> Path:
    """30 fps, three B-frames nothing refers to between references, and a cut (an I-frame) every
    12 frames: skipping the B-frames, the sample at 0.2 s is the P-frame at 0.267 s, the next one
    the cut at 0.3 s."""
    container = av.open(str(path), mode="w")
    stream = container.add_stream("libx264", rate=30)
    stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
    stream.options = {"preset": "ultrafast", "x264-params": "bframes=3:b-pyramid=none:b-adapt=0:scenecut=0"}
    stream.codec_context.time_base = Fraction(1, 1000)
    for index in range(60):
        frame = av.VideoFrame.from_ndarray(np.full((180, 320, 3), index * 4, np.uint8), format="bgr24")
        frame.pts, frame.time_base = round(index * 1000 / 30), Fraction(1, 1000)
        if index % 12 == 9:
            frame.pict_type = av.video.frame.PictureType.I
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


@pytest.mark.pure
def test_a_resumed_source_goes_on_with_the_frame_the_unbroken_run_read_next(tmp_path: Path) -> None:
    video = late_samples_video(tmp_path / "late.mkv")

    def source() -> FileVideoSource:
        return FileVideoSource(video, detection_fps=FPS, options=DecodeOptions(skip_nonref=True))

    with source() as frames:
        times = [frame.video_time for frame in iter(frames.read_frame, None)]
    late = [i for i, t in enumerate(times[:-1]) if t - math.floor(t * FPS + 1e-6) / FPS > 0.5 / FPS]
    assert len(late) >= 4, times
    for i in late:
        with source() as resumed:
            resumed.seek(next_sample_time(times[i], FPS))
            following = resumed.read_frame()
            assert following is not None and following.video_time == times[i + 1], (times[i], following)


STARTED = datetime(2026, 4, 2, 19, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from detection.render.session import render_session
    from detection.render.timeline import QUICK_PACING

    # veryfast writes B-frames, as OBS does: skipping them, a sampled frame may come late.
    rendered = render_session(out_dir=tmp_path_factory.mktemp("resume"), seconds=40, fps=30, size=(960, 540),
                              seed=12, started_at=STARTED, name="resume", pacing=QUICK_PACING, preset="veryfast")
    return rendered.video


def fresh_pipeline(settings: DetectSettings) -> Pipeline:
    """A new reader, as in a new worker process: nothing read before the stop is remembered."""
    profile = PROFILE
    reader = RapidTextReader(max_side=profile.ocr.max_side, min_score=profile.ocr.min_score,
                             threads=model_threads(settings))
    return Pipeline(profile=profile, detector=detector_for(profile, settings), reader=reader,
                    config=PipelineConfig(checkpoint_seconds=0.0, cache_epoch_seconds=1.0))


@pytest.mark.pure
@pytest.mark.slow
def test_rendered_footage_resumed_at_several_points_ends_as_the_unbroken_run(demo_clip: Path) -> None:
    settings = DetectSettings(model_path=str(BUNDLED_MODEL))

    def source() -> VideoSource:
        options = DecodeOptions(skip_nonref=True)
        return PrefetchSource(FileVideoSource(demo_clip, detection_fps=10.0, started_at=STARTED, options=options))

    assert assert_resumes_exactly(lambda: fresh_pipeline(settings), source, [3, 11, 19, 27]) == 4


@pytest.mark.pure
@pytest.mark.slow
def test_two_pass_resumed_ends_as_the_unbroken_two_pass(demo_clip: Path) -> None:
    """The proposal is made again on resume; the spans before the checkpoint are skipped."""
    settings = DetectSettings(model_path=str(BUNDLED_MODEL), two_pass=True)

    def source() -> VideoSource:
        frames, proposal = open_source(demo_clip, fresh_pipeline(settings), settings, started_at=STARTED)
        assert proposal is not None and proposal.covered < proposal.duration
        return frames

    assert assert_resumes_exactly(lambda: fresh_pipeline(settings), source, [4, 9, 14]) == 3


@pytest.mark.pure
@pytest.mark.slow
def test_two_pass_resumed_after_a_look_back_ends_as_the_unbroken_run(tmp_path: Path, synthetic_model: Path) -> None:
    """A kill seen first as a span begins is timed by the frames skipped before it (`Run._appeared`): resumed at
    any checkpoint, before that span or in it, the run times it alike."""
    script = Script().add("stash_screen", 3).add("character_select", 2, chosen="PMC")
    script.add("map_select", 2, lines=("SELECT LOCATION", "WOODS"), tick=False).add("queue_timer", 2)
    script.add("match_found", 1).add("loading_screen", 1).add("gameplay_hud", 4)  # the raid starts at 11 s
    script.add("gameplay_hud", 3, kill=("BOSS", "SVDS", False)).add("gameplay_hud", 4)
    video = write_video(script, tmp_path / "late.mkv")
    settings = DetectSettings(model_path=str(synthetic_model))
    spans = [Span(0.0, 13.0), Span(16.0, 22.0)]  # the second begins a second into the notification (15-18 s)

    def source() -> VideoSource:
        return PrefetchSource(SpanSource(FileVideoSource(video, detection_fps=10.0, started_at=STARTED), spans))

    whole, _ = record(fresh_pipeline(settings), source())
    assert [(round(e.video_time, 1), e.data["enemy_type"]) for e in whole.events if e.type == "kill"] == [(15.0, "boss")]
    assert whole.timings.looked_back > 0
    assert assert_resumes_exactly(lambda: fresh_pipeline(settings), source, range(60)) >= 10
