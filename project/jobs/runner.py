"""Running a job: claim the row, run its handler, record the outcome. The Job row is the truth.

Every claim counts one more attempt, and that attempt number fences the run: progress, checkpoints,
heartbeats and the final status are written only while the row still carries the same attempt. A run
whose job was taken over (its worker was thought dead and another one resumed it) stops at its next
write and leaves the row to whoever now holds it, so a job is never finished twice.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from detection.models import Job
from project.jobs.registry import JobHandler

logger = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a handler when its job was cancelled; the runner marks the row."""


class JobSuperseded(BaseException):
    """Raised inside a handler whose job another worker has taken over.

    A BaseException, like KeyboardInterrupt: handlers catch `Exception` to record a failure, and a run that
    no longer owns its job must record nothing on its way out.
    """


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
        self._write(fields)
        self.raise_if_cancelled()

    def save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.job.checkpoint = checkpoint
        self._write({"checkpoint": checkpoint, "heartbeat_at": timezone.now()})

    def raise_if_cancelled(self) -> None:
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobCancelled(f"job {self.job.pk} was cancelled")

    def _write(self, fields: dict[str, Any]) -> None:
        if not _owned(self.job).update(**fields):
            raise JobSuperseded(f"job {self.job.pk} attempt {self.job.attempts} was taken over")


def _owned(job: Job) -> QuerySet[Job]:
    """The row, only while this run's attempt still holds it."""
    return Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts)


def job_run(*, job_id: int, handler: JobHandler, task_id: str = "") -> Job | None:
    """Claim the job, run the handler, record the outcome. Returns None when there was nothing to run."""
    job = _claim(job_id, task_id)
    if job is None:
        return None
    heartbeat = _Heartbeat(job, settings.VODSCOPE_JOB_HEARTBEAT_SECONDS)
    heartbeat.start()
    try:
        result = handler(job, JobProgress(job))
    except JobSuperseded:
        logger.warning("job %s attempt %s stopped: another worker took it over", job.pk, job.attempts)
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
    return Job.objects.filter(pk=job.pk).first()  # None if its recording was deleted meanwhile


def _claim(job_id: int, task_id: str) -> Job | None:
    """QUEUED → RUNNING under a row lock, so two deliveries of one job never both run it."""
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
        fields = ["status", "attempts", "started_at", "heartbeat_at", "error"]
        if task_id:
            # The delivery that runs it: a worker that sees this delivery's process die re-queues the job.
            job.celery_task_id = task_id
            fields.append("celery_task_id")
        job.save(update_fields=fields)
        return job


class _Heartbeat(threading.Thread):
    def __init__(self, job: Job, interval: float) -> None:
        super().__init__(daemon=True, name=f"job-{job.pk}-heartbeat")
        self.job = job
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                try:
                    if not _owned(self.job).update(heartbeat_at=timezone.now()):
                        return  # finished, or taken over: the handler finds out at its next write
                except DatabaseError as exc:  # a busy database (SQLite's lock) costs one beat, not the heartbeat
                    logger.warning("job %s: heartbeat not written (%s)", self.job.pk, exc)
        finally:
            connection.close()  # this thread's own connection; left open it outlives the test database


def _finish(job: Job, *, status: str, message: str, error: str = "", result: dict[str, Any] | None = None) -> None:
    fields: dict[str, Any] = {"status": status, "finished_at": timezone.now(), "message": message, "error": error}
    if result is not None:
        fields["result"] = result
    if status == Job.Status.SUCCEEDED:
        current = Job.objects.filter(pk=job.pk).values_list("progress_total", flat=True).first()
        if current:
            fields["progress_done"] = current
    if not _owned(job).update(**fields):
        logger.warning("job %s attempt %s ended as %s, but another worker holds it now", job.pk, job.attempts, status)


def jobs_release_stale(*, stale_after: timedelta) -> list[int]:
    """Running jobs whose worker stopped beating: cancelled ones end, the others go back to QUEUED.

    Returns the ids put back in the queue; the caller sends them. Each row changes in one conditional
    update, so two workers sweeping at once never both release a job, nor one that was just claimed again.
    """
    cutoff = timezone.now() - stale_after
    stale = Q(status=Job.Status.RUNNING) & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
    released = []
    for job_id in Job.objects.filter(stale).values_list("pk", flat=True):
        if _release(Job.objects.filter(stale, pk=job_id), why="its worker stopped"):
            released.append(job_id)
    return released


def job_release_lost(*, job_id: int, task_id: str) -> bool:
    """The process running this delivery died (its worker saw it): release the job at once, no staleness wait.

    True when the job went back to QUEUED, for the same delivery to claim again.
    """
    return _release(Job.objects.filter(pk=job_id, status=Job.Status.RUNNING, celery_task_id=task_id),
                    why="its worker process died")


def _release(rows: QuerySet[Job], *, why: str) -> bool:
    # Cancelled while its worker was gone: nobody is left to notice, so finish it here.
    if rows.filter(cancel_requested=True).update(
        status=Job.Status.CANCELLED, finished_at=timezone.now(), message=f"Cancelled ({why})"
    ):
        return False
    return bool(rows.update(status=Job.Status.QUEUED, message=f"Re-queued: {why}"))
