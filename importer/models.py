"""The hosted stream-producer tables (per API-token owner) and the import client's bookkeeping.

Table names follow ../shared/spec/stream-producer-api.md so the hosted copy reads like the Rust
app's database; every row hangs off an owner so each Vodscope user has their own producer data.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

SESSION_TYPES = ("stream", "practice", "casual")
CHARACTER_TYPES = ("pmc", "scav")
GAME_MODES = ("pve", "pvp")
OUTCOMES = ("survived", "killed", "mia")
STATES = (
    "idle",
    "stash",
    "pre_raid",
    "queuing",
    "deploying",
    "raid_active",
    "survived",
    "killed_in_action",
    "missing_in_action",
    "post_raid_review",
)


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(value, value) for value in values]


class StreamSession(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stream_sessions")
    session_type = models.CharField(max_length=16, choices=_choices(SESSION_TYPES))
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)

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
    session_type = models.CharField(max_length=16, choices=_choices(SESSION_TYPES), default="stream")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.api_url or "hosted"


class ImportLedger(models.Model):
    """Per target and session: which plan steps were sent and which succeeded, with the remote ids.

    A step is marked `sent` before its call goes out and `done` after the answer arrives, so a
    crash in between leaves `sent`, and a resumed import reconciles that step against the target
    before it writes again.
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
    steps = models.JSONField(default=dict, blank=True)
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
