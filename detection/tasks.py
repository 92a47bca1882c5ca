from __future__ import annotations

from celery.signals import worker_ready

from detection.jobs import job_requeue_orphans


@worker_ready.connect
def requeue_orphaned_jobs(**_: object) -> None:
    job_requeue_orphans()
