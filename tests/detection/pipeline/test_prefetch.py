from __future__ import annotations

import threading

import numpy as np
import pytest

from detection.pipeline.prefetch import PrefetchSource
from detection.pipeline.source import VideoDecodeError, VideoSource
from detection.pipeline.types import Frame

pytestmark = pytest.mark.pure


class CountingSource(VideoSource):
    """Frames at 10 fps up to `length` seconds; with `fail_at`, a decode error there instead."""

    def __init__(self, length: float, *, fail_at: float | None = None) -> None:
        self.length = length
        self.fail_at = fail_at
        self.position = 0
        self.closed = False
        self.reader_threads: set[str] = set()

    def read_frame(self) -> Frame | None:
        self.reader_threads.add(threading.current_thread().name)
        t = self.position / 10
        if self.fail_at is not None and t >= self.fail_at:
            raise VideoDecodeError(f"bad data after {t:.1f} s", video_time=t)
        if t >= self.length:
            return None
        self.position += 1
        return Frame(picture=np.zeros((4, 4, 3), np.uint8), number=self.position - 1, video_time=t)

    def seek(self, seconds: float) -> None:
        self.position = int(round(seconds * 10))

    @property
    def fps(self) -> float:
        return 10.0

    @property
    def duration(self) -> float:
        return self.length

    def close(self) -> None:
        self.closed = True


def times(source: VideoSource) -> list[float]:
    found = []
    while (frame := source.read_frame()) is not None:
        found.append(frame.video_time)
    return found


def test_frames_arrive_in_order_and_the_end_stays_the_end() -> None:
    inner = CountingSource(5.0)
    source = PrefetchSource(inner, depth=3)
    assert times(source) == [i / 10 for i in range(50)]
    assert source.read_frame() is None and source.read_frame() is None
    assert inner.reader_threads == {"vodscope-decode"}
    assert source.fps == 10.0 and source.duration == 5.0
    assert source.decode_seconds is not None and source.decode_seconds >= 0.0
    source.close()
    assert inner.closed


def test_a_decode_error_comes_after_the_frames_decoded_before_it() -> None:
    source = PrefetchSource(CountingSource(5.0, fail_at=2.0), depth=4)
    seen = []
    with pytest.raises(VideoDecodeError, match="bad data after 2.0 s") as caught:
        while (frame := source.read_frame()) is not None:
            seen.append(frame.video_time)
    assert seen == [i / 10 for i in range(20)] and caught.value.video_time == 2.0
    assert source.read_frame() is None
    source.close()


def test_seek_drops_what_was_read_ahead() -> None:
    source = PrefetchSource(CountingSource(5.0), depth=8)
    first = source.read_frame()
    assert first is not None and first.video_time == 0.0
    source.seek(3.0)
    assert times(source) == [i / 10 for i in range(30, 50)]
    source.seek(4.5)
    assert times(source) == [i / 10 for i in range(45, 50)]
    source.close()


def test_close_stops_a_decoder_that_waits_for_room() -> None:
    inner = CountingSource(1000.0)
    source = PrefetchSource(inner, depth=2)
    assert source.read_frame() is not None
    source.close()
    assert inner.closed and inner.position <= 4  # it stopped at the bound, never ran ahead
    assert not source._thread.is_alive()


def test_depth_must_hold_a_frame() -> None:
    with pytest.raises(ValueError, match="depth"):
        PrefetchSource(CountingSource(1.0), depth=0)


def test_the_queue_ahead_is_bounded_by_memory_not_only_by_frames() -> None:
    from detection.pipeline.factory import MAX_PREFETCH, MIN_PREFETCH, PREFETCH_BYTES, prefetch_depth

    assert prefetch_depth(1280, 720, analysis_width=640) == MAX_PREFETCH
    full_hd = prefetch_depth(1920, 1080, analysis_width=640)
    assert MIN_PREFETCH < full_hd < MAX_PREFETCH
    assert full_hd * (1920 * 1080 * 3 // 2 + 640 * 360 * 3) <= PREFETCH_BYTES
    assert MIN_PREFETCH < prefetch_depth(3840, 2160, analysis_width=640) < full_hd
    assert prefetch_depth(7680, 4320, analysis_width=640) == MIN_PREFETCH
    assert prefetch_depth(1920, 1080, analysis_width=0) < full_hd  # analysed at full size: a bigger copy each
