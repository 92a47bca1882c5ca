"""The event schema a game profile declares: event types, their data fields and each field's choices.

One declaration (the profile's `events:` section) read by everything that names an event type or a
field: the pipeline's event assembly, the event log, the review form and filters, the renderer's
truth, and what comes next (VLM label fields, dataset classes, exports). Choices may name a
vocabulary of the profile (`maps`, `extracts`, `enemy_types`, ...), the states of its state
machine (`states`), its raid outcomes (`outcomes`), or list values inline.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FIELD_KINDS = ("choice", "bool", "text")


class SchemaError(ValueError):
    """The profile's `events:` section is inconsistent; the message names the key."""


def format_value(value: str, style: str) -> str:
    """How a vocabulary word is stored: `snake` (map names), `lower` (enemies, extracts) or as written."""
    if style == "snake":
        return value.strip().lower().replace(" ", "_")
    if style == "lower":
        return value.strip().lower()
    return value


@dataclass(frozen=True)
class Choice:
    value: str  # what is stored in an event's data
    label: str  # what a person reads


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str = "choice"
    choices: tuple[Choice, ...] = ()
    optional: bool = False

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(choice.value for choice in self.choices)

    def problem(self, value: Any) -> str:
        """Why `value` does not fit this field ("" when it does). None fits an optional field only."""
        if value is None or value == "":
            return "" if self.optional else f"{self.name} is required"
        if self.kind == "bool":
            return "" if isinstance(value, bool) else f"{self.name} must be true or false"
        if not isinstance(value, str):
            return f"{self.name} must be a string"
        if self.kind == "choice" and value not in self.values:
            return f"{self.name} {value!r} is not one of {list(self.values)}"
        return ""


@dataclass(frozen=True)
class EventSpec:
    type: str
    label: str
    fields: tuple[FieldSpec, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields)

    def field(self, name: str) -> FieldSpec | None:
        return next((spec for spec in self.fields if spec.name == name), None)

    def problems(self, data: Mapping[str, Any]) -> list[str]:
        """Every way `data` breaks this schema: unknown keys, missing or ill-typed values."""
        unknown = sorted(set(data) - set(self.field_names))
        found = [f"{self.type} has no field {key!r}" for key in unknown]
        return found + [p for spec in self.fields if (p := spec.problem(data.get(spec.name)))]


def events_from_dict(
    raw: Mapping[str, Any],
    *,
    vocabularies: Mapping[str, Any],
    states: tuple[str, ...],
    outcomes: tuple[str, ...],
    where: str,
) -> dict[str, EventSpec]:
    if not isinstance(raw, Mapping) or not raw:
        raise SchemaError(f"{where}: `events` must map each event type to its fields")
    named = _named_choices(vocabularies, states=states, outcomes=outcomes)
    specs: dict[str, EventSpec] = {}
    for event_type, body in raw.items():
        body = body or {}
        fields = tuple(
            _field(str(name), spec or {}, named=named, where=f"{where}: events.{event_type}.{name}")
            for name, spec in (body.get("fields") or {}).items()
        )
        label = str(body.get("label") or str(event_type).replace("_", " ").capitalize())
        specs[str(event_type)] = EventSpec(type=str(event_type), label=label, fields=fields)
    return specs


def _field(name: str, raw: Mapping[str, Any], *, named: dict[str, list[tuple[str, str]]], where: str) -> FieldSpec:
    kind = str(raw.get("kind", "choice"))
    if kind not in FIELD_KINDS:
        raise SchemaError(f"{where}: kind {kind!r} is not one of {list(FIELD_KINDS)}")
    choices: tuple[Choice, ...] = ()
    if kind == "choice":
        source = raw.get("choices")
        style = str(raw.get("format", "as_written"))
        if isinstance(source, str):
            if source not in named:
                raise SchemaError(f"{where}: choices {source!r} names no vocabulary; known: {sorted(named)}")
            pairs = named[source]
        elif isinstance(source, list) and source:
            pairs = [(str(word), str(word)) for word in source]
        else:
            raise SchemaError(f"{where}: a choice field needs `choices` (a vocabulary name or a list)")
        choices = tuple(dict.fromkeys(Choice(format_value(word, style), label) for word, label in pairs))
    return FieldSpec(
        name=name,
        label=str(raw.get("label") or name.replace("_", " ").capitalize()),
        kind=kind,
        choices=choices,
        optional=bool(raw.get("optional", False)),
    )


def _named_choices(
    vocabularies: Mapping[str, Any], *, states: tuple[str, ...], outcomes: tuple[str, ...]
) -> dict[str, list[tuple[str, str]]]:
    """(word, label) pairs per name a field's `choices` may give."""
    named: dict[str, list[tuple[str, str]]] = {}
    for name, words in vocabularies.items():
        if name == "maps" and isinstance(words, Mapping):
            named["maps"] = [(str(m), str(m)) for m in words]
            named["extracts"] = [(str(x), f"{x} ({m})") for m, extracts in words.items() for x in extracts or ()]
        elif isinstance(words, list):
            named[str(name)] = [(str(w), str(w)) for w in words]
    named["states"] = [(s, s.replace("_", " ")) for s in states]
    named["outcomes"] = [(o, o.upper()) for o in dict.fromkeys(outcomes)]
    return named
