"""`manage.py vlm_check`: each configured VLM backend, reachable, model present, answering in the schema; then
the text model of session reasoning (VODSCOPE_TEXT_*), answering a text request in JSON."""
from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from labeling.backend_status import backend_name, backend_status_record_check
from labeling.backends.base import BackendConfig
from labeling.reasoning.text_model import text_backend_config
from labeling.services.vlm_check import BackendCheck, backend_check, text_backend_check
from labeling.services.vlm_label import backend_config, configured_backends


class Command(BaseCommand):
    help = ("Check every configured VLM backend (VODSCOPE_VLM_BACKENDS) and the text model (VODSCOPE_TEXT_*), "
            "or the VLM backends named with --backend, or with --text the text model only.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--backend", action="append", choices=["gemini", "ollama", "openai"])
        parser.add_argument("--base-url", default="", help="for a single --backend")
        parser.add_argument("--model", default="", help="for a single --backend")
        parser.add_argument("--text", action="store_true",
                            help="check the text model only (--backend/--model/--base-url then override it)")

    def handle(self, *args: Any, **options: Any) -> None:
        keys = options["backend"]
        texts: list[BackendConfig] = []
        if options["text"]:
            if keys and len(keys) > 1:
                raise CommandError("--text checks one text model: give at most one --backend")
            configs = []
            texts = [text_backend_config(keys[0] if keys else "", model=options["model"], base_url=options["base_url"])]
        elif keys:
            configs = [backend_config(k, model=options["model"], base_url=options["base_url"]) for k in keys]
        else:
            configs, texts = list(configured_backends()), [text_backend_config()]
        failed = 0
        for config, check_of in [*((c, backend_check) for c in configs), *((c, text_backend_check) for c in texts)]:
            try:
                check = check_of(config)
            except ImproperlyConfigured as exc:
                backend_status_record_check(BackendCheck(backend_name(config), False, str(exc)))
                self.stdout.write(f"{config.type_key}: FAILED {exc}")
                failed += 1
                continue
            backend_status_record_check(check)  # the admin's backend health
            kind = " (text model)" if check_of is text_backend_check else ""
            self.stdout.write(f"{check.backend}{kind}: {'OK' if check.ok else 'FAILED'} {check.message}")
            failed += not check.ok
        if failed:
            raise CommandError(f"{failed} of {len(configs) + len(texts)} VLM backends unusable")
