"""The dashboard's Start form: what a staff user chooses for a live session, turned into `LiveOptions`."""
from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from detection.models import SessionType
from detection.services.live_run import MAX_DETECTION_FPS, LiveOptions


class LiveStartForm(forms.Form):
    KINDS = [("capture", "Capture device or stream URL"), ("file", "File played in real time")]

    source_kind = forms.ChoiceField(choices=KINDS, initial="capture", label="Source is a")
    source = forms.CharField(max_length=1024, label="Source",
                             help_text="/dev/video0, rtsp://…, srt://…, udp://…, http://…, or a file's server path")
    detection_fps = forms.FloatField(min_value=0.1, max_value=MAX_DETECTION_FPS, initial=5.0, label="Detection fps")
    session_type = forms.ChoiceField(choices=SessionType.choices, initial=SessionType.STREAM)
    title = forms.CharField(max_length=255, required=False)
    label = forms.BooleanField(required=False, label="Label windows with the VLM analyst")
    label_backend = forms.ChoiceField(required=False, label="Backend")
    label_model = forms.CharField(max_length=128, required=False, label="Model", help_text="empty: the backend's configured model")
    forward = forms.BooleanField(required=False, label="Forward events to the stream-producer")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["label_backend"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(key, key) for key in settings.VODSCOPE_VLM_BACKENDS]

    def options(self) -> LiveOptions:
        data = self.cleaned_data
        return LiveOptions(source=data["source"].strip(), realtime=data["source_kind"] == "file",
                           detection_fps=data["detection_fps"], session_type=data["session_type"],
                           title=data["title"], label=data["label"], label_backend=data["label_backend"] or "",
                           label_model=data["label_model"], forward=data["forward"])
