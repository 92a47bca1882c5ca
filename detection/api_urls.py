"""/api/v1/: recordings, uploads, jobs, events (the schema and Swagger UI are wired in project/urls.py)."""
from __future__ import annotations

from rest_framework.routers import DefaultRouter

from detection.api import JobViewSet, RecordingViewSet, UploadViewSet
from review.api import EventViewSet

router = DefaultRouter()
router.register("recordings", RecordingViewSet, basename="recording")
router.register("uploads", UploadViewSet, basename="upload")
router.register("jobs", JobViewSet, basename="job")
router.register("events", EventViewSet, basename="event")

urlpatterns = router.urls
