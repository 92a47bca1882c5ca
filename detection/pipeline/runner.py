"""The pipeline: frames → change gate → detector (batched) → temporal filters → state machine →
OCR on the boxes that carry data → events. Batch jobs, the CLI and live mode share it: `run`
pulls a video source through a `Run`, the next batch decoded and detected in a thread while this
one is read; a live loop feeds its own `Run` from `start`.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from detection.pipeline.calibration import IDENTITY, Calibration
from detection.pipeline.checkpoint import Checkpoint
from detection.pipeline.detector import Detector
from detection.pipeline.fields import FieldReader
from detection.pipeline.gate import AlwaysGate, Gate, RegionChangeGate
from detection.pipeline.profile import GameProfile
from detection.pipeline.run import Detected, LookBack, PipelineConfig, Run
from detection.pipeline.source import VideoDecodeError, VideoSource
from detection.pipeline.text import TextReader
from detection.pipeline.timings import StageTimings
from detection.pipeline.types import WHOLE_FRAME, Event, Frame, Rejection, Uncertain

__all__ = [
    "CheckpointCallback", "Pipeline", "PipelineConfig", "PipelineResult", "ProgressCallback", "StageTimings",
    "next_sample_time",
]


@dataclass(frozen=True)
class PipelineResult:
    events: list[Event]
    rejections: list[Rejection]
    timings: StageTimings
    last_time: float
    error: str = ""
    uncertain: tuple[Uncertain, ...] = ()

    @property
    def partial(self) -> bool:
        return bool(self.error)


ProgressCallback = Callable[[float], None]
# A checkpoint with the events, rejections and uncertain frames made since the previous one: saved
# together, a resumed run neither loses nor repeats any.
CheckpointCallback = Callable[[Checkpoint, list[Event], list[Rejection], list[Uncertain]], None]


def next_sample_time(video_time: float, fps: float) -> float:
    """Where the sampling grid (k / fps, see `FileVideoSource`) goes on after a frame taken at
    `video_time`: the point an unbroken run reads next. A frame may lag its own grid point by up to
    the B-frames skipped before it (`skip_nonref`), more than half an interval on OBS's recordings."""
    return (math.floor(video_time * fps + 1e-6) + 1) / fps


class Pipeline:
    def __init__(
        self,
        *,
        profile: GameProfile,
        detector: Detector,
        reader: TextReader,
        config: PipelineConfig = PipelineConfig(),
        gate: Gate | None = None,
        calibration: Calibration = IDENTITY,
    ) -> None:
        """`calibration`: the curves that make an event's confidence the chance it is right (calibration.py)."""
        self.profile = profile
        self.detector = detector
        self.calibration = calibration
        self.fields = FieldReader(profile, reader)
        self.config = config
        thresholds = profile.thresholds
        if gate is None:
            gate = (
                # The whole frame joins the profile's regions: a screen change anywhere is a change.
                RegionChangeGate(
                    [*profile.regions.values(), WHOLE_FRAME],
                    threshold=thresholds.gate_change,
                    pixel_delta=thresholds.gate_pixel,
                )
                if config.use_gate
                else AlwaysGate()
            )
        self.gate = gate

    def start(self, resume: Checkpoint | None = None, *, look_back: LookBack | None = None) -> Run:
        return Run(profile=self.profile, detector=self.detector, gate=self.gate, fields=self.fields,
                   config=self.config, resume=resume, calibration=self.calibration, look_back=look_back)

    def run(
        self,
        source: VideoSource,
        *,
        resume: Checkpoint | None = None,
        on_progress: ProgressCallback | None = None,
        on_checkpoint: CheckpointCallback | None = None,
    ) -> PipelineResult:
        """The whole source, in batches; a decode error ends the run with what was found before it.

        One thread reads and detects the next batch while this one goes through the OCR, the
        filters and the state machine, so the model does not wait for a long read (a whole-frame
        read takes 1-2 s) nor the reads for the model: 3-4 % less wall time on 2 cores, held-out
        footage, both modes (bench/README.md)."""
        run = self.start(resume, look_back=source.skipped_before)
        if resume is not None:
            source.seek(next_sample_time(resume.video_time, self.config.detection_fps))
        error = ""

        def detect_next() -> Detected | None:
            batch = self._next_batch(source, run.timings)
            return run.detect(batch) if batch else None

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="detect-ahead") as ahead:
            try:
                coming = ahead.submit(detect_next)
                while (detected := coming.result()) is not None:
                    coming = ahead.submit(detect_next)
                    run.take(detected)
                    if on_progress is not None:
                        on_progress(detected.frames[-1].video_time)
                    if on_checkpoint is not None and (checkpoint := run.due_checkpoint()) is not None:
                        on_checkpoint(checkpoint, run.take_new_events(), run.take_new_rejections(),
                                      run.take_new_uncertain())
            except VideoDecodeError as exc:
                error = str(exc)
        decoding = source.decode_seconds
        run.timings.decode = run.timings.decode_wait if decoding is None else decoding
        run.finish()
        if on_checkpoint is not None:
            on_checkpoint(run.checkpoint(), run.take_new_events(), run.take_new_rejections(), run.take_new_uncertain())
        return PipelineResult(
            events=sorted(run.events, key=lambda e: (e.video_time, e.event_id)),
            rejections=run.rejections,
            timings=run.timings,
            last_time=run.last_time,
            error=error,
            uncertain=tuple(run.uncertain),
        )

    def _next_batch(self, source: VideoSource, timings: StageTimings) -> list[Frame]:
        started = time.perf_counter()
        batch: list[Frame] = []
        try:
            while len(batch) < self.config.batch_size and (frame := source.read_frame()) is not None:
                batch.append(frame)
        finally:
            timings.decode_wait += time.perf_counter() - started
        return batch
