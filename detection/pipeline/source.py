"""Video sources: the `VideoSource` ABC and the batch file source (PyAV).

The file source samples at `detection_fps` on a grid of video timestamps (k / fps), taken
from each frame's PTS, so variable-frame-rate MKVs stay right and a seek lands on the
same grid as an uninterrupted run.
"""
from __future__ import annotations

import contextlib
import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np
from av.container import InputContainer
from av.video.stream import VideoStream
from av.video.reformatter import ColorRange, VideoReformatter

from detection.pipeline.types import Frame, Luma


class VideoSourceError(Exception):
    """The video cannot be read; the message says which file and where."""


class VideoDecodeError(VideoSourceError):
    """Decoding failed part way; `video_time` is the last good position."""

    def __init__(self, message: str, *, video_time: float) -> None:
        super().__init__(message)
        self.video_time = video_time


class VideoSource(ABC):
    """Anything that yields frames: a file, a capture device, a URL, a file replayed in real time.

    A live source returns frames as they come (dropping what it cannot keep up with) and runs
    the pipeline with `PipelineConfig(live=True)`, where the temporal filter counts time.
    """

    @abstractmethod
    def read_frame(self) -> Frame | None:
        """The next frame to look at, or None at the end."""

    @abstractmethod
    def seek(self, seconds: float) -> None:
        """Continue with the first frame at or after `seconds` of video time."""

    @property
    @abstractmethod
    def fps(self) -> float:
        """Frames per second that `read_frame` delivers (the sampling rate, not the stream's)."""

    @abstractmethod
    def close(self) -> None: ...

    @property
    def duration(self) -> float:
        """Seconds of video, 0.0 when unknown (a live source)."""
        return 0.0

    @property
    def decode_seconds(self) -> float | None:
        """Seconds spent decoding in a thread of the source's own, beside the pipeline; None when
        decoding happens inside `read_frame`, where the pipeline's wait for frames is the decode time."""
        return None

    def skipped_before(self, time: float, seconds: float) -> Iterator[Frame]:
        """The sampled frames of the `seconds` before `time` that this source passed over (two-pass: the
        video between its spans), oldest first; none from a source that gives every sampled frame. Read
        apart from `read_frame`, which goes on where it was."""
        return iter(())

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def check_readable(path: Path) -> None:
    if not path.exists():
        raise VideoSourceError(f"{path}: no such file")
    if not path.is_file():
        raise VideoSourceError(f"{path}: not a file")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise VideoSourceError(f"{path}: cannot be read ({exc.strerror})") from exc
    if path.stat().st_size == 0:
        raise VideoSourceError(f"{path}: zero-length file")


def analysis_frame(
    frame: av.VideoFrame, t: float, *, stream_fps: float, width: int, reformatter: VideoReformatter,
    started_at: datetime | None, deferred: bool = False, conversion_lock: threading.Lock | None = None,
) -> Frame:
    """A decoded frame as the pipeline sees it: BGR at `width` (aspect kept) when it is wider, the
    full resolution converted only on demand (`Frame.full`). 0 converts it whole at once.

    `deferred`: the reduced copy too is converted only on first use, with the luma plane given for the
    gate (`Frame.luma`): the gate passed over 1070 of the 1404 frames two-pass sampled on the held-out
    render, and converting each 1080p frame cost 0.7-1.6 ms (a quiet and a busy machine). The conversion then
    runs in the thread that first asks for it, under `conversion_lock` when the reformatter is shared."""
    real = started_at + timedelta(seconds=t) if started_at is not None else None
    number = int(round(t * stream_fps))
    if not width or frame.width <= width:
        return Frame(picture=frame.to_ndarray(format="bgr24"), number=number, video_time=t, real_time=real)
    height = max(2, int(round(frame.height * width / frame.width / 2)) * 2)

    def reduced() -> np.ndarray:
        # Area averaging: 1.6 ms a 1080p frame where swscale's bilinear took 2.8 ms on a busy machine (its filter
        # widens with the ratio), for pixels 0.3 grey levels apart on average.
        with conversion_lock or contextlib.nullcontext():
            small = reformatter.reformat(frame, width=width, height=height, format="bgr24", interpolation="AREA")
        converted: np.ndarray = small.to_ndarray()
        return converted

    return Frame(
        picture=reduced if deferred else reduced(),
        number=number,
        video_time=t,
        real_time=real,
        # The decoded frame stays referenced until the Frame goes: converting it later gives the same pixels.
        full_image=lambda: frame.to_ndarray(format="bgr24"),
        size=(width, height),
        luma=luma_of(frame) if deferred else None,
    )


# 8-bit formats whose first plane is the luma.
_LUMA_FIRST = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21"})


def luma_of(frame: av.VideoFrame) -> Luma | None:
    """The frame's luma plane, viewed in place; None for a format without one (RGB, more than 8 bits)."""
    name = frame.format.name
    if name not in _LUMA_FIRST:
        return None
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(frame.height, plane.line_size)[:, :frame.width]
    rows.flags.writeable = False  # the decoder's own picture, which later frames may refer to
    return Luma(rows, video_range=not name.startswith("yuvj") and frame.color_range != ColorRange.JPEG)


@dataclass(frozen=True)
class DecodeOptions:
    """`skip_nonref` drops frames no other frame depends on (B-frames) when the stream has at least
    two frames per sample: the sampled frame is then the next reference frame, a few frames late
    at most, with its own exact PTS. OBS's x264 and NVENC presets write B-frames, so this skips
    from a third to a half of the decoding; a stream without B-frames decodes as before.

    `analysis_width`: a wider frame is converted to BGR at this width (aspect kept) for the gate
    and the detector, which look at 96 and 320 px; the full-resolution frame is converted only
    when OCR or a thumbnail asks for it (`Frame.full`). 0 converts every frame at full size."""

    skip_nonref: bool = False
    threads: bool = True
    analysis_width: int = 640


def open_video(
    target: str, *, unreadable: str = "not a readable video", **open_args: Any
) -> tuple[InputContainer, VideoStream, float]:
    """The container at `target` (a file, a device, a URL; `open_args` go to `av.open`), its first
    video stream and that stream's frame rate (30 when it names none). Nothing video is refused
    with a `VideoSourceError` naming `target`, and nothing is left open."""
    try:
        container = av.open(target, **open_args)
    except av.error.FFmpegError as exc:
        raise VideoSourceError(f"{target}: {unreadable} ({exc})") from exc
    if not container.streams.video:
        container.close()
        raise VideoSourceError(f"{target}: no video stream")
    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate
    return container, stream, float(rate) if rate else 30.0


class FileVideoSource(VideoSource):
    def __init__(
        self,
        path: str | Path,
        *,
        detection_fps: float,
        started_at: datetime | None = None,
        options: DecodeOptions = DecodeOptions(),
    ) -> None:
        if detection_fps <= 0:
            raise ValueError("detection_fps must be positive")
        self.path = Path(path)
        check_readable(self.path)
        self.started_at = started_at
        self.options = options
        self._fps = detection_fps
        self._container, self._stream, self.stream_fps = open_video(str(self.path))
        if options.threads:
            self._stream.thread_type = "AUTO"
        if options.skip_nonref and self.stream_fps >= 2 * detection_fps:
            self._stream.codec_context.skip_frame = "NONREF"
        self._length = self._duration()
        self.last_time = 0.0
        self.frames_decoded = 0
        self._next_target = 0.0
        self._frames: Iterator[av.VideoFrame] = self._decode()
        self._reformatter = VideoReformatter()  # keeps its scaling context between frames
        self._conversion_lock = threading.Lock()

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def duration(self) -> float:
        return self._length

    @property
    def frame_size(self) -> tuple[int, int]:
        """Width and height of the decoded frames."""
        return int(self._stream.width), int(self._stream.height)

    def _duration(self) -> float:
        if self._stream.duration is not None and self._stream.time_base is not None:
            return float(self._stream.duration * self._stream.time_base)
        if self._container.duration is not None:
            return float(self._container.duration) / av.time_base
        return 0.0

    def _decode(self) -> Iterator[av.VideoFrame]:
        try:
            for packet in self._container.demux(self._stream):
                for frame in packet.decode():
                    if isinstance(frame, av.VideoFrame):
                        yield frame
        except av.error.FFmpegError as exc:
            raise VideoDecodeError(
                f"{self.path}: decoding failed after {self.last_time:.2f} s of video ({exc})",
                video_time=self.last_time,
            ) from exc

    def raw_frames(self) -> Iterator[av.VideoFrame]:
        """Every decoded frame, unconverted (benchmarks measure the decoder through this)."""
        for frame in self._frames:
            self.frames_decoded += 1
            if frame.time is not None:
                self.last_time = float(frame.time)
            yield frame

    def read_frame(self) -> Frame | None:
        eps = 0.25 / self.stream_fps
        for frame in self.raw_frames():
            if frame.time is None:
                continue
            t = float(frame.time)
            if t + eps < self._next_target:
                continue
            self._next_target = (math.floor(t * self._fps + 1e-6) + 1) / self._fps
            return self._to_frame(frame, t)
        self._check_complete()
        return None

    def _to_frame(self, frame: av.VideoFrame, t: float) -> Frame:
        return analysis_frame(frame, t, stream_fps=self.stream_fps, width=self.options.analysis_width,
                              reformatter=self._reformatter, started_at=self.started_at, deferred=True,
                              conversion_lock=self._conversion_lock)

    def _check_complete(self) -> None:
        if self.frames_decoded == 0 and self._next_target == 0.0:
            raise VideoDecodeError(f"{self.path}: the video stream holds no decodable frames", video_time=0.0)
        # A file cut short keeps the container's duration but runs out of frames early.
        frame_time = 1.0 / self.stream_fps
        if self.duration and self.last_time + max(2.0, 4 * frame_time) < self.duration:
            raise VideoDecodeError(
                f"{self.path}: the stream ends at {self.last_time:.2f} s but the container says "
                f"{self.duration:.2f} s: truncated or corrupt after {self.last_time:.2f} s",
                video_time=self.last_time,
            )

    def skip_to(self, seconds: float) -> None:
        """Frames before `seconds` are still decoded (later frames refer to them) but no longer
        converted: a reader that reads on to a later span of the same GOP instead of seeking pays
        for the decoding only (2 ms a sampled 1080p frame less)."""
        self._next_target = max(self._next_target, math.ceil(seconds * self._fps - 1e-6) / self._fps)

    def seek(self, seconds: float) -> None:
        if seconds <= 0:
            target = 0
        else:
            assert self._stream.time_base is not None
            # A quarter frame late: a keyframe at `seconds` whose PTS was rounded up (MKV keeps
            # milliseconds) is still found, not the one a GOP before it.
            target = int((seconds + 0.25 / self.stream_fps) / self._stream.time_base)
        self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        self._frames = self._decode()
        self._next_target = math.ceil(seconds * self._fps - 1e-6) / self._fps
        self.last_time = seconds

    def close(self) -> None:
        self._container.close()
