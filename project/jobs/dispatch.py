"""Celery's side of jobs: the one task that runs any job by id, sent to the queue of the job's kind.

Delivery is at least once (`acks_late`: a message is acknowledged only once its run ends). When the
process running a job dies, its worker puts the job back to QUEUED and sends it again at once, so the
prefork parent's fresh child, or any other worker, resumes it from its checkpoint; the dead delivery's
own message goes back to the broker too (`reject_on_worker_lost`), for when the database could not be
reached then. A second delivery of a job already running or done claims nothing (see runner._claim).
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from billiard.einfo import ExceptionInfo
from billiard.einfo import ExceptionWithTraceback  # type: ignore[attr-defined]  # billiard has it; celery-types' stub lacks it
from billiard.exceptions import WorkerLostError
from celery import Task, shared_task
from celery.utils import uuid
from celery.worker.request import Request
from django.db import DatabaseError
from django.utils import timezone

from detection.models import Job
from project.jobs.registry import JobHandler, JobKindUnknown, job_kind_for
from project.jobs.runner import JobProgress, job_release_lost, job_run, jobs_release_stale

logger = logging.getLogger(__name__)
RUN_JOB_TASK = "project.jobs.run_job"


class JobRequest(Request):
    """Runs in the worker's main process, which outlives the child that ran the job."""

    def on_failure(self, exc_info: ExceptionInfo, send_failed_event: bool = True, return_ok: bool = False) -> None:
        exc = exc_info.exception
        if isinstance(exc, ExceptionWithTraceback):
            exc = exc.exc
        if isinstance(exc, WorkerLostError | SystemExit | KeyboardInterrupt):
            # Before the message goes back to the broker (super() rejects it), or its next delivery
            # would find the job still RUNNING and leave it to the slower stale-heartbeat sweep.
            job_id = int(self.args[0])
            try:
                if job_release_lost(job_id=job_id, task_id=self.id):
                    logger.warning("job %s re-queued: the process running it died (%s)", job_id, exc)
                    job_enqueue(job=Job.objects.get(pk=job_id))
            except DatabaseError:
                logger.exception("job %s: could not re-queue it; the orphan sweep will", self.args[0])
        super().on_failure(exc_info, send_failed_event=send_failed_event, return_ok=return_ok)


class JobTask(Task[[int], None]):
    Request = JobRequest  # type: ignore[assignment]  # celery takes the class or its dotted path; celery-types knows only the path
    acks_late = True
    reject_on_worker_lost = True
    ignore_result = True


@shared_task(base=JobTask, bind=True, name=RUN_JOB_TASK)
def run_job(self: JobTask, job_id: int) -> None:
    kind = Job.objects.filter(pk=job_id).values_list("kind", flat=True).first()
    if kind is None:
        return  # deleted since it was sent
    job_run(job_id=job_id, handler=_handler_for(kind), task_id=self.request.id or "")


def _handler_for(kind: str) -> JobHandler:
    try:
        return job_kind_for(kind).handler
    except JobKindUnknown as exc:
        refusal = exc

        def refuse(job: Job, progress: JobProgress) -> dict[str, Any] | None:
            raise refusal  # this worker lacks the app that registers the kind: the job fails saying so

        return refuse


def job_enqueue(*, job: Job) -> None:
    """Send the job to its kind's queue (inline when `task_always_eager`: embedded tests, VODSCOPE_JOBS_EAGER)."""
    queue = job_kind_for(job.kind).queue
    task_id = uuid()
    Job.objects.filter(pk=job.pk).update(celery_task_id=task_id)
    run_job.apply_async(args=(job.pk,), queue=queue, task_id=task_id)


def job_requeue_orphans(*, stale_after: timedelta) -> list[int]:
    """Running jobs whose worker stopped beating go back to their queue; returns their ids."""
    orphans = jobs_release_stale(stale_after=stale_after)
    for job_id in orphans:
        job = Job.objects.get(pk=job_id)
        try:
            job_enqueue(job=job)
        except JobKindUnknown as exc:
            Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
                status=Job.Status.FAILED, finished_at=timezone.now(), message="Failed", error=str(exc)
            )
    if orphans:
        logger.warning("re-queued orphaned jobs %s", orphans)
    return orphans
