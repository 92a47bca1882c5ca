"""A job kind of the tests' own, registered where its jobs are created (pytest) and run (the test worker,
`celery worker --include tests.project.worker_kind`), as an app registers its kinds in ready()."""
from __future__ import annotations

import os
import time
from typing import Any

from detection.models import Job
from project.jobs.registry import JobKind, job_kind_register
from project.jobs.runner import JobProgress
from tests.project.worker import QUEUE


def _count_slowly(job: Job, progress: JobProgress) -> dict[str, Any]:
    steps = int(job.params.get("steps", 5))
    for step in range(1, steps + 1):
        time.sleep(float(job.params.get("delay", 0.1)))
        progress.update(step, steps, f"step {step} of {steps}", force=True)
    if job.params.get("fail"):
        raise RuntimeError("asked to fail")
    return {"steps": steps, "worker_pid": os.getpid()}


job_kind_register(JobKind(name=QUEUE, queue=QUEUE, handler=_count_slowly))
