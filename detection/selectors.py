"""Reads shared by pages, the API and other apps: who may see what, and aggregated counts."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Q, QuerySet

from detection.models import DetectedEvent, Job, ModelVersion, Recording


def time_window(value: Any) -> list[float] | None:
    """An evidence's `happened_between`: when an event seen only after it happened could have happened
    (a kill on its raid's kill list, `detection/pipeline/state.py`), two video seconds, else None.
    Evidence is JSON that a run of another version may have written: any other shape is None."""
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return [float(value[0]), float(value[1])]
    return None


def time_unknown(window: list[float] | None, video_offset_seconds: float) -> bool:
    """The event sits where it was found, outside the time it happened in: the raid's summary that
    listed it, not a notification of the raid that showed it unread."""
    return window is not None and not window[0] <= video_offset_seconds <= window[1]


def recordings_visible_to(user: User | AnonymousUser | None) -> QuerySet[Recording]:
    """Owner sees their own, listed reviewers see theirs, staff see all; everybody else sees nothing.

    Views answer 404 (not 403) for a recording outside this set, so ids leak nothing.
    """
    if user is None or not user.is_authenticated:
        return Recording.objects.none()
    if user.is_staff:
        return Recording.objects.all()
    visible_ids = Recording.objects.filter(Q(owner=user) | Q(reviewers=user)).values("pk")
    return Recording.objects.filter(pk__in=visible_ids)


def recording_changeable_by(user: User | AnonymousUser, recording: Recording) -> bool:
    """Reviewers see a recording; only its owner or staff change it, detect or import it."""
    return bool(user.is_staff or recording.owner_id == user.pk)


def job_cancellable_by(user: User | AnonymousUser, job: Job) -> bool:
    owner_id = job.recording.owner_id if job.recording else None
    return bool(user.is_staff or job.created_by_id == user.pk or owner_id == user.pk)


def jobs_visible_to(user: User | AnonymousUser | None) -> QuerySet[Job]:
    """Jobs on a visible recording, or started by the user; staff see all."""
    if user is None or not user.is_authenticated:
        return Job.objects.none()
    if user.is_staff:
        return Job.objects.all()
    return Job.objects.filter(Q(recording__in=recordings_visible_to(user).values("pk")) | Q(created_by=user))


def model_versions_choosable() -> QuerySet[ModelVersion]:
    """The registered versions a detect run may name on this installation's game profile, newest first."""
    return ModelVersion.objects.filter(profile=settings.VODSCOPE_GAME_PROFILE).order_by("-active", "-created_at")


def events_visible_to(user: User | AnonymousUser | None) -> QuerySet[DetectedEvent]:
    if user is None or not user.is_authenticated:
        return DetectedEvent.objects.none()
    if user.is_staff:
        return DetectedEvent.objects.all()
    return DetectedEvent.objects.filter(recording__in=recordings_visible_to(user).values("pk"))


@dataclass(frozen=True)
class JobProgressInfo:
    done: int
    total: int
    percent: float | None
    rate: float
    eta_seconds: float | None

    @property
    def eta_text(self) -> str:
        return duration_text(self.eta_seconds) if self.eta_seconds is not None else "–"


def job_progress_info(job: Job) -> JobProgressInfo:
    total = job.progress_total
    percent = min(100.0, 100.0 * job.progress_done / total) if total else None
    active = job.status == Job.Status.RUNNING
    rate = job.progress_rate if active else 0.0
    eta = (total - job.progress_done) / rate if active and total and rate > 0 else None
    return JobProgressInfo(job.progress_done, total, percent, rate, eta)


def duration_text(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


REVIEW_STATES = tuple(DetectedEvent.ReviewStatus.values)


@dataclass(frozen=True)
class RecordingOverview:
    """One row of the recordings page; `recording` carries the `events_total` annotation."""

    recording: Recording
    review_counts: dict[str, int]
    type_counts: dict[str, int]
    active_job: Job | None


def recordings_overview(user: User | AnonymousUser | None) -> list[RecordingOverview]:
    """The recordings page in three queries however many rows: counts per review state, per type, live jobs."""
    # A join ignores the default manager: superseded rows are left out here by hand.
    current = Q(events__superseded_at__isnull=True)
    review_annotations = {
        f"events_{state}": Count("events", filter=current & Q(events__review_status=state)) for state in REVIEW_STATES
    }
    recordings = list(
        recordings_visible_to(user)
        .select_related("owner")
        .annotate(events_total=Count("events", filter=current), **review_annotations)
        .order_by("-started_at", "-id")
    )
    ids = [recording.pk for recording in recordings]
    type_counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        DetectedEvent.objects.filter(recording_id__in=ids)
        .exclude(review_status=DetectedEvent.ReviewStatus.DELETED)
        .values_list("recording_id", "event_type")
        .annotate(n=Count("id"))
        .order_by("recording_id", "event_type")
    )
    for recording_id, event_type, count in rows:
        type_counts[recording_id][event_type] = count
    active: dict[int | None, Job] = {}
    live_jobs = Job.objects.filter(recording_id__in=ids, status__in=Job.ACTIVE_STATUSES).select_related("recording")
    for job in live_jobs.order_by("created_at"):
        active[job.recording_id] = job
    return [
        RecordingOverview(
            recording=recording,
            review_counts={state: getattr(recording, f"events_{state}") for state in REVIEW_STATES},
            type_counts=type_counts.get(recording.pk, {}),
            active_job=active.get(recording.pk),
        )
        for recording in recordings
    ]
