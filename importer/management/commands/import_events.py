"""`manage.py import_events PATH|DIR --api-url URL [--token T] [--dry-run] [--session-type T]`."""
from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from importer.client import GaveUp, RetryPolicy
from importer.contract import SESSION_TYPES
from importer.runner import event_log_files, import_run, plans_from_files
from importer.transport import HttpTransport


class Command(BaseCommand):
    help = "Import reviewed JSON event logs (a file or a folder of them) into a stream-producer API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="an event-log JSON file or a folder searched for *.json")
        parser.add_argument("--api-url", required=True, help="base URL of the stream-producer app, e.g. http://127.0.0.1:8080")
        parser.add_argument("--token", default=os.environ.get("VODSCOPE_IMPORT_TOKEN", ""),
                            help="API token (default: $VODSCOPE_IMPORT_TOKEN)")
        parser.add_argument("--dry-run", action="store_true", help="print every call with its body; send none")
        parser.add_argument("--session-type", choices=SESSION_TYPES, help="override the logs' session type")
        parser.add_argument("--mode", choices=["auto", "atomic", "individual"], default="auto",
                            help="auto: the atomic call, or individual calls where the target lacks it")
        parser.add_argument("--retries", type=int, default=8, help="attempts per call on transient failures")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            files = event_log_files(options["path"])
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from None
        plans, failures = plans_from_files(files, session_type=options["session_type"])
        self.stdout.write(f"{len(files)} file(s), {len(plans)} session(s) planned, {len(failures)} unreadable")
        try:
            summary = import_run(
                plans=plans,
                failures=failures,
                transport=HttpTransport(options["api_url"], options["token"]),
                dry_run=options["dry_run"],
                mode=options["mode"],
                echo=self.stdout.write,
                policy=RetryPolicy(attempts=max(1, options["retries"])),
            )
        except GaveUp as exc:
            raise CommandError(f"the target did not answer: {exc}") from None
        for line in summary.lines():
            self.stdout.write(line)
        if summary.failed or (summary.verification and not summary.verification["ok"]):
            raise CommandError(f"{summary.failed} session(s) failed" if summary.failed else "stats check failed")
