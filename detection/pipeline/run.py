"""One run of the pipeline over frames that are pushed in: a file (`Pipeline.run` pulls them from
a `VideoSource`) or a live stream (its loop feeds what it captures).

Each batch: change gate → detector on the frames that changed (`detect`), then text probes →
temporal filters → screen verification → state machine → OCR of the boxes that carry data → events
(`take`). The two halves share nothing but what `detect` returns, so a file run detects the next
batch while this one is read (`Pipeline.run`); `feed` does both in turn.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from detection.pipeline.assembly import EventAssembler, thumbnail
from detection.pipeline.calibration import IDENTITY, Calibration
from detection.pipeline.checkpoint import Checkpoint, ScreenWatch
from detection.pipeline.detector import Detector
from detection.pipeline.fields import FieldReader, Reading
from detection.pipeline.gate import Gate, GateState
from detection.pipeline.probes import TextProbes
from detection.pipeline.profile import GameProfile
from detection.pipeline.readings import Pending, Readings
from detection.pipeline.state import Draft, GameStateMachine
from detection.pipeline.temporal import Confirmed, FilterConfig, OverlayFilter, ScreenFilter
from detection.pipeline.timings import StageTimings
from detection.pipeline.types import Detection, Event, Frame, Observation, Rejection, Uncertain
from detection.pipeline.verify import ScreenVerifier, Verdict

# The frames a source passed over in the given seconds before a video time (`VideoSource.skipped_before`).
LookBack = Callable[[float, float], Iterable[Frame]]


@dataclass(frozen=True)
class PipelineConfig:
    detection_fps: float = 10.0
    batch_size: int = 8
    use_gate: bool = True
    live: bool = False
    # Frames on which an incomplete OCR reading is tried again while its box stays visible.
    read_retries: int = 10
    thumbnail_width: int = 320
    checkpoint_seconds: float = 5.0  # wall time between checkpoints (taken only when the run is quiet)
    # Video seconds between the OCR reader's cache flushes. A checkpoint is taken only just after one,
    # so a resumed run's reader starts as empty as the unbroken run's was at that point.
    cache_epoch_seconds: float = 30.0
    # Confidences that make a frame worth a reviewer's box (the active-learning queue's band); None: none kept.
    uncertain_band: tuple[float, float] | None = None
    # At most one such frame per class in each stretch of this many video seconds.
    uncertain_spacing: float = 10.0


@dataclass(frozen=True)
class Detected:
    """A batch as the gate and the detector saw it: each frame's detections (a frame the gate passed
    over keeps the last frame's the model looked at), whether the model looked at it, and the gate's
    state after the batch (a checkpoint taken after the batch holds that, whatever batch the gate
    has looked at since)."""

    frames: Sequence[Frame]
    detections: list[list[Detection]]
    looked: list[bool]
    gate: GateState


class Run:
    """The mutable state of one run; a `Pipeline` (its models, gate, profile) serves one run at a time.

    `feed` batches of frames in video order (or `detect` each and `take` what it returns, in the
    same order: `detect` touches only the gate and the detector, so it may run a batch ahead in
    another thread), `take_new_events` as they are made, `due_checkpoint` after a batch, `finish`
    at the end. Resumed from a checkpoint, it makes what the unbroken run
    would have made after that point, exactly.
    """

    def __init__(self, *, profile: GameProfile, detector: Detector, gate: Gate, fields: FieldReader,
                 config: PipelineConfig, resume: Checkpoint | None = None, calibration: Calibration = IDENTITY,
                 look_back: LookBack | None = None) -> None:
        """`look_back`: the source's frames passed over before a time (`VideoSource.skipped_before`), where an
        overlay first seen as a stretch begins is looked for (`_appeared`)."""
        start = resume or Checkpoint(video_time=0.0)
        self.look_back = look_back
        self.profile = profile
        self.detector = detector
        self.gate = gate
        self.config = config
        self.timings = StageTimings()
        window = profile.thresholds.confirmations / config.detection_fps if config.live else None
        filters = FilterConfig(confirmations=profile.thresholds.confirmations,
                               overlay_gap=profile.thresholds.overlay_gap, window_seconds=window,
                               overlay_sure=profile.thresholds.overlay_sure)
        self.machine = GameStateMachine(profile, snapshot=dict(start.machine))
        self.screens = ScreenFilter(filters, current=start.screen)
        self.overlays = OverlayFilter(filters, next_track=start.next_track)
        self.verifier = ScreenVerifier(profile, fields, self.timings)
        self.probes = TextProbes(profile, fields.reader, self.timings, start.probes, detection_fps=config.detection_fps)
        self.fields = fields
        self.readings = Readings(fields, self.timings, retries=config.read_retries)
        self.assembler = EventAssembler(profile, fields, recent=start.recent, calibration=calibration)
        gate.restore(start.gate)
        self._gate_state = start.gate
        self._detections = list(start.detections)  # in effect at the last frame taken (for a checkpoint)
        self._detected = list(start.detections)  # in effect at the last frame detected
        self._screen_now: Detection | None = None  # the screen of the frame being handled
        self.watch = start.watch
        self.last_time = start.video_time
        # Past this much video unseen, what was being counted can't be followed (an overlay may vanish in it).
        self._longest_gap = (filters.overlay_gap + 1.5) / config.detection_fps
        self.events: list[Event] = []
        self.rejections: list[Rejection] = []
        self.uncertain: list[Uncertain] = []
        self._new_events = 0
        self._new_rejections = 0
        self._new_uncertain = 0
        self._uncertain_stretch: dict[str, int] = {}  # class → the stretch its last uncertain frame fell in
        self._last_checkpoint = time.monotonic()
        self.reader = fields.reader
        self.reader.forget()
        self._next_epoch = self._epoch_after(start.video_time)
        self._at_epoch = False

    def _epoch_after(self, video_time: float) -> float:
        every = self.config.cache_epoch_seconds
        return video_time if every <= 0 else (math.floor(video_time / every) + 1) * every

    def feed(self, batch: Sequence[Frame]) -> None:
        self.take(self.detect(batch))

    def detect(self, batch: Sequence[Frame]) -> Detected:
        with self.timings.measure("gate"):
            changed = [self.gate.changed(frame) for frame in batch]
        with self.timings.measure("inference"):
            fresh = iter(self.detector.detect([f.image for f, c in zip(batch, changed) if c]))
        self.timings.inferences += sum(changed)
        detections = []
        for was_changed in changed:
            if was_changed:
                self._detected = next(fresh)
            detections.append(self._detected)
        return Detected(batch, detections, changed, self.gate.state())

    def take(self, detected: Detected) -> None:
        for frame, detections, looked in zip(detected.frames, detected.detections, detected.looked):
            if looked:
                self._keep_if_uncertain(frame, detections)
            self.timings.frames += 1
            if frame.video_time - self.last_time > self._longest_gap:
                self.screens.interrupt()
                self.overlays.interrupt()
            self.last_time = frame.video_time
            self._frame(frame, detections)
        self._detections, self._gate_state = detected.detections[-1], detected.gate
        # At a point fixed by the video alone (the first quiet batch end past each epoch), so that an
        # unbroken run and one resumed there flush together.
        self._at_epoch = self.last_time >= self._next_epoch and self.quiet()
        if self._at_epoch:
            self.reader.forget()
            self._next_epoch = self._epoch_after(self.last_time)

    def _keep_if_uncertain(self, frame: Frame, detections: list[Detection]) -> None:
        """Sampled where the detector ran, spaced by video time alone: a resumed run keeps what the unbroken one
        would, but for at most one frame per class in the stretch it resumed in."""
        band = self.config.uncertain_band
        if band is None:
            return
        unsure = [d for d in detections if band[0] <= d.confidence < band[1]]
        if not unsure:
            return
        least = min(unsure, key=lambda d: d.confidence)
        stretch = int(frame.video_time // self.config.uncertain_spacing)
        if self._uncertain_stretch.get(least.label) == stretch:
            return
        self._uncertain_stretch[least.label] = stretch
        self.uncertain.append(Uncertain(frame_number=frame.number, video_time=frame.video_time, label=least.label,
                                        confidence=least.confidence, detections=tuple(detections)))

    def _frame(self, frame: Frame, detections: list[Detection]) -> None:
        stray = self.machine.stray
        detections = detections + self.probes.look(frame, machine_state=self.machine.state, detections=detections,
                                                   refused_state=stray.state if stray else None)
        with self.timings.measure("filter"):
            observation = self._observe(frame, detections)
            self._screen_now = observation.screen
            if observation.screen is not None:
                self.machine.seen(observation.screen.label, video_time=frame.video_time, frame_number=frame.number)
            screen_changes = self.screens.update(observation)
            new_overlays = self.overlays.update(observation)
        self.readings.retry(frame, observation, self.overlays, context=lambda: self.machine.context, settle=self._settle)
        for candidate in screen_changes:
            self.watch = None
            self._screen_change(frame, candidate)
        if observation.screen is not None and not screen_changes:
            self._watch_held(frame, observation.screen)
            held = self.machine.on_held(observation.screen, frame_number=frame.number, video_time=frame.video_time)
            if held.drafts:
                confirmed = held.drafts[0].confirmed
                self._start(frame, confirmed, self._read(frame, confirmed.detection), held.drafts)
        for confirmed in new_overlays:
            step = self.machine.on_overlay(confirmed)
            if step.rejection is not None and self.machine.over_refused_raid(confirmed):
                draft = Draft(self.profile.overlays[confirmed.label], confirmed, {})
                self._start(frame, confirmed, self._read(frame, confirmed.detection), [draft], awaits_raid=True)
                continue
            self._reject(step.rejection)
            if step.rejection is None:
                timed = self._appeared(frame, confirmed)
                self._start(frame, timed, self._read(frame, confirmed.detection),
                            [replace(draft, confirmed=timed) for draft in step.drafts])

    def _screen_change(self, frame: Frame, candidate: Confirmed, verdict: Verdict | None = None) -> None:
        verdict = verdict or self.verifier.verify(frame, candidate)
        if verdict.screen is None:
            self._reject(self._unproven(candidate, "no screen's words in its box"))
            return
        confirmed = verdict.screen
        # Watched: a screen the detector named otherwise, and one only a probe found (the detector may give the
        # next screen that probe's class: a queue it calls the map select a probe found just before).
        if confirmed.label != candidate.label or candidate.detection in self.probes.state.found:
            self.watch = ScreenWatch(detected=candidate.label, read=confirmed.label, checked=frame.video_time)
        reading = self._read(frame, confirmed.detection)
        step = self.machine.on_screen(confirmed, reading.data if reading.complete else {}, proven=verdict.proven)
        self._reject(step.rejection)
        if step.rejection is None:
            self._start(frame, confirmed, reading, step.drafts)
            self._check_kill_list(frame, confirmed)

    def _check_kill_list(self, frame: Frame, confirmed: Confirmed) -> None:
        """The raid that just ended listed kills it did not make (notifications missed, or hidden by a cut to
        another scene): each is added, inferred, at the list's screen, with when the raid ran."""
        kill_list = self.profile.kill_list
        if kill_list is None or confirmed.label != kill_list.screen or not self.machine.kill_list_due():
            return
        with self.timings.measure("ocr"):
            rows = self.fields.read_list(frame, kill_list, beyond=self.machine.made_in_raid())
        self.timings.ocr_reads += 1
        if rows is None:
            return
        drafts = self.machine.unlisted(confirmed, rows)
        if drafts:
            self.events += self.assembler.events(Pending(confirmed, Reading(data={}, complete=True),
                                                         thumbnail(frame, width=self.config.thumbnail_width), drafts))

    def _watch_held(self, frame: Frame, screen: Detection) -> None:
        """The detector named one screen for two that follow each other (a character select it calls a map
        select, then the map select): the second is no change to the filter, so its words are read again
        while the first's relabelling holds, and a screen they name otherwise is a screen change."""
        watch = self.watch
        if watch is None or screen.label != watch.detected:
            return
        if frame.video_time - watch.checked < self.profile.thresholds.probe_seconds:
            return
        self.watch = ScreenWatch(watch.detected, watch.read, frame.video_time)
        candidate = Confirmed(label=screen.label, first_frame=frame.number, first_time=frame.video_time,
                              confirm_frame=frame.number, confirm_time=frame.video_time, confidence=screen.confidence,
                              detection=screen)
        verdict = self.verifier.verify(frame, candidate)
        if verdict.screen is None or verdict.screen.label == watch.read or not verdict.proven:
            return
        if verdict.screen.label == watch.detected:
            self.watch = None  # the words now agree with the detector: the filter's screen is the real one
        self._screen_change(frame, candidate, verdict)

    def _appeared(self, frame: Frame, confirmed: Confirmed) -> Confirmed:
        """When an overlay the machine took, first seen on the first frame of a stretch, appeared. It may have
        shown before: two-pass decodes from a burst of the encoder's bits, and a notification's own burst can fall
        under the threshold while a later change in it does not (two kills on the held-out webcam capture were
        found 1.1 s late, at spans that began 1.1 s after them). The frames passed over before the stretch, back to
        the span before or a notification's longest showing (`overlay_repeat_seconds`), go to the detector from the
        stretch backwards; the overlay appeared at the earliest of those that show it in its box without a break
        (after a break it is another notification, as `OverlayFilter` counts it), and not before its raid began."""
        stretch = frame.stretch
        first_of_stretch = stretch is not None and confirmed.first_time < stretch[0] + 1 / self.config.detection_fps
        if self.look_back is None or not first_of_stretch:
            return confirmed
        raid = self.machine.raid
        not_before = raid.started if raid is not None and raid.ended is None else 0.0
        earliest: tuple[float, int] | None = None
        with self.timings.measure("look_back"):
            # The images only, not the decoded frames behind them (3 MB each at 1080p).
            skipped = [(f.video_time, f.number, f.image)
                       for f in self.look_back(confirmed.first_time, self.profile.thresholds.overlay_repeat_seconds)]
            for video_time, number, detections in self._detected_backwards(skipped):
                shown = any(self.overlays.config.same_overlay(d, confirmed.detection) for d in detections)
                if not shown or video_time < not_before:
                    break
                earliest = (video_time, number)
        if earliest is None:
            return confirmed
        return replace(confirmed, first_time=earliest[0], first_frame=earliest[1])

    def _detected_backwards(
        self, frames: list[tuple[float, int, np.ndarray]]
    ) -> Iterator[tuple[float, int, list[Detection]]]:
        """Each frame's detections, the last frame first, detected a batch at a time as they are asked for."""
        size = self.config.batch_size
        for end in range(len(frames), 0, -size):
            batch = frames[max(0, end - size):end]
            found = self.detector.detect([image for _, _, image in batch])
            self.timings.looked_back += len(batch)
            for (video_time, number, _), detections in zip(reversed(batch), reversed(found)):
                yield video_time, number, detections

    def _observe(self, frame: Frame, detections: list[Detection]) -> Observation:
        screens = [d for d in detections if d.label in self.profile.screens]
        overlays = tuple(d for d in detections if d.label in self.profile.overlays)
        screen = max(screens, key=lambda d: d.confidence, default=None)
        return Observation(frame.number, frame.video_time, screen, overlays)

    def _read(self, frame: Frame, detection: Detection) -> Reading:
        return self.readings.read(frame, detection, context=self.machine.context)

    def _start(self, frame: Frame, confirmed: Confirmed, reading: Reading, drafts: list[Draft], *,
               awaits_raid: bool = False) -> None:
        image = thumbnail(frame, width=self.config.thumbnail_width) if drafts else b""
        self.readings.start(Pending(confirmed, reading, image, drafts, awaits_raid=awaits_raid), self._settle)

    def _settle(self, pending: Pending) -> None:
        if not pending.drafts:
            self.machine.remember(pending.reading.data)
            return
        if pending.track:
            unread = self.assembler.unread(pending)
            reason = unread or self.assembler.repeat(pending)
            if reason:
                self._reject(self._unproven(pending.confirmed, reason))
                self.overlays.doubt(pending.track)
                if unread:
                    self.machine.unread(pending.confirmed, pending.reading.data)
                return
        if pending.awaits_raid and not self._enter_raid_for(pending):
            return
        made = self.assembler.events(pending)
        for event in made:
            if event.type in self.profile.overlays.values():
                self.machine.counted(event.data)
        self.events += made

    def _enter_raid_for(self, pending: Pending) -> bool:
        """A notification read over a raid screen the machine refused takes the machine into the raid
        (the way in inferred, its thumbnail the notification's frame); False when it may not go."""
        drafts = self.machine.enter_for_overlay(pending.confirmed, self._screen_now)
        if drafts is None:
            self._reject(self._unproven(pending.confirmed, f"{pending.drafts[0].type} outside a raid"))
            return False
        if drafts:
            way_in = Pending(drafts[0].confirmed, Reading(data={}, complete=True), pending.thumbnail, drafts)
            self.events += self.assembler.events(way_in)
        return True

    def _unproven(self, confirmed: Confirmed, reason: str) -> Rejection:
        return Rejection(
            key=f"{confirmed.label}-{confirmed.first_frame}",
            from_state=self.machine.state,
            observed_screen=confirmed.label,
            video_time=confirmed.first_time,
            frame_number=confirmed.first_frame,
            confidence=confirmed.confidence,
            reason=reason,
        )

    def _reject(self, rejection: Rejection | None) -> None:
        if rejection is not None:
            self.rejections.append(rejection)

    def finish(self) -> None:
        self.readings.drain(self._settle)

    def quiet(self) -> bool:
        return not self.readings.pending and self.screens.quiet() and self.overlays.quiet()

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(
            video_time=self.last_time,
            machine=self.machine.snapshot(),
            screen=self.screens.current,
            next_track=self.overlays.next_track,
            detections=tuple(self._detections),
            gate=self._gate_state,
            probes=self.probes.state,
            recent=tuple(self.assembler.recent),
            watch=self.watch,
        )

    def due_checkpoint(self) -> Checkpoint | None:
        """A checkpoint when `checkpoint_seconds` have passed since the last and the batch just fed
        ended an OCR cache epoch (the run is quiet there)."""
        if time.monotonic() - self._last_checkpoint < self.config.checkpoint_seconds or not self._at_epoch:
            return None
        self._last_checkpoint = time.monotonic()
        return self.checkpoint()

    def take_new_events(self) -> list[Event]:
        new, self._new_events = self.events[self._new_events :], len(self.events)
        if self.config.live:  # a live run never ends: what was handed over is the caller's to keep
            self.events, self._new_events = [], 0
        return new

    def take_new_rejections(self) -> list[Rejection]:
        new, self._new_rejections = self.rejections[self._new_rejections :], len(self.rejections)
        if self.config.live:
            self.rejections, self._new_rejections = [], 0
        return new

    def take_new_uncertain(self) -> list[Uncertain]:
        new, self._new_uncertain = self.uncertain[self._new_uncertain :], len(self.uncertain)
        if self.config.live:
            self.uncertain, self._new_uncertain = [], 0
        return new
