"""Two-pass detection: a keyframe-only proposal pass finds where something may happen, then the
full pipeline decodes only those spans at the detection rate.

Keyframes decode several times faster than a full decode (no inter prediction). Between two
keyframes that show the same screen and no overlay nothing is decoded again; a screen change
between two keyframes becomes a span from the first to just past the second, and an overlay (a
kill notification) at a keyframe a span from the keyframe before to just past it. When keyframes
lie further apart than the shortest overlay lasts, a notification could fall between two of
them: raid spans are then decoded whole.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from detection.pipeline.detector import Detector
from detection.pipeline.keyframes import KeyframeSource
from detection.pipeline.profile import GameProfile
from detection.pipeline.source import FileVideoSource, VideoSource
from detection.pipeline.types import Frame


@dataclass(frozen=True)
class Keyframe:
    time: float
    screen: str | None
    overlay: bool
    # The detector's best screen scored at least the profile's `proposal_screen`.
    sure: bool = True


@dataclass(frozen=True)
class Span:
    start: float
    end: float


@dataclass(frozen=True)
class Proposal:
    keyframes: list[Keyframe]
    spans: list[Span]
    duration: float
    seconds: float  # wall time of the proposal pass

    @property
    def covered(self) -> float:
        return sum(span.end - span.start for span in self.spans)


def propose(
    path: str | Path,
    *,
    detector: Detector,
    profile: GameProfile,
    shortest_overlay: float = 2.0,
    settle: float = 0.5,
    batch_size: int = 8,
    workers: int = 1,
) -> Proposal:
    """`workers`: threads that decode keyframes at once (see `KeyframeSource`)."""
    started = time.perf_counter()
    source = KeyframeSource(path, workers=workers)
    frames: list[Frame] = []
    keyframes: list[Keyframe] = []
    try:
        while True:
            frame = source.read_frame()
            if frame is not None:
                frames.append(frame)
            if frames and (frame is None or len(frames) == batch_size):
                for f, detections in zip(frames, detector.detect([f.image for f in frames])):
                    screens = [d for d in detections if d.label in profile.screens]
                    best = max(screens, key=lambda d: d.confidence, default=None)
                    overlay = any(d.label in profile.overlays and d.confidence >= profile.thresholds.proposal_overlay
                                  for d in detections)
                    sure = best is not None and best.confidence >= profile.thresholds.proposal_screen
                    keyframes.append(Keyframe(f.video_time, best.label if best else None, overlay, sure))
                frames = []
            if frame is None:
                break
        duration = source.duration or (keyframes[-1].time if keyframes else 0.0)
    finally:
        source.close()
    spans = spans_from(keyframes, profile=profile, duration=duration, shortest_overlay=shortest_overlay, settle=settle)
    return Proposal(keyframes, spans, duration, time.perf_counter() - started)


def spans_from(
    keyframes: list[Keyframe], *, profile: GameProfile, duration: float, shortest_overlay: float, settle: float
) -> list[Span]:
    """`settle`: seconds decoded past the keyframe that shows a change, for the temporal filter to confirm it.

    A change runs on to the first keyframe after it whose screen the detector is sure of: a screen
    it half-recognises (one end screen scored as a queue) is only told apart by its words, which
    the full pass reads, and needs more frames for that than a settle holds."""
    if not keyframes:
        return [Span(0.0, duration)]
    times = [k.time for k in keyframes] + [duration]
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    sparse = bool(gaps) and gaps[len(gaps) // 2] > shortest_overlay
    overlay_screens = {profile.raid_active_state}
    raw: list[Span] = [Span(0.0, times[1] + settle)]
    for i, key in enumerate(keyframes):
        before = times[i - 1] if i > 0 else 0.0
        after = times[i + 1]
        following = keyframes[i + 1] if i + 1 < len(keyframes) else None
        if following is not None and following.screen != key.screen:
            sure = next((j for j in range(i + 1, len(keyframes)) if keyframes[j].sure), len(keyframes))
            raw.append(Span(key.time, times[sure] + settle))
        if key.overlay:
            # It appeared after the keyframe before; one still showing at the next keyframe gets that one's span.
            raw.append(Span(before, key.time + settle))
        in_raid = key.screen is not None and profile.screens.get(key.screen) in overlay_screens
        if sparse and in_raid:
            raw.append(Span(key.time, after))
    return [Span(span.start, min(span.end, duration)) for span in merge(raw)]


def merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: s.start):
        if merged and span.start <= merged[-1].end + 1e-6:
            last = merged[-1]
            merged[-1] = Span(last.start, max(last.end, span.end))
        else:
            merged.append(span)
    return merged


class SpanSource(VideoSource):
    """Reads only the given spans of another source, in order (seeking between them)."""

    def __init__(self, source: FileVideoSource, spans: list[Span]) -> None:
        self.source = source
        self.spans = list(spans)
        self._index = -1
        self._end = -1.0

    @property
    def fps(self) -> float:
        return self.source.fps

    @property
    def duration(self) -> float:
        return self.source.duration

    def _next_span(self) -> bool:
        self._index += 1
        if self._index >= len(self.spans):
            return False
        span = self.spans[self._index]
        self.source.seek(span.start)
        self._end = span.end
        return True

    def read_frame(self) -> Frame | None:
        while True:
            if self._index < 0 and not self._next_span():
                return None
            frame = self.source.read_frame() if self._index < len(self.spans) else None
            if frame is not None and frame.video_time < self._end:
                return frame
            if not self._next_span():
                return None

    def seek(self, seconds: float) -> None:
        kept = [s for s in self.spans if s.end > seconds]
        if kept and kept[0].start < seconds:
            kept[0] = Span(seconds, kept[0].end)
        self.spans, self._index = kept, -1

    def close(self) -> None:
        self.source.close()
