"""Video writers: frames piped raw to ffmpeg (constant rate) or encoded with exact timestamps (VFR).

OBS writes MKV with H.264 and a creation_time; so do these. The VFR writer sets each
frame's pts in a 1/1000 time base (Matroska's own), so the truth's offsets are exact.
"""
from __future__ import annotations

import random
import subprocess
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np


def frame_times(duration: float, fps: int, *, vfr: bool, rng: random.Random) -> list[float]:
    """Presentation times in seconds, on whole milliseconds as Matroska stores them.

    VFR imitates OBS under load: mostly regular frames with a little jitter, single
    dropped frames, and stretches of a second or three where the game runs slower.
    """
    if not vfr:
        return [round(i / fps, 3) for i in range(int(round(duration * fps)))]
    times: list[float] = []
    ms, step = 0, 1000 / fps
    slow_until, slow = -1.0, 1.0
    while ms < duration * 1000 - 0.5:
        times.append(ms / 1000)
        if ms >= slow_until and rng.random() < 0.001:
            slow_until, slow = ms + rng.uniform(1000, 3000), rng.uniform(1.3, 2.2)
        factor = slow if ms < slow_until else 1.0
        skip = 1 + (rng.random() < 0.06) + (rng.random() < 0.02)
        ms += max(2, round(step * factor * skip * rng.uniform(0.9, 1.1)))
    return times


def creation_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_i420(frame: np.ndarray) -> np.ndarray:
    """BT.601 limited-range 4:2:0, what ffmpeg itself would make, at a third of its cost and half the pipe."""
    return cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420)


class FrameSink(ABC):
    @abstractmethod
    def write(self, frame: np.ndarray, t: float) -> None: ...

    @abstractmethod
    def close(self) -> None: ...


class FfmpegSink(FrameSink):
    """Constant frame rate: raw frames on ffmpeg's stdin, so encoding runs beside the painting."""

    def __init__(self, path: Path, *, size: tuple[int, int], fps: int, started_at: datetime, crf: int, preset: str,
                 keyint: int) -> None:
        width, height = size
        command = [
            "ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}",
            "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-g", str(keyint),
            "-pix_fmt", "yuv420p", "-metadata", f"creation_time={creation_time(started_at)}", "-f", "matroska", str(path),
        ]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, frame: np.ndarray, t: float) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(to_i420(frame).data)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        error = self.process.stderr.read().decode() if self.process.stderr else ""
        if self.process.wait() != 0:
            raise RuntimeError(f"ffmpeg failed: {error.strip()}")


class TimestampSink(FrameSink):
    """Variable frame rate: PyAV with each frame's pts in milliseconds."""

    def __init__(self, path: Path, *, size: tuple[int, int], fps: int, started_at: datetime, crf: int, preset: str,
                 keyint: int) -> None:
        self.container = av.open(str(path), mode="w", format="matroska")
        self.container.metadata["creation_time"] = creation_time(started_at)
        self.stream = self.container.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": preset, "g": str(keyint)})
        self.stream.width, self.stream.height = size
        self.stream.pix_fmt = "yuv420p"
        self.stream.time_base = Fraction(1, 1000)
        self.stream.codec_context.time_base = Fraction(1, 1000)

    def write(self, frame: np.ndarray, t: float) -> None:
        video_frame = av.VideoFrame.from_ndarray(to_i420(frame), format="yuv420p")
        video_frame.pts = round(t * 1000)
        video_frame.time_base = Fraction(1, 1000)
        for packet in self.stream.encode(video_frame):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


def open_sink(path: Path, *, vfr: bool, size: tuple[int, int], fps: int, started_at: datetime, crf: int, preset: str,
              keyint: int) -> FrameSink:
    """`keyint`: frames between keyframes at most (x264's scene cuts add more)."""
    sink = TimestampSink if vfr else FfmpegSink
    return sink(path, size=size, fps=fps, started_at=started_at, crf=crf, preset=preset, keyint=keyint)
