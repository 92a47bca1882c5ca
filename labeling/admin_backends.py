"""Admin: each VLM backend's health (the last vlm_check) and circuit-breaker state (the last run's that used it:
a labelling run's analyst, or the guard of a summarize run, whose text model is configured too).

Read-only: rows are written by checks and runs, never by hand. "Check configured backends now" runs
vlm_check on every backend in VODSCOPE_VLM_BACKENDS (at most CHECK_TIMEOUT_SECONDS a request) and
records each result; a configured backend never checked nor used is named above the list.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from labeling.backend_status import backend_check_recorded, backend_name
from labeling.backend_status_models import VlmBackendStatus
from labeling.reasoning.text_model import text_backend_config
from labeling.services.vlm_label import configured_backends

if TYPE_CHECKING:
    StatusAdminBase = admin.ModelAdmin[VlmBackendStatus]
else:  # ModelAdmin is not subscriptable at run time
    StatusAdminBase = admin.ModelAdmin


@admin.register(VlmBackendStatus)
class VlmBackendStatusAdmin(StatusAdminBase):
    list_display = ["backend", "configured", "health", "breaker"]
    list_filter = ["check_ok", "breaker_state"]
    search_fields = ["backend", "check_message"]
    change_list_template = "admin/labeling/vlmbackendstatus/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: VlmBackendStatus | None = None) -> bool:
        return False

    @admin.display(boolean=True, description="configured")
    def configured(self, obj: VlmBackendStatus) -> bool:
        return obj.backend in _configured_names()

    @admin.display(description="health (last vlm_check)", ordering="check_ok")
    def health(self, obj: VlmBackendStatus) -> str:
        verdict = {True: "ok", False: "FAILED", None: "never checked"}[obj.check_ok]
        return format_html('<b>{}</b> <span class="help">{}</span><br><span class="help">{}</span>', verdict,
                           _when(obj.checked_at), obj.check_message)

    @admin.display(description="breaker (last run)", ordering="breaker_state")
    def breaker(self, obj: VlmBackendStatus) -> str:
        if not obj.breaker_state:
            return format_html('<span class="help">{}</span>', "no run has used it yet")
        run = f" in job #{obj.breaker_job_id}" if obj.breaker_job_id else ""
        return format_html('<b>{}</b> · {} consecutive failures<br><span class="help">seen {}{}</span>',
                           obj.get_breaker_state_display(), obj.breaker_failures, _when(obj.breaker_changed_at), run)

    def get_urls(self) -> list[URLPattern]:
        check = path("check/", self.admin_site.admin_view(require_POST(self.check_view)),
                     name="labeling_vlmbackendstatus_check")
        return [check, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        known = set(VlmBackendStatus.objects.values_list("backend", flat=True))
        unseen = [name for name in _configured_names() if name not in known]
        context = {**(extra_context or {}), "unseen_backends": unseen, "check_url": reverse(
            "admin:labeling_vlmbackendstatus_check")}
        return super().changelist_view(request, extra_context=context)

    def check_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            messages.error(request, "You may not check VLM backends.")
        else:
            configs = configured_backends()
            if not configs:
                messages.warning(request, "No VLM backend configured (VODSCOPE_VLM_BACKENDS).")
            for config in configs:
                result = backend_check_recorded(config)
                messages.add_message(request, messages.SUCCESS if result.ok else messages.ERROR,
                                     f"{result.backend}: {'OK' if result.ok else 'FAILED'} {result.message}")
        return HttpResponseRedirect(reverse("admin:labeling_vlmbackendstatus_changelist"))


def _configured_names() -> list[str]:
    """The VLM backends in fallback order, then the text model of session reasoning (once)."""
    names = [backend_name(c) for c in configured_backends()]
    text = backend_name(text_backend_config())
    return names if text in names else [*names, text]


def _when(moment: datetime | None) -> str:
    return "" if moment is None else timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")
