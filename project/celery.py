"""The Celery app. It knows no job: the job framework (project/jobs) and the apps register with it."""
from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("vodscope")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
