from __future__ import annotations

from django.urls import path

from importer import views

urlpatterns = [
    path("stats/", views.stats_page, name="importer-stats"),
    path("target/", views.target_settings, name="importer-target"),
    path("recordings/<int:pk>/import/", views.recording_import, name="importer-recording-import"),
    path("recordings/<int:pk>/actions/", views.recording_actions, name="importer-recording-actions"),
]
