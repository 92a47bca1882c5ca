from __future__ import annotations

from django.apps import AppConfig


class DetectionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "detection"

    def ready(self) -> None:
        from detection.models import Job
        from detection.services.detect import detect_job_handle
        from celery.signals import worker_shutting_down

        from detection.services.live_job import LIVE_QUEUE, live_job_handle, live_runners_stop, live_sessions_end_stale
        from project.jobs.registry import JobKind, job_kind_register
        from project.jobs.sweep import stale_rule_register

        job_kind_register(
            JobKind(name=Job.Kind.DETECT, queue="detect", handler=detect_job_handle, one_active_per_recording=True)
        )
        job_kind_register(JobKind(name=Job.Kind.LIVE, queue=LIVE_QUEUE, handler=live_job_handle))
        stale_rule_register(live_sessions_end_stale)
        worker_shutting_down.connect(live_runners_stop, weak=False, dispatch_uid="detection.live.stop")
