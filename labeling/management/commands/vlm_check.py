"""`manage.py vlm_check`: each configured VLM backend, reachable, model present, answering in the schema."""
from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from labeling.backend_status import backend_name, backend_status_record_check
from labeling.services.vlm_check import BackendCheck, backend_check
from labeling.services.vlm_label import backend_config, configured_backends


class Command(BaseCommand):
    help = "Check every configured VLM backend (VODSCOPE_VLM_BACKENDS) or those named with --backend."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--backend", action="append", choices=["gemini", "ollama", "openai"])
        parser.add_argument("--base-url", default="", help="for a single --backend")
        parser.add_argument("--model", default="", help="for a single --backend")

    def handle(self, *args: Any, **options: Any) -> None:
        keys = options["backend"]
        if keys:
            configs = [backend_config(k, model=options["model"], base_url=options["base_url"]) for k in keys]
        else:
            configs = list(configured_backends())
        if not configs:
            raise CommandError("no VLM backend configured: set VODSCOPE_VLM_BACKENDS or pass --backend")
        failed = 0
        for config in configs:
            try:
                check = backend_check(config)
            except ImproperlyConfigured as exc:
                backend_status_record_check(BackendCheck(backend_name(config), False, str(exc)))
                self.stdout.write(f"{config.type_key}: FAILED {exc}")
                failed += 1
                continue
            backend_status_record_check(check)  # the admin's backend health
            self.stdout.write(f"{check.backend}: {'OK' if check.ok else 'FAILED'} {check.message}")
            failed += not check.ok
        if failed:
            raise CommandError(f"{failed} of {len(configs)} VLM backends unusable")
