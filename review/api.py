"""/api/v1/events/: list and read events, and review them through the review page's own services.

PATCH (approve, delete or edit), POST (an event added by hand), DELETE (soft), restore and undo are
the page's keys a/d/e/n/r/u: the same services, the same audit trail (EventChange) and the same undo,
for the same people (the recording's owner, its reviewers, staff; anybody else gets 404).
"""
from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from detection.models import DetectedEvent
from detection.selectors import events_visible_to
from detection.serializers import DetectedEventSerializer
from review import selectors, services
from review import serializers as s

Status = DetectedEvent.ReviewStatus
DECISIONS = {Status.APPROVED: services.event_approve, Status.DELETED: services.event_delete}
REFUSED = {400: s.DetailSerializer, 404: s.DetailSerializer}


class EventFilter(django_filters.FilterSet):
    confidence_min = django_filters.NumberFilter(field_name="confidence", lookup_expr="gte")
    confidence_max = django_filters.NumberFilter(field_name="confidence", lookup_expr="lte")
    type = django_filters.CharFilter(field_name="event_type")

    class Meta:
        model = DetectedEvent
        fields = ["recording", "event_type", "review_status", "source", "partial"]


def bad_request(errors: Any) -> Response:
    """`{"detail": "<reason>"}` as everywhere in the API, also for a serializer's per-field errors."""
    return Response({"detail": _reason(errors)}, status=status.HTTP_400_BAD_REQUEST)


def _reason(errors: Any) -> str:
    if isinstance(errors, dict):
        return "; ".join(
            _reason(value) if key == "non_field_errors" else f"{key}: {_reason(value)}" for key, value in errors.items()
        )
    if isinstance(errors, list):
        return "; ".join(_reason(item) for item in errors)
    return str(errors)


class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[DetectedEvent]):
    serializer_class = DetectedEventSerializer
    filterset_class = EventFilter
    ordering_fields = ["video_offset_seconds", "confidence", "timestamp"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[DetectedEvent]:
        return (
            events_visible_to(self.request.user)
            .select_related("recording")  # the services read the recording (times, bounds)
            .order_by("recording_id", "video_offset_seconds", "id")
        )

    def _answer(self, event: DetectedEvent, code: int = status.HTTP_200_OK) -> Response:
        return Response(DetectedEventSerializer(event).data, status=code)

    @extend_schema(request=s.EventCreateSerializer, responses={201: DetectedEventSerializer, **REFUSED})
    def create(self, request: Request) -> Response:
        """Add an event by hand (key n): approved, source `manual`, checked against the game profile."""
        params = s.EventCreateSerializer(data=request.data)
        if not params.is_valid():
            return bad_request(params.errors)
        values = dict(params.validated_data)
        recording = selectors.recording_for_review(user=request.user, pk=values.pop("recording"))
        try:
            event = services.event_add(recording=recording, user=request.user, **values)
        except services.EventInvalid as exc:
            return bad_request(str(exc))
        return self._answer(event, status.HTTP_201_CREATED)

    @extend_schema(request=s.EventUpdateSerializer, responses={200: DetectedEventSerializer, **REFUSED})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Approve or delete (`review_status`), or edit type, data and time (the event becomes `edited`)."""
        event = self.get_object()
        params = s.EventUpdateSerializer(data=request.data)
        if not params.is_valid():
            return bad_request(params.errors)
        values = params.validated_data
        if "review_status" in values:
            return self._answer(DECISIONS[values["review_status"]](event=event, user=request.user))
        try:
            event = services.event_update(
                event=event,
                user=request.user,
                event_type=values.get("event_type", event.event_type),
                data=values.get("data", event.data),
                video_offset_seconds=values.get("video_offset_seconds"),
            )
        except services.EventInvalid as exc:
            return bad_request(str(exc))
        return self._answer(event)

    @extend_schema(request=None, responses={200: DetectedEventSerializer, 404: s.DetailSerializer})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Soft: the event is marked deleted (restore and undo bring it back) and answers as it now is."""
        return self._answer(services.event_delete(event=self.get_object(), user=request.user))

    @extend_schema(request=None, responses={200: DetectedEventSerializer, 404: s.DetailSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str | None = None) -> Response:
        """A deleted event goes back to the state it had before (key r); any other is left alone."""
        return self._answer(services.event_restore(event=self.get_object(), user=request.user))

    @extend_schema(request=s.UndoSerializer, responses={200: DetectedEventSerializer, 204: None, **REFUSED})
    @action(detail=False, methods=["post"])
    def undo(self, request: Request) -> Response:
        """Undo your latest change on a recording (key u), whether made here or on the page; 204 when none is left."""
        params = s.UndoSerializer(data=request.data)
        if not params.is_valid():
            return bad_request(params.errors)
        recording = selectors.recording_for_review(user=request.user, pk=params.validated_data["recording"])
        event = services.review_undo_last(recording=recording, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT) if event is None else self._answer(event)
