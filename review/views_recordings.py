"""The recordings page: register by path, upload, start detection, watch jobs live (HTMX polling).

Polling a small fragment works the same in both modes: the worker writes progress to the Job
row, and any web process reads it back, whether or not a Channels layer spans processes.
"""
from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from detection.models import Job, ModelVersion, SessionType
from detection.selectors import (
    job_cancellable_by,
    jobs_visible_to,
    model_versions_choosable,
    recording_changeable_by,
    recordings_overview,
    recordings_visible_to,
)
from detection.services.detect import DetectError, detect_job_start
from detection.services.ingest import IngestError, recording_register_any, recording_update
from project.jobs.registry import JobRefused
from project.jobs.services import job_cancel
from review.htmx import HtmxHttpRequest

RECENT_JOBS = 8


class RegisterForm(forms.Form):
    path = forms.CharField(max_length=1024, widget=forms.TextInput(attrs={"placeholder": "/srv/vods/2026-03-01 18-30-00.mkv"}))
    session_type = forms.ChoiceField(choices=SessionType.choices, initial=SessionType.STREAM)
    started_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"})
    )
    notes = forms.CharField(required=False, max_length=2000)


class DetectForm(forms.Form):
    """The Detect button's one choice: which registered model version runs (empty: the active one)."""

    model_version = forms.ModelChoiceField(queryset=ModelVersion.objects.none(), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The declared ModelChoiceField; Form.fields is typed as plain Fields.
        self.fields["model_version"].queryset = model_versions_choosable()  # type: ignore[attr-defined]


class StartedAtForm(forms.Form):
    started_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}))


def _jobs_context(user: Any) -> dict[str, Any]:
    visible = jobs_visible_to(user).select_related("recording")
    active = list(visible.filter(status__in=Job.ACTIVE_STATUSES).order_by("created_at"))
    recent = list(visible.exclude(status__in=Job.ACTIVE_STATUSES).order_by("-finished_at", "-id")[:RECENT_JOBS])
    return {"active_jobs": active, "recent_jobs": recent}


@require_GET
def recordings(request: HtmxHttpRequest) -> HttpResponse:
    context = {
        "recordings": recordings_overview(request.user),
        "form": RegisterForm(),
        "session_types": SessionType.choices,
        "allowed_roots": settings.VODSCOPE_ALLOWED_ROOTS,
        "model_versions": list(model_versions_choosable()),
        **_jobs_context(request.user),
    }
    if request.htmx and request.htmx.target == "recordings-table":
        return render(request, "recordings/_table.html", context)
    return render(request, "recordings/list.html", context)


@require_POST
def recording_register(request: HtmxHttpRequest) -> HttpResponse:
    form = RegisterForm(request.POST)
    results: list[Any] = []
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            results = recording_register_any(
                owner=request.user, path=data["path"], session_type=data["session_type"],
                started_at=data["started_at"], notes=data["notes"],
            )
        except IngestError as exc:
            error = str(exc)
    else:
        error = "; ".join(f"{field}: {' '.join(map(str, errs))}" for field, errs in form.errors.items())
    created = any(result.status == "created" for result in results)
    if request.htmx:
        response = render(request, "recordings/_register_result.html", {"results": results, "error": error})
        if created:
            trigger_client_event(response, "recordings-changed")
        return response
    if error:
        messages.error(request, error)
    for result in results:
        level = messages.SUCCESS if result.status == "created" else messages.WARNING
        messages.add_message(request, level, f"{result.path}: {result.message}")
    return redirect("recordings")


@require_POST
def recording_started_at(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    recording = get_object_or_404(recordings_visible_to(request.user), pk=pk)
    if not recording_changeable_by(request.user, recording):
        raise Http404
    form = StartedAtForm(request.POST)
    if form.is_valid():
        try:
            recording_update(recording=recording, started_at=form.cleaned_data["started_at"])
        except IngestError as exc:
            messages.error(request, f"{recording.title}: {exc}")
        else:
            messages.success(request, f"{recording.title}: start time set to {recording.started_at:%Y-%m-%d %H:%M:%S}")
    else:
        messages.error(request, f"{recording.title}: give a start date and time")
    return _back_to_list(request)


@require_POST
def recording_detect(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    recording = get_object_or_404(recordings_visible_to(request.user), pk=pk)
    if not recording_changeable_by(request.user, recording):
        raise Http404
    form = DetectForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{recording.title}: choose a model version from the list")
        return _back_to_list(request)
    version = form.cleaned_data["model_version"]
    params = {"model_version": version.pk} if version is not None else {}
    try:
        job = detect_job_start(recording=recording, user=request.user, params=params)
    except (DetectError, JobRefused) as exc:
        messages.warning(request, f"{recording.title}: {exc}")
    else:
        messages.success(request, f"{recording.title}: detection job #{job.pk} queued")
    return _back_to_list(request)


def _back_to_list(request: HtmxHttpRequest) -> HttpResponse:
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect("recordings")


@require_GET
def jobs_panel(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "recordings/_jobs.html", _jobs_context(request.user))


@require_GET
def job_progress(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(jobs_visible_to(request.user).select_related("recording"), pk=pk)
    return render(request, "recordings/_job.html", {"job": job, "poll": True, "compact": "compact" in request.GET})


@require_POST
def job_cancel_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(jobs_visible_to(request.user).select_related("recording"), pk=pk)
    if not job_cancellable_by(request.user, job):
        raise Http404
    job = job_cancel(job=job)
    if request.htmx:
        return render(request, "recordings/_jobs.html", _jobs_context(request.user))
    messages.info(request, f"Job #{job.pk}: cancel requested")
    return redirect("recordings")
