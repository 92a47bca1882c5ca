"""The box editor: one frame on a canvas (static/vodscope/editor.js); saving posts the whole set of boxes as JSON.

The page carries everything the script needs in one JSON blob (boxes, the profile's classes, URLs); the save
answers the boxes as stored, or 400 with the reason (nothing saved). The audit lives in AnnotationChange.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from detection.models import DetectedEvent
from detection.selectors import recordings_visible_to
from labeling.datasets.annotations import annotation_frame_for_event, frame_boxes
from labeling.datasets.box_edits import BoxesInvalid, boxes_parse, frame_boxes_save
from labeling.datasets.transfer import dataset_classes
from labeling.models import FrameAnnotation
from review.htmx import HtmxHttpRequest
from review.views_queue import frame_for_user

HISTORY_SHOWN = 10


def _back_url(request: HtmxHttpRequest, frame: FrameAnnotation) -> str:
    """Where Enter and the back link go: the queue the editor was opened from, else the recording's queue."""
    back = request.GET.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return back
    return reverse("queue-recording", args=[frame.recording_id])


def _state(frame: FrameAnnotation) -> dict[str, Any]:
    return {"boxes": frame_boxes(frame), "status": frame.status, "reason": frame.reason}


@require_GET
def editor_page(request: HtmxHttpRequest, frame_pk: int) -> HttpResponse:
    frame = frame_for_user(request.user, frame_pk)
    config = {
        **_state(frame),
        "classes": dataset_classes(),
        "image": reverse("queue-frame-image", args=[frame.pk]),
        "save": reverse("editor-save", args=[frame.pk]),
        "back": _back_url(request, frame),
    }
    changes = frame.changes.select_related("user")[:HISTORY_SHOWN]
    return render(request, "review/editor.html", {"frame": frame, "config": config, "changes": changes})


@require_GET
def editor_for_event(request: HtmxHttpRequest, pk: int, event_pk: int) -> HttpResponse:
    """From a review row to the box editor on the frame the event was seen on (made ready if it is not yet)."""
    recording = get_object_or_404(recordings_visible_to(request.user), pk=pk)
    event = get_object_or_404(DetectedEvent.objects.filter(recording=recording), pk=event_pk)
    event.recording = recording
    frame = annotation_frame_for_event(event=event)
    back = reverse("review-page", args=[recording.pk])
    return redirect(f"{reverse('editor-page', args=[frame.pk])}?{urlencode({'next': back})}")


@require_POST
def editor_save(request: HtmxHttpRequest, frame_pk: int) -> JsonResponse:
    frame = frame_for_user(request.user, frame_pk)
    try:
        payload = json.loads(request.body or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return JsonResponse({"error": "the body is not JSON"}, status=400)
    try:
        boxes = boxes_parse(payload, classes=dataset_classes())
    except BoxesInvalid as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    frame = frame_boxes_save(frame=frame, boxes=boxes, user=request.user)
    return JsonResponse(_state(frame))
