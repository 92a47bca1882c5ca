"""`manage.py register_model PATH`: an ONNX file from the models folder becomes a model version (staff's way in)."""
from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from detection.pipeline.profile import load_profile
from detection.services.model_versions import ModelVersionError, model_version_activate, model_version_register


class Command(BaseCommand):
    help = "Register an ONNX model from VODSCOPE_MODELS_DIR as a model version that detect jobs can choose."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", help="the .onnx file, inside the models folder (a relative path is taken from there)")
        parser.add_argument("--profile", default=settings.VODSCOPE_GAME_PROFILE, help="the game profile it detects for")
        parser.add_argument("--activate", action="store_true", help="make it the version runs use by default")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            version = model_version_register(path=options["path"], profile=load_profile(options["profile"]))
        except ModelVersionError as exc:
            raise CommandError(str(exc)) from exc
        if options["activate"]:
            model_version_activate(version=version)
        state = "active" if version.active else "not active"
        self.stdout.write(f"model version #{version.pk} {version.name} ({version.profile}, {state}) sha256 {version.sha256}")
