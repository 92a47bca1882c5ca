"""The summaries panel of a recording's review page: /recordings/<pk>/summaries/..."""
from __future__ import annotations

from django.urls import path

from labeling import views_summaries

urlpatterns = [
    path("recordings/<int:pk>/summaries/", views_summaries.summaries_panel_view, name="summaries-panel"),
    path("recordings/<int:pk>/summaries/start/", views_summaries.summaries_start, name="summaries-start"),
]
