from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import Q


# What a person may write as notes; checked by serializers, forms and services before the database.
NOTES_MAX_LENGTH = 2000


class SessionType(models.TextChoices):
    STREAM = "stream", "Stream"
    PRACTICE = "practice", "Practice"
    CASUAL = "casual", "Casual"


class Recording(models.Model):
    class Status(models.TextChoices):
        UPLOADING = "uploading", "Uploading"
        READY = "ready", "Ready"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"

    class StartedAtSource(models.TextChoices):
        CONTAINER = "container", "Container metadata"
        MTIME = "mtime", "File modification time"
        USER = "user", "Set by user"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recordings")
    reviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="reviewable_recordings")
    title = models.CharField(max_length=255)
    source_path = models.CharField(max_length=1024, blank=True, help_text="Absolute server path inside an allowed root")
    uploaded_file = models.FileField(upload_to="uploads/%Y/%m/", blank=True, max_length=1024)
    size_bytes = models.BigIntegerField(default=0)
    fingerprint = models.CharField(max_length=64, db_index=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    avg_fps = models.FloatField(null=True, blank=True)
    is_vfr = models.BooleanField(default=False)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    codec = models.CharField(max_length=64, blank=True)
    container = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    started_at_source = models.CharField(max_length=16, choices=StartedAtSource.choices, blank=True)
    session_type = models.CharField(max_length=16, choices=SessionType.choices, default=SessionType.STREAM)
    notes = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.READY, db_index=True)
    error = models.TextField(blank=True)
    proxy_path = models.CharField(max_length=1024, blank=True, help_text="Browser-playable copy made by a proxy job")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "fingerprint"], condition=~Q(fingerprint=""), name="unique_recording_fingerprint_per_owner"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def video_path(self) -> Path:
        """Where the video lies on disk, registered by path or uploaded."""
        if self.source_path:
            return Path(self.source_path)
        return Path(settings.MEDIA_ROOT) / (self.uploaded_file.name or "")  # FileField stores "" for no file


class Upload(models.Model):
    """A browser upload in flight: bytes are appended to `temp_path` until `received == size`.

    Only a complete, probed upload becomes a Recording; a failed one is deleted with its bytes.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads")
    filename = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField()
    received_bytes = models.BigIntegerField(default=0)
    temp_path = models.CharField(max_length=1024)
    session_type = models.CharField(max_length=16, choices=SessionType.choices, default=SessionType.STREAM)
    started_at = models.DateTimeField(null=True, blank=True, help_text="User override for the recording start")
    notes = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.received_bytes}/{self.size_bytes})"


class Job(models.Model):
    class Kind(models.TextChoices):
        DETECT = "detect", "Detect"
        VLM = "vlm", "VLM labelling"
        IMPORT = "import", "Import"
        EXPORT = "export", "Export"
        TRAIN = "train", "Train"
        PROXY = "proxy", "Browser proxy"
        LIVE = "live", "Live session"
        SUMMARIZE = "summarize", "Session summary"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(max_length=16, choices=Kind.choices, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    recording = models.ForeignKey(Recording, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    progress_rate = models.FloatField(default=0.0, help_text="Units per second, smoothed over recent updates")
    message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    checkpoint = models.JSONField(default=dict, blank=True, help_text="Where a resumed run picks up")
    celery_task_id = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"


class ModelVersion(models.Model):
    name = models.CharField(max_length=128, unique=True)
    profile = models.CharField(max_length=64, default="demo")
    onnx_file = models.CharField(max_length=1024, help_text="Path to the ONNX file")
    sha256 = models.CharField(max_length=64, blank=True)
    classes = models.JSONField(default=list)
    image_size = models.PositiveIntegerField(default=320)
    metrics = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH)
    active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["profile"], condition=Q(active=True), name="one_active_model_per_profile")
        ]

    def __str__(self) -> str:
        return self.name


class CurrentEventManager(models.Manager["DetectedEvent"]):
    """Events that stand for themselves: superseded rows (replaced by a later run, or linked to a
    reviewed event they duplicate) stay in the table for history but leave review, the API and exports."""

    def get_queryset(self) -> models.QuerySet[DetectedEvent]:
        return super().get_queryset().filter(superseded_at__isnull=True)


class DetectedEvent(models.Model):
    class ReviewStatus(models.TextChoices):
        UNREVIEWED = "unreviewed", "Unreviewed"
        APPROVED = "approved", "Approved"
        EDITED = "edited", "Edited"
        DELETED = "deleted", "Deleted"

    class Source(models.TextChoices):
        DETECTOR = "detector", "Detector"
        MANUAL = "manual", "Added by reviewer"

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="events")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL)
    event_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=32, db_index=True)
    timestamp = models.DateTimeField(null=True, blank=True)
    video_offset_seconds = models.FloatField()
    frame_number = models.PositiveIntegerField(default=0)
    confidence = models.FloatField(default=1.0)
    data = models.JSONField(default=dict, blank=True)
    evidence = models.JSONField(
        default=dict, blank=True, help_text="Boxes, classes and OCR text that produced the event (retraining input)"
    )
    thumbnail = models.ImageField(upload_to="thumbnails/%Y/%m/", blank=True, max_length=1024)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.DETECTOR)
    partial = models.BooleanField(default=False, help_text="Found by a run that ended early")
    review_status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.UNREVIEWED, db_index=True
    )
    manually_reviewed = models.BooleanField(default=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="Hidden since then: a later detect run stands for it"
    )
    superseded_by = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="superseded_events",
        help_text="The detect run that replaced this unreviewed event (or found it again beside a reviewed one)",
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="duplicates",
        help_text="The reviewed event this later detection matched (same type, within 2 s)",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CurrentEventManager()
    all_objects = models.Manager()

    class Meta:
        ordering = ["recording", "video_offset_seconds", "id"]
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(fields=["recording", "event_id"], name="unique_event_per_recording")
        ]
        indexes = [
            models.Index(fields=["recording", "video_offset_seconds"]),
            models.Index(fields=["recording", "confidence"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} @ {self.video_offset_seconds:.1f}s"


class RejectedObservation(models.Model):
    """A screen the state machine refused (an impossible transition), kept with its frame for review."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="rejected_observations")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL)
    observation_key = models.CharField(max_length=64)
    from_state = models.CharField(max_length=32)
    observed_screen = models.CharField(max_length=32)
    video_offset_seconds = models.FloatField()
    frame_number = models.PositiveIntegerField(default=0)
    timestamp = models.DateTimeField(null=True, blank=True)
    confidence = models.FloatField(default=0.0)
    reason = models.CharField(max_length=255, blank=True)
    thumbnail = models.ImageField(upload_to="rejected/%Y/%m/", blank=True, max_length=1024)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recording", "video_offset_seconds"]
        constraints = [
            models.UniqueConstraint(fields=["recording", "observation_key"], name="unique_rejection_per_recording")
        ]
