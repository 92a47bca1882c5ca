"""Overlay tokens (writes) and what a live feed may show (reads), for the dashboard and overlay pages
and their WebSocket consumers."""
from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from detection.models import DetectedEvent, Job
from detection.services.live import event_message, state_message, stats_message
from labeling.live_labels import label_message
from labeling.vlm_models import WindowLabel
from review.models import OverlayToken

CATCH_UP_EVENTS = 50  # a fresh dashboard starts with the latest this many events
RECENT_SECONDS = 60  # a session that ended this recently still shows (stopped) on a fresh dashboard


def overlay_token_create(*, user: Any) -> OverlayToken:
    return OverlayToken.objects.create(key=secrets.token_urlsafe(32), created_by=user)


def overlay_token_revoke(*, user: Any, token_id: int) -> int:
    """Revokes one of the user's own tokens; the count revoked (0: not theirs, or revoked already)."""
    return OverlayToken.objects.filter(pk=token_id, created_by=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now())


def overlay_token_owner(key: str) -> Any | None:
    """The user whose sessions a token shows; None for an unknown or revoked token."""
    token = OverlayToken.objects.select_related("created_by").filter(key=key, revoked_at__isnull=True).first()
    return token.created_by if token is not None and key else None


def live_jobs_for(user: Any) -> QuerySet[Job]:
    """Live sessions a user may watch: their own, every one for staff."""
    jobs = Job.objects.filter(kind=Job.Kind.LIVE)
    return jobs if user.is_staff else jobs.filter(recording__owner=user)


def live_messages_after(*, user: Any, since_event: int | None, since_label: int | None,
                        seen: dict[str, int]) -> tuple[list[dict[str, Any]], bool]:
    """What a feed has not sent yet, oldest first: state and stats newer than `seen` (by "state:<job id>", the seq
    last sent), events after the id `since_event` (None: the latest `CATCH_UP_EVENTS`) and labels after
    `since_label` (None: the latest one). With it, whether a session is running (the feed polls faster then).

    Every query is on an indexed column (ids, the job's status and kind), cheap enough for a poll every 0.1 s."""
    messages: list[dict[str, Any]] = []
    jobs = live_jobs_for(user)
    recent = Q(status=Job.Status.RUNNING) | Q(finished_at__gte=timezone.now() - timedelta(seconds=RECENT_SECONDS))
    watched = list(jobs.filter(recent).order_by("pk"))
    for job in watched:
        if int(job.result.get("seq", 0)) > seen.get(f"state:{job.pk}", 0):
            messages += [state_message(job), stats_message(job)]
    running = any(job.status == Job.Status.RUNNING for job in watched)
    events = DetectedEvent.objects.filter(job__in=jobs)
    if since_event is None:
        rows = list(events.order_by("-id")[:CATCH_UP_EVENTS])[::-1]
    else:
        rows = list(events.filter(id__gt=since_event).order_by("id")[:500])
    labels = WindowLabel.objects.filter(job__in=jobs).select_related("recording")
    if since_label is None:
        label_rows = list(labels.order_by("-id")[:1])
    else:
        label_rows = list(labels.filter(id__gt=since_label).order_by("id")[:100])
    return messages + [event_message(row) for row in rows] + [label_message(row) for row in label_rows], running
