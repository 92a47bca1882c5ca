"""Reads shared by pages, the API and other apps: who may see what, and aggregated counts."""
from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from detection.models import Recording


def recordings_visible_to(user: Any) -> QuerySet[Recording]:
    """Owner sees their own, listed reviewers see theirs, staff see all; everybody else sees nothing.

    Views answer 404 (not 403) for a recording outside this set, so ids leak nothing.
    """
    if user is None or not user.is_authenticated:
        return Recording.objects.none()
    if user.is_staff:
        return Recording.objects.all()
    visible_ids = Recording.objects.filter(Q(owner=user) | Q(reviewers=user)).values("pk")
    return Recording.objects.filter(pk__in=visible_ids)
