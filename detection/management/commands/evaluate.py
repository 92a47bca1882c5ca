"""`manage.py evaluate --truth T.json --events E.json [--json]`: score an event log against truth."""
from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from detection.evaluation import TOLERANCE_SECONDS, evaluate
from detection.pipeline.event_log import EventLogError, read_event_log


class Command(BaseCommand):
    help = "Per type precision, recall, timestamp error and field accuracy of an event log against a truth file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--truth", required=True)
        parser.add_argument("--events", required=True)
        parser.add_argument("--tolerance", type=float, default=TOLERANCE_SECONDS, help="seconds (default: %(default)s)")
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            truth, found = read_event_log(options["truth"]), read_event_log(options["events"])
        except (OSError, EventLogError) as exc:
            raise CommandError(str(exc)) from exc
        result = evaluate(truth, found, tolerance=options["tolerance"])
        self.stdout.write(json.dumps(result.to_json(), indent=2) if options["json"] else result.table())
