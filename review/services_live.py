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
    jobs = Job.objects.filter(kind=Job.Kind.DETECT, params__live=True)
    return jobs if user.is_staff else jobs.filter(recording__owner=user)


def live_messages_after(*, user: Any, since_event: int | None, seen: dict[str, int]) -> list[dict[str, Any]]:
    """What a feed has not sent yet: state and stats newer than `seen` (by "state:<job id>", the seq last sent) and events
    after the id `since_event` (None: the latest `CATCH_UP_EVENTS`), oldest first."""
    messages: list[dict[str, Any]] = []
    jobs = live_jobs_for(user)
    recent = Q(status=Job.Status.RUNNING) | Q(finished_at__gte=timezone.now() - timedelta(seconds=RECENT_SECONDS))
    for job in jobs.filter(recent).order_by("pk"):
        if int(job.result.get("seq", 0)) > seen.get(f"state:{job.pk}", 0):
            messages += [state_message(job), stats_message(job)]
    events = DetectedEvent.objects.filter(job__in=jobs).select_related("recording")
    if since_event is None:
        rows = list(events.order_by("-id")[:CATCH_UP_EVENTS])[::-1]
    else:
        rows = list(events.filter(id__gt=since_event).order_by("id")[:500])
    return messages + [event_message(row) for row in rows]
