"""VLM window labels and the answer cache (h-vlm); `labeling/models.py` imports them so Django sees them.

A WindowLabel is one window of one video under one prompt version and window spec: a rerun updates
its row in place (unique per video, prompt, spec and window number), so labels never duplicate.
"""
from __future__ import annotations

from typing import Any

from django.db import models

from detection.models import Job, Recording


class WindowLabel(models.Model):
    class Status(models.TextChoices):
        LABELLED = "labelled", "Labelled"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        VLM = "vlm", "Model"
        CACHE = "cache", "Cache"
        OCR = "ocr", "OCR fallback (no model answered)"
        NONE = "none", "None"

    recording = models.ForeignKey(Recording, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="window_labels")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="window_labels")
    video_path = models.CharField(max_length=1024)
    prompt_version = models.CharField(max_length=64)
    spec = models.CharField(max_length=64, help_text="frames x seconds / stride, e.g. 5x2/2")
    window_index = models.PositiveIntegerField()
    start = models.FloatField(help_text="Video seconds")
    end = models.FloatField(help_text="Video seconds")
    frames = models.JSONField(default=list, help_text="The video second of each frame sent")
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    label = models.JSONField(null=True, blank=True)
    ocr = models.JSONField(default=dict, blank=True, help_text="HUD values read by OCR at the last frame")
    source = models.CharField(max_length=8, choices=Source.choices)
    backend = models.CharField(max_length=128, blank=True)
    cached = models.BooleanField(default=False)
    flagged = models.BooleanField(default=False, help_text="A HUD value more than the profile's tolerance off OCR")
    raw_answer = models.TextField(blank=True)
    error = models.TextField(blank=True)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    latency_ms = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(auto_now=True)
    # A reviewer's correction wins over the model's label wherever labels are used (export, lane, training).
    corrected_label = models.JSONField(null=True, blank=True)
    corrected_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="corrected_window_labels")
    corrected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["video_path", "start"]
        constraints = [
            models.UniqueConstraint(fields=["video_path", "prompt_version", "spec", "window_index"],
                                    name="unique_window_label"),
        ]

    def __str__(self) -> str:
        return f"{self.video_path} {self.start:.1f}-{self.end:.1f} s ({self.status})"

    @property
    def effective_label(self) -> dict[str, Any] | None:
        return self.corrected_label if self.corrected_label is not None else self.label


class VlmCacheEntry(models.Model):
    """An answer under its key: frame content hashes, prompt version and text, backend, model, parameters."""

    key = models.CharField(max_length=64, unique=True)
    backend = models.CharField(max_length=128)
    label = models.JSONField()
    raw_answer = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.backend} {self.key[:12]}"
