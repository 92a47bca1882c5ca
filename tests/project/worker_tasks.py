"""A task only the test worker knows (`celery worker --include tests.project.worker_tasks`)."""
from __future__ import annotations

import os
import time
from typing import Any

from celery import shared_task

from detection.jobs import JOB_TASK_NAMES, JobProgress, job_run
from detection.models import Job
from tests.project.worker import QUEUE, TASK_NAME

# Only the test worker imports this module, never pytest's process: there, jobs of the test kind
# (re-queued orphans included) go to the test task. The pytest process uses monkeypatch instead.
JOB_TASK_NAMES[QUEUE] = TASK_NAME


def _count_slowly(job: Job, progress: JobProgress) -> dict[str, Any]:
    steps = int(job.params.get("steps", 5))
    for step in range(1, steps + 1):
        time.sleep(float(job.params.get("delay", 0.1)))
        progress.update(step, steps, f"step {step} of {steps}", force=True)
    if job.params.get("fail"):
        raise RuntimeError("asked to fail")
    return {"steps": steps, "worker_pid": os.getpid()}


@shared_task(name=TASK_NAME)
def run_test_job(job_id: int) -> None:
    job_run(job_id=job_id, handler=_count_slowly)
