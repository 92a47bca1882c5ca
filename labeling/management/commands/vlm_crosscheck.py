"""`manage.py vlm_crosscheck`: ask a VLM whether each detected event of a recording is really on screen."""
from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from detection.models import DetectedEvent, Recording
from detection.pipeline.profile import ProfileError
from labeling.analyst import Limits
from labeling.crosscheck import PROMPT_VERSION, CrosscheckOptions, events_crosscheck
from labeling.services.vlm_label import DbCache, backend_config


class Command(BaseCommand):
    help = ("Cross-check a recording's detected events (kills, raid starts and ends) with a VLM; the answers go "
            "into each event's evidence and a disagreement ranks the event first in review.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--recording", type=int, required=True)
        parser.add_argument("--backend", required=True, choices=["gemini", "ollama", "openai"])
        parser.add_argument("--model", default="", help="default from settings (VODSCOPE_VLM_<BACKEND>_MODEL)")
        parser.add_argument("--base-url", default="", help="the backend's server (default from the environment)")
        parser.add_argument("--prompt-version", default=PROMPT_VERSION)
        parser.add_argument("--frames", type=int, default=3, help="images per event (2 a second from its time)")
        parser.add_argument("--concurrency", type=int, default=settings.VODSCOPE_VLM_CONCURRENCY)

    def handle(self, *args: Any, **options: Any) -> None:
        recording = Recording.objects.filter(pk=options["recording"]).first()
        if recording is None:
            raise CommandError(f"no recording with id {options['recording']}")
        try:
            run = CrosscheckOptions(
                backend=backend_config(options["backend"], model=options["model"], base_url=options["base_url"]),
                prompt_version=options["prompt_version"], frames=options["frames"],
                limits=Limits(concurrency=options["concurrency"],
                              requests_per_minute=settings.VODSCOPE_VLM_REQUESTS_PER_MINUTE),
            )
            result = events_crosscheck(recording=recording, options=run, cache=DbCache())
        except (ValueError, ImproperlyConfigured, ProfileError) as exc:
            raise CommandError(str(exc)) from exc
        disputed = DetectedEvent.objects.filter(recording=recording, evidence__vlm_check__agrees=False)
        for event in disputed.order_by("video_offset_seconds"):
            check = event.evidence["vlm_check"]
            self.stdout.write(f"disputed: {event.event_type} at {event.video_offset_seconds:.1f} s: "
                              f"{check.get('rationale', '')}")
        self.stdout.write(
            f"{result.model}, prompt {result.prompt_version}: {result.events} events, {result.agreed} agreed, "
            f"{result.disputed} disputed, {result.unclear} unclear, {result.failed} failed, {result.skipped} "
            f"skipped (no image), {result.requests} requests, {result.cached} answers from the cache"
        )
