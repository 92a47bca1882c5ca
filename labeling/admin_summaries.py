"""Admin: session reasoning's summaries (labeling/summary_models.py), read-only.

Rows are written by summarize runs only (a rerun updates them in place); the admin lists them per recording,
model and prompt version, and a row's page shows what the model was given and answered, or why it failed.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from labeling.summary_models import RaidSummary, SessionSummary

if TYPE_CHECKING:
    RaidAdminBase = admin.ModelAdmin[RaidSummary]
    SessionAdminBase = admin.ModelAdmin[SessionSummary]
else:  # ModelAdmin is not subscriptable at run time
    RaidAdminBase = SessionAdminBase = admin.ModelAdmin

LIST = '<ul style="margin: 0; padding-left: 1.2em">{}</ul>'  # the admin indents a read-only field's list far
ACCOUNTING = ("cached", "requests", "tokens_in", "tokens_out", "job", "updated_at")
SESSION_FIELDS = ("recording", "model", "prompt_version", "status", "summary_shown", "raids", "levels",
                  "context_tokens", "failures_shown", "error", "raw_answer", "inputs_hash", *ACCOUNTING)
RAID_FIELDS = ("recording", "raid_index", "start", "end", "model", "prompt_version", "status", "summary_shown",
               "facts_shown", "error", "raw_answer", "inputs_hash", *ACCOUNTING)


class _ReadOnly:
    """Neither added, changed nor deleted by hand: a summarize run owns these rows."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SessionSummary)
class SessionSummaryAdmin(_ReadOnly, SessionAdminBase):
    list_display = ["recording", "status", "title", "model", "prompt_version", "raids", "updated_at"]
    list_filter = ["status", "model", "prompt_version"]
    search_fields = ["recording__title", "summary", "error"]
    list_select_related = ["recording"]
    date_hierarchy = "updated_at"
    fields = readonly_fields = SESSION_FIELDS

    @admin.display(description="title")
    def title(self, obj: SessionSummary) -> str:
        return str((obj.summary or {}).get("title", ""))

    @admin.display(description="summary")
    def summary_shown(self, obj: SessionSummary) -> str:
        return _summary_html(obj.summary)

    @admin.display(description="failures on the way")
    def failures_shown(self, obj: SessionSummary) -> str:
        if not obj.failures:
            return "none"
        return format_html(LIST, format_html_join("", "<li><b>{}</b>: {}</li>", (
            (f.get("part", "?"), f.get("error", "")) for f in obj.failures if isinstance(f, dict))))


@admin.register(RaidSummary)
class RaidSummaryAdmin(_ReadOnly, RaidAdminBase):
    list_display = ["recording", "raid_index", "span", "status", "title", "model"]
    list_filter = ["status", "model", "prompt_version"]
    search_fields = ["recording__title", "summary", "error"]
    list_select_related = ["recording"]
    fields = readonly_fields = RAID_FIELDS

    @admin.display(description="title")
    def title(self, obj: RaidSummary) -> str:
        return str((obj.summary or {}).get("title", ""))

    @admin.display(description="video", ordering="start")
    def span(self, obj: RaidSummary) -> str:
        return f"{_clock(obj.start)}–{_clock(obj.end)}"

    @admin.display(description="summary")
    def summary_shown(self, obj: RaidSummary) -> str:
        return _summary_html(obj.summary)

    @admin.display(description="facts the model was given")
    def facts_shown(self, obj: RaidSummary) -> str:
        return format_html("<pre style=\"white-space: pre-wrap\">{}</pre>",
                           json.dumps(obj.facts, indent=2, sort_keys=True, ensure_ascii=False))


def _summary_html(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "none (failed: see the error and the raw answer)"
    highlights = format_html_join("", "<li>{}</li>", ((h,) for h in summary.get("highlights") or []))
    return format_html("<b>{}</b><p>{}</p>" + LIST, summary.get("title", ""), summary.get("summary", ""), highlights)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
