"""REST API v1: recordings, uploads, jobs (events: review/api.py). Parse, check permission, call one service, answer."""
from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

import django_filters
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from detection import serializers as s
from detection.models import Job, Recording, Upload
from detection.selectors import (
    job_cancellable_by,
    jobs_visible_to,
    recording_changeable_by,
    recordings_visible_to,
)
from detection.services.detect import DetectError, detect_job_start
from detection.services.ingest import (
    DuplicateRecording,
    IngestError,
    recording_register_folder,
    recording_register_path,
    recording_update,
)
from detection.services.uploads import (
    UploadBusy,
    UploadOffsetMismatch,
    upload_append,
    upload_create,
    upload_discard,
    upload_offset,
)
from project.jobs.registry import JobRefused
from project.jobs.services import JobAlreadyActive, job_cancel


def ingest_error_response(exc: IngestError) -> Response:
    body: dict[str, Any] = {"detail": str(exc)}
    if isinstance(exc, DuplicateRecording):
        body["recording"] = exc.recording.pk
    if isinstance(exc, UploadOffsetMismatch):
        body["offset"] = exc.expected
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, UploadBusy):
        return Response(body, status=status.HTTP_409_CONFLICT)
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


class RecordingFilter(django_filters.FilterSet):
    class Meta:
        model = Recording
        fields = ["status", "session_type", "is_vfr"]


class RecordingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Recording]):
    serializer_class = s.RecordingSerializer
    filterset_class = RecordingFilter
    ordering_fields = ["started_at", "created_at", "duration_seconds", "title"]

    def get_queryset(self) -> QuerySet[Recording]:
        return recordings_visible_to(self.request.user).select_related("owner").order_by("-started_at", "-id")

    @extend_schema(request=s.RecordingRegisterSerializer, responses={201: s.RecordingSerializer})
    def create(self, request: Request) -> Response:
        """Register one video file by its server path."""
        params = s.RecordingRegisterSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            recording = recording_register_path(owner=request.user, **params.validated_data)
        except IngestError as exc:
            return ingest_error_response(exc)
        return Response(s.RecordingSerializer(recording).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.FolderRegisterSerializer, responses={201: s.IngestResultSerializer(many=True)})
    @action(detail=False, methods=["post"], url_path="register-folder", pagination_class=None)
    def register_folder(self, request: Request) -> Response:
        """Register every video in a server folder; one result per file (created, duplicate or error)."""
        params = s.FolderRegisterSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            results = recording_register_folder(owner=request.user, **params.validated_data)
        except IngestError as exc:
            return ingest_error_response(exc)
        return Response(s.IngestResultSerializer(results, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.RecordingUpdateSerializer, responses={200: s.RecordingSerializer})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change title, started_at (marked as set by the user), session_type or notes."""
        recording = self.get_object()
        if not recording_changeable_by(request.user, recording):
            raise PermissionDenied("only the owner or staff may change a recording")
        params = s.RecordingUpdateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            recording = recording_update(recording=recording, **params.validated_data)
        except IngestError as exc:
            return ingest_error_response(exc)
        return Response(s.RecordingSerializer(recording).data)


class JobFilter(django_filters.FilterSet):
    class Meta:
        model = Job
        fields = ["status", "kind", "recording"]


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Job]):
    serializer_class = s.JobSerializer
    filterset_class = JobFilter
    ordering_fields = ["created_at", "started_at", "finished_at"]

    def get_queryset(self) -> QuerySet[Job]:
        return jobs_visible_to(self.request.user).order_by("-created_at", "-id")

    @extend_schema(request=s.JobCreateSerializer, responses={201: s.JobSerializer})
    def create(self, request: Request) -> Response:
        """Start a detect job on a recording."""
        params = s.JobCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        recording = get_object_or_404(recordings_visible_to(request.user), pk=params.validated_data["recording"])
        if not recording_changeable_by(request.user, recording):
            raise PermissionDenied("only the owner or staff may start jobs on a recording")
        try:
            job = detect_job_start(recording=recording, user=request.user, params=params.validated_data["params"])
        except JobAlreadyActive as exc:
            return Response({"detail": str(exc), "job": exc.job.pk}, status=status.HTTP_409_CONFLICT)
        except (DetectError, JobRefused) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        job.refresh_from_db()
        return Response(s.JobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: s.JobSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Queued jobs stop at once, running ones at their next progress update."""
        job = self.get_object()
        if not job_cancellable_by(request.user, job):
            raise PermissionDenied("only whoever started the job, the recording's owner or staff may cancel it")
        return Response(s.JobSerializer(job_cancel(job=job)).data)


class RawBytesParser(BaseParser):
    """Declares the chunk media type; the view streams the body itself and never parses it."""

    media_type = "application/offset+octet-stream"

    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {}


class UploadViewSet(viewsets.GenericViewSet[Upload]):
    """Resumable upload: POST (filename, size) → id; PATCH bytes with `Upload-Offset`; GET → current offset."""

    serializer_class = s.UploadSerializer
    lookup_value_regex = "[0-9a-f-]{36}"

    def get_queryset(self) -> QuerySet[Upload]:
        return Upload.objects.filter(owner_id=self.request.user.pk)

    def get_object(self) -> Upload:
        upload = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        upload.received_bytes = upload_offset(upload=upload)
        return upload

    @extend_schema(request=s.UploadCreateSerializer, responses={201: s.UploadSerializer})
    def create(self, request: Request) -> Response:
        params = s.UploadCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        try:
            upload = upload_create(owner=request.user, filename=data["filename"], size=data["size"],
                                   session_type=data["session_type"], started_at=data["started_at"],
                                   notes=data["notes"])
        except IngestError as exc:
            return ingest_error_response(exc)
        return Response(s.UploadSerializer(upload).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        """The offset to resume from."""
        return Response(s.UploadSerializer(self.get_object()).data)

    @extend_schema(
        request={"application/offset+octet-stream": bytes},
        parameters=[OpenApiParameter("Upload-Offset", int, OpenApiParameter.HEADER, required=True)],
        responses={200: s.UploadSerializer, 201: s.RecordingSerializer},
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Append the body at `Upload-Offset`; the last chunk answers 201 with the new recording."""
        upload = self.get_object()
        try:
            offset = int(request.headers.get("Upload-Offset", ""))
            declared = request.headers.get("Content-Length")
            length = int(declared) if declared else None
        except ValueError:
            return Response({"detail": "send the chunk's start as an Upload-Offset header"}, status=400)
        try:
            recording = upload_append(upload=upload, offset=offset, stream=request._request, length=length)
        except IngestError as exc:
            return ingest_error_response(exc)
        if recording is None:
            return Response(s.UploadSerializer(self.get_object()).data)
        return Response(s.RecordingSerializer(recording).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        upload_discard(upload=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def get_parsers(self) -> list[BaseParser]:
        return [RawBytesParser(), *super().get_parsers()]

