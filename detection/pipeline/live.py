"""Live sources and the live loop: frames captured in a thread, handed to inference through a
bounded queue, fed to the same `Run` a batch job uses.

Invariant: the queue between capture and inference never holds more than `capacity` frames.
When inference falls behind, the OLDEST waiting frame is dropped (and counted), so what the
detector sees is always close to now and memory stays flat however slow it is.

Every live source gives frames a `video_time` (seconds since its first frame, on the video's
own clock) and a `real_time` (the wall-clock moment that frame was captured or, for a file
played at real time, shown); `real_time - video_time` is the session's start, the same for
every frame, so an event's capture time is `started_at + event.video_time`.

An event starts at its first frame but can only be confirmed once the temporal filter has seen
enough frames of it: that wait is the game's (the thing must stay on screen), not Vodscope's. The
loop therefore stamps each event's evidence with `confirmed_at`, the capture time of the frame
that made it confirmable, from which Vodscope's own latency is measured (docs/live.md).
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import av
from av.video.reformatter import VideoReformatter

from detection.pipeline.source import (
    DecodeOptions,
    FileVideoSource,
    VideoSource,
    VideoSourceError,
    analysis_frame,
    open_video,
)
from detection.pipeline.event_log import format_timestamp
from detection.pipeline.types import Event, Frame

CONFIRMING_FRAMES_KEPT = 256  # capture times of the latest frames fed, to find an event's confirming frame


class FrameQueue:
    """The hand-over from the capture thread to inference: bounded, dropping the oldest frame."""

    def __init__(self, capacity: int = 2) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.dropped = 0
        self._frames: deque[Frame] = deque()
        self._ready = threading.Condition()
        self._closed = False

    def put(self, frame: Frame) -> None:
        with self._ready:
            if len(self._frames) >= self.capacity:
                self._frames.popleft()
                self.dropped += 1
            self._frames.append(frame)
            self._ready.notify()

    def get(self) -> Frame | None:
        """The oldest waiting frame; blocks until one comes; None once closed and empty."""
        with self._ready:
            self._ready.wait_for(lambda: self._frames or self._closed)
            return self._frames.popleft() if self._frames else None

    def take_waiting(self, limit: int) -> list[Frame]:
        with self._ready:
            taken = [self._frames.popleft() for _ in range(min(limit, len(self._frames)))]
        return taken

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()


class LiveSource(VideoSource):
    """A source whose frames come from a capture thread at their own pace (see the module docstring).

    Subclasses yield frames from `_capture`, checking `_stopping` between frames."""

    type_key = ""

    def __init__(self, *, detection_fps: float, capacity: int = 2) -> None:
        if detection_fps <= 0:
            raise ValueError("detection_fps must be positive")
        self._fps = detection_fps
        self.queue = FrameQueue(capacity)
        self.started_at: datetime | None = None
        self.error = ""
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def dropped(self) -> int:
        return self.queue.dropped

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._pump, name=f"live-{self.type_key}", daemon=True)
            self._thread.start()

    def _pump(self) -> None:
        try:
            for frame in self._capture():
                if self._stopping.is_set():
                    break
                self.queue.put(frame)
        except Exception as exc:  # any failure of the capture thread ends the session, never silently
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.queue.close()

    def _capture(self) -> Iterator[Frame]:
        raise NotImplementedError

    def read_frame(self) -> Frame | None:
        self.start()
        return self.queue.get()

    def read_waiting(self, limit: int) -> list[Frame]:
        return self.queue.take_waiting(limit)

    def seek(self, seconds: float) -> None:
        raise VideoSourceError("a live source cannot seek")

    def stop(self) -> None:
        """Capture stops after the frame in hand; frames already queued are still read."""
        self._stopping.set()

    def close(self) -> None:
        self.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)


class RealtimeFileSource(LiveSource):
    """A file played as if it were live: each sampled frame is released when its moment comes
    (`speed` times real time), keeping the file's own video offsets."""

    type_key = "file"

    def __init__(self, path: str | Path, *, detection_fps: float, speed: float = 1.0, capacity: int = 2) -> None:
        super().__init__(detection_fps=detection_fps, capacity=capacity)
        self.path = Path(path)
        self.speed = speed
        self._file = FileVideoSource(path, detection_fps=detection_fps,
                                     options=DecodeOptions(skip_nonref=True, threads=False))

    @property
    def duration(self) -> float:
        return self._file.duration

    def _capture(self) -> Iterator[Frame]:
        started = time.monotonic()
        self.started_at = datetime.now(UTC)
        try:
            while (frame := self._file.read_frame()) is not None:
                due = started + frame.video_time / self.speed
                if self._stopping.wait(max(0.0, due - time.monotonic())):
                    return
                yield replace(frame, real_time=self.started_at + timedelta(seconds=frame.video_time / self.speed))
        finally:
            self._file.close()


class CaptureSource(LiveSource):
    """A capture device or a network stream opened with FFmpeg (PyAV): a V4L2 path (`/dev/video0`,
    format `v4l2`), a DirectShow name (format `dshow`), or an RTSP/SRT/UDP/HTTP URL.

    Frames are sampled at the detection rate on the stream's own clock. With `record_to`, every
    packet is also remuxed unchanged into that file (no re-encoding), so the session is reviewed
    later with the same video offsets."""

    type_key = "capture"

    def __init__(self, url: str, *, detection_fps: float, input_format: str | None = None,
                 options: dict[str, str] | None = None, record_to: Path | None = None, capacity: int = 2) -> None:
        super().__init__(detection_fps=detection_fps, capacity=capacity)
        self.url = url
        self.record_to = record_to
        self._container, self._stream, self.stream_fps = open_video(
            url, unreadable="cannot be opened", format=input_format, options=options or {}, timeout=10.0)

    def _capture(self) -> Iterator[Frame]:
        recording = av.open(str(self.record_to), "w") if self.record_to is not None else None
        copy = recording.add_stream_from_template(self._stream) if recording is not None else None
        reformatter = VideoReformatter()
        conversion_lock = threading.Lock()
        first: float | None = None
        next_target = 0.0
        try:
            for packet in self._container.demux(self._stream):
                if self._stopping.is_set():
                    return
                decoded_frames = packet.decode()
                if recording is not None and copy is not None and packet.dts is not None:
                    packet.stream = copy  # after decoding: the packet now belongs to the copy
                    recording.mux(packet)
                for decoded in decoded_frames:
                    pts = decoded.time if decoded.time is not None else time.monotonic()
                    if first is None:
                        first, self.started_at = pts, datetime.now(UTC)
                    t = pts - first
                    if t + 0.25 / self.stream_fps < next_target:
                        continue
                    next_target = (math.floor(t * self._fps + 1e-6) + 1) / self._fps
                    yield analysis_frame(decoded, t, stream_fps=self.stream_fps, width=640,
                                         reformatter=reformatter, started_at=self.started_at, deferred=True,
                                         conversion_lock=conversion_lock)
        finally:
            if recording is not None:
                recording.close()
            self._container.close()


class Feedable(Protocol):
    """What the loop drives: a pipeline `Run` (tests give a slow stand-in)."""

    def feed(self, batch: Sequence[Frame]) -> None: ...
    def take_new_events(self) -> list[Event]: ...
    def finish(self) -> None: ...


@dataclass(frozen=True)
class LiveStats:
    frames: int
    dropped: int
    detection_fps: float  # frames fed per wall second, over the last interval
    latency_seconds: float | None  # capture of the last frame fed to the end of its inference
    video_time: float

    def to_json(self) -> dict[str, float | int | None]:
        return {
            "frames": self.frames,
            "dropped": self.dropped,
            "detection_fps": round(self.detection_fps, 2),
            "latency_ms": None if self.latency_seconds is None else round(self.latency_seconds * 1000),
            "video_time": round(self.video_time, 3),
        }


class LiveLoop:
    """Feeds a live source's frames to a run until the source ends or `stop` is called, then
    finishes the run: every event confirmed by then goes to `on_events`, none is lost."""

    def __init__(self, *, source: LiveSource, run: Feedable, on_events: Callable[[list[Event]], None],
                 on_stats: Callable[[LiveStats], None] | None = None, stats_every: float = 1.0,
                 batch_size: int = 4, on_frames: Callable[[list[Frame]], None] | None = None) -> None:
        self.source = source
        self.run = run
        self.on_events = on_events
        self.on_stats = on_stats
        self.on_frames = on_frames  # sees every frame fed, after inference (live labelling's windows)
        self.stats_every = stats_every
        self.batch_size = batch_size
        self.frames = 0
        self.video_time = 0.0
        self._latency: float | None = None
        self._window = (time.monotonic(), 0)
        self._rate: float | None = None  # frames per second over the last full stats interval
        self._captured: dict[int, datetime] = {}  # frame number → capture time, the latest frames fed

    def stop(self) -> None:
        """Safe from a signal handler: capture stops, the loop finishes what is queued and returns."""
        self.source.stop()

    def run_until_stopped(self) -> LiveStats:
        try:
            while (first := self.source.read_frame()) is not None:
                batch = [first, *self.source.read_waiting(self.batch_size - 1)]
                self.run.feed(batch)
                self._fed(batch)
                self._emit(self.run.take_new_events())
                if self.on_frames is not None:
                    self.on_frames(batch)
                self._maybe_stats()
        finally:
            self.source.close()
            self.run.finish()
            self._emit(self.run.take_new_events())
        final = self.stats()
        if self.on_stats is not None:
            self.on_stats(final)
        return final

    def _fed(self, batch: list[Frame]) -> None:
        self.frames += len(batch)
        self.video_time = batch[-1].video_time
        for frame in batch:
            if frame.real_time is not None:
                self._captured[frame.number] = frame.real_time
        while len(self._captured) > CONFIRMING_FRAMES_KEPT:
            del self._captured[next(iter(self._captured))]
        captured = batch[-1].real_time
        if captured is not None:
            self._latency = (datetime.now(UTC) - captured).total_seconds()

    def _emit(self, events: list[Event]) -> None:
        if events:
            self.on_events([self._stamped(event) for event in events])

    def _stamped(self, event: Event) -> Event:
        """The event with `confirmed_at`: when its confirming frame was captured (None if not among those kept)."""
        captured = self._captured.get(int(event.evidence.get("confirmed_at_frame", -1)))
        return replace(event, evidence={**event.evidence, "confirmed_at": format_timestamp(captured)})

    def stats(self) -> LiveStats:
        since, frames_then = self._window
        elapsed = time.monotonic() - since
        # A window much shorter than the interval (the final figures, just after a stop) says little: the last full one.
        rate = (self.frames - frames_then) / max(1e-6, elapsed)
        if elapsed < self.stats_every / 2 and self._rate is not None:
            rate = self._rate
        return LiveStats(frames=self.frames, dropped=self.source.dropped, detection_fps=rate,
                         latency_seconds=self._latency, video_time=self.video_time)

    def _maybe_stats(self) -> None:
        if self.on_stats is None or time.monotonic() - self._window[0] < self.stats_every:
            return
        stats = self.stats()
        self.on_stats(stats)
        self._rate = stats.detection_fps
        self._window = (time.monotonic(), self.frames)
