"""The review audit trail: every reviewer action on an event, with the state before and after."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from detection.models import DetectedEvent, Recording


class EventChange(models.Model):
    class Action(models.TextChoices):
        APPROVE = "approve", "Approved"
        DELETE = "delete", "Deleted"
        RESTORE = "restore", "Restored"
        EDIT = "edit", "Edited"
        ADD = "add", "Added"
        UNDO = "undo", "Undid"

    event = models.ForeignKey(DetectedEvent, on_delete=models.CASCADE, related_name="changes")
    # Denormalised so "the user's last action on this recording" (undo) is one indexed lookup.
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="event_changes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reverts = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="The change an undo reverted"
    )
    undone_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recording", "user", "undone_at"])]

    def __str__(self) -> str:
        return f"{self.action} event {self.event_id} by {self.user_id}"


class OverlayToken(models.Model):
    """The secret in an overlay's URL (OBS browser sources cannot log in): it shows its creator's live
    sessions to whoever holds it, until revoked."""

    key = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="overlay_tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"overlay token {self.pk} of {self.created_by_id}"
