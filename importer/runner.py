"""Imports as a whole: sources (event-log files, reviewed recordings) → plans → client → summary.

The CLI (`manage.py import_events`) and the Celery import job both land here.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from detection.models import DetectedEvent, Job, Recording
from detection.pipeline.event_log import EventLogError, read_event_log
from importer.client import ImportClient, RetryPolicy
from importer.ledger import DbLedger
from importer.models import ImportTarget
from importer.plan import PlanError, SessionPlan, build_session_plan
from importer.summary import ImportSummary, SessionOutcome
from importer.transport import HttpTransport, LocalTransport, Transport

MAX_RESULT_LINES = 500


def event_log_files(path: str | Path) -> list[Path]:
    root = Path(path)
    if root.is_dir():
        return sorted(p for p in root.rglob("*.json") if p.is_file())
    if not root.is_file():
        raise FileNotFoundError(f"{root}: no such file or folder")
    return [root]


def plans_from_files(paths: Iterable[Path], *, session_type: str | None) -> tuple[list[SessionPlan], list[SessionOutcome]]:
    plans: list[SessionPlan] = []
    failures: list[SessionOutcome] = []
    for path in paths:
        try:
            log = read_event_log(path)
            plans.append(build_session_plan(log, source=path.name, session_type=session_type))
        except (EventLogError, PlanError, OSError) as exc:
            failures.append(SessionOutcome(source=path.name, started_at="", status="failed", error=str(exc)))
    return plans, failures


def plans_from_recordings(
    recordings: Iterable[Recording], *, session_type: str | None
) -> tuple[list[SessionPlan], list[SessionOutcome], int]:
    """Non-deleted events are the reviewed log; the third value counts those nobody reviewed yet."""
    from review.export import recording_event_log

    plans: list[SessionPlan] = []
    failures: list[SessionOutcome] = []
    unreviewed = 0
    for recording in recordings:
        if recording.started_at is None:
            failures.append(
                SessionOutcome(source=recording.title, started_at="", status="failed",
                               error="the recording has no start time; set it before importing")
            )
            continue
        unreviewed += recording.events.filter(review_status=DetectedEvent.ReviewStatus.UNREVIEWED).count()
        log = recording_event_log(recording=recording)
        try:
            plans.append(
                build_session_plan(
                    log,
                    source=recording.title,
                    session_type=session_type or recording.session_type,
                    started_at=recording.started_at,
                    recording_id=recording.pk,
                )
            )
        except PlanError as exc:
            failures.append(SessionOutcome(source=recording.title, started_at="", status="failed", error=str(exc)))
    return plans, failures, unreviewed


def import_run(
    *,
    plans: list[SessionPlan],
    failures: list[SessionOutcome],
    transport: Transport,
    dry_run: bool = False,
    mode: str = "auto",
    echo: Callable[[str], None] = print,
    on_session: Callable[[int, int, SessionOutcome], None] | None = None,
    policy: RetryPolicy | None = None,
) -> ImportSummary:
    client = ImportClient(
        transport, DbLedger(), mode=mode, dry_run=dry_run, echo=echo, on_session=on_session, policy=policy
    )
    summary = client.run(plans)
    summary.sessions = failures + summary.sessions
    return summary


def transport_for(user: Any) -> Transport:
    """The user's saved target: a stream-producer URL and token, or (by default) their hosted data."""
    target = ImportTarget.objects.filter(owner=user).first()
    if target is None or not target.api_url:
        return LocalTransport(user)
    return HttpTransport(target.api_url, target.token)


def import_job_handler(job: Job, progress: Any) -> dict[str, Any]:
    """Job params: `recording_ids`, `dry_run`, `session_type` (optional)."""
    ids = [int(i) for i in job.params.get("recording_ids") or ([job.recording_id] if job.recording_id else [])]
    recordings = list(Recording.objects.filter(pk__in=ids).order_by("started_at", "pk"))
    plans, failures, unreviewed = plans_from_recordings(recordings, session_type=job.params.get("session_type"))
    progress.update(0, len(plans), f"Importing {len(plans)} session(s)", force=True)
    lines: list[str] = []

    def on_session(done: int, total: int, outcome: SessionOutcome) -> None:
        progress.update(done, total, f"{done} of {total} sessions: {outcome.source} {outcome.status}", force=True)

    summary = import_run(
        plans=plans,
        failures=failures,
        transport=transport_for(job.created_by),
        dry_run=bool(job.params.get("dry_run")),
        echo=lines.append,
        on_session=on_session,
    )
    lines += summary.lines()
    result = summary.to_json()
    result.update(unreviewed_events=unreviewed, output=lines[:MAX_RESULT_LINES], dry_run=bool(job.params.get("dry_run")))
    return result
