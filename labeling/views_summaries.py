"""The summaries panel of a recording's review page: the panel itself (polled while a job runs) and its
"Summarize session" button, which queues a `summarize` job with the configured backend."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from detection.models import Job
from detection.selectors import recording_changeable_by, recordings_visible_to
from project.jobs.registry import JobRefused
from project.jobs.services import job_create
from review.htmx import HtmxHttpRequest

PANEL = "labeling/_summaries.html"


@require_GET
def summaries_panel_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    recording = get_object_or_404(recordings_visible_to(request.user), pk=pk)
    return render(request, PANEL, {"recording": recording})


@require_POST
def summaries_start(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    recording = get_object_or_404(recordings_visible_to(request.user), pk=pk)
    if not recording_changeable_by(request.user, recording):
        raise Http404
    refused = ""
    try:
        job_create(kind=Job.Kind.SUMMARIZE, recording=recording, created_by=request.user)
    except JobRefused as exc:
        refused = str(exc)
    if request.htmx:
        return render(request, PANEL, {"recording": recording, "refused": refused})
    if refused:
        messages.warning(request, f"{recording.title}: {refused}")
    return redirect("review-page", pk=recording.pk)
