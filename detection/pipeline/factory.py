"""Builds the pipeline's heavy parts once per process (ONNX sessions, the OCR engine) and the
event log a run produces. Shared by the CLI, the Celery worker and live mode.
"""
from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from detection.pipeline.calibration import calibration_for_detector
from detection.pipeline.detector import Detector, DetectorConfig, OnnxDetector
from detection.pipeline.event_log import EventLog, LoggedEvent, real_time
from detection.pipeline.hashing import file_sha256
from detection.pipeline.profile import GameProfile
from detection.pipeline.run_settings import DetectSettings, ModelRef
from detection.pipeline.runner import Pipeline, PipelineConfig, PipelineResult
from detection.pipeline.prefetch import PrefetchSource
from detection.pipeline.source import DecodeOptions, FileVideoSource, VideoSource
from detection.pipeline.text import RapidTextReader
from detection.pipeline.twopass import Proposal, propose, spans_of

_DETECTORS: dict[tuple[Any, ...], OnnxDetector] = {}
_READERS: dict[tuple[int, float, int], RapidTextReader] = {}
_LOCK = threading.Lock()
# Frames decoded ahead of the pipeline: at most this many bytes, within these bounds (`prefetch_depth`).
PREFETCH_BYTES = 320 * 2**20
MIN_PREFETCH, MAX_PREFETCH = 12, 120


def model_ref_for_file(path: str | Path) -> ModelRef:
    """An ONNX file named the way registration names it: its stem and the start of its digest."""
    resolved = Path(path).resolve()
    digest = file_sha256(resolved)
    return ModelRef(path=str(resolved), name=f"{resolved.stem}-{digest[:8]}", sha256=digest)


def detector_for(profile: GameProfile, settings: DetectSettings) -> OnnxDetector:
    """One ONNX session per model file and settings for the life of the process."""
    confidence = (
        settings.confidence_threshold if settings.confidence_threshold is not None else profile.thresholds.confidence
    )
    key = (settings.model_path, profile.classes, confidence, settings.providers, model_threads(settings))
    with _LOCK:
        if key not in _DETECTORS:
            _DETECTORS[key] = OnnxDetector(
                DetectorConfig(
                    model_path=settings.model_path,
                    classes=profile.classes,
                    confidence=confidence,
                    iou=profile.thresholds.iou,
                    providers=settings.providers,
                    threads=model_threads(settings),
                )
            )
        return _DETECTORS[key]


def weights_name(detector: Detector) -> str:
    """The file name of the weights a detector runs (`OnnxDetector.weights_path`), for a run's metadata."""
    return detector.weights_path.name if isinstance(detector, OnnxDetector) else ""


def reader_for(profile: GameProfile, *, threads: int = 0) -> RapidTextReader:
    key = (profile.ocr.max_side, profile.ocr.min_score, threads)
    with _LOCK:
        if key not in _READERS:
            _READERS[key] = RapidTextReader(max_side=key[0], min_score=key[1], threads=threads)
        return _READERS[key]


def build_pipeline(profile: GameProfile, settings: DetectSettings, *, live: bool = False,
                   uncertain_band: tuple[float, float] | None = None) -> Pipeline:
    """`uncertain_band`: keep frames with a box of that confidence for the active-learning queue. Events
    are scored through the calibration fitted for the model, when one lies beside it (calibration.py)."""
    detector = detector_for(profile, settings)
    return Pipeline(
        profile=profile,
        detector=detector,
        calibration=calibration_for_detector(detector),
        reader=reader_for(profile, threads=model_threads(settings)),
        config=PipelineConfig(
            detection_fps=settings.detection_fps,
            batch_size=settings.batch_size,
            use_gate=settings.gate,
            live=live,
            uncertain_band=uncertain_band,
        ),
    )


def open_source(
    path: str | Path, pipeline: Pipeline, settings: DetectSettings, *, started_at: datetime | None = None
) -> tuple[VideoSource, Proposal | None]:
    """The frames a run looks at: every sampled frame, or (two-pass) only the proposed spans,
    decoded ahead in a thread beside the pipeline."""
    proposal = None
    if settings.two_pass:
        proposal = propose(path, detector=pipeline.detector, reader=pipeline.fields.reader, profile=pipeline.profile,
                           batch_size=settings.batch_size, workers=min(8, _cores()))
    options = DecodeOptions(skip_nonref=settings.skip_nonref, threads=_frame_threads())
    frames = FileVideoSource(path, detection_fps=settings.detection_fps, started_at=started_at, options=options)
    return PrefetchSource(frames if proposal is None else spans_of(frames, proposal),
                          depth=prefetch_depth(*frames.frame_size, analysis_width=options.analysis_width)), proposal


def prefetch_depth(width: int, height: int, *, analysis_width: int) -> int:
    """How many frames to decode ahead. Menus are decoding-bound and raids model-bound, so the deeper
    the queue, the longer the decoder works ahead while the model and the OCR catch up: on 1080p30 on
    2 cores the single pass waited 8.7 s of 44 for frames with 12 frames ahead, 6.6 s with 32, 4.6 s
    with 48. On the held-out headline render, 88 frames ahead against 35 cut the single pass's wait
    from 15.9 to 12.3 s and two-pass's from 3.0-3.8 to 1.9-2.0 s, for about 210 MB more at the peak
    (`bench/README.md`). Each frame held keeps its decoded picture (YUV 4:2:0, 1.5 bytes a pixel) and,
    once converted, its BGR analysis copy (`Frame.picture`: most are converted only after they leave the
    queue, if at all), so the queue holds at most PREFETCH_BYTES (1080p: 88 frames; 720p: 120; 4K: 25)."""
    analysis = min(width, analysis_width or width)
    per_frame = width * height * 3 // 2 + analysis * (height * analysis // max(1, width)) * 3
    return max(MIN_PREFETCH, min(MAX_PREFETCH, PREFETCH_BYTES // max(1, per_frame)))


def _cores() -> int:
    return len(os.sched_getaffinity(0))


def model_threads(settings: DetectSettings) -> int:
    """The detector and the OCR run one after the other in the pipeline's thread while frames are
    decoded in another (PrefetchSource): on 2 cores one thread each kept both cores busy without
    contention (single pass 8 % faster than with onnxruntime's default of one per core)."""
    return settings.threads or max(1, _cores() - 1)


def _frame_threads() -> bool:
    """Frame-threaded decoding only with cores to spare: on 2 cores it decoded 1.15-1.3x faster for
    1.2-1.5x the CPU, taken from the model and the OCR, which run beside the decoding thread."""
    return _cores() > 4


def event_log_for(
    result: PipelineResult,
    *,
    metadata: dict[str, Any],
    started_at: datetime | None,
    thumbnail_dir: Path | None = None,
) -> EventLog:
    """The seed-format log of a run; thumbnails are written beside it when a folder is given."""
    events = []
    for event in result.events:
        thumbnail = ""
        if thumbnail_dir is not None and event.thumbnail:
            thumbnail_dir.mkdir(parents=True, exist_ok=True)
            target = thumbnail_dir / f"{event.event_id}.jpg"
            target.write_bytes(event.thumbnail)
            thumbnail = f"{thumbnail_dir.name}/{target.name}"
        events.append(
            LoggedEvent(
                event_id=event.event_id,
                type=event.type,
                video_offset_seconds=event.video_time,
                data=event.data,
                timestamp=real_time(started_at, event.video_time),
                frame_number=event.frame_number,
                confidence=event.confidence,
                thumbnail=thumbnail,
            )
        )
    document = {
        **metadata,
        "partial": result.partial,
        "error": result.error,
        "frames_sampled": result.timings.frames,
        "last_video_time": round(result.last_time, 3),
        "rejected": [
            {"key": r.key, "from_state": r.from_state, "observed": r.observed_screen,
             "video_offset_seconds": round(r.video_time, 3), "reason": r.reason}
            for r in result.rejections
        ],
        "timings": result.timings.to_json(),
    }
    return EventLog(metadata=document, events=events)
