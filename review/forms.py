"""The inline edit/add form: an event type, a time, and that type's data fields (named `<type>-<field>`).

Types, fields and choices come from the game profile's event schema (review.vocabulary); the
form only shapes them for a browser. Whether the data fits the schema is the service's rule
(`EventInvalid`), so the page and the API refuse the same things.
"""
from __future__ import annotations

from typing import Any

from django import forms

from detection.models import DetectedEvent
from detection.pipeline.schema import FieldSpec
from review.vocabulary import default_added_type, event_spec, event_specs


class EventForm(forms.Form):
    event_type = forms.ChoiceField(choices=[])
    video_offset_seconds = forms.FloatField(min_value=0.0)

    def __init__(self, *args: Any, event: DetectedEvent | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.event = event
        specs = event_specs()
        type_field = self.fields["event_type"]
        assert isinstance(type_field, forms.ChoiceField)
        type_field.choices = [(spec.type, spec.label) for spec in specs.values()]
        current = event.data if event is not None else {}
        for spec in specs.values():
            for field in spec.fields:
                self.fields[f"{spec.type}-{field.name}"] = _form_field(field, current.get(field.name))

    def type_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        """Per event type, its bound data fields (the template shows the selected type's group)."""
        return [
            (spec.type, [self[f"{spec.type}-{field.name}"] for field in spec.fields])
            for spec in event_specs().values()
        ]

    def cleaned_payload(self) -> dict[str, Any]:
        """The service's keyword arguments; only the chosen type's fields make up `data`."""
        event_type = self.cleaned_data["event_type"]
        spec = event_spec(event_type)
        data: dict[str, Any] = {}
        for field in spec.fields if spec else ():
            value = self.cleaned_data.get(f"{event_type}-{field.name}")
            if field.kind == "bool":
                data[field.name] = bool(value)
            elif value:
                data[field.name] = value
        return {"event_type": event_type, "data": data, "video_offset_seconds": self.cleaned_data["video_offset_seconds"]}

    def clean(self) -> dict[str, Any]:
        """Each schema problem next to its field, before the service would refuse the whole event."""
        cleaned = super().clean() or {}
        spec = event_spec(cleaned.get("event_type") or "")
        if spec is not None:
            for field in spec.fields:
                name = f"{spec.type}-{field.name}"
                value = cleaned.get(name)
                problem = field.problem(bool(value) if field.kind == "bool" else value or None)
                if problem:
                    self.add_error(name, "Required" if value in (None, "") else problem)
        return cleaned


def _form_field(spec: FieldSpec, current: Any) -> forms.Field:
    if spec.kind == "bool":
        return forms.BooleanField(required=False, label=spec.label)
    if spec.kind == "text":
        return forms.CharField(required=False, label=spec.label, max_length=200)
    choices = [("", "—"), *((choice.value, choice.label) for choice in spec.choices)]
    # A value the detector read that is not in the profile shows as it is, so the reviewer sees what to
    # correct; saving it is refused (clean above, and the service), never stored.
    if current and str(current) not in spec.values:
        choices.append((str(current), f"{current} (as read, not in the profile)"))
    return forms.ChoiceField(choices=choices, required=False, label=spec.label)


def initial_for(event: DetectedEvent | None, *, offset: float = 0.0, event_type: str = "") -> dict[str, Any]:
    if event is None:
        chosen = event_type if event_spec(event_type) else default_added_type()
        return {"event_type": chosen, "video_offset_seconds": round(offset, 2)}
    initial: dict[str, Any] = {"event_type": event.event_type, "video_offset_seconds": round(event.video_offset_seconds, 2)}
    spec = event_spec(event.event_type)
    for field in spec.fields if spec else ():
        if field.name in event.data:
            initial[f"{event.event_type}-{field.name}"] = event.data[field.name]
    return initial
