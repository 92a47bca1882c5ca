"""Live sources and the live loop: bounded hand-over with dropping, real-time file playback, clean stop."""
from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pytest

from detection.pipeline.live import CaptureSource, FrameQueue, LiveLoop, RealtimeFileSource
from detection.pipeline.types import Event, Frame

pytestmark = pytest.mark.pure


def write_clip(path: Path, *, seconds: float, fps: int = 20) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(int(seconds * fps)):
            image = np.full((48, 64, 3), (i * 7) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


class SlowRun:
    """Stands in for a pipeline Run whose inference takes `delay` seconds a batch; one event per batch."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.fed: list[Frame] = []
        self.events: list[Event] = []
        self.finished = False

    def feed(self, batch: Sequence[Frame]) -> None:
        time.sleep(self.delay)
        self.fed.extend(batch)
        last = batch[-1]
        self.events.append(Event(f"e{last.number}", "kill", last.video_time, last.number, 1.0, {}))

    def take_new_events(self) -> list[Event]:
        new, self.events = self.events, []
        return new

    def finish(self) -> None:
        self.finished = True
        self.events.append(Event("final", "raid_end", 99.0, 0, 1.0, {}))


def frame(n: int) -> Frame:
    return Frame(picture=np.zeros((2, 2, 3), np.uint8), number=n, video_time=n / 10)


def test_queue_drops_the_oldest_and_counts() -> None:
    queue = FrameQueue(capacity=2)
    for n in range(5):
        queue.put(frame(n))
    queue.close()
    assert queue.dropped == 3
    assert [queue.get().number, queue.get().number, queue.get()] == [3, 4, None]  # type: ignore[union-attr]


def test_file_at_real_time_keeps_the_files_offsets_and_pace(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", seconds=1.0)
    source = RealtimeFileSource(clip, detection_fps=5, capacity=100)
    started = time.monotonic()
    frames = []
    while (f := source.read_frame()) is not None:
        frames.append(f)
    elapsed = time.monotonic() - started
    source.close()
    assert [round(f.video_time, 2) for f in frames] == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert elapsed >= 0.75  # released at their moments, not as fast as decoding goes
    assert source.started_at is not None
    for f in frames:
        assert f.real_time == source.started_at + timedelta(seconds=f.video_time)
    assert source.dropped == 0


def test_a_slow_detector_drops_frames_and_keeps_up_with_time(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", seconds=2.0)
    source = RealtimeFileSource(clip, detection_fps=10, capacity=2)
    run = SlowRun(delay=0.35)  # about 3 batches a second for 10 frames a second
    got: list[Event] = []
    started = time.monotonic()
    stats = LiveLoop(source=source, run=run, on_events=got.extend, batch_size=1).run_until_stopped()
    elapsed = time.monotonic() - started
    assert stats.dropped > 0 and stats.dropped + stats.frames == 20
    # Unbounded queueing would take 20 x 0.35 = 7 s; dropping ends within a batch or two of the video.
    assert elapsed < 2.0 + 3 * 0.35 + 0.5
    assert run.fed[-1].video_time >= 1.8  # the last frame seen is the newest, not a stale one
    assert stats.latency_seconds is not None and stats.latency_seconds < 1.0
    assert got[-1].event_id == "final" and len(got) == len(run.fed) + 1


def test_stop_ends_the_loop_and_keeps_every_confirmed_event(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", seconds=10.0)
    source = RealtimeFileSource(clip, detection_fps=10)
    run = SlowRun(delay=0.0)
    got: list[Event] = []
    loop = LiveLoop(source=source, run=run, on_events=got.extend)
    worker = threading.Thread(target=loop.run_until_stopped)
    worker.start()
    deadline = time.monotonic() + 10
    while len(run.fed) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    loop.stop()
    worker.join(timeout=5)
    assert not worker.is_alive() and run.finished
    assert len(got) >= 2 and got[-1].event_id == "final"
    assert run.fed[-1].video_time < 9.0


def test_capture_source_samples_a_stream_and_remuxes_what_it_read(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", seconds=1.0)
    recorded = tmp_path / "live.mkv"
    source = CaptureSource(str(clip), detection_fps=5, record_to=recorded, capacity=100)
    frames = []
    while (f := source.read_frame()) is not None:
        frames.append(f)
    source.close()
    assert [round(f.video_time, 2) for f in frames] == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert source.started_at is not None and source.started_at <= datetime.now(UTC)
    assert all(f.real_time == source.started_at + timedelta(seconds=f.video_time) for f in frames)
    with av.open(str(recorded)) as copy:
        assert sum(1 for _ in copy.decode(video=0)) == 20


def test_a_capture_that_fails_ends_the_feed_and_says_why() -> None:
    from collections.abc import Iterator

    from detection.pipeline.live import LiveSource

    class Broken(LiveSource):
        def _capture(self) -> Iterator[Frame]:
            yield frame(0)
            raise OSError("stream went away")

    source = Broken(detection_fps=5)
    assert source.read_frame() is not None and source.read_frame() is None
    assert source.error == "OSError: stream went away"
