"""The stream-producer contract's exact paths, mounted at /api/ (/api/v1/ is Vodscope's own DRF API)."""
from __future__ import annotations

from django.urls import path

from importer import api

urlpatterns = [
    path("session", api.session_start, name="producer-session"),
    path("session/current", api.session_current, name="producer-session-current"),
    path("session/end", api.session_end, name="producer-session-end"),
    path("sessions", api.sessions, name="producer-sessions"),
    path("raid", api.raid_start, name="producer-raid"),
    path("raid/current", api.raid_current, name="producer-raid-current"),
    path("raid/<int:raid_id>", api.raid_detail, name="producer-raid-detail"),
    path("raid/<int:raid_id>/transition", api.raid_transition, name="producer-raid-transition"),
    path("raid/<int:raid_id>/kill", api.raid_kill, name="producer-raid-kill"),
    path("raid/<int:raid_id>/end", api.raid_end, name="producer-raid-end"),
    path("import/session", api.import_session, name="producer-import-session"),
    path("stats", api.stats, name="producer-stats"),
]
