"""Two-pass detection: a keyframe-only proposal pass finds where something may happen, then the
full pipeline decodes only those spans at the detection rate.

Keyframes decode several times faster than a full decode (no inter prediction), and the packets
between them are only measured, never decoded. The rules that turn what the keyframes show and
the packet sizes into spans are in `proposal.py`. Here: the pass itself (detector on every
keyframe, an image difference of the spec regions, the words of a keyframe where the detector is
unsure and its neighbour differs) and `SpanSource`, which reads only the spans.
"""
from __future__ import annotations

import bisect
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import av.error

from detection.pipeline.detector import Detector
from detection.pipeline.fields import FieldReader
from detection.pipeline.gate import RegionChangeGate
from detection.pipeline.keyframes import KeyframeSource
from detection.pipeline.profile import GameProfile
from detection.pipeline.proposal import (
    Activity, Keyframe, Span, SpanRules, list_candidates, merge, news_from, spans_from, worth_reading,
)
from detection.pipeline.source import FileVideoSource, VideoSource, VideoSourceError
from detection.pipeline.text import TextReader
from detection.pipeline.types import WHOLE_FRAME, Detection, Frame

__all__ = ["Keyframe", "Proposal", "Span", "SpanSource", "merge", "propose", "spans_from"]

# Share of a region's pixels that must differ for a keyframe to have moved (timers and blinking
# cursors stay below it; another screen does not).
MOVED_SHARE = 0.05


@dataclass(frozen=True)
class Proposal:
    keyframes: list[Keyframe]
    spans: list[Span]
    duration: float
    seconds: float  # wall time of the proposal pass
    word_reads: int = 0
    news: tuple[float, ...] = ()  # where the encoder says new content appeared (`proposal.news_from`)

    @property
    def covered(self) -> float:
        return sum(span.end - span.start for span in self.spans)


def propose(
    path: str | Path,
    *,
    detector: Detector,
    profile: GameProfile,
    reader: TextReader | None = None,
    rules: SpanRules = SpanRules(),
    batch_size: int = 8,
    workers: int = 1,
) -> Proposal:
    """`workers`: threads that decode keyframes at once (see `KeyframeSource`). Without a `reader`
    no words are read: an unsure keyframe that moved counts as a change."""
    started = time.perf_counter()
    source = KeyframeSource(path, workers=workers)
    looks = KeyframeLooks(profile, reader)
    frames: list[Frame] = []
    try:
        while True:
            frame = source.read_frame()
            if frame is not None:
                frames.append(frame)
            if frames and (frame is None or len(frames) == batch_size):
                for f, detections in zip(frames, detector.detect([f.image for f in frames])):
                    looks.add(f, detections)
                frames = []
            if frame is None:
                break
        duration = source.duration or (looks.keyframes[-1].time if looks.keyframes else 0.0)
        activity = Activity(source.all_packets())
    finally:
        source.close()
    looks.read_words(path, activity, rules)
    spans = spans_from(looks.keyframes, profile=profile, duration=duration, activity=activity, rules=rules)
    news = news_from(looks.keyframes, duration=duration, activity=activity, rules=rules)
    return Proposal(looks.keyframes, spans, duration, time.perf_counter() - started, looks.word_reads, tuple(news))


def spans_of(frames: FileVideoSource, proposal: Proposal) -> SpanSource:
    """The full pass's source: `frames` read over the proposed spans only."""
    return SpanSource(frames, proposal.spans, [k.time for k in proposal.keyframes], news=proposal.news)


class KeyframeLooks:
    """Keyframes in order, each with what the detector saw and whether its regions moved since the
    last keyframe that differed; then, where only words can tell two neighbours apart and the answer
    saves decoding a whole gap (`worth_reading`), the screens whose words they show."""

    def __init__(self, profile: GameProfile, reader: TextReader | None) -> None:
        self.profile = profile
        self.fields = None if reader is None else FieldReader(profile, reader)
        thresholds = profile.thresholds
        self.gate = RegionChangeGate([*profile.regions.values(), WHOLE_FRAME], threshold=MOVED_SHARE,
                                     pixel_delta=thresholds.gate_pixel, max_reuse=1 << 30)
        self.worded = tuple(label for label in profile.screens if profile.keywords.get(label))
        self.keyframes: list[Keyframe] = []
        self.word_reads = 0

    def add(self, frame: Frame, detections: list[Detection]) -> None:
        thresholds = self.profile.thresholds
        screens = [d for d in detections if d.label in self.profile.screens]
        best = max(screens, key=lambda d: d.confidence, default=None)
        overlay = any(d.label in self.profile.overlays and d.confidence >= thresholds.proposal_overlay
                      for d in detections)
        sure = best is not None and best.confidence >= thresholds.proposal_screen
        self.keyframes.append(Keyframe(frame.video_time, best.label if best else None, overlay, sure,
                                       moved=self.gate.changed(frame)))

    def read_words(self, path: str | Path, activity: Activity, rules: SpanRules) -> None:
        """Reads the words of both keyframes of each pair worth it, then of the keyframes that may show the
        kill list of a raid that seems to have none (a raid without one is decoded whole), decoding those
        keyframes again (a few, so none is held in memory meanwhile)."""
        if self.fields is None:
            return
        keys = self.keyframes
        for i in range(1, len(keys)):
            if not worth_reading(keys[i - 1], keys[i], activity, rules):
                continue
            for j in (i - 1, i):
                if keys[j].words is None:
                    keys[j] = replace(keys[j], words=self._words(path, keys[j]))
        for j in list_candidates(keys, self.profile):
            keys[j] = replace(keys[j], words=self._words(path, keys[j]))

    def _words(self, path: str | Path, key: Keyframe) -> frozenset[str]:
        """The screens whose words show in the spec region of the detector's screen (or, failing
        that, anywhere in the frame)."""
        assert self.fields is not None
        source = KeyframeSource(path, workers=1)
        try:
            source.seek(key.time)
            frame = source.read_frame()
        finally:
            source.close()
        if frame is None:
            return frozenset()
        box = self.profile.regions.get(key.screen, WHOLE_FRAME) if key.screen else WHOLE_FRAME
        self.word_reads += 1
        return frozenset(self.fields.classes_by_text(frame, Detection(key.screen or "", 0.0, box), among=self.worded))


# Spans closer than this read as one stretch: the temporal filter follows what it counts across a
# shorter gap (`Run._longest_gap`, a third of a second at 10 fps), so a find there may still count.
STRETCH_JOIN_SECONDS = 1.0


def stretches(spans: Sequence[Span]) -> list[tuple[float, float]]:
    """For each span, the stretch of spans it belongs to: from the first to the last of a chain of
    spans each starting within STRETCH_JOIN_SECONDS of the one before's end."""
    out: list[tuple[float, float]] = []
    first = 0
    for i in range(1, len(spans) + 1):
        if i == len(spans) or spans[i].start - spans[i - 1].end >= STRETCH_JOIN_SECONDS:
            out += [(spans[first].start, spans[i - 1].end)] * (i - first)
            first = i
    return out


class SpanSource(VideoSource):
    """Reads only the given spans of another source, in order. Between two spans it seeks, unless
    no keyframe of `keyframes` lies between them: a seek would land on the keyframe before and
    decode the same frames again, so it reads on, decoding the frames between without converting them.
    Each frame names its stretch (`Frame.stretch`) and how soon the next of `news` (times new content
    appeared) comes in it (`Frame.news_in`)."""

    def __init__(self, source: FileVideoSource, spans: list[Span], keyframes: Sequence[float] = (), *,
                 news: Sequence[float] = ()) -> None:
        self.source = source
        self.spans = list(spans)
        self._planned = list(spans)  # as proposed: `seek` trims `spans`
        self._stretches = stretches(self.spans)
        self.keyframes = sorted(keyframes)
        self.news = sorted(news)
        self._last_time: float | None = None  # of the last frame given out, None at a stretch's start
        self.seeks = 0
        self._index = -1
        self._start = 0.0
        self._end = -1.0
        self._position: float | None = None  # video time of the last frame read, None before any or after a seek
        self._held: Frame | None = None

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
        if self._reads_on_to(span.start):
            self.source.skip_to(span.start)
        else:
            self.source.seek(span.start)
            self.seeks += 1
            self._held = None
        self._start, self._end = span.start, span.end
        return True

    def _reads_on_to(self, start: float) -> bool:
        position = self._position
        if position is None or start < position or not self.keyframes:
            return False
        after = bisect.bisect_right(self.keyframes, position + 1e-6)
        return after == len(self.keyframes) or self.keyframes[after] > start + 1e-6

    def read_frame(self) -> Frame | None:
        while True:
            if self._index < 0 and not self._next_span():
                return None
            frame, self._held = self._held or self.source.read_frame(), None
            if frame is None:
                if not self._next_span():
                    return None
                continue
            self._position = frame.video_time
            if frame.video_time < self._start - 1e-6:
                continue
            if frame.video_time < self._end:
                stretch = self._stretches[self._index]
                given = replace(frame, stretch=stretch, news_in=self._news_in(frame.video_time, stretch))
                self._last_time = frame.video_time
                return given
            # Past this span: it may open the next one when that one is read on to.
            self._held = frame
            if not self._next_span():
                return None

    def _news_in(self, time: float, stretch: tuple[float, float]) -> float | None:
        """Seconds from `time` to the first news after the last frame given out in this stretch (0: it
        came since), None when the stretch holds no more."""
        start, end = stretch
        if self._last_time is not None and self._last_time >= start:
            i = bisect.bisect_right(self.news, self._last_time + 1e-6)
        else:
            i = bisect.bisect_left(self.news, start - 1e-6)
        if i == len(self.news) or self.news[i] >= end:
            return None
        return max(0.0, self.news[i] - time)

    def skipped_before(self, time: float, seconds: float) -> Iterator[Frame]:
        """Decoded by a source of their own, from the end of the span before `time` (or `seconds` before it)
        on, each converted; they end early where that video cannot be read or converted (they only refine what
        the spans found)."""
        given_until = max((span.end for span in self._planned if span.end <= time + 1e-6), default=0.0)
        since = max(given_until, time - seconds)
        if since >= time - 1e-6:
            return
        inner = self.source
        try:
            with FileVideoSource(inner.path, detection_fps=inner.fps, started_at=inner.started_at,
                                 options=inner.options) as frames:
                frames.seek(since)
                while (frame := frames.read_frame()) is not None and frame.video_time < time - 1e-6:
                    frame.image  # converted here, where a failure only ends the frames
                    yield frame
        except (VideoSourceError, av.error.FFmpegError):
            return

    def seek(self, seconds: float) -> None:
        # Each span keeps the stretch it had: a resumed run sees the frames the unbroken one saw.
        kept = [(s, stretch) for s, stretch in zip(self.spans, self._stretches) if s.end > seconds]
        if kept and kept[0][0].start < seconds:
            kept[0] = (Span(seconds, kept[0][0].end), kept[0][1])
        self.spans, self._stretches = [s for s, _ in kept], [stretch for _, stretch in kept]
        self._index, self._position, self._held, self._last_time = -1, None, None, None

    def close(self) -> None:
        self.source.close()
