from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("vodscope")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def requeue_orphaned_jobs(**_: object) -> None:
    """A worker that died mid-job left a RUNNING row with a stale heartbeat; put it back in the queue."""
    # Imported here: the app registry is not ready when this module is first imported by Django.
    from detection.jobs import job_requeue_orphans

    job_requeue_orphans()
