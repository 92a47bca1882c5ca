from __future__ import annotations

from celery import shared_task

from detection.jobs import job_run

# The worker_ready hook that re-queues orphaned jobs lives in project/celery.py.


@shared_task(name="detection.tasks.run_detect_job")
def run_detect_job(job_id: int) -> None:
    from detection.services.detect import detect_job_handle

    job_run(job_id=job_id, handler=detect_job_handle)
