"""Creating and cancelling jobs: the rules hold for every caller (API, pages, admin actions, commands)."""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from detection.models import Job, Recording
from project.jobs.dispatch import job_enqueue
from project.jobs.registry import JobRefused, job_kind_for


class JobAlreadyActive(JobRefused):
    """A kind that allows one active job per recording already has one there: `job` is that one."""

    def __init__(self, job: Job) -> None:
        self.job = job
        super().__init__(f"{job.get_kind_display()} job #{job.pk} is already {job.status} on this recording")


def job_create(
    *,
    kind: str,
    recording: Recording | None = None,
    created_by: Any = None,
    params: dict[str, Any] | None = None,
) -> Job:
    """The row first, the message once the row is committed. Raises JobRefused (unknown kind, one active)."""
    rules = job_kind_for(kind)
    with transaction.atomic():
        if rules.one_active_per_recording and recording is not None:
            # The recording's row lock makes two simultaneous requests queue up here: only one job results.
            Recording.objects.select_for_update().filter(pk=recording.pk).first()
            active = Job.objects.filter(recording=recording, kind=kind, status__in=Job.ACTIVE_STATUSES).first()
            if active is not None:
                raise JobAlreadyActive(active)
        job = Job.objects.create(kind=kind, recording=recording, created_by=created_by, params=params or {})
        transaction.on_commit(lambda: job_enqueue(job=job))
    return job


def job_cancel(*, job: Job) -> Job:
    """Queued jobs stop at once; running ones at their next progress update."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status not in Job.ACTIVE_STATUSES:
            return job
        job.cancel_requested = True
        fields = ["cancel_requested"]
        if job.status == Job.Status.QUEUED:
            job.status = Job.Status.CANCELLED
            job.finished_at = timezone.now()
            job.message = "Cancelled before it started"
            fields += ["status", "finished_at", "message"]
        job.save(update_fields=fields)
    return job
