"""The active-learning queue: candidate frames best first, each with why it was picked, keys like review's.

`/recordings/queue/` covers every recording the user may see, `/recordings/<pk>/queue/` one of them. The
list pages by HTMX (`#queue-list`); `a` and `d` post to a frame's action and get its card back, `e` opens
the box editor (views_editor). Rules live in labeling.datasets (queue_selector, box_edits).
"""
from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from detection.models import Recording
from detection.selectors import recordings_visible_to
from labeling.datasets.annotations import frame_image_ensure
from labeling.datasets.box_edits import frame_accept, frame_mark_negative
from labeling.datasets.items import DatasetError
from labeling.datasets.queue_selector import QueueCard, box_views, queue_cards, queue_page
from labeling.models import FrameAnnotation
from review.htmx import HtmxHttpRequest

PER_PAGE = 24
LIST_TARGET = "queue-list"
ACTIONS = {"accept": frame_accept, "negative": frame_mark_negative}


def frame_for_user(user: Any, pk: int) -> FrameAnnotation:
    """404 for a frame of a recording the user may not see, so ids leak nothing."""
    frames = FrameAnnotation.objects.select_related("recording").filter(recording__in=recordings_visible_to(user))
    return get_object_or_404(frames, pk=pk)


def _start(request: HtmxHttpRequest) -> int:
    """The rank to start from (`start`, 0-based; the pages link by it), else from a page number (`page`)."""
    try:
        if "start" in request.GET:
            return max(0, int(request.GET["start"]))
        return (max(1, int(request.GET.get("page", "1"))) - 1) * PER_PAGE
    except ValueError:
        return 0


def _render_queue(request: HtmxHttpRequest, recording: Recording | None) -> HttpResponse:
    if recording is not None:
        recording_ids: list[int] | None = [recording.pk]
        base = reverse("queue-recording", args=[recording.pk])
    else:
        recording_ids = None if request.user.is_staff else list(
            recordings_visible_to(request.user).values_list("pk", flat=True))
        base = reverse("queue")
    page = queue_page(start=_start(request), per_page=PER_PAGE, recording_ids=recording_ids)
    context = {"recording": recording, "page": page, "cards": queue_cards(page), "base": base}
    if request.htmx and request.htmx.target == LIST_TARGET:
        return render(request, "review/_queue_list.html", context)
    return render(request, "review/queue.html", context)


@require_GET
def queue_all(request: HtmxHttpRequest) -> HttpResponse:
    return _render_queue(request, None)


@require_GET
def queue_recording(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    recording = get_object_or_404(recordings_visible_to(request.user), pk=pk)
    return _render_queue(request, recording)


@require_POST
def queue_frame_action(request: HtmxHttpRequest, frame_pk: int, action: str) -> HttpResponse:
    service = ACTIONS.get(action)
    if service is None:
        return HttpResponseBadRequest(f"unknown action {action!r}: use {' or '.join(ACTIONS)}")
    frame = service(frame=frame_for_user(request.user, frame_pk), user=request.user)
    frame = FrameAnnotation.objects.select_related("recording").prefetch_related("boxes").get(pk=frame.pk)
    try:
        rank = int(request.POST.get("rank", "0"))
    except ValueError:
        rank = 0
    card = QueueCard(rank=rank, frame=frame, boxes=box_views(frame))
    return render(request, "review/_queue_card.html", {"card": card})


@require_GET
def queue_frame_image(request: HtmxHttpRequest, frame_pk: int) -> HttpResponseBase:
    """The frame's picture, taken from the video the first time it is asked for."""
    frame = frame_for_user(request.user, frame_pk)
    try:
        path = frame_image_ensure(frame)
    except DatasetError as exc:
        raise Http404(str(exc)) from None
    response = FileResponse(path.open("rb"), content_type="image/jpeg" if path.suffix == ".jpg" else None)
    response["Cache-Control"] = "private, max-age=86400"
    return response
