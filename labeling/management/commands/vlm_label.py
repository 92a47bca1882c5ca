"""`manage.py vlm_label`: the VLM analyst over a recording or a video, one JSONL line per window."""
from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from detection.models import Recording
from detection.pipeline.profile import ProfileError
from detection.pipeline.source import VideoSourceError
from detection.pipeline.windows import WindowSpec
from labeling.analyst import Limits
from labeling.services.vlm_label import LabelOptions, backend_config, vlm_label_run


class Command(BaseCommand):
    help = "Label gameplay windows with a vision-language model; writes one JSON line per window."

    def add_arguments(self, parser: ArgumentParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--recording", type=int, help="a registered recording's id (windows only in --states "
                                                          "once detection has run)")
        which.add_argument("--video", help="a video file (every window)")
        parser.add_argument("--backend", action="append", required=True, choices=["gemini", "ollama", "openai"],
                            help="repeat for a fallback chain, first tried first")
        parser.add_argument("--base-url", default="", help="the first backend's server (default from the environment)")
        parser.add_argument("--model", default="", help="the first backend's model (default from settings)")
        parser.add_argument("--window-frames", type=int, default=5)
        parser.add_argument("--window-seconds", type=float, default=2.0)
        parser.add_argument("--stride", type=float, default=2.0, help="seconds between window starts")
        parser.add_argument("--concurrency", type=int, default=settings.VODSCOPE_VLM_CONCURRENCY,
                            help="requests in flight at most")
        parser.add_argument("--requests-per-minute", type=float, default=settings.VODSCOPE_VLM_REQUESTS_PER_MINUTE)
        parser.add_argument("--token-budget", type=int, default=settings.VODSCOPE_VLM_TOKEN_BUDGET,
                            help="tokens in + out for the run; windows past it fail (0: none)")
        parser.add_argument("--states", default="raid_active", help="comma-separated game states to label")
        parser.add_argument("--prompt-version", default="", help="default: the profile's labels.prompt")
        parser.add_argument("--no-ocr", action="store_true", help="do not read HUD values by OCR")
        parser.add_argument("--output", required=True, help="the JSONL file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        recording = None
        if options["recording"] is not None:
            recording = Recording.objects.filter(pk=options["recording"]).first()
            if recording is None:
                raise CommandError(f"no recording with id {options['recording']}")
            video = recording.video_path
        else:
            video = Path(options["video"])
        try:
            chain = [backend_config(options["backend"][0], model=options["model"], base_url=options["base_url"])]
            chain += [backend_config(key) for key in options["backend"][1:]]
            run = LabelOptions(
                backends=tuple(chain),
                spec=WindowSpec(frames=options["window_frames"], seconds=options["window_seconds"],
                                stride=options["stride"]),
                limits=Limits(concurrency=options["concurrency"], requests_per_minute=options["requests_per_minute"],
                              token_budget=options["token_budget"]),
                states=tuple(s.strip() for s in options["states"].split(",") if s.strip()),
                prompt_version=options["prompt_version"],
                ocr=not options["no_ocr"],
            )
        except (ValueError, ImproperlyConfigured) as exc:
            raise CommandError(str(exc)) from exc
        output = Path(options["output"])
        if not video.is_file():
            raise CommandError(f"{video}: no such video file")
        bar = tqdm(unit="window", desc="vlm", disable=None)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            with output.open("w", encoding="utf-8") as handle:
                summary = vlm_label_run(video=video, options=run, recording=recording, output=handle, progress=progress)
        except (VideoSourceError, ProfileError, ImproperlyConfigured, ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        self.stdout.write(
            f"{summary.windows} windows ({summary.skipped} skipped outside {','.join(run.states)}): "
            f"{summary.labelled} labelled ({summary.cached} from cache, {summary.ocr_fallback} OCR fallback), "
            f"{summary.failed} failed, {summary.flagged} flagged; {summary.requests} requests, "
            f"{summary.tokens_in}+{summary.tokens_out} tokens, {summary.seconds:.1f} s → {output}"
        )
