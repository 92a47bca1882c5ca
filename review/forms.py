"""The inline edit/add form: an event type, a time, and that type's data fields (named `<type>-<field>`)."""
from __future__ import annotations

from typing import Any

from django import forms

from detection.models import DetectedEvent
from review.vocabulary import DataField, event_fields, event_types


class EventForm(forms.Form):
    event_type = forms.ChoiceField(choices=[])
    video_offset_seconds = forms.FloatField(min_value=0.0)

    def __init__(self, *args: Any, event: DetectedEvent | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.event = event
        type_field = self.fields["event_type"]
        assert isinstance(type_field, forms.ChoiceField)
        type_field.choices = [(t, t.replace("_", " ")) for t in event_types()]
        current = event.data if event is not None else {}
        for event_type, data_fields in event_fields().items():
            for spec in data_fields:
                self.fields[f"{event_type}-{spec.name}"] = _field(spec, current.get(spec.name))

    def type_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        """Per event type, its bound data fields (the template shows the selected type's group)."""
        return [
            (event_type, [self[f"{event_type}-{spec.name}"] for spec in specs])
            for event_type, specs in event_fields().items()
        ]

    def cleaned_payload(self) -> dict[str, Any]:
        """The service's keyword arguments; only the chosen type's fields make up `data`."""
        event_type = self.cleaned_data["event_type"]
        data: dict[str, Any] = {}
        for spec in event_fields()[event_type]:
            value = self.cleaned_data.get(f"{event_type}-{spec.name}")
            if spec.boolean:
                data[spec.name] = bool(value)
            elif value:
                data[spec.name] = value
        return {"event_type": event_type, "data": data, "video_offset_seconds": self.cleaned_data["video_offset_seconds"]}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        event_type = cleaned.get("event_type")
        if event_type:
            for spec in event_fields()[event_type]:
                name = f"{event_type}-{spec.name}"
                if not spec.boolean and not spec.optional and not cleaned.get(name):
                    self.add_error(name, "Required")
        return cleaned


def _field(spec: DataField, current: Any) -> forms.Field:
    if spec.boolean:
        return forms.BooleanField(required=False, label=spec.label)
    choices = [("", "—"), *spec.choices]
    # A value the detector read that is not in the vocabulary stays selectable, so opening the form changes nothing.
    if current and str(current) not in {value for value, _ in spec.choices}:
        choices.append((str(current), f"{current} (as read)"))
    return forms.ChoiceField(choices=choices, required=False, label=spec.label)


def initial_for(event: DetectedEvent | None, *, offset: float = 0.0, event_type: str = "kill") -> dict[str, Any]:
    if event is None:
        return {"event_type": event_type, "video_offset_seconds": round(offset, 2)}
    initial: dict[str, Any] = {"event_type": event.event_type, "video_offset_seconds": round(event.video_offset_seconds, 2)}
    for spec in event_fields().get(event.event_type, ()):
        if spec.name in event.data:
            initial[f"{event.event_type}-{spec.name}"] = event.data[spec.name]
    return initial
