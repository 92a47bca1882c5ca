"""`manage.py detect`: the pipeline on one video or a folder, one JSON event log per video and a summary."""
from __future__ import annotations

import json
import time
from argparse import ArgumentParser
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from tqdm import tqdm

from detection.models import SessionType
from detection.pipeline.detector import ModelError
from detection.pipeline.event_log import parse_timestamp, write_event_log
from detection.pipeline.factory import build_pipeline, event_log_for, open_source, weights_name
from detection.pipeline.probe import probe_video
from detection.pipeline.profile import load_profile
from detection.pipeline.run_settings import DetectSettings, SettingsError, run_metadata
from detection.pipeline.source import VideoSourceError
from detection.services.model_versions import ModelVersionError, detect_settings_for, model_ref_for_option


class Command(BaseCommand):
    help = "Detect game events in recordings; writes <name>.events.json per video and summary.json."

    def add_arguments(self, parser: ArgumentParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--video", help="one video file")
        which.add_argument("--video-dir", help="every video in this folder (not recursive)")
        parser.add_argument("--start-time", help="ISO 8601 real time of the first frame (default: the container's creation_time)")
        parser.add_argument("--session-type", choices=[c.value for c in SessionType], default=SessionType.STREAM)
        parser.add_argument("--output", default="detections", help="folder for the event logs (default ./detections)")
        parser.add_argument("--detection-fps", type=float, default=None,
                            help=f"frames per video-second the detector looks at (default {settings.VODSCOPE_DETECTION_FPS:g})")
        parser.add_argument("--confidence-threshold", type=float, default=None,
                            help="the detector's score threshold (default: the game profile's)")
        parser.add_argument("--model", default=None,
                            help="model version (id or name) or an ONNX file (default: the active model version)")
        parser.add_argument("--profile", default=settings.VODSCOPE_GAME_PROFILE)
        parser.add_argument("--no-gate", action="store_true", help="run the model on every sampled frame")
        parser.add_argument("--two-pass", action="store_true",
                            help="keyframe proposal pass first, then decode only around what it found")
        parser.add_argument("--every-frame", action="store_true",
                            help="decode B-frames too (default: skip the frames nothing references when the video "
                                 "has two or more frames per sample; each sample is then the next reference frame)")

    def handle(self, *args: Any, **options: Any) -> None:
        videos = self._videos(options)
        start_time = parse_timestamp(options["start_time"], where="--start-time") if options["start_time"] else None
        profile = load_profile(options["profile"])
        try:
            model = model_ref_for_option(options["model"], profile=profile)
            detect = detect_settings_for(params=self._params(options), model=model)
            pipeline = build_pipeline(profile, detect)
        except (ModelVersionError, SettingsError, ModelError) as exc:
            raise CommandError(str(exc)) from exc
        except DatabaseError as exc:  # the model versions live in the database: a new VODSCOPE_HOME has none yet
            raise CommandError(f"the database is not ready ({exc}): run `manage.py migrate` first") from exc
        output = Path(options["output"])
        output.mkdir(parents=True, exist_ok=True)
        summary: list[dict[str, Any]] = []
        for video in videos:
            summary.append(self._one(video, pipeline, detect, start_time, options, output))
        (output / "summary.json").write_text(json.dumps({"videos": summary}, indent=2), encoding="utf-8")
        self._print_summary(summary)
        failed = [s for s in summary if s["error"]]
        if len(summary) == 1 and failed:
            raise CommandError(failed[0]["error"])
        if failed:
            raise CommandError(f"{len(failed)} of {len(summary)} videos failed; see {output / 'summary.json'}")

    @staticmethod
    def _params(options: dict[str, Any]) -> dict[str, Any]:
        """The options as the detect job's parameters: the same keys, the same defaults when left out."""
        params: dict[str, Any] = {
            "gate": not options["no_gate"],
            "two_pass": options["two_pass"],
            "skip_nonref": not options["every_frame"],
        }
        for key in ("detection_fps", "confidence_threshold"):
            if options[key] is not None:
                params[key] = options[key]
        return params

    def _videos(self, options: dict[str, Any]) -> list[Path]:
        if options["video"]:
            return [Path(options["video"])]
        folder = Path(options["video_dir"])
        if not folder.is_dir():
            raise CommandError(f"{folder}: not a folder")
        videos = sorted(p for p in folder.iterdir() if p.suffix.lower() in settings.VODSCOPE_VIDEO_EXTENSIONS)
        if not videos:
            raise CommandError(f"{folder}: no videos ({', '.join(settings.VODSCOPE_VIDEO_EXTENSIONS)})")
        return videos

    def _one(self, video: Path, pipeline: Any, detect: DetectSettings, start_time: datetime | None,
             options: dict[str, Any], output: Path) -> dict[str, Any]:
        record: dict[str, Any] = {"video": str(video), "events": 0, "error": "", "log": ""}
        started = time.perf_counter()
        try:
            info = probe_video(video, ffprobe=settings.VODSCOPE_FFPROBE)
            started_at = start_time or info.started_at
            source, proposal = open_source(video, pipeline, detect, started_at=started_at)
        except VideoSourceError as exc:
            record["error"] = f"{video}: {exc}"
            self.stderr.write(record["error"])
            return record
        with tqdm(total=int(info.duration), unit="video-s", desc=video.name, leave=False) as bar:
            def on_progress(video_time: float) -> None:
                bar.update(max(0, int(min(video_time, info.duration)) - bar.n))

            try:
                result = pipeline.run(source, on_progress=on_progress)
            finally:
                source.close()
        wall = time.perf_counter() - started
        metadata = {
            "video": video.name,
            **run_metadata(detect, profile=pipeline.profile.name, started_at=started_at,
                           weights=weights_name(pipeline.detector)),
            "started_at_source": "user" if start_time else info.started_at_source.value,
            "session_type": options["session_type"],
            "duration_seconds": round(info.duration, 3),
            "fps": info.fps,
            "resolution": f"{info.width}x{info.height}",
            "generator": "vodscope detect",
            "wall_seconds": round(wall, 2),
        }
        target = output / f"{video.stem}.events.json"
        if proposal is not None:
            metadata["proposal"] = {"keyframes": len(proposal.keyframes), "spans": len(proposal.spans),
                                    "decoded_seconds": round(proposal.covered, 1), "seconds": round(proposal.seconds, 2)}
        log = event_log_for(result, metadata=metadata, started_at=started_at,
                            thumbnail_dir=output / f"{video.stem}_thumbnails")
        write_event_log(log, target)
        counts: dict[str, int] = {}
        for event in result.events:
            counts[event.type] = counts.get(event.type, 0) + 1
        record.update(events=len(result.events), by_type=counts, error=result.error, log=str(target),
                      partial=result.partial, speed=round(info.duration / wall, 2) if wall else None,
                      timings=result.timings.to_json())
        if result.error:
            self.stderr.write(f"{video}: {result.error} (kept {len(result.events)} events, marked partial)")
        return record

    def _print_summary(self, summary: list[dict[str, Any]]) -> None:
        for item in summary:
            if item["error"] and not item["log"]:
                self.stdout.write(f"FAILED  {item['video']}: {item['error']}")
                continue
            types = ", ".join(f"{k}={v}" for k, v in sorted(item.get("by_type", {}).items()))
            state = "PARTIAL" if item.get("partial") else "ok"
            self.stdout.write(f"{state:7} {item['video']}: {item['events']} events ({types}); "
                              f"{item.get('speed')}x real time -> {item['log']}")
