"""The recordings page (`/`, name `recordings`) and its HTMX fragments; review pages live in urls_review."""
from __future__ import annotations

from django.urls import path

from review import views_recordings as views

urlpatterns = [
    path("", views.recordings, name="recordings"),
    path("recordings/register/", views.recording_register, name="recording-register"),
    path("recordings/<int:pk>/started-at/", views.recording_started_at, name="recording-started-at"),
    path("recordings/<int:pk>/detect/", views.recording_detect, name="recording-detect"),
    path("jobs/", views.jobs_panel, name="jobs-panel"),
    path("jobs/<int:pk>/progress/", views.job_progress, name="job-progress"),
    path("jobs/<int:pk>/cancel/", views.job_cancel_view, name="job-cancel"),
]
