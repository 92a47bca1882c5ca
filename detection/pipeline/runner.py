"""The pipeline: frames → change gate → detector (batched) → temporal filters → state machine →
OCR on the boxes that carry data → events. Batch jobs, the CLI and live mode share it.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import cv2

from detection.pipeline.detector import Detector
from detection.pipeline.fields import FieldReader, Reading, crop
from detection.pipeline.gate import AlwaysGate, Gate, RegionChangeGate
from detection.pipeline.profile import GameProfile
from detection.pipeline.source import VideoDecodeError, VideoSource
from detection.pipeline.state import Draft, GameStateMachine
from detection.pipeline.temporal import Confirmed, FilterConfig, OverlayFilter, ScreenFilter
from detection.pipeline.text import TextReader, contains
from detection.pipeline.types import Box, Detection, Event, Frame, Observation, Rejection


@dataclass(frozen=True)
class PipelineConfig:
    detection_fps: float = 10.0
    batch_size: int = 8
    use_gate: bool = True
    live: bool = False
    # Frames on which an incomplete OCR reading is tried again while its box stays visible.
    read_retries: int = 10
    thumbnail_width: int = 320
    checkpoint_seconds: float = 5.0


@dataclass
class StageTimings:
    """Seconds per stage. `decode_wait` is how long the pipeline waited for frames; `decode` the time
    spent decoding, which a source that decodes in its own thread (`PrefetchSource`) overlaps with
    the other stages, so the stages can add up to more than the wall time."""

    decode: float = 0.0
    decode_wait: float = 0.0
    gate: float = 0.0
    inference: float = 0.0
    ocr: float = 0.0
    filter: float = 0.0
    frames: int = 0
    inferences: int = 0
    ocr_reads: int = 0

    def to_json(self) -> dict[str, float | int]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class PipelineResult:
    events: list[Event]
    rejections: list[Rejection]
    timings: StageTimings
    last_time: float
    error: str = ""

    @property
    def partial(self) -> bool:
        return bool(self.error)


@dataclass
class _Pending:
    """A reading that is not complete yet: retried on later frames while its box is visible."""

    label: str
    confirmed: Confirmed
    reading: Reading
    tries: int
    thumbnail: bytes
    drafts: list[Draft] = field(default_factory=list)
    track: int = 0


ProgressCallback = Callable[[float], None]
CheckpointCallback = Callable[[dict[str, Any], list[Event], list[Rejection]], None]


class Pipeline:
    def __init__(
        self,
        *,
        profile: GameProfile,
        detector: Detector,
        reader: TextReader,
        config: PipelineConfig = PipelineConfig(),
        gate: Gate | None = None,
    ) -> None:
        self.profile = profile
        self.detector = detector
        self.fields = FieldReader(profile, reader)
        self.config = config
        thresholds = profile.thresholds
        if gate is None:
            gate = (
                # The whole frame joins the profile's regions: a screen change anywhere is a change.
                RegionChangeGate(
                    [*profile.regions.values(), Box(0.0, 0.0, 1.0, 1.0)],
                    threshold=thresholds.gate_change,
                    pixel_delta=thresholds.gate_pixel,
                )
                if config.use_gate
                else AlwaysGate()
            )
        self.gate = gate
        window = thresholds.confirmations / config.detection_fps if config.live else None
        self.filter_config = FilterConfig(
            confirmations=thresholds.confirmations, overlay_gap=thresholds.overlay_gap, window_seconds=window
        )

    def run(
        self,
        source: VideoSource,
        *,
        resume: dict[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
        on_checkpoint: CheckpointCallback | None = None,
    ) -> PipelineResult:
        run = _Run(self, resume)
        if resume:
            source.seek(float(resume["video_time"]) + 0.5 / self.config.detection_fps)
        error = ""
        try:
            while True:
                started = time.perf_counter()
                batch: list[Frame] = []
                while len(batch) < self.config.batch_size:
                    frame = source.read_frame()
                    if frame is None:
                        break
                    batch.append(frame)
                run.timings.decode_wait += time.perf_counter() - started
                if not batch:
                    break
                run.process(batch)
                if on_progress is not None:
                    on_progress(batch[-1].video_time)
                if on_checkpoint is not None:
                    run.maybe_checkpoint(on_checkpoint)
        except VideoDecodeError as exc:
            error = str(exc)
        decoding = source.decode_seconds
        run.timings.decode = run.timings.decode_wait if decoding is None else decoding
        run.finish()
        if on_checkpoint is not None:
            on_checkpoint(run.checkpoint(), run.take_new_events(), run.take_new_rejections())
        return PipelineResult(
            events=sorted(run.events, key=lambda e: (e.video_time, e.event_id)),
            rejections=run.rejections,
            timings=run.timings,
            last_time=run.last_time,
            error=error,
        )


class _Run:
    """The mutable state of one run; kept apart so a `Pipeline` can run many videos."""

    def __init__(self, pipeline: Pipeline, resume: dict[str, Any] | None) -> None:
        self.p = pipeline
        self.profile = pipeline.profile
        self.timings = StageTimings()
        self.machine = GameStateMachine(pipeline.profile, snapshot=(resume or {}).get("machine"))
        self.screens = ScreenFilter(pipeline.filter_config, current=(resume or {}).get("screen"))
        self.overlays = OverlayFilter(pipeline.filter_config, next_track=int((resume or {}).get("next_track", 1)))
        self.pending: list[_Pending] = []
        self.events: list[Event] = []
        self.rejections: list[Rejection] = []
        self._new_events = 0
        self._new_rejections = 0
        self._last_detections: list[Detection] = []
        self._probed: list[Detection] = []
        self._last_probe = -1e9
        self.last_time = float((resume or {}).get("video_time", 0.0))
        # Past this much video unseen, what was being counted can't be followed (an overlay may vanish in it).
        self._longest_gap = (pipeline.filter_config.overlay_gap + 1.5) / pipeline.config.detection_fps
        self._last_checkpoint = time.monotonic()
        pipeline.gate.reset()

    def process(self, batch: list[Frame]) -> None:
        started = time.perf_counter()
        changed = [self.p.gate.changed(frame) for frame in batch]
        self.timings.gate += time.perf_counter() - started
        started = time.perf_counter()
        fresh = iter(self.p.detector.detect([f.image for f, c in zip(batch, changed) if c]))
        self.timings.inference += time.perf_counter() - started
        self.timings.inferences += sum(changed)
        for frame, was_changed in zip(batch, changed):
            if was_changed:
                self._last_detections = next(fresh)
            self.timings.frames += 1
            if frame.video_time - self.last_time > self._longest_gap:
                self.screens.interrupt()
                self.overlays.interrupt()
            self.last_time = frame.video_time
            self._frame(frame, self._last_detections)

    def _observe(self, frame: Frame, detections: list[Detection]) -> Observation:
        screens = [d for d in detections if d.label in self.profile.screens]
        overlays = tuple(d for d in detections if d.label in self.profile.overlays)
        return Observation(frame.number, frame.video_time, max(screens, key=lambda d: d.confidence, default=None), overlays)

    def _frame(self, frame: Frame, detections: list[Detection]) -> None:
        detections = detections + self._probe(frame, detections)
        started = time.perf_counter()
        observation = self._observe(frame, detections)
        screen_changes = self.screens.update(observation)
        new_overlays = self.overlays.update(observation)
        self.timings.filter += time.perf_counter() - started
        self._retry_pending(frame, observation)
        for candidate in screen_changes:
            confirmed, proven = self._verify(frame, candidate)
            if confirmed is None:
                self._reject(self._unproven(candidate, "no screen's words in its box"))
                continue
            reading = self._read(frame, confirmed.detection)
            step = self.machine.on_screen(confirmed, reading.data if reading.complete else {}, proven=proven)
            self._reject(step.rejection)
            if step.rejection is None:
                self._start_pending(frame, confirmed, reading, step.drafts)
        for confirmed in new_overlays:
            step = self.machine.on_overlay(confirmed)
            self._reject(step.rejection)
            if step.rejection is None:
                self._start_pending(frame, confirmed, self._read(frame, confirmed.detection), step.drafts)

    def _verify(self, frame: Frame, confirmed: Confirmed) -> tuple[Confirmed | None, bool]:
        """Screens that look alike are told apart by the words on them; a weak detection whose
        box shows no screen's words is no screen at all (None). The flag: its words were read."""
        if confirmed.label not in self.profile.verify:
            return confirmed, False
        started = time.perf_counter()
        found = self.p.fields.classes_by_text(frame, confirmed.detection, among=self.profile.verify)
        self.timings.ocr += time.perf_counter() - started
        self.timings.ocr_reads += 1
        if not found and confirmed.confidence < self.profile.thresholds.text_required_below:
            return None, False
        if len(found) != 1:
            return confirmed, False
        if found[0] == confirmed.label:
            return confirmed, True
        detection = replace(confirmed.detection, label=found[0])
        return replace(confirmed, label=found[0], detection=detection), True

    def _probe(self, frame: Frame, detections: list[Detection]) -> list[Detection]:
        """Text probes: when the detector misses what the state waits for (the raid's HUD, the end
        of a raid), read the spec's region for its words, at most every `probe_seconds`."""
        probes = [probe for probe in self.profile.probes if probe.state == self.machine.state]
        if not probes:
            self._probed = []
            return []
        if frame.video_time - self._last_probe < self.profile.thresholds.probe_seconds:
            return self._probed
        self._last_probe = frame.video_time
        seen = {d.label for d in detections}
        found: list[Detection] = []
        started = time.perf_counter()
        for probe in probes:
            if probe.unless_seen and probe.unless_seen in seen:
                continue
            box = self.profile.region(probe.region)
            texts = [line.text for line in self.p.fields.reader.read(crop(frame, box, pad=0.0))]
            self.timings.ocr_reads += 1
            for label in probe.classes:
                if any(contains(texts, word, cutoff=85) for word in self.profile.keywords.get(label, ())):
                    found.append(Detection(label, self.profile.thresholds.probe_confidence, box))
                    break
        self.timings.ocr += time.perf_counter() - started
        self._probed = found
        return found

    def _read(self, frame: Frame, detection: Detection) -> Reading:
        if not self.p.fields.fields_for(detection.label):
            return Reading(data={}, complete=True)
        started = time.perf_counter()
        reading = self.p.fields.read(frame, detection, context=self.machine.context)
        self.timings.ocr += time.perf_counter() - started
        self.timings.ocr_reads += 1
        return reading

    def _start_pending(self, frame: Frame, confirmed: Confirmed, reading: Reading, drafts: list[Draft]) -> None:
        pending = _Pending(
            label=confirmed.label,
            confirmed=confirmed,
            reading=reading,
            tries=self.p.config.read_retries,
            thumbnail=self._thumbnail(frame) if drafts else b"",
            drafts=drafts,
            track=confirmed.track,
        )
        if reading.complete:
            self._settle(pending)
        else:
            self.pending.append(pending)

    def _retry_pending(self, frame: Frame, observation: Observation) -> None:
        still: list[_Pending] = []
        for pending in self.pending:
            if pending.track:
                visible = self.overlays.visible(pending.track)
            else:
                screen = observation.screen
                visible = screen if screen is not None and screen.label == pending.label else None
            if visible is None or pending.tries <= 0:
                self._settle(pending)
                continue
            pending.tries -= 1
            reading = self._read(frame, visible)
            # Keep what earlier frames read; a later frame may fill the gaps.
            merged = {**reading.data, **pending.reading.data}
            pending.reading = Reading(
                data=merged,
                complete=reading.complete or all(k in merged for k in self.p.fields.fields_for(pending.label)),
                texts=pending.reading.texts + reading.texts,
                scores={**reading.scores, **pending.reading.scores},
            )
            if pending.reading.complete:
                self._settle(pending)
            else:
                still.append(pending)
        self.pending = still

    def _settle(self, pending: _Pending) -> None:
        reading = pending.reading
        if not pending.drafts:
            self.machine.remember(reading.data)
            return
        confirmed = pending.confirmed
        detection = confirmed.detection
        if pending.track:
            reason = self._overlay_doubt(pending)
            if reason:
                self._reject(self._unproven(confirmed, reason))
                return
        field_score = min(reading.scores.values(), default=1.0)
        confidence = confirmed.confidence * field_score * (1.0 if reading.complete else 0.6)
        evidence = {
            "class": detection.label,
            "box": detection.box.to_json(),
            "confidence": round(confirmed.confidence, 4),
            "ocr": list(dict.fromkeys(reading.texts)),
            "confirmed_at_frame": confirmed.confirm_frame,
            "complete": reading.complete,
        }
        for draft in pending.drafts:
            data = dict(draft.data)
            if draft.type not in ("state_transition", "raid_start"):
                data.update(reading.data)
            self.events.append(
                Event(
                    event_id=f"{draft.type}-{confirmed.first_frame}",
                    type=draft.type,
                    video_time=confirmed.first_time,
                    frame_number=confirmed.first_frame,
                    confidence=round(confidence if draft.type != "state_transition" else confirmed.confidence, 4),
                    data=data,
                    evidence=evidence,
                    thumbnail=pending.thumbnail,
                )
            )

    def _overlay_doubt(self, pending: _Pending) -> str:
        """Why an overlay is not an event: its box never showed its words (ELIMINATED) or any of its
        vocabulary fields, or it repeats the same event a moment after (two boxes on one notification)."""
        reading, confirmed = pending.reading, pending.confirmed
        words = self.profile.keywords.get(pending.label, ())
        specs = self.p.fields.fields_for(pending.label)
        read_any = any(name in reading.data for name, spec in specs.items() if "vocabulary" in spec)
        if words and not reading.complete and not (read_any and any(contains(reading.texts, w, cutoff=90) for w in words)):
            return f"neither {' / '.join(words)} and a name nor all fields in its box"
        for draft in pending.drafts:
            for event in reversed(self.events[-5:]):
                if (event.type == draft.type and event.data == {**draft.data, **reading.data}
                        and abs(event.video_time - confirmed.first_time) < self.profile.thresholds.overlay_repeat_seconds):
                    return f"repeats {event.event_id}"
        return ""

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

    def _thumbnail(self, frame: Frame) -> bytes:
        width = self.p.config.thumbnail_width
        image = frame.full
        height = max(1, image.shape[0] * width // max(1, image.shape[1]))
        small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
        return encoded.tobytes() if ok else b""

    def finish(self) -> None:
        for pending in self.pending:
            self._settle(pending)
        self.pending = []

    def quiet(self) -> bool:
        return not self.pending and self.screens.quiet() and self.overlays.quiet()

    def checkpoint(self) -> dict[str, Any]:
        return {
            "video_time": self.last_time,
            "machine": self.machine.snapshot(),
            **self.screens.snapshot(),
            **self.overlays.snapshot(),
        }

    def maybe_checkpoint(self, callback: CheckpointCallback) -> None:
        if time.monotonic() - self._last_checkpoint < self.p.config.checkpoint_seconds or not self.quiet():
            return
        self._last_checkpoint = time.monotonic()
        callback(self.checkpoint(), self.take_new_events(), self.take_new_rejections())

    def take_new_events(self) -> list[Event]:
        new, self._new_events = self.events[self._new_events :], len(self.events)
        return new

    def take_new_rejections(self) -> list[Rejection]:
        new, self._new_rejections = self.rejections[self._new_rejections :], len(self.rejections)
        return new
