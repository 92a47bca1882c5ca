"""Live pages: /live/ (dashboard) and /live/overlay/<token>/ (OBS browser source)."""
from __future__ import annotations

from django.urls import path

from review import views_live

urlpatterns = [
    path("live/", views_live.live_dashboard, name="live-dashboard"),
    path("live/sessions/", views_live.live_session_start, name="live-session-start"),
    path("live/sessions/<int:job_id>/stop/", views_live.live_session_stop, name="live-session-stop"),
    path("live/overlay/<str:token>/", views_live.live_overlay, name="live-overlay"),
    path("live/overlay-tokens/", views_live.live_overlay_token_new, name="live-overlay-token-new"),
    path("live/overlay-tokens/<int:token_id>/revoke/", views_live.live_overlay_token_revoke,
         name="live-overlay-token-revoke"),
]
