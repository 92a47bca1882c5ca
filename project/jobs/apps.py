from __future__ import annotations

from django.apps import AppConfig


class JobsConfig(AppConfig):
    """No models (the Job row lives in detection); what this app adds is the orphan sweep in workers."""

    name = "project.jobs"
    label = "jobs"

    def ready(self) -> None:
        from project.jobs import sweep

        sweep.connect_worker_signals()
