"""A job really goes web → broker → separate worker process → Job row, in whichever mode this pass runs
(embedded: SQLite + filesystem broker; production: PostgreSQL + Redis)."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

import tests.project.worker_kind  # noqa: F401  registers the test kind in this process too
from detection.models import Job
from project.celery import app as celery_app
from project.jobs.services import job_cancel, job_create
from tests.conftest import render_test_video
from tests.factories import RecordingFactory
from tests.project.worker import QUEUE, purge_queues, queue_length, running_worker

# Short periods, so that an orphan is found within seconds; the worker reads them at start-up.
FAST_BEATS = {"VODSCOPE_JOB_HEARTBEAT_SECONDS": "0.5", "VODSCOPE_JOB_STALE_SECONDS": "2"}


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[object]:  # type: ignore[no-untyped-def]
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with django_db_blocker.unblock(), running_worker(log, env=FAST_BEATS) as process:
        yield process


@pytest.fixture
def real_broker(monkeypatch, transactional_db):  # type: ignore[no-untyped-def]
    """Send jobs to the broker, not inline."""
    monkeypatch.setattr(celery_app.conf, "task_always_eager", False)


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


def test_a_live_worker_finds_an_orphan_without_a_restart(worker, real_broker, owner):
    """The sweep: a job left RUNNING by a worker that died whole is re-queued by one that lives."""
    beat = timezone.now() - timedelta(seconds=1)
    orphan = Job.objects.create(kind=QUEUE, status=Job.Status.RUNNING, heartbeat_at=beat, started_at=beat,
                                attempts=1, params={"steps": 2, "delay": 0})
    started = time.monotonic()
    wait_for(lambda: Job.objects.get(pk=orphan.pk).status == Job.Status.SUCCEEDED, timeout=20)
    assert Job.objects.get(pk=orphan.pk).attempts == 2
    assert time.monotonic() - started < 2 * 2 + 0.5 + 3  # stale after 2 s, swept every 0.5 s, some slack to run


def test_worker_start_requeues_orphans(real_broker, owner, tmp_path):
    """A job left RUNNING by a dead worker runs when the next worker starts, before any sweep period."""
    stale = timezone.now() - timedelta(minutes=10)
    orphan = Job.objects.create(kind=QUEUE, status=Job.Status.RUNNING, heartbeat_at=stale, started_at=stale,
                                params={"steps": 1, "delay": 0})
    with running_worker(tmp_path / "worker.log"):
        wait_for(lambda: Job.objects.get(pk=orphan.pk).status == Job.Status.SUCCEEDED)


@pytest.mark.production
@pytest.mark.slow
def test_each_registered_kind_runs_on_its_own_queue(real_broker, owner, tmp_path):
    """detect, proxy and import, as their apps registered them: each message lands on its kind's queue,
    and a worker consuming those queues runs each job to the end."""
    video = render_test_video(tmp_path / "clip.mp4", seconds=2)
    recording = RecordingFactory(owner=owner, source_path=str(video), duration_seconds=2.0)
    queues = ["detect", "proxy", "import"]
    purge_queues(queues)
    jobs = {
        "detect": job_create(kind=Job.Kind.DETECT, recording=recording, created_by=owner),
        "proxy": job_create(kind=Job.Kind.PROXY, recording=recording, created_by=owner),
        "import": job_create(kind=Job.Kind.IMPORT, created_by=owner,
                             params={"recording_ids": [recording.pk], "dry_run": True}),
    }
    assert {queue: queue_length(queue) for queue in queues} == {"detect": 1, "proxy": 1, "import": 1}
    with running_worker(tmp_path / "worker.log", queues=queues, pool="prefork", purge=False):
        for job in jobs.values():
            wait_for(lambda job=job: Job.objects.get(pk=job.pk).status not in Job.ACTIVE_STATUSES, timeout=120)
    for kind, job in jobs.items():
        job.refresh_from_db()
        assert (kind, job.status, job.error) == (kind, Job.Status.SUCCEEDED, "")
    assert jobs["proxy"].result["remuxed"] and jobs["import"].result["dry_run"]
