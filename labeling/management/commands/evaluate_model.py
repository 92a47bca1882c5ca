"""`manage.py evaluate_model [--model ID|NAME ...]`: measure versions on the held-out frames and render.

The same figures a train job records for the version it registers and the active one (the detector's mAP50 on
the fixed held-out frames, the pipeline's events on the held-out render), for any registered version: a version
registered by hand, or one measured before the held-out render existed, can then be compared on the Models page.
Without --model: the active one. A version already measured is not measured again.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from detection.models import ModelVersion
from detection.pipeline.profile import load_profile
from detection.services.model_versions import ModelVersionError, model_version_choose
from labeling.training.heldout import heldout_evaluate
from labeling.training.heldout_events import heldout_events_evaluate
from labeling.training.selectors import EVENT_ROW_ORDER, model_versions_listed


class Command(BaseCommand):
    help = "Measure model versions on the held-out frames and the held-out render (kept on each version)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", action="append", default=[], help="a model version id or name (repeat)")

    def handle(self, *args: Any, **options: Any) -> None:
        profile = load_profile(settings.VODSCOPE_GAME_PROFILE)
        versions = [self._version(raw) for raw in options["model"]] or [
            model_version_choose(version_id=None, profile=profile)]
        for version in versions:
            try:
                frames = heldout_evaluate(version=version, profile=profile)
                events = heldout_events_evaluate(version=version, profile=profile)
            except ModelVersionError as exc:
                raise CommandError(str(exc)) from None
            line = f"{version.name}: held-out frames mAP50 {frames['map50']:.3f}"
            if events is not None:
                line += "; held-out render " + ", ".join(
                    f"{kind} {events['types'][kind]['matched']}/{events['types'][kind]['truth']}"
                    for kind in EVENT_ROW_ORDER if kind in events["types"])
            self.stdout.write(line)

    @staticmethod
    def _version(raw: str) -> ModelVersion:
        listed = model_versions_listed()
        found = listed.filter(pk=int(raw)).first() if raw.isdigit() else listed.filter(name=raw).first()
        if found is None:
            raise CommandError(f"no model version {raw!r} of profile {settings.VODSCOPE_GAME_PROFILE}")
        return found
