from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from importer.models import ImportLedger, ImportTarget, Kill, Raid, RaidStateTransition, StreamSession
from importer.services import import_job_create


@admin.action(description="Import selected recordings (one job, in time order)")
def import_selected_recordings(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    recordings = list(queryset)
    job = import_job_create(user=request.user, recordings=recordings)
    modeladmin.message_user(
        request, f"Import job #{job.pk} queued for {len(recordings)} recording(s).", level=messages.SUCCESS
    )


class RaidInline(admin.TabularInline):
    model = Raid
    extra = 0
    fields = ["map_name", "character_type", "game_mode", "started_at", "ended_at", "outcome", "extract_location"]


@admin.register(StreamSession)
class StreamSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "session_type", "started_at", "ended_at", "notes"]
    list_filter = ["session_type"]
    search_fields = ["notes", "owner__username"]
    raw_id_fields = ["owner"]
    date_hierarchy = "started_at"
    inlines = [RaidInline]


@admin.register(Raid)
class RaidAdmin(admin.ModelAdmin):
    list_display = ["id", "session", "map_name", "character_type", "game_mode", "started_at", "ended_at", "outcome"]
    list_filter = ["map_name", "outcome", "character_type", "game_mode"]
    raw_id_fields = ["session"]


@admin.register(Kill)
class KillAdmin(admin.ModelAdmin):
    list_display = ["id", "raid", "enemy_type", "weapon", "headshot", "killed_at"]
    list_filter = ["enemy_type", "headshot"]
    raw_id_fields = ["raid"]


@admin.register(RaidStateTransition)
class RaidStateTransitionAdmin(admin.ModelAdmin):
    list_display = ["id", "raid", "from_state", "to_state", "transitioned_at"]
    raw_id_fields = ["raid"]


@admin.register(ImportTarget)
class ImportTargetAdmin(admin.ModelAdmin):
    list_display = ["owner", "api_url", "updated_at"]
    exclude = ["token"]


@admin.register(ImportLedger)
class ImportLedgerAdmin(admin.ModelAdmin):
    list_display = ["target_key", "session_started_at", "source", "mode", "status", "next_step", "updated_at"]
    list_filter = ["status", "mode"]
    search_fields = ["target_key", "source"]
    raw_id_fields = ["recording"]
