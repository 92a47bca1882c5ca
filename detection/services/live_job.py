"""The `live` job kind: a live session started from the dashboard and run by a worker on the `live` queue.

Queue and worker: a session runs until stopped, for hours, so it has a queue of its own and its own
worker process (`celery -A project worker -Q live --pool threads --concurrency 2`, started beside the
detect worker by scripts/run.sh): detect jobs never wait behind a stream, and a stream never waits
behind a backlog of detect jobs. The threads pool runs sessions in the worker's own process, so a
worker told to stop (SIGTERM: Celery's warm shutdown) stops its sessions cleanly, every confirmed
event flushed, instead of waiting for streams that never end (`live_runners_stop`).

Never resumed: a live session cannot be re-run from a checkpoint (the moments it missed are gone),
so a live job whose process died ends, its status and message saying so, with every event it had
confirmed kept and its recording finished for review. Two paths find such a job: the worker that saw
its child die re-queues it and its next claim ends it here (`attempts` > 1); a job whose whole worker
(or `manage.py live` process) died is ended by the orphan sweep's live rule (`live_sessions_end_stale`,
registered in detection/apps.py) before the sweep would re-queue it.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from detection.models import DetectedEvent, Job, Recording
from detection.pipeline.types import Frame
from detection.services.ingest import IngestError, resolve_allowed_path
from detection.services.live import (
    LiveSession,
    live_broadcast,
    live_recording_finish,
    live_session_ended,
    live_session_for_job,
    state_message,
)
from detection.services.live_run import LiveOptions, LiveRefused, LiveRunner, LiveTap
from project.jobs.runner import JobProgress
from project.jobs.services import job_cancel, job_create

if TYPE_CHECKING:
    from importer.live_forward import LiveForwarder

logger = logging.getLogger(__name__)

LIVE_QUEUE = "live"
TAP_CLOSE_SECONDS = 10.0  # at the end, labels and forwards still in flight get this long


_RUNNING: set[LiveRunner] = set()  # the sessions this process runs for its jobs
_RUNNING_LOCK = threading.Lock()


class LiveSessionLost(Exception):
    """The process that ran a live session died; the session is over (never resumed)."""


def live_session_queue(*, owner: Any, options: LiveOptions) -> Job:
    """The dashboard's Start: the recording and its queued live job. Raises LiveRefused with the reason."""
    options.check()
    if options.realtime:
        try:
            options = replace(options, source=str(resolve_allowed_path(options.source)))
        except IngestError as exc:
            raise LiveRefused(str(exc)) from None
    elif not re.match(r"^[a-z][a-z0-9+.-]*://", options.source) and not options.source.startswith("/dev/"):
        raise LiveRefused(f"{options.source}: a capture source is a device (/dev/video0) or a stream URL "
                          "(rtsp://, srt://, udp://, http://); to play a file, choose 'file played in real time'")
    title = options.title or f"Live {timezone.now():%Y-%m-%d %H:%M}"
    with transaction.atomic():
        recording = Recording.objects.create(owner=owner, title=title[:255], session_type=options.session_type,
                                             status=Recording.Status.PROCESSING)
        return job_create(kind=Job.Kind.LIVE, recording=recording, created_by=owner, params=options.to_params())


def live_session_stop(*, job: Job) -> Job:
    """The dashboard's Stop: a running session ends cleanly at its next status write (about a second); a
    queued one never starts, and its recording says so."""
    job = job_cancel(job=job)
    if job.status == Job.Status.CANCELLED and job.recording_id is not None:
        Recording.objects.filter(pk=job.recording_id, status=Recording.Status.PROCESSING).update(
            status=Recording.Status.FAILED, error="live session stopped before it started")
    return job


def live_job_handle(job: Job, progress: JobProgress) -> dict[str, Any]:
    """Runs the session until its source ends or Stop is asked (the job's cancel), then flushes every
    confirmed event and returns the final state and figures as the job's result."""
    if job.attempts > 1:
        live_job_lost_end(job=job)
        raise LiveSessionLost(_lost_message(job))
    try:
        options = LiveOptions.from_params(job.params)
        runner = LiveRunner(options)
    except LiveRefused as exc:
        assert job.recording_id is not None
        Recording.objects.filter(pk=job.recording_id).update(status=Recording.Status.FAILED, error=str(exc)[:2000])
        raise
    session = live_session_for_job(job=job, video_path=runner.video_path)
    try:
        taps = live_taps(session=session, options=options)
    except LiveRefused as exc:
        live_session_ended(session=session, video_path=runner.video_path, error=str(exc))
        raise
    with _RUNNING_LOCK:
        _RUNNING.add(runner)
    try:
        outcome = runner.run(session, taps=taps, tap_timeout=TAP_CLOSE_SECONDS)
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(runner)
    result = live_session_ended(session=session, video_path=runner.video_path, error=outcome.error)
    if outcome.error:
        raise LiveRefused(f"the capture failed: {outcome.error}; the {outcome.events} events confirmed are kept")
    return {**result, "events": outcome.events, "stopped": runner.stopped, "final": outcome.stats.to_json(),
            **outcome.taps}


def live_runners_stop(**_: object) -> None:
    """The worker is shutting down (Celery's `worker_shutting_down`): every session it runs stops cleanly."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for runner in running:
        runner.stop()
    if running:
        logger.warning("worker shutting down: stopping %s live session(s)", len(running))


def live_taps(*, session: LiveSession, options: LiveOptions) -> tuple[LiveTap, ...]:
    """What runs beside the loop, as the options ask; raises LiveRefused (a backend not configured)."""
    taps: list[LiveTap] = []
    if options.label:
        from labeling.live_labels import LiveLabeller  # labeling builds on detection, not the reverse

        taps.append(LiveLabeller.for_session(session=session, backend=options.label_backend, model=options.label_model))
    if options.forward:
        taps.append(ForwardTap(session))
    return tuple(taps)


class ForwardTap:
    """Saved events to the stream-producer as they come (importer/live_forward.py: its own thread and queue,
    waiting while the target is down, then sending in order). Started at the first events, once the
    session's start time (the real timestamps' origin) is known."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self.forwarder: LiveForwarder | None = None

    def frames(self, batch: list[Frame]) -> None:
        return None

    def events(self, rows: list[DetectedEvent]) -> None:
        if self.forwarder is None:
            from importer.live_forward import LiveForwarder  # the importer builds on detection, not the reverse

            self.forwarder = LiveForwarder.for_recording(self.session.recording)  # queues the rows saved so far
            return
        self.forwarder.submit(rows)

    def close(self, timeout: float) -> dict[str, Any]:
        if self.forwarder is None:
            return {"forward": None}
        return {"forward": self.forwarder.close(timeout=timeout).to_json()}


def live_sessions_end_stale(*, stale_after: timedelta) -> list[int]:
    """The orphan sweep's live rule: running live jobs whose process stopped beating end (never re-queued)."""
    cutoff = timezone.now() - stale_after
    stale = Q(kind=Job.Kind.LIVE, status=Job.Status.RUNNING) & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
    ended = []
    for job in Job.objects.filter(stale).select_related("recording"):
        message = _lost_message(job)
        result = {**job.result, "seq": int(job.result.get("seq", 0)) + 1, "running": False}
        if not Job.objects.filter(stale, pk=job.pk).update(
                status=Job.Status.FAILED, finished_at=timezone.now(), message="Ended: its live process stopped",
                error=message, result=result):
            continue  # beaten again, or ended by another sweep meanwhile
        job.refresh_from_db()
        if job.recording is not None:
            live_recording_finish(recording_id=job.recording.pk, video_path=job.recording.source_path, error=message)
        live_broadcast(state_message(job))
        ended.append(job.pk)
    if ended:
        logger.warning("live sessions %s ended: their process stopped", ended)
    return ended


def live_job_lost_end(*, job: Job) -> None:
    """A re-delivered live job (its worker process died) ends at once: the recording is finished too."""
    job.result = {**job.result, "seq": int(job.result.get("seq", 0)) + 1, "running": False}
    Job.objects.filter(pk=job.pk).update(result=job.result)
    if job.recording is not None:
        live_recording_finish(recording_id=job.recording.pk, video_path=job.recording.source_path,
                              error=_lost_message(job))
    live_broadcast(state_message(job))


def _lost_message(job: Job) -> str:
    events = job.events.count() if job.recording_id is not None else 0
    return (f"live session ended: the process running it stopped; the {events} events it confirmed are kept "
            "(a live session is never resumed)")
