"""Input logs in the admin (h-input): attach a log to a recording, correct its offset or screen size.

The form validates the whole file (bad lines named on the form) and saving goes through the attach
service, whether the log is new or its offset or screen size was corrected.
"""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from labeling.inputlog import InputLogError
from labeling.inputlog_models import InputLog
from labeling.inputlog_services import input_log_attach, input_log_check


# Unparameterised, as mypy.ini lets labeling.admin be: ModelForm/ModelAdmin are not subscriptable at run time.
class InputLogForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = InputLog
        fields = ["recording", "path", "offset_seconds", "screen_width", "screen_height"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        width, height = data.get("screen_width"), data.get("screen_height")
        if bool(width) != bool(height):
            raise forms.ValidationError("give both the screen's width and height, or neither")
        recording = data.get("recording") or getattr(self.instance, "recording", None)
        if recording is None or self.errors:
            return data
        try:
            input_log_check(recording=recording, path=data.get("path") or self.instance.path,
                            screen=(width, height) if width and height else None)
        except InputLogError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


@admin.register(InputLog)
class InputLogAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = InputLogForm
    list_display = ["recording", "path", "format", "offset_seconds", "rows", "first_seconds", "last_seconds",
                    "updated_at"]
    list_filter = ["format"]
    search_fields = ["path", "recording__title"]
    raw_id_fields = ["recording"]
    readonly_fields = ["format", "rows", "first_seconds", "last_seconds", "attached_at", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: InputLog | None = None) -> list[str]:
        # An attached log's recording and file stay; attach another file from the command line or a new row.
        return [*self.readonly_fields, "recording", "path"] if obj is not None else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: InputLog, form: Any, change: bool) -> None:
        screen = (obj.screen_width, obj.screen_height) if obj.screen_width and obj.screen_height else None
        attached = input_log_attach(recording=obj.recording, path=obj.path, offset_seconds=obj.offset_seconds,
                                    screen=screen)
        obj.pk = attached.pk
        obj.refresh_from_db()
