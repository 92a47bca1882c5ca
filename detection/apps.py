from __future__ import annotations

from django.apps import AppConfig


class DetectionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "detection"

    def ready(self) -> None:
        from detection.models import Job
        from detection.services.detect import detect_job_handle
        from project.jobs.registry import JobKind, job_kind_register

        job_kind_register(
            JobKind(name=Job.Kind.DETECT, queue="detect", handler=detect_job_handle, one_active_per_recording=True)
        )
