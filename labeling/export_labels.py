"""Labelled windows as JSONL training data: frames (JPEG), the schema's fields and, with an input log, actions.

One line per window that has a label (a reviewer's correction, else the model's; failed windows
without a correction are left out and counted). The HUD values are "verified" in this order:
  1. a reviewer's correction (`review`);
  2. else, when the window was flagged (the model more than the profile's tolerance off OCR) and OCR
     read a value, OCR's (`ocr`): the flag says the two disagree, and OCR is the one measured against
     the renderer's truth;
  3. else the label's value (`vlm`, `cache`, or `ocr` when no model answered).
`verified_source` says which, per field. The format is docs/input-log.md ("Training export").
Frames are the very frames the model was sent (by presentation time), saved once at the size sent.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from detection.models import Recording
from detection.pipeline.labels import LabelSchema, label_schema_load
from detection.pipeline.source import DecodeOptions, FileVideoSource
from labeling.inputlog import InputTrack
from labeling.inputlog_actions import frame_actions
from labeling.inputlog_services import input_track_for
from labeling.vlm_models import WindowLabel
from labeling.windows import FRAME_WIDTH, fit_width, jpeg

FRAME_TOLERANCE = 1e-3  # stored frame times are the decoder's own PTS; this only absorbs float round trips


class LabelExportError(ValueError):
    """Nothing to export, or the recording's video or input log cannot be read; the message says which."""


@dataclass
class ExportSummary:
    out: str
    frames_dir: str
    prompt_version: str
    spec: str
    windows: int = 0
    exported: int = 0
    corrected: int = 0
    skipped_failed: int = 0
    frames_written: int = 0
    actions: bool = False


def labels_export(*, recording: Recording, out: Path, frames_dir: Path | None = None, prompt_version: str = "",
                  spec: str = "", profile: str = "demo") -> ExportSummary:
    """Write `out` (JSONL) and the frames under `frames_dir` (default: `<out stem>_frames` beside it)."""
    rows = WindowLabel.objects.filter(recording=recording)
    if prompt_version:
        rows = rows.filter(prompt_version=prompt_version)
    if spec:
        rows = rows.filter(spec=spec)
    latest = rows.order_by("-updated_at", "-id").first()
    if latest is None:
        raise LabelExportError(f"recording {recording.pk} has no window labels"
                               + (f" under prompt {prompt_version!r}" if prompt_version else "")
                               + (f" with spec {spec!r}" if spec else "") + "; run vlm_label first")
    # One run's windows: the latest prompt version and window spec unless asked for others.
    windows = list(rows.filter(prompt_version=latest.prompt_version, spec=latest.spec).order_by("start", "window_index"))
    frames_dir = frames_dir or out.with_name(out.stem + "_frames")
    summary = ExportSummary(out=str(out), frames_dir=str(frames_dir), prompt_version=latest.prompt_version,
                            spec=latest.spec, windows=len(windows))
    kept = [w for w in windows if w.effective_label is not None]
    summary.skipped_failed = len(windows) - len(kept)
    track = input_track_for(recording)
    summary.actions = track is not None
    frame_files = _frames_saved(recording, sorted({float(t) for w in kept for t in w.frames}), frames_dir, summary)
    schema = label_schema_load(profile)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(out.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as sink:
        for window in kept:
            line = export_line(window, schema=schema, track=track,
                               frame_paths=[os.path.relpath(frame_files[_key(t)], out.parent) for t in window.frames])
            sink.write(json.dumps(line, sort_keys=True) + "\n")
            summary.exported += 1
            summary.corrected += window.corrected_label is not None
    temporary.replace(out)  # never half a file where the last export was
    return summary


def export_line(window: WindowLabel, *, schema: LabelSchema, track: InputTrack | None,
                frame_paths: list[str]) -> dict[str, Any]:
    label = window.effective_label or {}
    corrected = window.corrected_label is not None
    line: dict[str, Any] = {
        "recording": window.recording_id, "window_index": window.window_index, "start": window.start,
        "end": window.end, "frame_times": list(window.frames), "frames": frame_paths,
        "tactical_label": label.get("tactic"), "intent_matches": label.get("intent_matches"),
        "corrected": corrected, "prompt_version": window.prompt_version, "spec": window.spec,
    }
    sources: dict[str, str] = {}
    for field in schema.hud_fields:
        value, source = _verified(window, field.name, label, corrected=corrected)
        line[f"verified_{field.name}"] = value
        sources[field.name] = source
    line["verified_source"] = sources
    if track is not None:
        actions = frame_actions(track, [float(t) for t in window.frames], end=window.end)
        line["actions"] = {head: [a[head] for a in actions] for head in ("mouse", "click", "hotkey")}
    return line


def _verified(window: WindowLabel, name: str, label: dict[str, Any], *, corrected: bool) -> tuple[Any, str]:
    if corrected:
        return label.get(name), "review"
    ocr = (window.ocr or {}).get(name)
    if window.flagged and ocr is not None:
        return ocr, "ocr"
    return label.get(name), window.source


def _key(t: float) -> int:
    return round(float(t) * 1000)


def _frames_saved(recording: Recording, times: list[float], frames_dir: Path,
                  summary: ExportSummary) -> dict[int, Path]:
    """Each wanted frame as a JPEG (kept from an earlier export when already there), in one decoding pass."""
    files = {_key(t): frames_dir / f"{recording.pk:06d}-{_key(t):09d}.jpg" for t in times}
    missing = [t for t in times if not files[_key(t)].exists()]
    if not missing:
        return files
    frames_dir.mkdir(parents=True, exist_ok=True)
    video = recording.video_path
    if not video.exists():
        raise LabelExportError(f"recording {recording.pk}: its video {video} is missing, so its frames cannot be saved")
    # The labeller decoded reference frames only when it could (skip_nonref): the same pass finds its frames;
    # a frame it took from a low-rate stream (every frame decoded) is looked for in a second, full pass.
    for skip_nonref in (True, False):
        missing = _decode_into(video, missing, files, skip_nonref=skip_nonref, summary=summary)
        if not missing:
            return files
    raise LabelExportError(f"recording {recording.pk}: no frame at {', '.join(f'{t:.3f}' for t in missing[:5])} s "
                           f"in {video} (the video changed since it was labelled?)")


def _decode_into(video: Path, wanted: Iterable[float], files: dict[int, Path], *, skip_nonref: bool,
                 summary: ExportSummary) -> list[float]:
    pending = sorted(wanted)
    left: list[float] = []
    source = FileVideoSource(video, detection_fps=1.0, options=DecodeOptions(analysis_width=FRAME_WIDTH,
                                                                              skip_nonref=skip_nonref))
    with source:
        i = 0
        for frame in source.raw_frames():
            if frame.time is None:
                continue
            t = float(frame.time)
            while i < len(pending) and pending[i] < t - FRAME_TOLERANCE:
                left.append(pending[i])  # passed without a frame at its time
                i += 1
            if i == len(pending):
                break
            if abs(pending[i] - t) <= FRAME_TOLERANCE:
                image = fit_width(frame.to_ndarray(format="bgr24"), FRAME_WIDTH)
                files[_key(pending[i])].write_bytes(jpeg(image))
                summary.frames_written += 1
                i += 1
    return left + pending[i:]
