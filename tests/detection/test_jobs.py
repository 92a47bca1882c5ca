"""Job lifecycle in-process: claim, progress, cancel, failure, orphans, eager enqueue."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from detection import jobs
from detection.jobs import JobCancelled, JobProgress, job_cancel, job_create, job_requeue_orphans, job_run
from detection.models import Job
from detection.selectors import job_progress_info
from project.celery import app as celery_app
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db


def test_run_records_success_progress_and_result():
    job = JobFactory(recording=None)

    def handler(job, progress):
        for step in range(1, 4):
            progress.update(step, 3, f"step {step}", force=True)
        return {"answer": 42}

    finished = job_run(job_id=job.pk, handler=handler)
    assert finished.status == Job.Status.SUCCEEDED
    assert (finished.progress_done, finished.progress_total, finished.result) == (3, 3, {"answer": 42})
    assert finished.attempts == 1 and finished.finished_at and finished.message == "Done"
    assert job_run(job_id=job.pk, handler=handler) is None  # a finished job is never run twice


def test_failure_keeps_the_reason():
    job = JobFactory(recording=None)

    def handler(job, progress):
        raise ValueError("bad frame")

    assert job_run(job_id=job.pk, handler=handler).error == "ValueError: bad frame"


def test_cancel_queued_and_running():
    queued = JobFactory(recording=None)
    assert job_cancel(job=queued).status == Job.Status.CANCELLED

    running = JobFactory(recording=None)

    def handler(job, progress):
        job_cancel(job=job)
        progress.update(1, 10, force=True)
        raise AssertionError("progress.update should have raised")

    assert job_run(job_id=running.pk, handler=handler).status == Job.Status.CANCELLED
    done = JobFactory(recording=None, status=Job.Status.SUCCEEDED)
    assert job_cancel(job=done).status == Job.Status.SUCCEEDED


def test_progress_rate_is_smoothed(monkeypatch):
    job = JobFactory(recording=None, status=Job.Status.RUNNING)
    clock = iter([100.0, 101.0, 102.0])
    monkeypatch.setattr(jobs.time, "monotonic", lambda: next(clock))
    progress = JobProgress(job)
    progress.update(0, 100, force=True)
    progress.update(10, force=True)
    progress.update(30, force=True)
    job.refresh_from_db()
    assert job.progress_rate == pytest.approx(0.3 * 20 + 0.7 * 10)
    info = job_progress_info(job)
    assert info.percent == 30 and info.eta_seconds == pytest.approx(70 / 13)


def test_progress_writes_are_throttled():
    job = JobFactory(recording=None, status=Job.Status.RUNNING)
    progress = JobProgress(job, min_interval=60)
    progress.update(1, 10)
    progress.update(5, 10)
    job.refresh_from_db()
    assert job.progress_done == 1


def test_checkpoint_survives():
    job = JobFactory(recording=None, status=Job.Status.RUNNING)
    JobProgress(job).save_checkpoint({"frame": 1200})
    job.refresh_from_db()
    assert job.checkpoint == {"frame": 1200}


def test_orphans_are_requeued_fresh_ones_are_not(monkeypatch):
    sent = []
    monkeypatch.setattr(jobs, "job_enqueue", lambda *, job: sent.append(job.pk))
    stale = timezone.now() - timedelta(minutes=5)
    orphan = JobFactory(recording=None, status=Job.Status.RUNNING, heartbeat_at=stale)
    JobFactory(recording=None, status=Job.Status.RUNNING, heartbeat_at=timezone.now())
    dead_cancelled = JobFactory(recording=None, status=Job.Status.RUNNING, heartbeat_at=stale, cancel_requested=True)
    assert job_requeue_orphans() == [orphan.pk]
    assert sent == [orphan.pk]
    orphan.refresh_from_db()
    assert orphan.status == Job.Status.QUEUED
    dead_cancelled.refresh_from_db()
    assert dead_cancelled.status == Job.Status.CANCELLED and dead_cancelled.finished_at


def test_create_enqueues_on_commit_and_runs_inline_when_eager(django_capture_on_commit_callbacks, monkeypatch):
    ran = []

    @celery_app.task(name="tests.detection.test_jobs.fake_export")
    def fake_export(job_id):
        job_run(job_id=job_id, handler=lambda job, progress: ran.append(job_id) or {"ok": True})

    monkeypatch.setitem(jobs.JOB_TASK_NAMES, Job.Kind.EXPORT, "tests.detection.test_jobs.fake_export")
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(kind=Job.Kind.EXPORT, params={"x": 1})
        assert ran == []  # nothing is sent before the row is committed
    job.refresh_from_db()
    assert ran == [job.pk] and job.status == Job.Status.SUCCEEDED and job.celery_task_id == "eager"


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown job kind"):
        job_create(kind="paint")


def test_cancelled_exception_is_public():
    assert issubclass(JobCancelled, Exception)
