from __future__ import annotations

from django.apps import AppConfig


class ImporterConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "importer"

    def ready(self) -> None:
        from detection.models import Job
        from importer.runner import import_job_handler
        from project.jobs.registry import JobKind, job_kind_register

        job_kind_register(JobKind(name=Job.Kind.IMPORT, queue="import", handler=import_job_handler))
