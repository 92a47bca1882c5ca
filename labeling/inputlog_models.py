"""The input log attached to a recording (h-input): where the file is, how to read it, and its clock offset.

The file itself stays where it is and is parsed again when used (labeling/inputlog.py); the row keeps
what the user may correct (the offset, the screen size of a pixel log) and what the parse found.
"""
from __future__ import annotations

from django.db import models

from detection.models import Recording


class InputLog(models.Model):
    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSONL = "jsonl", "JSON lines"

    recording = models.OneToOneField(Recording, on_delete=models.CASCADE, related_name="input_log")
    path = models.CharField(max_length=1024, help_text="Absolute server path of the log file")
    format = models.CharField(max_length=8, choices=Format.choices)
    offset_seconds = models.FloatField(
        default=0.0, help_text="Added to the log's times (seconds from the recording's start) to give video seconds")
    rows = models.PositiveIntegerField(default=0, help_text="Events read when the log was attached")
    screen_width = models.PositiveIntegerField(null=True, blank=True,
                                               help_text="Screen size for pixel coordinates, when the log names none")
    screen_height = models.PositiveIntegerField(null=True, blank=True)
    first_seconds = models.FloatField(null=True, blank=True, help_text="First event, video seconds, offset included")
    last_seconds = models.FloatField(null=True, blank=True, help_text="Last event, video seconds, offset included")
    attached_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.recording_id}: {self.path} ({self.rows} events, offset {self.offset_seconds:+g} s)"
