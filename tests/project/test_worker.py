"""A job really goes web → broker → separate worker process → Job row, in whichever mode this pass runs
(embedded: SQLite + filesystem broker; production: PostgreSQL + Redis)."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from detection import jobs
from detection.jobs import job_cancel, job_create, job_requeue_orphans
from detection.models import Job
from project.celery import app as celery_app
from tests.factories import RecordingFactory
from tests.project.worker import QUEUE, TASK_NAME, running_worker


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[object]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock(), running_worker(tmp_path_factory.mktemp("worker") / "worker.log") as process:
        yield process


@pytest.fixture
def real_broker(monkeypatch, transactional_db):  # type: ignore[no-untyped-def]
    """Send jobs to the broker (not inline) and route the test kind to the test task."""
    monkeypatch.setattr(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(jobs.JOB_TASK_NAMES, QUEUE, TASK_NAME)


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker")
        time.sleep(0.1)


def test_worker_runs_job_and_page_shows_progress(worker, real_broker, client, owner):
    client.force_login(owner)
    recording = RecordingFactory(owner=owner)
    job = job_create(kind=QUEUE, recording=recording, created_by=owner, params={"steps": 30, "delay": 0.2})
    assert Job.objects.get(pk=job.pk).celery_task_id

    wait_for(lambda: Job.objects.get(pk=job.pk).progress_done >= 2)
    fragment = client.get(f"/jobs/{job.pk}/progress/").content.decode()
    assert 'data-status="running"' in fragment and 'hx-trigger="every 1s"' in fragment
    assert "/30</span>" in fragment

    wait_for(lambda: Job.objects.get(pk=job.pk).status == Job.Status.SUCCEEDED)
    done = Job.objects.get(pk=job.pk)
    assert done.progress_done == done.progress_total == 30
    assert done.result["worker_pid"] == worker.pid
    assert "30/30" in client.get(f"/jobs/{job.pk}/progress/").content.decode()


def test_cancel_reaches_a_running_job(worker, real_broker, owner):
    job = job_create(kind=QUEUE, created_by=owner, params={"steps": 200, "delay": 0.05})
    wait_for(lambda: Job.objects.get(pk=job.pk).progress_done >= 1)
    job_cancel(job=job)
    wait_for(lambda: Job.objects.get(pk=job.pk).status == Job.Status.CANCELLED)
    assert Job.objects.get(pk=job.pk).progress_done < 200


def test_failure_is_recorded(worker, real_broker, owner):
    job = job_create(kind=QUEUE, created_by=owner, params={"steps": 1, "delay": 0, "fail": True})
    wait_for(lambda: Job.objects.get(pk=job.pk).status == Job.Status.FAILED)
    assert Job.objects.get(pk=job.pk).error == "RuntimeError: asked to fail"


def test_orphan_is_requeued_and_finished(worker, real_broker, owner):
    stale = timezone.now() - timedelta(minutes=10)
    orphan = Job.objects.create(kind=QUEUE, status=Job.Status.RUNNING, heartbeat_at=stale, started_at=stale,
                                params={"steps": 2, "delay": 0})
    assert job_requeue_orphans() == [orphan.pk]
    wait_for(lambda: Job.objects.get(pk=orphan.pk).status == Job.Status.SUCCEEDED)
    assert Job.objects.get(pk=orphan.pk).attempts == 1


def test_worker_start_requeues_orphans(real_broker, owner, tmp_path):
    """The worker_ready hook in project/celery.py: a job left RUNNING by a dead worker runs on the next start."""
    stale = timezone.now() - timedelta(minutes=10)
    orphan = Job.objects.create(kind=QUEUE, status=Job.Status.RUNNING, heartbeat_at=stale, started_at=stale,
                                params={"steps": 1, "delay": 0})
    with running_worker(tmp_path / "worker.log"):
        wait_for(lambda: Job.objects.get(pk=orphan.pk).status == Job.Status.SUCCEEDED)
