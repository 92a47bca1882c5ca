"""Pages: the hosted stats, the import target settings, and "import this recording"."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from detection.models import Recording
from detection.selectors import recording_changeable_by, recordings_visible_to
from importer import selectors, services
from importer.forms import ImportTargetForm
from importer.models import ImportTarget
from project.http import AuthenticatedHttpRequest


def _map_rows(by_map: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    most = max((m["raids"] for m in by_map.values()), default=0) or 1
    rows = [
        {
            "name": name.replace("_", " "),
            **m,
            "share": round(100 * m["raids"] / most),
            "survival_pct": round(100 * m["survival_rate"]),
        }
        for name, m in by_map.items()
    ]
    return sorted(rows, key=lambda r: (-r["raids"], r["name"]))


@require_GET
def stats_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    stats = selectors.stats(owner=request.user)
    context = {
        "stats": stats,
        "survival_pct": round(100 * stats["survival_rate"]),
        "maps": _map_rows(stats["by_map"]),
        "sessions": selectors.recent_sessions(owner=request.user),
        "jobs": selectors.import_jobs_for(user=request.user),
        "target": ImportTarget.objects.filter(owner=request.user).first(),
    }
    return render(request, "importer/stats.html", context)


@require_http_methods(["GET", "POST"])
def target_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    target = ImportTarget.objects.filter(owner=request.user).first()
    initial = {"api_url": target.api_url, "token": target.token} if target else {}
    form = ImportTargetForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.import_target_save(owner=request.user, **form.cleaned_data)
        messages.success(request, "Import target saved.")
        return redirect("importer-target")
    token = Token.objects.get_or_create(user=request.user)[0].key
    api_base = request.build_absolute_uri("/").rstrip("/")
    return render(request, "importer/target.html", {"form": form, "token": token, "api_base": api_base})


def _importable(request: HttpRequest, pk: int) -> Recording:
    recording = get_object_or_404(recordings_visible_to(request.user), pk=pk)
    if not recording_changeable_by(request.user, recording):
        raise PermissionDenied("only the recording's owner imports it")
    return recording


@require_POST
def recording_import(request: HttpRequest, pk: int) -> HttpResponse:
    recording = _importable(request, pk)
    dry_run = request.POST.get("dry_run") == "1"
    job = services.import_job_create(user=request.user, recordings=[recording], dry_run=dry_run)
    if getattr(request, "htmx", False):
        return render(request, "importer/recording_actions.html", {"recording": recording})
    messages.success(request, f"Import job #{job.pk} queued for {recording.title}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("importer-stats")
    return redirect(target)


@require_GET
def recording_actions(request: HttpRequest, pk: int) -> HttpResponse:
    """The import panel alone: the recording page polls it while a job runs."""
    recording = get_object_or_404(recordings_visible_to(request.user), pk=pk)
    return render(request, "importer/recording_actions.html", {"recording": recording})
