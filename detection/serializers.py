"""API shapes. Validation of input only; writes happen in detection.services."""
from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from detection.models import NOTES_MAX_LENGTH, DetectedEvent, Job, Recording, SessionType, Upload
from detection.selectors import job_progress_info

# Input limits are the columns' own, so a value that passes here always fits the database.
TITLE_MAX = Recording._meta.get_field("title").max_length
PATH_MAX = Recording._meta.get_field("source_path").max_length


class RecordingSerializer(serializers.ModelSerializer[Recording]):
    owner = serializers.CharField(source="owner.username", read_only=True)
    review_url = serializers.SerializerMethodField()
    # The stored name, not a /media/ URL: media is never served as plain files. The video plays at
    # video_url, behind the review player's visibility check (session login, HTTP Range).
    uploaded_file = serializers.CharField(source="uploaded_file.name", read_only=True)
    video_url = serializers.SerializerMethodField()

    class Meta:
        model = Recording
        fields = [
            "id", "title", "owner", "source_path", "uploaded_file", "size_bytes", "fingerprint",
            "duration_seconds", "avg_fps", "is_vfr", "width", "height", "codec", "container",
            "started_at", "started_at_source", "session_type", "notes", "status", "error",
            "created_at", "updated_at", "review_url", "video_url",
        ]
        read_only_fields = fields

    def get_review_url(self, recording: Recording) -> str:
        return reverse("review-page", args=[recording.pk])

    def get_video_url(self, recording: Recording) -> str:
        return reverse("review-video", args=[recording.pk])


class RecordingRegisterSerializer(serializers.Serializer[dict[str, Any]]):
    path = serializers.CharField(max_length=PATH_MAX, help_text="Absolute server path of a video file inside an allowed root")
    session_type = serializers.ChoiceField(choices=SessionType.choices, default=SessionType.STREAM)
    started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=NOTES_MAX_LENGTH)


class FolderRegisterSerializer(serializers.Serializer[dict[str, Any]]):
    path = serializers.CharField(max_length=PATH_MAX, help_text="Absolute server path of a folder inside an allowed root")
    session_type = serializers.ChoiceField(choices=SessionType.choices, default=SessionType.STREAM)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=NOTES_MAX_LENGTH)


# Any: it serialises a list of IngestResult (many=True), which the stubs' one-instance type cannot say.
class IngestResultSerializer(serializers.Serializer[Any]):
    path = serializers.CharField()
    status = serializers.ChoiceField(choices=["created", "duplicate", "error"])
    message = serializers.CharField()
    recording = serializers.IntegerField(source="recording.pk", allow_null=True, default=None)


class RecordingUpdateSerializer(serializers.Serializer[dict[str, Any]]):
    title = serializers.CharField(required=False, max_length=TITLE_MAX)
    started_at = serializers.DateTimeField(required=False)
    session_type = serializers.ChoiceField(choices=SessionType.choices, required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=NOTES_MAX_LENGTH)


class JobSerializer(serializers.ModelSerializer[Job]):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id", "kind", "status", "recording", "created_by", "progress_done", "progress_total", "progress",
            "message", "error", "params", "result", "celery_task_id", "attempts", "cancel_requested",
            "created_at", "started_at", "heartbeat_at", "finished_at",
        ]
        read_only_fields = fields

    def get_progress(self, job: Job) -> dict[str, Any]:
        info = job_progress_info(job)
        return {"percent": info.percent, "rate_per_second": info.rate, "eta_seconds": info.eta_seconds}


class JobCreateSerializer(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(choices=[Job.Kind.DETECT], default=Job.Kind.DETECT)
    recording = serializers.IntegerField()
    # Any JSON: the detect service checks every key and value and answers what is wrong with it.
    params = serializers.JSONField(
        required=False, default=dict,
        help_text="detection parameters: model_version (a registered version's id), detection_fps, "
                  "confidence_threshold, gate, two_pass, skip_nonref",
    )


class DetectedEventSerializer(serializers.ModelSerializer[DetectedEvent]):
    # Served by the review page's thumbnail view (same visibility as the event), never as a /media/ file.
    thumbnail = serializers.SerializerMethodField()

    class Meta:
        model = DetectedEvent
        fields = [
            "id", "recording", "job", "model_version", "event_id", "event_type", "timestamp",
            "video_offset_seconds", "frame_number", "confidence", "data", "evidence", "thumbnail", "source",
            "partial", "review_status", "manually_reviewed", "reviewed_by", "reviewed_at", "created_at",
        ]
        read_only_fields = fields

    def get_thumbnail(self, event: DetectedEvent) -> str | None:
        if not event.thumbnail:
            return None
        return reverse("review-event-thumbnail", args=[event.recording_id, event.pk])


class UploadCreateSerializer(serializers.Serializer[dict[str, Any]]):
    filename = serializers.CharField(max_length=TITLE_MAX)
    size = serializers.IntegerField(min_value=0)
    session_type = serializers.ChoiceField(choices=SessionType.choices, default=SessionType.STREAM)
    started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=NOTES_MAX_LENGTH)


class UploadSerializer(serializers.ModelSerializer[Upload]):
    offset = serializers.IntegerField(source="received_bytes")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = ["id", "filename", "size_bytes", "offset", "session_type", "started_at", "notes", "created_at", "url"]
        read_only_fields = fields

    def get_url(self, upload: Upload) -> str:
        return f"/api/v1/uploads/{upload.pk}/"
