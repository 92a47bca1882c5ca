"""The hosted stream-producer tables (per API-token owner) and the import client's bookkeeping.

Table names follow ../shared/spec/stream-producer-api.md so the hosted copy reads like the Rust
app's database; every row hangs off an owner so each Vodscope user has their own producer data.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from importer.contract import CHARACTER_TYPES, GAME_MODES, MAX_NOTES, OUTCOMES, SESSION_TYPES, STATES


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(value, value) for value in values]


class StreamSession(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stream_sessions")
    session_type = models.CharField(max_length=16, choices=_choices(SESSION_TYPES))
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True, max_length=MAX_NOTES)

    class Meta:
        db_table = "stream_sessions"
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["owner", "started_at"])]
        constraints = [
            models.UniqueConstraint(fields=["owner"], condition=Q(ended_at__isnull=True), name="one_active_session")
        ]

    def __str__(self) -> str:
        return f"{self.session_type} session {self.started_at:%Y-%m-%d %H:%M}"


class Raid(models.Model):
    session = models.ForeignKey(StreamSession, on_delete=models.CASCADE, related_name="raids")
    map_name = models.CharField(max_length=64)
    character_type = models.CharField(max_length=8, choices=_choices(CHARACTER_TYPES))
    game_mode = models.CharField(max_length=8, choices=_choices(GAME_MODES))
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=_choices(OUTCOMES), null=True, blank=True)
    extract_location = models.CharField(max_length=128, null=True, blank=True)

    class Meta:
        db_table = "raids"
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"], condition=Q(ended_at__isnull=True), name="one_active_raid_per_session"
            )
        ]

    def __str__(self) -> str:
        return f"{self.map_name} raid {self.started_at:%H:%M}"


class RaidStateTransition(models.Model):
    raid = models.ForeignKey(Raid, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=32, null=True, blank=True)
    to_state = models.CharField(max_length=32, choices=_choices(STATES))
    transitioned_at = models.DateTimeField()

    class Meta:
        db_table = "raid_state_transitions"
        ordering = ["transitioned_at", "id"]


class Kill(models.Model):
    raid = models.ForeignKey(Raid, on_delete=models.CASCADE, related_name="kills")
    enemy_type = models.CharField(max_length=64)
    weapon = models.CharField(max_length=64, null=True, blank=True)
    headshot = models.BooleanField(default=False)
    killed_at = models.DateTimeField()

    class Meta:
        db_table = "kills"
        ordering = ["killed_at", "id"]


class ImportTarget(models.Model):
    """Where a user's imports go: their hosted data in Vodscope (blank URL) or a stream-producer app."""

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_target")
    api_url = models.URLField(blank=True, help_text="Blank: import into Vodscope's own hosted API")
    token = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.api_url or "hosted"


class ImportLedger(models.Model):
    """Per target and session: how far the import got, and the remote ids later calls need.

    Steps run strictly in plan order, so one cursor says it all: `next_step` points at the step
    being sent and moves on only after its answer arrives. A crash leaves it on a step that may
    or may not have been written; a resumed import reconciles that one step against the target
    before sending it again.
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    target_key = models.CharField(max_length=255)
    session_started_at = models.DateTimeField()
    source = models.CharField(max_length=1024, blank=True)
    recording = models.ForeignKey(
        "detection.Recording", null=True, blank=True, on_delete=models.SET_NULL, related_name="import_ledgers"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    mode = models.CharField(max_length=16, blank=True, help_text="atomic or individual")
    fingerprint = models.CharField(max_length=64, blank=True, help_text="Hash of the plan's steps")
    next_step = models.PositiveIntegerField(default=0)
    remote_ids = models.JSONField(default=dict, blank=True)
    baseline = models.JSONField(default=dict, blank=True, help_text="Target totals read before the first write")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["target_key", "session_started_at"], name="one_ledger_per_target_session")
        ]

    def __str__(self) -> str:
        return f"{self.target_key} @ {self.session_started_at:%Y-%m-%d %H:%M} ({self.status})"
