"""Pages: recordings (ingest, jobs) and review. Each area keeps its own URL module."""
from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("review.urls_recordings")),
    path("", include("review.urls_review")),
    path("", include("review.urls_live")),
    path("", include("review.urls_queue")),
]
