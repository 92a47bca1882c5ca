from __future__ import annotations

from celery import shared_task

from detection.jobs import job_run
from importer.runner import import_job_handler


@shared_task(name="importer.tasks.run_import_job")
def run_import_job(job_id: int) -> None:
    job_run(job_id=job_id, handler=import_job_handler)
