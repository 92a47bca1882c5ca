from __future__ import annotations

from django.apps import AppConfig


class LabelingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "labeling"

    def ready(self) -> None:
        from detection.models import Job
        from labeling.services.vlm_job import vlm_job_handle
        from project.jobs.registry import JobKind, job_kind_register

        job_kind_register(JobKind(name=Job.Kind.VLM, queue="vlm", handler=vlm_job_handle, one_active_per_recording=True))
        from labeling.datasets.jobs import export_job_handle

        job_kind_register(JobKind(name=Job.Kind.EXPORT, queue="export", handler=export_job_handle))
        from labeling.reasoning.jobs import summarize_job_handle

        job_kind_register(JobKind(name=Job.Kind.SUMMARIZE, queue="vlm", handler=summarize_job_handle,
                                  one_active_per_recording=True))
        from labeling.training.job import train_job_handle

        job_kind_register(JobKind(name=Job.Kind.TRAIN, queue="train", handler=train_job_handle))
