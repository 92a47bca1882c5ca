"""Sliding windows for the VLM analyst: N frames over T seconds, one window every `stride` seconds.

A window's frames lie on the file source's own sampling grid (k / fps, see `WindowSpec.grid_ms`), so they are
taken by presentation time in ONE decoding pass: no seek per window, and a window's frames are the
same ones whichever run or resume reads them. Only the frames of windows still to come are held.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from detection.pipeline.source import VideoSource
from detection.pipeline.types import Frame


@dataclass(frozen=True)
class WindowSpec:
    frames: int = 5
    seconds: float = 2.0
    stride: float = 2.0

    def __post_init__(self) -> None:
        if self.frames < 1 or self.seconds <= 0 or self.stride <= 0:
            raise ValueError(f"window of {self.frames} frames over {self.seconds} s every {self.stride} s: "
                             "frames must be at least 1, seconds and stride positive")

    @property
    def step(self) -> float:
        return self.seconds / self.frames

    @property
    def grid_ms(self) -> int:
        """The sampling grid's step: the largest that holds both every frame step and every window
        start (0.4 s frames every 1 s: a 0.2 s grid). Past 30 points a second the grid is the frame
        step and window starts round to it."""
        step_ms, stride_ms = max(1, round(self.step * 1000)), max(1, round(self.stride * 1000))
        grid = math.gcd(step_ms, stride_ms)
        return grid if grid * 30 >= 1000 else step_ms

    @property
    def fps(self) -> float:
        """The rate to sample the source at (`FileVideoSource(detection_fps=spec.fps)`)."""
        return 1000 / self.grid_ms

    @property
    def frame_gap(self) -> int:
        """Grid points between a window's frames."""
        return max(1, round(self.step * 1000 / self.grid_ms))

    def grid_indices(self, first: int) -> range:
        return range(first, first + self.frames * self.frame_gap, self.frame_gap)


@dataclass(frozen=True)
class Span:
    start: float
    end: float

    def holds(self, start: float, end: float) -> bool:
        return self.start - 1e-6 <= start and end <= self.end + 1e-6


@dataclass(frozen=True)
class PlannedWindow:
    index: int       # position among all windows of the video, kept or not: stable across runs
    first: int       # grid index of its first frame
    start: float
    end: float


@dataclass(frozen=True)
class WindowPlan:
    windows: tuple[PlannedWindow, ...]
    skipped: int     # windows outside the requested states


@dataclass(frozen=True)
class Window:
    planned: PlannedWindow
    frames: tuple[Frame, ...]

    @property
    def frame_times(self) -> list[float]:
        return [round(f.video_time, 3) for f in self.frames]


def window_plan(*, duration: float, spec: WindowSpec, spans: Sequence[Span] | None = None) -> WindowPlan:
    """Every window that fits the video; with `spans`, only those lying wholly inside one of them."""
    kept: list[PlannedWindow] = []
    skipped = 0
    k = 0
    while True:
        first = int(round(k * spec.stride * 1000 / spec.grid_ms))
        start = first * spec.grid_ms / 1000
        end = start + spec.seconds
        if end > duration + 1e-6:
            break
        window = PlannedWindow(index=k, first=first, start=round(start, 3), end=round(end, 3))
        if spans is None or any(span.holds(start, end) for span in spans):
            kept.append(window)
        else:
            skipped += 1
        k += 1
    return WindowPlan(windows=tuple(kept), skipped=skipped)


def state_spans(
    transitions: Iterable[tuple[float, str]], *, states: Iterable[str], duration: float, initial: str
) -> list[Span]:
    """Spans of video time spent in `states`, from (video_time, to_state) transitions in time order."""
    wanted = set(states)
    spans: list[Span] = []
    state, since = initial, 0.0
    for at, to_state in (*transitions, (duration, "")):
        if state in wanted and at > since:
            spans.append(Span(since, at))
        state, since = to_state, at
    return spans


def windows_read(source: VideoSource, plan: WindowPlan, *, spec: WindowSpec) -> Iterator[Window]:
    """Each planned window once, in order, from one pass over `source` sampled at `spec.fps`.

    A grid point the sampler skipped (a variable-frame-rate gap) is filled by the nearest earlier
    frame, so a window always has N frames; windows past the last decoded frame are cut short.
    """
    if not math.isclose(source.fps, spec.fps, rel_tol=1e-6):
        raise ValueError(f"the source samples at {source.fps} fps; windows of this spec need {spec.fps}")
    pending = list(plan.windows)
    held: dict[int, Frame] = {}
    position = 0
    while position < len(pending):
        frame = source.read_frame()
        if frame is None:
            break
        grid = int(math.floor(frame.video_time * spec.fps + 1e-6))
        if grid < pending[position].first - 1:
            continue  # before the next window (outside the requested states): decoded, not kept
        held[grid] = frame
        while position < len(pending) and spec.grid_indices(pending[position].first)[-1] <= grid:
            yield _assemble(pending[position], held, spec)
            position += 1
        if position < len(pending):
            keep_from = pending[position].first - 1
            for old in [g for g in held if g < keep_from]:
                del held[old]
    for window in pending[position:]:
        if any(g >= window.first for g in held):
            yield _assemble(window, held, spec)


def _assemble(window: PlannedWindow, held: dict[int, Frame], spec: WindowSpec) -> Window:
    frames: list[Frame] = []
    for grid in spec.grid_indices(window.first):
        earlier = [g for g in held if g <= grid]
        if earlier:
            frames.append(held[max(earlier)])
        elif not frames:
            later = min(g for g in held if g >= grid)
            frames.append(held[later])
    return Window(planned=window, frames=tuple(frames))
