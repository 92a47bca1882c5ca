"""Job lifecycle: the Job row is the truth, Celery only delivers its id.

Every kind of long work (detect, vlm, import, export, train, proxy) goes through
`job_create` → Celery task → `job_run(job_id=..., handler=...)`. The handler gets a
`JobProgress` that throttles progress writes, keeps a heartbeat and raises
`JobCancelled` once somebody cancels the job.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from detection.models import Job, Recording

logger = logging.getLogger(__name__)

# Celery task names per kind; resolved by name so the job service imports no app's tasks.
JOB_TASK_NAMES: dict[str, str] = {
    Job.Kind.DETECT: "detection.tasks.run_detect_job",
    Job.Kind.PROXY: "review.tasks.run_proxy_job",
    Job.Kind.IMPORT: "importer.tasks.run_import_job",
    Job.Kind.EXPORT: "labeling.tasks.run_export_job",
    Job.Kind.TRAIN: "labeling.tasks.run_train_job",
    Job.Kind.VLM: "labeling.tasks.run_vlm_job",
}
STALE_HEARTBEAT = timedelta(seconds=60)


class JobCancelled(Exception):
    """Raised inside a handler when its job was cancelled; the runner marks the row."""


class JobProgress:
    """Handed to a job handler: `update(done, total, message)`; checkpoints survive a dead worker."""

    def __init__(self, job: Job, *, min_interval: float = 0.5) -> None:
        self.job = job
        self._min_interval = min_interval
        self._last_write = 0.0
        self._last_done: int | None = None
        self._rate = 0.0

    def update(self, done: int, total: int | None = None, message: str | None = None, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_write < self._min_interval:
            return
        elapsed = now - self._last_write
        if self._last_done is not None and elapsed > 0 and done >= self._last_done:
            # Smoothed, not averaged since start: a resumed job starts at its checkpoint, not at zero.
            instant = (done - self._last_done) / elapsed
            self._rate = instant if self._rate == 0 else 0.3 * instant + 0.7 * self._rate
        self._last_write = now
        self._last_done = done
        fields: dict[str, Any] = {"progress_done": done, "progress_rate": self._rate, "heartbeat_at": timezone.now()}
        if total is not None:
            fields["progress_total"] = total
        if message is not None:
            fields["message"] = message[:500]
        Job.objects.filter(pk=self.job.pk).update(**fields)
        self.raise_if_cancelled()

    def save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.job.checkpoint = checkpoint
        Job.objects.filter(pk=self.job.pk).update(checkpoint=checkpoint, heartbeat_at=timezone.now())

    def raise_if_cancelled(self) -> None:
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobCancelled(f"job {self.job.pk} was cancelled")


def job_create(
    *,
    kind: str,
    recording: Recording | None = None,
    created_by: Any = None,
    params: dict[str, Any] | None = None,
) -> Job:
    if kind not in JOB_TASK_NAMES:
        raise ValueError(f"unknown job kind {kind!r}; known: {sorted(JOB_TASK_NAMES)}")
    job = Job.objects.create(kind=kind, recording=recording, created_by=created_by, params=params or {})
    transaction.on_commit(lambda: job_enqueue(job=job))
    return job


def job_enqueue(*, job: Job) -> None:
    from project.celery import app

    name = JOB_TASK_NAMES[job.kind]
    if app.conf.task_always_eager:
        # send_task ignores eager mode; embedded tests (and VODSCOPE_JOBS_EAGER) run the task inline.
        task = app.tasks.get(name)
        if task is None:
            logger.warning("job %s stays queued: no task %s is registered in this process", job.pk, name)
            return
        Job.objects.filter(pk=job.pk).update(celery_task_id="eager")
        task.apply(args=[job.pk])
        return
    result = app.send_task(name, args=[job.pk], queue=job.kind)
    Job.objects.filter(pk=job.pk).update(celery_task_id=result.id or "")


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


def job_requeue_orphans(*, stale_after: timedelta = STALE_HEARTBEAT) -> list[int]:
    """Running jobs whose worker stopped beating are put back in the queue (called on worker start)."""
    cutoff = timezone.now() - stale_after
    # Cancelled while its worker was gone: nobody is left to notice, so finish it here.
    Job.objects.filter(status=Job.Status.RUNNING, cancel_requested=True).exclude(heartbeat_at__gte=cutoff).update(
        status=Job.Status.CANCELLED, finished_at=timezone.now(), message="Cancelled (its worker had stopped)"
    )
    orphans = list(
        Job.objects.filter(status=Job.Status.RUNNING, cancel_requested=False)
        .exclude(heartbeat_at__gte=cutoff)
        .values_list("pk", flat=True)
    )
    for job_id in orphans:
        updated = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
            status=Job.Status.QUEUED, message="Re-queued after its worker stopped"
        )
        if updated:
            job_enqueue(job=Job.objects.get(pk=job_id))
    if orphans:
        logger.warning("re-queued orphaned jobs %s", orphans)
    return orphans


def _claim(job_id: int) -> Job | None:
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != Job.Status.QUEUED:
            return None
        if job.cancel_requested:
            job.status = Job.Status.CANCELLED
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "finished_at"])
            return None
        job.status = Job.Status.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.error = ""
        job.save(update_fields=["status", "attempts", "started_at", "heartbeat_at", "error"])
        return job


class _Heartbeat(threading.Thread):
    def __init__(self, job_id: int, interval: float) -> None:
        super().__init__(daemon=True, name=f"job-{job_id}-heartbeat")
        self.job_id = job_id
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING).update(heartbeat_at=timezone.now())
        finally:
            connection.close()  # this thread's own connection; left open it outlives the test database


def job_run(*, job_id: int, handler: Callable[[Job, JobProgress], dict[str, Any] | None]) -> Job | None:
    """Claim the job, run the handler, record the outcome. Returns None when there was nothing to run."""
    job = _claim(job_id)
    if job is None:
        return None
    heartbeat = _Heartbeat(job.pk, settings.VODSCOPE_JOB_HEARTBEAT_SECONDS)
    heartbeat.start()
    progress = JobProgress(job)
    try:
        result = handler(job, progress)
    except JobCancelled:
        _finish(job, status=Job.Status.CANCELLED, message="Cancelled")
    except Exception as exc:  # the row must say why, whatever went wrong
        logger.exception("job %s failed", job.pk)
        _finish(job, status=Job.Status.FAILED, error=f"{type(exc).__name__}: {exc}", message="Failed")
    else:
        _finish(job, status=Job.Status.SUCCEEDED, result=result, message="Done")
    finally:
        heartbeat.stopped.set()
        heartbeat.join(timeout=5)
    job.refresh_from_db()
    return job


def _finish(
    job: Job, *, status: str, message: str, error: str = "", result: dict[str, Any] | None = None
) -> None:
    fields: dict[str, Any] = {"status": status, "finished_at": timezone.now(), "message": message, "error": error}
    if result is not None:
        fields["result"] = result
    if status == Job.Status.SUCCEEDED:
        current = Job.objects.filter(pk=job.pk).values_list("progress_total", flat=True).first()
        if current:
            fields["progress_done"] = current
    Job.objects.filter(pk=job.pk).update(**fields)
