"""Session reasoning's results (h-reason); `labeling/models.py` imports them so Django sees them.

A RaidSummary is one raid of one recording under one prompt version and model; a SessionSummary the
whole recording under the same. A rerun updates its rows in place (unique per recording, prompt version,
model and raid), so summaries never duplicate, and a run with another model or prompt keeps the first.
"""
from __future__ import annotations

from django.db import models

from detection.models import Job, Recording


class SummaryStatus(models.TextChoices):
    OK = "ok", "Summarised"
    FAILED = "failed", "Failed"


class Summary(models.Model):
    """What every summary keeps: who answered under which prompt, the answer or why there is none, the cost."""

    model = models.CharField(max_length=128, help_text="backend:model that answered (or was asked)")
    prompt_version = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=SummaryStatus.choices)
    summary = models.JSONField(null=True, blank=True, help_text="title, summary, highlights")
    inputs_hash = models.CharField(max_length=64)
    cached = models.BooleanField(default=False)
    raw_answer = models.TextField(blank=True)
    error = models.TextField(blank=True)
    requests = models.PositiveIntegerField(default=0)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class RaidSummary(Summary):
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="raid_summaries")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="raid_summaries")
    raid_index = models.PositiveIntegerField(help_text="1 for the recording's first raid")
    start = models.FloatField(help_text="Video seconds")
    end = models.FloatField(help_text="Video seconds")
    facts = models.JSONField(default=dict, help_text="What the model was given: the raid's events and window labels")

    class Meta:
        verbose_name_plural = "raid summaries"
        ordering = ["recording", "model", "prompt_version", "raid_index"]
        constraints = [
            models.UniqueConstraint(fields=["recording", "prompt_version", "model", "raid_index"],
                                    name="unique_raid_summary"),
        ]

    def __str__(self) -> str:
        return f"recording {self.recording_id} raid {self.raid_index} ({self.model}, {self.status})"


class SessionSummary(Summary):
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="session_summaries")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="session_summaries")
    raids = models.PositiveIntegerField(default=0)
    levels = models.JSONField(default=list, help_text="Requests per level of chunk-and-summarize, first level first")
    failures = models.JSONField(default=list, help_text="What failed on the way (raids, chunks), with the reason")
    context_tokens = models.PositiveIntegerField(default=0, help_text="The estimated budget each request fitted")

    class Meta:
        verbose_name_plural = "session summaries"
        ordering = ["recording", "-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["recording", "prompt_version", "model"], name="unique_session_summary"),
        ]

    def __str__(self) -> str:
        return f"recording {self.recording_id} session ({self.model}, {self.status})"
