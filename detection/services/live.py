"""A live session in the database: one Recording (the played file, or what was captured, remuxed
to disk) and one `live` Job whose events are written as they are confirmed. The job is run by a
worker on the `live` queue (started from the dashboard, detection/services/live_job.py) or by
`manage.py live` itself (created running: the command is its runner).

The rows are the truth the dashboard reads: events are saved with the detect job's idempotent
writer (`detected_events_save`), and the latest game state and stats go to the job's `result`.
Each write is also sent to the `live` Channels group, so with the Redis layer (production) a web
process on any machine hears it at once; with the in-memory layer (embedded, one layer per
process) the web process's consumers find the same rows by polling (see review/consumers.py).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from detection.models import DetectedEvent, Job, ModelVersion, Recording
from detection.pipeline.event_log import format_timestamp
from detection.pipeline.probe import ProbeError, probe_video
from detection.pipeline.profile import load_profile
from detection.pipeline.types import Event
from detection.selectors import time_unknown, time_window
from detection.services.detected_events import detected_events_save
from detection.services.model_versions import model_version_choose

logger = logging.getLogger(__name__)

LIVE_GROUP = "live"
LIVE_MESSAGE = "live.message"  # the consumer method (live_message) a group message calls


@dataclass(frozen=True)
class LiveSession:
    recording: Recording
    job: Job
    version: ModelVersion


def live_session_start(*, owner: Any, title: str, video_path: str, session_type: str,
                       source: str, params: dict[str, Any]) -> LiveSession:
    """The Recording and its running live Job (never queued: `manage.py live` is its runner)."""
    version = _version(params)
    with transaction.atomic():
        recording = Recording.objects.create(owner=owner, title=title[:255], source_path=video_path,
                                             session_type=session_type, status=Recording.Status.PROCESSING)
        job = Job.objects.create(kind=Job.Kind.LIVE, recording=recording, created_by=owner,
                                 status=Job.Status.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now(),
                                 params={**params, "live": True, "source": source})
    return LiveSession(recording=recording, job=job, version=version)


def live_session_for_job(*, job: Job, video_path: str) -> LiveSession:
    """A queued session's rows once a worker runs it and its source is open (`video_path`: what is recorded)."""
    assert job.recording is not None  # a live job is made with its recording
    job.recording.source_path = video_path
    job.recording.status = Recording.Status.PROCESSING
    job.recording.save(update_fields=["source_path", "status", "updated_at"])
    return LiveSession(recording=job.recording, job=job, version=_version(job.params))


def _version(params: dict[str, Any]) -> ModelVersion:
    return model_version_choose(version_id=params.get("model_version"),
                                profile=load_profile(settings.VODSCOPE_GAME_PROFILE))


def live_session_started_at(*, session: LiveSession, started_at: datetime) -> None:
    """When video time 0 was captured, known once the first frame is in."""
    session.recording.started_at = started_at
    session.recording.started_at_source = Recording.StartedAtSource.CONTAINER
    session.recording.save(update_fields=["started_at", "started_at_source", "updated_at"])


def live_events_save(*, session: LiveSession, events: list[Event]) -> list[DetectedEvent]:
    """Saved as confirmed (saving the same event again changes nothing), then broadcast."""
    with transaction.atomic():
        detected_events_save(recording=session.recording, job=session.job, version=session.version,
                             events=events, rejections=[])
    rows = list(DetectedEvent.objects.filter(recording=session.recording, job=session.job,
                                             event_id__in=[e.event_id for e in events]).order_by("id"))
    for row in rows:
        live_broadcast(event_message(row))
    return rows


def live_status_save(*, session: LiveSession, state: dict[str, Any], stats: dict[str, Any]) -> bool:
    """The game state and the loop's figures, on the job row (the heartbeat too) and to the group.

    True when someone asked the session to stop (the dashboard's Stop: `job_cancel` on its job)."""
    seq = int(session.job.result.get("seq", 0)) + 1
    session.job.result = {"seq": seq, "state": state, "stats": stats}
    Job.objects.filter(pk=session.job.pk).update(result=session.job.result, heartbeat_at=timezone.now())
    live_broadcast(state_message(session.job))
    live_broadcast(stats_message(session.job))
    return Job.objects.filter(pk=session.job.pk, cancel_requested=True).exists()


def live_heartbeat(*, session: LiveSession) -> None:
    """The job's heartbeat, beaten from its own thread while the session runs: frames may stall
    (a stream down, a slow first OCR) for longer than the job sweep waits before it takes a silent
    running job for an orphan and queues it again."""
    Job.objects.filter(pk=session.job.pk, status=Job.Status.RUNNING).update(heartbeat_at=timezone.now())


def live_session_finish(*, session: LiveSession, video_path: str, error: str = "") -> None:
    """`manage.py live`'s end: the job ends (failed with the capture's error, if any), the recording gets
    its video's facts. A worker's live job ends through the job runner instead (live_session_ended)."""
    live_recording_finish(recording_id=session.recording.pk, video_path=video_path, error=error)
    job = session.job
    job.status, job.error, job.finished_at = (Job.Status.FAILED if error else Job.Status.SUCCEEDED), error, timezone.now()
    job.result = {**job.result, "seq": int(job.result.get("seq", 0)) + 1, "running": False}
    job.save(update_fields=["status", "error", "finished_at", "result"])
    live_broadcast(state_message(job))


def live_session_ended(*, session: LiveSession, video_path: str, error: str = "") -> dict[str, Any]:
    """A worker's live job ends: the recording is finished and feeds hear `running: false` now, before the
    runner records the job's status from the result returned here."""
    live_recording_finish(recording_id=session.recording.pk, video_path=video_path, error=error)
    job = session.job
    result: dict[str, Any] = {**job.result, "seq": int(job.result.get("seq", 0)) + 1, "running": False}
    job.result = result
    Job.objects.filter(pk=job.pk).update(result=result)
    live_broadcast(state_message(job))
    return result


def live_recording_finish(*, recording_id: int, video_path: str, error: str = "") -> None:
    """The session's recording, whatever ended it, gets its video's facts and is ready for review."""
    fields: dict[str, Any] = {"source_path": video_path, "status": Recording.Status.PROCESSED, "error": error[:2000]}
    try:
        info = probe_video(video_path, ffprobe=settings.VODSCOPE_FFPROBE)
        fields.update(duration_seconds=info.duration, avg_fps=info.fps, width=info.width, height=info.height,
                      codec=info.codec, container=info.container, size_bytes=Path(video_path).stat().st_size)
    except (ProbeError, OSError) as exc:
        logger.warning("live recording %s could not be probed: %s", video_path, exc)
    Recording.objects.filter(pk=recording_id).update(**fields)


def live_broadcast(message: dict[str, Any]) -> None:
    """To the `live` group when the layer crosses processes; the in-memory layer reaches no other process."""
    layer = get_channel_layer()
    if layer is None or isinstance(layer, InMemoryChannelLayer):
        return
    try:
        async_to_sync(layer.group_send)(LIVE_GROUP, {"type": LIVE_MESSAGE, "message": message})
    except Exception:  # a broker hiccup costs a push, never an event: the row is saved and polled for
        logger.exception("live broadcast failed")


def event_message(row: DetectedEvent) -> dict[str, Any]:
    window = time_window(row.evidence.get("happened_between"))
    return {
        "type": "event",
        "id": row.pk,
        "job": row.job_id,
        "recording": row.recording_id,
        "event_id": row.event_id,
        "event_type": row.event_type,
        "video_offset_seconds": round(row.video_offset_seconds, 3),
        "timestamp": format_timestamp(row.timestamp),
        "confidence": round(row.confidence, 4),
        "data": row.data,
        "confirmed_at": row.evidence.get("confirmed_at"),
        "inferred": row.evidence.get("inferred") is True,
        # Seen only after it happened (a kill on its raid's kill list): when it happened, and whether its time is unknown.
        "happened_between": window,
        "time_unknown": time_unknown(window, row.video_offset_seconds),
        # The review page's thumbnail route: it checks that the viewer may see the recording.
        "thumbnail": reverse("review-event-thumbnail", args=[row.recording_id, row.pk]) if row.thumbnail else "",
    }


def state_message(job: Job) -> dict[str, Any]:
    state = job.result.get("state") or {}
    return {"type": "state", "job": job.pk, "recording": job.recording_id, "seq": job.result.get("seq", 0),
            "running": job.status == Job.Status.RUNNING and job.result.get("running", True) is not False,
            "state": state.get("state"), "raid": state.get("raid", {})}


def stats_message(job: Job) -> dict[str, Any]:
    return {"type": "stats", "job": job.pk, "recording": job.recording_id, "seq": job.result.get("seq", 0),
            **(job.result.get("stats") or {})}
