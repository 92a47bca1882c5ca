"""Review pages: the page and its fragments come from one template set (rows, list, counts, jobs).

Views parse, check visibility (404 outside `recordings_visible_to`), call one service and
render. Every action answers with the changed row plus out-of-band counts: a constant
number of queries, whatever the number of events.
"""
from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest, JsonResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from detection.models import DetectedEvent, Job, Recording
from detection.pipeline.labels import INTENT_VALUES, LabelSchema
from labeling.services.label_correction import LabelCorrectionInvalid, correction_initial, window_label_correct
from labeling.vlm_models import WindowLabel
from review import selectors, services
from review.export import recording_event_log_json
from review.forms import EventForm, initial_for
from review.htmx import HtmxHttpRequest
from review.proxy import recording_proxy_request
from review.fragments import event_rows_html, format_offset, timeline_html, type_colours
from review.label_lane import (
    label_text, lane_duration, lane_schema, lane_segments_html, lane_stamp, lane_windows, tactic_colours,
)
from review.vocabulary import event_specs

ACTIONS = {
    "approve": services.event_approve,
    "delete": services.event_delete,
    "restore": services.event_restore,
}
LIST_TARGET = "event-list"


def _urls(recording: Recording) -> dict[str, str]:
    """Prefixes review.js and the row builder extend (one reverse, not one per row)."""
    base = reverse("review-page", args=[recording.pk])
    return {"base": base, "events": f"{base}events/"}


def _list_context(request: HtmxHttpRequest, recording: Recording) -> dict[str, Any]:
    """The list and its counts; counted first, so the list's stamp is never newer than its rows."""
    counts = selectors.review_counts(recording=recording)
    filters = selectors.ReviewFilters.from_query(_filter_query(request))
    events = selectors.review_events(recording=recording, filters=filters)
    urls = _urls(recording)
    threshold = selectors.review_threshold()
    return {
        "recording": recording,
        "counts": counts,
        "filters": filters,
        "event_count": len(events),
        "rows": event_rows_html(events, threshold=threshold, events_url=urls["events"]),
        "urls": urls,
        "threshold": threshold,
    }


def _filter_query(request: HtmxHttpRequest) -> QueryDict:
    """Filters are GET params; an action POSTed from a filtered page keeps that page's filters."""
    if request.method == "POST" and request.htmx and request.htmx.current_url:
        return QueryDict(urlsplit(request.htmx.current_url).query)
    return request.GET


@require_GET
def review_page(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    recording = selectors.recording_for_review(user=request.user, pk=pk)
    context = _list_context(request, recording)
    if request.htmx and request.htmx.target == LIST_TARGET:
        return _render_list(request, context)
    ticks, duration = selectors.timeline_ticks(recording=recording)
    colours = type_colours()
    context.update(
        ticks=timeline_html(ticks),
        lanes=len(colours),
        duration=duration,
        duration_text=format_offset(recording.duration_seconds or 0).split(".")[0],
        jobs_context=_jobs_context(recording),
        lane=_lane_context(recording),
        needs_proxy=selectors.recording_needs_proxy(recording),
        type_filters=[(spec.type, spec.label, colours[spec.type]) for spec in event_specs().values()],
        state_filters=[(key, label) for key, (label, _) in selectors.STATE_FILTERS.items()],
    )
    return render(request, "review/review.html", context)


def _render_list(request: HtmxHttpRequest, context: dict[str, Any]) -> HttpResponse:
    """The list with out-of-band counts, legend and timeline (rows may have appeared: a running detection, an add)."""
    ticks, _ = selectors.timeline_ticks(recording=context["recording"])
    context.update(oob=True, ticks=timeline_html(ticks))
    return render(request, "review/_list_response.html", context)


def _row_response(request: HtmxHttpRequest, event: DetectedEvent, *, with_counts: bool = True) -> HttpResponse:
    recording = event.recording
    urls = _urls(recording)
    threshold = selectors.review_threshold()
    context: dict[str, Any] = {
        "row": event_rows_html([selectors.EventRow.from_event(event)], threshold=threshold, events_url=urls["events"]),
        "recording": recording,
        "threshold": threshold,
    }
    if with_counts:
        context["counts"] = selectors.review_counts(recording=recording)
        context["oob"] = True
    return render(request, "review/_row_response.html", context)


@require_POST
def review_event_action(request: HtmxHttpRequest, pk: int, event_pk: int, action: str) -> HttpResponse:
    service = ACTIONS.get(action)
    if service is None:
        raise Http404(f"unknown action {action!r}")
    recording = selectors.recording_for_review(user=request.user, pk=pk)
    event = selectors.event_for_review(recording=recording, pk=event_pk)
    event = service(event=event, user=request.user)
    return _row_response(request, event)


@require_GET
def review_event_row(request: HtmxHttpRequest, pk: int, event_pk: int) -> HttpResponse:
    """The plain row again (Escape leaves the edit form)."""
    recording = selectors.recording_for_review(user=request.user, pk=pk)
    event = selectors.event_for_review(recording=recording, pk=event_pk)
    return _row_response(request, event, with_counts=False)


@require_http_methods(["GET", "POST"])
def review_event_edit(request: HtmxHttpRequest, pk: int, event_pk: int) -> HttpResponse:
    recording = selectors.recording_for_review(user=request.user, pk=pk)
    event = selectors.event_for_review(recording=recording, pk=event_pk)
    if request.method == "POST":
        form = EventForm(request.POST, event=event)
        if form.is_valid():
            try:
                event = services.event_update(event=event, user=request.user, **form.cleaned_payload())
            except services.EventInvalid as exc:
                form.add_error(None, str(exc))
            else:
                return _row_response(request, event)
    else:
        form = EventForm(initial=initial_for(event), event=event)
    context = {"e": event, "form": form, "urls": _urls(recording), "recording": recording, "mode": "edit"}
    return render(request, "review/_event_form.html", context)


@require_http_methods(["GET", "POST"])
def review_event_add(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    recording = selectors.recording_for_review(user=request.user, pk=pk)
    if request.method == "POST":
        form = EventForm(request.POST)
        if form.is_valid():
            try:
                event = services.event_add(recording=recording, user=request.user, **form.cleaned_payload())
            except services.EventInvalid as exc:
                form.add_error(None, str(exc))
            else:
                return _list_response(request, recording, select=event.pk, clear_add=True)
    else:
        try:
            offset = float(request.GET.get("t", "0") or 0)
        except ValueError:
            return HttpResponseBadRequest("t must be a number of seconds")
        # The player's time opens the form; anything outside the recording starts it at an edge instead.
        offset = min(max(0.0, offset), recording.duration_seconds or 0.0) if math.isfinite(offset) else 0.0
        form = EventForm(initial=initial_for(None, offset=offset, event_type=request.GET.get("type", "")))
    context = {"form": form, "urls": _urls(recording), "recording": recording, "mode": "add"}
    return render(request, "review/_event_form.html", context)


@require_POST
def review_undo(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    recording = selectors.recording_for_review(user=request.user, pk=pk)
    event = services.review_undo_last(recording=recording, user=request.user)
    if event is None:
        response = HttpResponse(status=204)
        return trigger_client_event(response, "review:toast", {"message": "Nothing to undo"})
    return _list_response(request, recording, select=event.pk)


def _list_response(request: HtmxHttpRequest, recording: Recording, *, select: int, clear_add: bool = False) -> HttpResponse:
    """The whole list (a row may appear or move), under the page's current filters, plus counts."""
    context = _list_context(request, recording)
    context.update(clear_add=clear_add)
    response = _render_list(request, context)
    response = reswap(retarget(response, f"#{LIST_TARGET}"), "outerHTML")
    return trigger_client_event(response, "review:select", {"id": select}, after="settle")


@require_GET
def review_event_thumbnail(request: HtmxHttpRequest, pk: int, event_pk: int) -> HttpResponseBase:
    recording = selectors.recording_for_review(user=request.user, pk=pk)
    event = selectors.event_for_review(recording=recording, pk=event_pk)
    if not event.thumbnail:
        raise Http404("no thumbnail")
    try:
        handle = event.thumbnail.open("rb")
    except FileNotFoundError as exc:
        raise Http404("thumbnail file missing") from exc
    response = FileResponse(handle, content_type="image/jpeg" if (event.thumbnail.name or "").endswith(".jpg") else None)
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_GET
def review_history(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    recording = selectors.recording_for_review(user=request.user, pk=pk)
    lines = selectors.recording_history(recording=recording)
    return render(request, "review/history.html", {"recording": recording, "lines": lines})


@require_GET
def review_export(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    recording = selectors.recording_for_review(user=request.user, pk=pk)
    document = recording_event_log_json(recording=recording)
    response = JsonResponse(document, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="recording-{recording.pk}-reviewed.json"'
    return response


def _jobs_context(recording: Recording) -> dict[str, Any]:
    jobs = selectors.recording_jobs(recording=recording)
    return {
        "recording": recording,
        "jobs": jobs,
        "polling": any(job.status in Job.ACTIVE_STATUSES for job in jobs),
        # A live session saves events as a detect job does: the page follows both.
        "detecting": any(job.kind in (Job.Kind.DETECT, Job.Kind.LIVE) and job.status in Job.ACTIVE_STATUSES
                         for job in jobs),
        "proxy_pending": any(job.kind == Job.Kind.PROXY and job.status in Job.ACTIVE_STATUSES for job in jobs),
        "labelling": any(job.kind == Job.Kind.VLM and job.status in Job.ACTIVE_STATUSES for job in jobs),
        "needs_proxy": selectors.recording_needs_proxy(recording),
    }


def _jobs_response(request: HtmxHttpRequest, recording: Recording) -> HttpResponse:
    """While detection runs, the events' stamp (review.js fetches the list when it differs from the page's);
    when the last job finishes, the end (review.js reloads the list, and the video after a proxy)."""
    context = _jobs_context(recording)
    response = render(request, "review/_jobs.html", context)
    if context["labelling"]:  # the lane fills in while a vlm job runs
        response = trigger_client_event(response, "review:labels", {"stamp": lane_stamp(recording=recording)})
    if context["detecting"]:
        return trigger_client_event(response, "review:events", {"stamp": selectors.events_stamp(recording=recording)})
    if not context["polling"] and context["jobs"]:
        return trigger_client_event(response, "review:jobs-done", {"proxy": bool(recording.proxy_path)})
    return response


@require_GET
def review_jobs(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    recording = selectors.recording_for_review(user=request.user, pk=pk)
    return _jobs_response(request, recording)


@require_POST
def review_proxy(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    recording = selectors.recording_for_review(user=request.user, pk=pk)
    recording_proxy_request(recording=recording, user=request.user)
    recording.refresh_from_db()  # an inline (embedded) job has already finished here
    if not request.htmx:
        return redirect("review-page", pk=recording.pk)
    return _jobs_response(request, recording)


def _lane_context(recording: Recording) -> dict[str, Any]:
    schema = lane_schema()
    if schema is None:
        return {"stamp": "", "count": 0, "segments": "", "colours": []}
    windows = lane_windows(recording=recording)
    return {
        "stamp": lane_stamp(recording=recording),
        "count": len(windows),
        "segments": lane_segments_html(windows, schema=schema, duration=lane_duration(recording, windows)),
        "colours": list(tactic_colours(schema).values()),
    }


def _lane_response(request: HtmxHttpRequest, recording: Recording) -> HttpResponse:
    return render(request, "review/_label_lane.html", {"recording": recording, "lane": _lane_context(recording)})


@require_GET
def review_labels(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The label lane alone (review.js fetches it again when a job ends)."""
    recording = selectors.recording_for_review(user=request.user, pk=pk)
    return _lane_response(request, recording)


@require_http_methods(["GET", "POST"])
def review_label_correct(request: HtmxHttpRequest, pk: int, label_pk: int) -> HttpResponse:
    """GET: the correction form for one window; POST: save it and answer the lane (400 and the form, saying why)."""
    recording = selectors.recording_for_review(user=request.user, pk=pk)
    window = get_object_or_404(WindowLabel.objects.select_related("corrected_by"), recording=recording, pk=label_pk)
    schema = lane_schema()
    if schema is None:
        raise Http404("this game profile declares no labels")
    if request.method == "POST":
        try:
            window_label_correct(window=window, user=request.user, values=request.POST, schema=schema)
        except LabelCorrectionInvalid as exc:
            form = _correct_form(request, window, schema, initial=dict(request.POST.items()), error=str(exc),
                                 status=400)
            return reswap(retarget(form, "#label-popup"), "innerHTML")
        if not request.htmx:
            return redirect("review-page", pk=recording.pk)
        return trigger_client_event(_lane_response(request, recording), "review:toast", {"message": "Label saved"})
    return _correct_form(request, window, schema, initial=correction_initial(window, schema=schema))


def _correct_form(request: HtmxHttpRequest, window: WindowLabel, schema: LabelSchema, *, initial: dict[str, Any],
                  error: str = "", status: int = 200) -> HttpResponse:
    context = {
        "window": window,
        "url": reverse("review-label-correct", args=[window.recording_id, window.pk]),
        "when": f"{format_offset(window.start)}–{format_offset(window.end)}",
        "colours": list(tactic_colours(schema).values()),
        "hud": [(field, initial.get(field.name)) for field in schema.hud_fields],
        "intents": INTENT_VALUES,
        "initial": initial,
        "error": error,
        "model_said": label_text(window.label, schema) if window.label else "",
    }
    return render(request, "review/_label_correct.html", context, status=status)
