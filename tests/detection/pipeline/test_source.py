from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from av.video.reformatter import ColorRange, VideoReformatter

from detection.pipeline.probe import probe_video
from detection.pipeline.source import (
    DecodeOptions, FileVideoSource, VideoDecodeError, VideoSourceError, analysis_frame, luma_of,
)
from detection.pipeline.types import Frame, Luma
from tests.detection.pipeline.synthetic import Script, write_video

pytestmark = [pytest.mark.pure, pytest.mark.slow]


def frames(source: FileVideoSource) -> list[float]:
    times = []
    while (frame := source.read_frame()) is not None:
        times.append(round(frame.video_time, 3))
    return times


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(Script().add("stash_screen", 2).add("map_select", 1), tmp_path_factory.mktemp("src") / "c.mkv",
                       fps=30, creation_time="2026-03-01T18:00:00.000000Z")


def test_samples_on_a_timestamp_grid_with_real_times(clip: Path) -> None:
    started = datetime(2026, 3, 1, 18, 0, tzinfo=timezone.utc)
    source = FileVideoSource(clip, detection_fps=10, started_at=started)
    first = source.read_frame()
    assert first is not None and first.video_time == 0.0 and first.number == 0
    assert first.real_time == started and first.image.shape == (360, 640, 3)
    times = [0.0] + frames(source)
    assert len(times) == 30
    assert all(abs(t - i / 10) < 0.02 for i, t in enumerate(times))


def test_variable_frame_rate_keeps_pts_times(tmp_path: Path) -> None:
    video = write_video(Script().add("stash_screen", 3), tmp_path / "vfr.mkv", fps=30, vfr=True)
    times = frames(FileVideoSource(video, detection_fps=10))
    # Frames are 1/30 or 3/30 s apart; each sample is the first frame at or after its grid point.
    assert all(b > a for a, b in zip(times, times[1:]))
    assert all(0.0 <= t - i / 10 < 0.1 + 1e-6 for i, t in enumerate(times))
    assert len(times) == 30


def test_seek_continues_on_the_same_grid(clip: Path) -> None:
    whole = frames(FileVideoSource(clip, detection_fps=10))
    source = FileVideoSource(clip, detection_fps=10)
    source.seek(1.25)
    assert frames(source) == [t for t in whole if t >= 1.25]


def test_skipping_ahead_decodes_on_but_converts_only_from_the_grid_point_on(clip: Path) -> None:
    whole = frames(FileVideoSource(clip, detection_fps=10))
    source = FileVideoSource(clip, detection_fps=10)
    converted: list[float] = []
    convert = source._to_frame

    def counting(frame: av.VideoFrame, t: float) -> Frame:
        converted.append(round(t, 3))
        return convert(frame, t)

    source._to_frame = counting  # type: ignore[method-assign]
    first = source.read_frame()
    assert first is not None and first.video_time == 0.0
    source.skip_to(1.25)
    assert frames(source) == [t for t in whole if t >= 1.25]
    assert converted == [0.0] + [t for t in whole if t >= 1.25]
    assert source.frames_decoded == 90


def test_skipping_unreferenced_frames_keeps_every_sample_close_to_its_grid_point(tmp_path: Path) -> None:
    video = write_video(Script().add("stash_screen", 2).add("map_select", 2), tmp_path / "b.mkv", fps=30, bframes=3)
    every = FileVideoSource(video, detection_fps=10)
    skipping = FileVideoSource(video, detection_fps=10, options=DecodeOptions(skip_nonref=True))
    assert len(frames(every)) == 40
    times = frames(skipping)
    assert len(times) == 40
    # Two of every four frames are B-frames nothing refers to: a sample is at most two frames late.
    assert all(0.0 <= t - i / 10 <= 2 / 30 + 1e-3 for i, t in enumerate(times))
    assert skipping.frames_decoded <= 0.55 * every.frames_decoded


def test_skipping_unreferenced_frames_waits_for_two_frames_per_sample(tmp_path: Path) -> None:
    video = write_video(Script().add("stash_screen", 2), tmp_path / "b.mkv", fps=30, bframes=3)
    source = FileVideoSource(video, detection_fps=20, options=DecodeOptions(skip_nonref=True))
    assert len(frames(source)) == 40 and source.frames_decoded == 60


def test_probe_reads_creation_time(clip: Path) -> None:
    info = probe_video(clip)
    started = datetime(2026, 3, 1, 18, 0, tzinfo=timezone.utc)
    assert info.creation_time == started
    assert info.width == 640 and info.duration == pytest.approx(3.0, abs=0.1)
    source = FileVideoSource(clip, detection_fps=10, started_at=info.started_at)
    source.seek(1.0)
    frame = source.read_frame()
    assert frame is not None and frame.real_time == datetime(2026, 3, 1, 18, 0, 1, tzinfo=timezone.utc)


def test_unreadable_inputs_get_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(VideoSourceError, match="no such file"):
        FileVideoSource(tmp_path / "missing.mkv", detection_fps=10)
    empty = tmp_path / "empty.mkv"
    empty.touch()
    with pytest.raises(VideoSourceError, match="zero-length"):
        FileVideoSource(empty, detection_fps=10)
    text = tmp_path / "notes.mkv"
    text.write_text("not a video at all")
    with pytest.raises(VideoSourceError, match="not a readable video"):
        FileVideoSource(text, detection_fps=10)
    with pytest.raises(VideoSourceError, match="zero-length|no video"):
        probe_video(empty)


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    audio = tmp_path / "audio.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", str(audio)], check=True)
    with pytest.raises(VideoSourceError, match="no video stream"):
        FileVideoSource(audio, detection_fps=10)


def test_a_truncated_file_fails_saying_where(tmp_path: Path, clip: Path) -> None:
    long = write_video(Script().add("stash_screen", 6), tmp_path / "long.mkv")
    cut = tmp_path / "cut.mkv"
    data = long.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    source = FileVideoSource(cut, detection_fps=10)
    with pytest.raises(VideoDecodeError) as caught:
        frames(source)
    assert caught.value.video_time < 5.0
    assert "truncated or corrupt after" in str(caught.value)


def test_large_frames_are_analysed_at_640_px_with_full_resolution_on_demand(tmp_path: Path) -> None:
    video = write_video(Script().add("stash_screen", 1), tmp_path / "big.mkv", fps=10, width=1280, height=720)
    frame = FileVideoSource(video, detection_fps=10).read_frame()
    assert frame is not None
    assert (frame.width, frame.height) == (640, 360) and "image" not in vars(frame)  # its size, not converted
    assert frame.image.shape == (360, 640, 3) and frame.image is frame.image  # converted once, on first use
    full = frame.full
    assert full.shape == (720, 1280, 3) and frame.full is full  # converted once
    # The reduced frame shows the same picture: the full frame shrunk matches it closely.
    shrunk = cv2.resize(full, (640, 360), interpolation=cv2.INTER_AREA).astype(int)
    assert float(abs(shrunk - frame.image.astype(int)).mean()) < 4.0
    whole = FileVideoSource(video, detection_fps=10, options=DecodeOptions(analysis_width=0)).read_frame()
    assert whole is not None and whole.image.shape == (720, 1280, 3) and whole.full is whole.image


def test_a_deferred_frame_converts_as_an_eager_one_and_gives_its_luma_plane(tmp_path: Path) -> None:
    video = write_video(Script().add("stash_screen", 1), tmp_path / "big.mkv", fps=10, width=1280, height=720)
    with av.open(str(video)) as container:
        decoded = next(container.decode(video=0))
        eager, deferred = (analysis_frame(decoded, 0.0, stream_fps=10, width=640, reformatter=VideoReformatter(),
                                          started_at=None, deferred=later) for later in (False, True))
        assert eager.luma is None and deferred.luma is not None
        assert (deferred.image == eager.image).all()
        plane = deferred.luma.plane
        assert plane.shape == (720, 1280) and deferred.luma.video_range
        grey = cv2.cvtColor(eager.full, cv2.COLOR_BGR2GRAY).astype(int)
        assert float(abs(deferred.luma.as_grey(plane).astype(int) - grey).mean()) < 1.5


@pytest.mark.parametrize(("format_name", "full_range", "expected"), [
    ("yuv420p", False, True), ("yuv420p", True, False), ("yuvj420p", False, False), ("nv12", False, True),
    ("rgb24", False, None), ("yuv420p10le", False, None),
])
def test_the_luma_plane_and_its_range_by_pixel_format(format_name: str, full_range: bool, expected: bool | None) -> None:
    frame = av.VideoFrame(64, 48, format_name)
    if full_range:
        frame.color_range = ColorRange.JPEG
    luma = luma_of(frame)
    assert (luma.video_range if luma is not None else None) is expected
    if luma is not None:
        assert luma.plane.shape == (48, 64)


def test_video_range_luma_reads_as_the_grey_of_its_bgr_picture() -> None:
    luma = Luma(np.zeros((2, 2), np.uint8), video_range=True)
    assert luma.as_grey(np.array([0, 16, 126, 235, 255], np.uint8)).tolist() == [0, 0, 128, 255, 255]
    assert Luma(np.zeros((2, 2), np.uint8), video_range=False).as_grey(np.array([16, 235], np.uint8)).tolist() == [16, 235]


def test_a_frame_converted_on_first_use_must_give_its_size() -> None:
    with pytest.raises(ValueError, match="size"):
        Frame(picture=lambda: np.zeros((2, 2, 3), np.uint8), number=0, video_time=0.0)
