from __future__ import annotations

from django.apps import AppConfig


class ReviewConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "review"

    def ready(self) -> None:
        from detection.models import Job
        from project.jobs.registry import JobKind, job_kind_register
        from review.proxy import proxy_job_handle

        job_kind_register(JobKind(name=Job.Kind.PROXY, queue="proxy", handler=proxy_job_handle))
