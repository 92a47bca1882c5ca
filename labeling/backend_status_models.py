"""VlmBackendStatus: a VLM backend's last known health and breaker state (written by labeling/backend_status.py).

Defined beside the other models' modules like vlm_models.py; labeling/models.py should import it (the admin
module imports it too, so Django sees it either way).
"""
from __future__ import annotations

import pybreaker
from django.db import models

from detection.models import Job


class VlmBackendStatus(models.Model):
    class Breaker(models.TextChoices):
        CLOSED = pybreaker.STATE_CLOSED, "closed"
        OPEN = pybreaker.STATE_OPEN, "open"
        HALF_OPEN = pybreaker.STATE_HALF_OPEN, "half-open"

    backend = models.CharField(max_length=160, unique=True, help_text="type:model, e.g. ollama:minicpm-v")
    check_ok = models.BooleanField(null=True, help_text="Last vlm_check: usable? (empty: never checked)")
    check_message = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    breaker_state = models.CharField(max_length=16, choices=Breaker.choices, blank=True)
    breaker_failures = models.PositiveIntegerField(default=0, help_text="Consecutive failed requests")
    breaker_changed_at = models.DateTimeField(null=True, blank=True)
    breaker_job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    help_text="The labelling run whose breaker this is")

    class Meta:
        app_label = "labeling"
        ordering = ["backend"]
        verbose_name = "VLM backend status"
        verbose_name_plural = "VLM backend status"

    def __str__(self) -> str:
        return self.backend
