"""`manage.py summarize`: each raid and the whole session of a recording, summarised by a text model."""
from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from detection.models import Recording
from detection.pipeline.profile import ProfileError
from labeling.backends.guard import Limits
from labeling.reasoning.chunks import BudgetTooSmall
from labeling.reasoning.summarize import PROMPT_VERSION, NoRaids, ReasoningOptions, session_summarize
from labeling.reasoning.text_model import text_backend_config
from labeling.services.vlm_label import DbCache
from labeling.summary_models import RaidSummary, SessionSummary


class Command(BaseCommand):
    help = "Summarise each raid of a recording and its whole session with a text model (cached, deterministic)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--recording", type=int, required=True, help="a registered recording's id (detected)")
        parser.add_argument("--backend", default="", choices=["gemini", "ollama", "openai"],
                            help=f"default VODSCOPE_TEXT_BACKEND ({settings.VODSCOPE_TEXT_BACKEND})")
        parser.add_argument("--model", default="", help="default VODSCOPE_TEXT_MODEL for the text backend, "
                                                        "VODSCOPE_VLM_<BACKEND>_MODEL for another")
        parser.add_argument("--base-url", default="", help="the backend's server (default from the environment)")
        parser.add_argument("--prompt-version", default=PROMPT_VERSION,
                            help="a file under detection/profiles/prompts/<profile>/")
        parser.add_argument("--context-tokens", type=int, default=ReasoningOptions.context_tokens,
                            help="the model's context window: every request (answer included) stays under it")
        parser.add_argument("--concurrency", type=int, default=settings.VODSCOPE_VLM_CONCURRENCY)

    def handle(self, *args: Any, **options: Any) -> None:
        recording = Recording.objects.filter(pk=options["recording"]).first()
        if recording is None:
            raise CommandError(f"no recording with id {options['recording']}")
        try:
            run = ReasoningOptions(
                backend=text_backend_config(options["backend"], model=options["model"], base_url=options["base_url"]),
                prompt_version=options["prompt_version"], context_tokens=options["context_tokens"],
                limits=Limits(concurrency=options["concurrency"],
                              requests_per_minute=settings.VODSCOPE_VLM_REQUESTS_PER_MINUTE),
            )
            result = session_summarize(recording=recording, options=run, cache=DbCache(),
                                       progress=lambda done, total: self.stderr.write(f"\r{done}/{total} summaries",
                                                                                      ending=""))
        except (ValueError, ImproperlyConfigured, ProfileError, NoRaids, BudgetTooSmall) as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write("")
        for raid in RaidSummary.objects.filter(recording=recording, model=result.model,
                                               prompt_version=result.prompt_version).order_by("raid_index"):
            line = (raid.summary or {}).get("title", "") if raid.status == "ok" else f"FAILED: {raid.error}"
            self.stdout.write(f"raid {raid.raid_index}: {line}{' (cached)' if raid.cached else ''}")
        session = SessionSummary.objects.get(recording=recording, model=result.model,
                                             prompt_version=result.prompt_version)
        if session.status == "ok" and session.summary:
            self.stdout.write(f"session: {session.summary['title']}\n{session.summary['summary']}")
        else:
            self.stdout.write(f"session: FAILED: {session.error}")
        self.stdout.write(
            f"{result.model}, prompt {result.prompt_version}: {result.raids} raids ({result.raids_failed} failed), "
            f"levels {result.levels}, {result.requests} requests, {result.cached} answers from the cache, "
            f"{result.tokens_in}+{result.tokens_out} tokens, largest prompt ~{result.largest_request_tokens} tokens "
            f"of the {run.context_tokens - run.answer_tokens} it may take ({run.context_tokens} context, "
            f"{run.answer_tokens} kept for the answer), {result.seconds} s"
        )
