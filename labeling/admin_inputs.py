"""Input logs in the admin (h-input): see what is attached, correct a log's offset or screen size."""
from __future__ import annotations

from django.contrib import admin

from labeling.inputlog_models import InputLog


@admin.register(InputLog)
class InputLogAdmin(admin.ModelAdmin):
    list_display = ["recording", "path", "format", "offset_seconds", "rows", "first_seconds", "last_seconds",
                    "updated_at"]
    list_filter = ["format"]
    search_fields = ["path", "recording__title"]
    raw_id_fields = ["recording"]
    fields = ["recording", "path", "format", "offset_seconds", "screen_width", "screen_height", "rows",
              "first_seconds", "last_seconds", "attached_at", "updated_at"]
    readonly_fields = ["path", "format", "rows", "first_seconds", "last_seconds", "attached_at", "updated_at"]
