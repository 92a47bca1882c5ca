from __future__ import annotations

from celery import shared_task

from detection.jobs import JobProgress, job_run
from detection.models import Job
from review.proxy import recording_proxy_make


@shared_task(name="review.tasks.run_proxy_job")
def run_proxy_job(job_id: int) -> None:
    def handler(job: Job, progress: JobProgress) -> dict[str, object]:
        if job.recording is None:
            raise ValueError("a proxy job needs a recording")
        return recording_proxy_make(recording=job.recording, progress=progress)

    job_run(job_id=job_id, handler=handler)
