from __future__ import annotations

from pathlib import Path

import pytest

from detection.pipeline.keyframes import KeyframeSource
from detection.pipeline.source import VideoSource, VideoSourceError
from tests.detection.pipeline.synthetic import Script, write_video

pytestmark = [pytest.mark.pure, pytest.mark.slow]


def times(source: VideoSource) -> list[float]:
    found = []
    while (frame := source.read_frame()) is not None:
        found.append(round(frame.video_time, 3))
    return found


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # GOP of one second, B-frames as OBS writes them: keyframes at 0, 1, ... 6 s.
    script = Script().add("stash_screen", 3).add("map_select", 2).add("queue_timer", 2)
    return write_video(script, tmp_path_factory.mktemp("kf") / "c.mkv", fps=30, bframes=3)


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_every_keyframe_in_order_whatever_the_number_of_workers(clip: Path, workers: int) -> None:
    source = KeyframeSource(clip, workers=workers)
    assert times(source) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert source.read_frame() is None
    assert source.keyframes == 7 and source.fps == pytest.approx(1.0, abs=0.01)
    source.close()


def test_keyframes_show_the_picture_at_analysis_size(clip: Path) -> None:
    source = KeyframeSource(clip, workers=2, analysis_width=320)
    first = source.read_frame()
    assert first is not None and first.image.shape == (180, 320, 3) and first.full.shape == (360, 640, 3)
    source.close()


@pytest.mark.parametrize("workers", [1, 3])
def test_every_packet_is_measured_once_the_keyframes_ran_out(clip: Path, workers: int) -> None:
    source = KeyframeSource(clip, workers=workers)
    times(source)
    packets = source.all_packets()
    source.close()
    assert len(packets) == 7 * 30 and sorted(p.time for p in packets if p.key) == pytest.approx([0, 1, 2, 3, 4, 5, 6])
    assert all(p.size > 0 for p in packets)


def test_seek_starts_at_the_first_keyframe_from_there(clip: Path) -> None:
    source = KeyframeSource(clip, workers=2)
    assert source.read_frame() is not None
    source.seek(2.5)
    assert times(source) == [3.0, 4.0, 5.0, 6.0]
    source.seek(4.0)
    assert times(source) == [4.0, 5.0, 6.0]
    source.close()


def test_close_part_way_stops_every_worker(clip: Path) -> None:
    source = KeyframeSource(clip, workers=3, depth=1)
    assert source.read_frame() is not None
    source.close()
    assert not any(thread.is_alive() for thread in source._threads)


def test_unreadable_files_get_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(VideoSourceError, match="no such file"):
        KeyframeSource(tmp_path / "missing.mkv")
    text = tmp_path / "notes.mkv"
    text.write_text("not a video at all")
    with pytest.raises(VideoSourceError, match="not a readable video"):
        KeyframeSource(text)
