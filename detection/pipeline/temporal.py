"""Temporal filters: a screen or overlay counts only after N consecutive confirmations, and is
reported at its first frame.

Batch mode counts N sampled frames (at detection_fps); live mode, where frames may be
dropped, asks for the candidate to have lasted N frame intervals instead.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from detection.pipeline.types import Detection, Observation


@dataclass(frozen=True)
class Confirmed:
    """A screen change or a new overlay that survived the filter; `first_*` is when it appeared."""

    label: str
    first_frame: int
    first_time: float
    confirm_frame: int
    confirm_time: float
    confidence: float
    detection: Detection
    track: int = 0


@dataclass(frozen=True)
class FilterConfig:
    confirmations: int = 3
    overlay_gap: int = 2
    # Live mode: seconds a candidate must last instead of a frame count.
    window_seconds: float | None = None
    overlay_iou: float = 0.3
    # An overlay dropped for want of its words while its detection stayed below this starts over
    # when the detection reaches it (`OverlayFilter.doubt`).
    overlay_sure: float = 0.5

    def same_overlay(self, seen: Detection, known: Detection) -> bool:
        """Whether `seen` shows the overlay `known` showed: its class, in about its box."""
        return seen.label == known.label and seen.box.iou(known.box) >= self.overlay_iou


class TemporalFilter(ABC):
    @abstractmethod
    def update(self, observation: Observation) -> list[Confirmed]: ...

    @abstractmethod
    def quiet(self) -> bool:
        """True when no candidate is being counted: a safe point for a checkpoint, which then
        needs only `ScreenFilter.current` and `OverlayFilter.next_track`."""

    @abstractmethod
    def interrupt(self) -> None:
        """The video went on unseen (two-pass skips between spans, a stall): nothing being counted
        carries over, so what shows after the gap starts afresh, at its own first frame."""


@dataclass
class _Candidate:
    label: str
    first_frame: int
    first_time: float
    count: int = 0
    confidence_sum: float = 0.0


def _enough(config: FilterConfig, count: int, first_time: float, now: float) -> bool:
    if config.window_seconds is not None:
        return count >= 2 and now - first_time >= config.window_seconds
    return count >= config.confirmations


class ScreenFilter(TemporalFilter):
    """One screen at a time. Frames that show no screen neither count nor break a run."""

    def __init__(self, config: FilterConfig, *, current: str | None = None) -> None:
        self.config = config
        self.current = current
        self._candidate: _Candidate | None = None

    def update(self, observation: Observation) -> list[Confirmed]:
        screen = observation.screen
        if screen is None:
            return []
        if screen.label == self.current:
            self._candidate = None
            return []
        candidate = self._candidate
        if candidate is None or candidate.label != screen.label:
            candidate = self._candidate = _Candidate(screen.label, observation.frame_number, observation.video_time)
        candidate.count += 1
        candidate.confidence_sum += screen.confidence
        if not _enough(self.config, candidate.count, candidate.first_time, observation.video_time):
            return []
        self.current = candidate.label
        self._candidate = None
        return [
            Confirmed(
                label=candidate.label,
                first_frame=candidate.first_frame,
                first_time=candidate.first_time,
                confirm_frame=observation.frame_number,
                confirm_time=observation.video_time,
                confidence=candidate.confidence_sum / candidate.count,
                detection=screen,
            )
        ]

    def quiet(self) -> bool:
        return self._candidate is None

    def interrupt(self) -> None:
        self._candidate = None


@dataclass
class _Track:
    track: int
    label: str
    detection: Detection
    first_frame: int
    first_time: float
    count: int = 1
    missing: int = 0
    confidence_sum: float = 0.0
    confirmed: bool = False
    peak: float = 0.0
    doubted: bool = False


@dataclass
class OverlayFilter(TemporalFilter):
    """Overlays (kill notifications) tracked by position; each new track that lasts is one appearance, and so
    is a counted one seen again after it vanished for up to `overlay_gap` frames."""

    config: FilterConfig
    tracks: list[_Track] = field(default_factory=list)
    next_track: int = 1

    def update(self, observation: Observation) -> list[Confirmed]:
        unmatched = list(observation.overlays)
        confirmed: list[Confirmed] = []
        for track in self.tracks:
            match = max(
                (d for d in unmatched if self.config.same_overlay(d, track.detection)),
                key=lambda d: d.box.iou(track.detection.box),
                default=None,
            )
            if match is None:
                track.missing += 1
                continue
            unmatched.remove(match)
            if (track.doubted and match.confidence >= self.config.overlay_sure) or (track.confirmed and track.missing):
                # A counted overlay back after a gap may be the next one in its place (the demo's kills can follow
                # 0.27 s apart): a new appearance, read again; one that names the same kill is a repeat.
                self._start_over(track, match, observation)
            else:
                track.detection, track.missing = match, 0
                track.count += 1
                track.confidence_sum += match.confidence
                track.peak = max(track.peak, match.confidence)
            confirmed += self._check(track, observation)
        self.tracks = [t for t in self.tracks if t.missing <= self.config.overlay_gap]
        for detection in unmatched:
            track = _Track(
                self.next_track, detection.label, detection, observation.frame_number, observation.video_time,
                confidence_sum=detection.confidence, peak=detection.confidence,
            )
            self.next_track += 1
            self.tracks.append(track)
            confirmed += self._check(track, observation)
        return confirmed

    def _check(self, track: _Track, observation: Observation) -> list[Confirmed]:
        if track.confirmed or not _enough(self.config, track.count, track.first_time, observation.video_time):
            return []
        track.confirmed = True
        return [
            Confirmed(
                label=track.label,
                first_frame=track.first_frame,
                first_time=track.first_time,
                confirm_frame=observation.frame_number,
                confirm_time=observation.video_time,
                confidence=track.confidence_sum / track.count,
                detection=track.detection,
                track=track.track,
            )
        ]

    def doubt(self, track: int) -> None:
        """The track's overlay was dropped for want of its words. Seen only weakly so far, it may have
        been a blur of the scene that the real notification then slid into (same place, no gap): the
        first frame where the detector is sure of it starts the track over, as a new appearance with
        its own first frame, confirmations and reading."""
        for candidate in self.tracks:
            if candidate.track == track and candidate.peak < self.config.overlay_sure:
                candidate.doubted = True

    def _start_over(self, track: _Track, detection: Detection, observation: Observation) -> None:
        track.track, self.next_track = self.next_track, self.next_track + 1
        track.detection, track.missing, track.count = detection, 0, 1
        track.first_frame, track.first_time = observation.frame_number, observation.video_time
        track.confidence_sum = track.peak = detection.confidence
        track.confirmed = track.doubted = False

    def visible(self, track: int) -> Detection | None:
        """The track's detection in the latest frame, or None once it is gone or missed this frame."""
        for candidate in self.tracks:
            if candidate.track == track and candidate.missing == 0:
                return candidate.detection
        return None

    def quiet(self) -> bool:
        return not self.tracks

    def interrupt(self) -> None:
        # A notification seen before the gap may have gone and another taken its place.
        self.tracks = []
