"""The job framework in-process: registry, claim, progress, cancel, failure, take-over fencing, orphans,
eager enqueue, and the one-active-detect-job rule for every caller (service, API, page, admin action)."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from detection.models import Job
from detection.selectors import job_progress_info
from detection.services.detect import detect_job_start
from project.celery import app as celery_app
from project.jobs import dispatch, runner
from project.jobs.dispatch import job_requeue_orphans
from project.jobs.registry import JOB_KINDS, JobKind, JobKindUnknown, job_kind_register
from project.jobs.runner import JobProgress, job_release_lost, job_run
from project.jobs.services import JobAlreadyActive, job_cancel, job_create
from tests.factories import JobFactory, RecordingFactory

pytestmark = pytest.mark.django_db


def test_run_records_success_progress_and_result():
    job = JobFactory(recording=None)

    def handler(job, progress):
        for step in range(1, 4):
            progress.update(step, 3, f"step {step}", force=True)
        return {"answer": 42}

    finished = job_run(job_id=job.pk, handler=handler, task_id="delivery-1")
    assert finished.status == Job.Status.SUCCEEDED
    assert (finished.progress_done, finished.progress_total, finished.result) == (3, 3, {"answer": 42})
    assert finished.attempts == 1 and finished.finished_at and finished.message == "Done"
    assert finished.celery_task_id == "delivery-1"
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


def test_a_run_whose_job_was_taken_over_stops_and_records_nothing():
    """The fence: once another worker re-claimed the job (one more attempt), the old run's writes are refused."""
    job = JobFactory(recording=None)
    reached = []

    def handler(job, progress):
        progress.update(1, 10, force=True)
        # Meanwhile its worker was thought dead: the job was released and claimed again elsewhere.
        Job.objects.filter(pk=job.pk).update(attempts=job.attempts + 1, progress_done=7)
        try:
            progress.save_checkpoint({"video_time": 99})
        except Exception:  # noqa: BLE001  a handler's own error handling must not swallow the take-over
            reached.append("caught")
        reached.append("after")

    left = job_run(job_id=job.pk, handler=handler)
    assert reached == []
    assert (left.status, left.attempts, left.progress_done, left.checkpoint) == (Job.Status.RUNNING, 2, 7, {})
    assert left.finished_at is None and left.message == ""


def test_progress_rate_is_smoothed(monkeypatch):
    job = JobFactory(recording=None, status=Job.Status.RUNNING)
    clock = iter([100.0, 101.0, 102.0])
    monkeypatch.setattr(runner.time, "monotonic", lambda: next(clock))
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
    monkeypatch.setattr(dispatch, "job_enqueue", lambda *, job: sent.append(job.pk))
    stale = timezone.now() - timedelta(seconds=7)
    orphan = JobFactory(recording=None, status=Job.Status.RUNNING, heartbeat_at=stale)
    JobFactory(recording=None, status=Job.Status.RUNNING, heartbeat_at=timezone.now())
    dead_cancelled = JobFactory(recording=None, status=Job.Status.RUNNING, heartbeat_at=stale, cancel_requested=True)
    assert job_requeue_orphans(stale_after=timedelta(seconds=6)) == [orphan.pk]
    assert sent == [orphan.pk]
    orphan.refresh_from_db()
    assert orphan.status == Job.Status.QUEUED and orphan.message == "Re-queued: its worker stopped"
    dead_cancelled.refresh_from_db()
    assert dead_cancelled.status == Job.Status.CANCELLED and dead_cancelled.finished_at
    assert job_requeue_orphans(stale_after=timedelta(seconds=6)) == []  # queued now: not an orphan twice


def test_an_orphan_of_a_kind_nobody_runs_fails_saying_so():
    stale = timezone.now() - timedelta(minutes=1)
    orphan = JobFactory(recording=None, kind="paint", status=Job.Status.RUNNING, heartbeat_at=stale)
    assert job_requeue_orphans(stale_after=timedelta(seconds=6)) == [orphan.pk]
    orphan.refresh_from_db()
    assert orphan.status == Job.Status.FAILED and "no app runs jobs of kind 'paint'" in orphan.error


def test_a_dead_delivery_releases_its_job_at_once_and_only_its_own():
    running = JobFactory(recording=None, status=Job.Status.RUNNING, heartbeat_at=timezone.now(),
                         celery_task_id="delivery-2")
    assert not job_release_lost(job_id=running.pk, task_id="delivery-1")  # an older delivery: not the runner
    assert Job.objects.get(pk=running.pk).status == Job.Status.RUNNING
    assert job_release_lost(job_id=running.pk, task_id="delivery-2")
    assert Job.objects.get(pk=running.pk).status == Job.Status.QUEUED
    cancelled = JobFactory(recording=None, status=Job.Status.RUNNING, celery_task_id="d", cancel_requested=True)
    assert not job_release_lost(job_id=cancelled.pk, task_id="d")
    assert Job.objects.get(pk=cancelled.pk).status == Job.Status.CANCELLED


def test_create_enqueues_on_commit_and_runs_inline_when_eager(django_capture_on_commit_callbacks, monkeypatch):
    ran = []
    monkeypatch.setitem(JOB_KINDS, Job.Kind.EXPORT, JobKind(
        name=Job.Kind.EXPORT, queue="export", handler=lambda job, progress: ran.append(job.pk) or {"ok": True}
    ))
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(kind=Job.Kind.EXPORT, params={"x": 1})
        assert ran == []  # nothing is sent before the row is committed
    job.refresh_from_db()
    assert ran == [job.pk] and job.status == Job.Status.SUCCEEDED and len(job.celery_task_id) == 36


def test_each_app_registers_its_kinds_on_its_own_queue():
    kinds = {name: JOB_KINDS[name] for name in ["detect", "proxy", "import"]}
    assert {name: (kind.queue, kind.handler.__module__) for name, kind in kinds.items()} == {
        "detect": ("detect", "detection.services.detect"),
        "proxy": ("proxy", "review.proxy"),
        "import": ("import", "importer.runner"),
    }


@pytest.mark.parametrize("kind", ["vlm", "export", "train", "paint"])
def test_a_kind_nobody_registered_is_refused_at_creation(kind, monkeypatch):
    """A kind in Job.Kind is no promise that anything runs it: until an app registers it, it is refused."""
    monkeypatch.delitem(JOB_KINDS, kind, raising=False)
    with pytest.raises(JobKindUnknown, match=f"no app runs jobs of kind '{kind}'"):
        job_create(kind=kind)
    assert not Job.objects.exists()


def test_a_kind_is_registered_once():
    detect = JOB_KINDS["detect"]
    job_kind_register(detect)  # the same registration again (a second ready()) is harmless
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        job_kind_register(replace(detect, queue="elsewhere"))


def test_one_active_detect_job_per_recording_for_every_caller(owner):
    recording, other = RecordingFactory(owner=owner), RecordingFactory(owner=owner)
    first = detect_job_start(recording=recording, user=owner)
    with pytest.raises(JobAlreadyActive, match=f"Detect job #{first.pk} is already queued") as refused:
        detect_job_start(recording=recording, user=owner)
    assert refused.value.job == first
    assert detect_job_start(recording=other, user=owner).recording == other
    Job.objects.filter(pk=first.pk).update(status=Job.Status.SUCCEEDED)
    assert detect_job_start(recording=recording, user=owner).pk != first.pk


def test_the_api_answers_409_and_unregistered_kinds_400(api_client, owner):
    recording = RecordingFactory(owner=owner)
    client = api_client(owner)
    first = client.post("/api/v1/jobs/", {"recording": recording.pk}, format="json")
    assert first.status_code == 201
    again = client.post("/api/v1/jobs/", {"recording": recording.pk}, format="json")
    assert again.status_code == 409
    assert again.json() == {"detail": f"Detect job #{first.json()['id']} is already queued on this recording",
                            "job": first.json()["id"]}
    vlm = client.post("/api/v1/jobs/", {"recording": recording.pk, "kind": "vlm"}, format="json")
    assert vlm.status_code == 400 and vlm["Content-Type"] == "application/json"
    assert Job.objects.count() == 1


def test_the_page_and_the_admin_action_are_refused_too(client, owner, staff):
    recording = RecordingFactory(owner=owner)
    active = detect_job_start(recording=recording, user=owner)
    client.force_login(owner)
    page = client.post(f"/recordings/{recording.pk}/detect/", follow=True)
    assert f"Detect job #{active.pk} is already queued on this recording" in page.content.decode()
    client.force_login(staff)
    admin = client.post(
        "/admin/detection/recording/",
        {"action": "detect_selected_recordings", "_selected_action": [recording.pk]},
        follow=True,
    )
    assert f"Detect job #{active.pk} is already queued on this recording" in admin.content.decode()
    assert list(Job.objects.values_list("pk", flat=True)) == [active.pk]
