"""Text probes: when the detector misses what the state waits for (the raid's HUD, the end of a
raid), the spec's region is read for its words, at most every `probe_seconds`."""
from __future__ import annotations

import math
from dataclasses import dataclass

from detection.pipeline.fields import crop, probe_names
from detection.pipeline.profile import GameProfile
from detection.pipeline.text import TextReader
from detection.pipeline.timings import StageTimings
from detection.pipeline.types import Detection, Frame

NEVER = -1e9
# New content due this soon (`Frame.news_in`) makes a read now stale: the probe waits for it. Two-pass
# spans begin 0.3 s before a burst, so their first read saw the scene before a notification, and the
# next read came a second later: a kill the detector missed was found 0.8 s late on a washed-out render.
NEWS_WAIT_SECONDS = 0.5


@dataclass(frozen=True)
class ProbeState:
    """When the probes last read (video time) and what they found then: every frame until the
    next read reuses the find, so a resumed run must know both to see what an unbroken one sees."""

    last_time: float = NEVER
    found: tuple[Detection, ...] = ()


class TextProbes:
    """A probe reads again once `probe_seconds` have passed, or at once where new content is known to
    have appeared (`Frame.news_in` 0), and not while it is due (see NEWS_WAIT_SECONDS).

    `detection_fps`: the sampling rate, to tell whether a frame's stretch (`Frame.stretch`) holds
    enough samples for a find to be confirmed; None reads in every stretch."""

    def __init__(self, profile: GameProfile, reader: TextReader, timings: StageTimings,
                 state: ProbeState = ProbeState(), *, detection_fps: float | None = None) -> None:
        self.profile = profile
        self.reader = reader
        self.timings = timings
        self.state = state
        self.detection_fps = detection_fps

    def look(self, frame: Frame, *, machine_state: str, detections: list[Detection],
             refused_state: str | None = None) -> list[Detection]:
        """What the probes of `machine_state` find on this frame, as detections of `probe_confidence`.
        `refused_state`: the state of a screen the machine refused (`GameStateMachine.stray`), whose probes
        look too: the game may have gone on without the machine, and the screens after the refused one are
        read where the detector misses them (a map select after a refused character select, on a held-out
        look, went unread and its raid started with no map)."""
        states = {machine_state, refused_state}
        probes = [probe for probe in self.profile.probes if probe.state in states]
        if not probes:
            self.state = ProbeState(self.state.last_time)
            return []
        recent = frame.video_time - self.state.last_time < self.profile.thresholds.probe_seconds
        due = frame.news_in is not None and 0 < frame.news_in <= NEWS_WAIT_SECONDS
        if due and not recent:
            return []
        if due or (recent and frame.news_in != 0):
            # An earlier read's screen gives way to another screen the detector sees now: the screen changed
            # since (the map select's find held over the queue's first second and the queue went unseen).
            # Not to a weak box that may be noise over the found screen (`weak_screen`).
            others = {d.label for d in detections
                      if d.label in self.profile.screens and d.confidence >= self.profile.thresholds.weak_screen}
            return [d for d in self.state.found if d.label not in self.profile.screens or not others - {d.label}]
        if not self._confirmable(frame):
            return []
        seen = {d.label for d in detections}
        sure = {d.label for d in detections if d.confidence >= self.profile.thresholds.sure_screen}
        found: list[Detection] = []
        with self.timings.measure("ocr"):
            for probe in probes:
                if seen.intersection(probe.unless_seen) or sure.intersection(probe.unless_sure):
                    continue
                box = self.profile.region(probe.region)
                image = crop(frame, box, pad=0.0)
                lines = self.reader.read_if_line(image, min_aspect=probe.min_line_aspect) if probe.min_line_aspect \
                    else self.reader.read(image)
                self.timings.ocr_reads += 1
                named = probe_names(self.profile, probe, [line.text for line in lines])
                if named is not None:
                    found.append(Detection(named, self.profile.thresholds.probe_confidence, box))
        self.state = ProbeState(frame.video_time, tuple(found))
        return found

    def _confirmable(self, frame: Frame) -> bool:
        """Whether the frame's stretch holds the `confirmations` samples in a row a find needs to count.
        A two-pass glance at a keyframe (0.2 s: two samples at 10 fps) does not: reading there is wasted."""
        if frame.stretch is None or not self.detection_fps:
            return True
        start, end = frame.stretch
        return math.ceil((end - start) * self.detection_fps - 1e-6) >= self.profile.thresholds.confirmations
