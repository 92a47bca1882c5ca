from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse


# ---- Training data and model registry (h-datasets): annotated frames, their boxes, audit, activations ----


class FrameAnnotation(models.Model):
    """One frame of a recording as training data: its boxes (none: a hard negative) or a candidate to look at.

    The image is extracted from the video once, on first need, at the frame's PTS (`image` is empty until then).
    """

    class Status(models.TextChoices):
        LABELLED = "labelled", "Labelled"
        CANDIDATE = "candidate", "Candidate"

    class Source(models.TextChoices):
        REVIEW = "review", "Review"
        IMPORT = "import", "Import"
        HAND = "hand", "By hand"
        UNCERTAIN = "uncertain", "Uncertain detection"

    recording = models.ForeignKey("detection.Recording", on_delete=models.CASCADE, related_name="frame_annotations")
    frame_number = models.PositiveIntegerField()
    video_offset_seconds = models.FloatField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.LABELLED, db_index=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.REVIEW)
    reason = models.CharField(max_length=255, blank=True, help_text="Why this frame is here (approved, false positive…)")
    confidence = models.FloatField(null=True, blank=True, help_text="The detector's confidence, for candidates")
    label = models.CharField(max_length=64, blank=True, help_text="The class the detector saw, for candidates")
    rejected = models.BooleanField(default=False, help_text="The state machine refused what was seen on it")
    disagreement = models.CharField(max_length=255, blank=True,
                                    help_text="How detections of this frame disagree (two classes on one spot)")
    image = models.CharField(max_length=1024, blank=True, help_text="Path under MEDIA_ROOT")
    image_width = models.PositiveIntegerField(default=0)
    image_height = models.PositiveIntegerField(default=0)
    phash = models.CharField(max_length=16, blank=True, help_text="Perceptual hash (hex) for near-duplicate checks")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["recording", "frame_number"]
        constraints = [
            models.UniqueConstraint(fields=["recording", "frame_number"], name="unique_annotated_frame_per_recording")
        ]

    def __str__(self) -> str:
        return f"{self.recording_id}#{self.frame_number} ({self.status})"

    def get_absolute_url(self) -> str:
        """The box editor (the admin's "View on site")."""
        return reverse("editor-page", args=[self.pk])


class BoxAnnotation(models.Model):
    """A box normalised to the frame (0..1, four decimals), its class from the game profile."""

    frame = models.ForeignKey(FrameAnnotation, on_delete=models.CASCADE, related_name="boxes")
    label = models.CharField(max_length=64)
    x0 = models.FloatField()
    y0 = models.FloatField()
    x1 = models.FloatField()
    y1 = models.FloatField()
    event = models.ForeignKey(
        "detection.DetectedEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The reviewed event this box came from, so a later review of it can take the box back",
    )

    class Meta:
        ordering = ["frame", "label", "x0", "y0", "id"]


class AnnotationChange(models.Model):
    """Audit of a frame's annotation, like EventChange for events: who, what, boxes before and after."""

    frame = models.ForeignKey(FrameAnnotation, on_delete=models.CASCADE, related_name="changes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=32)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class ModelActivation(models.Model):
    """Each switch of a profile's active model: rollback goes back to `previous`."""

    version = models.ForeignKey("detection.ModelVersion", on_delete=models.CASCADE, related_name="activations")
    previous = models.ForeignKey(
        "detection.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    profile = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rolled_back = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]


# ---- VLM window labels and their answer cache (h-vlm) ----
from labeling.vlm_models import VlmCacheEntry, WindowLabel  # noqa: E402,F401  # defined beside, registered here

# ---- Session reasoning: raid and session summaries (h-reason) ----
from labeling.summary_models import RaidSummary, SessionSummary  # noqa: E402,F401  # defined beside, registered here
from labeling.inputlog_models import InputLog  # noqa: E402,F401  # defined beside, registered here
from labeling.backend_status_models import VlmBackendStatus  # noqa: E402,F401  # defined beside, registered here
