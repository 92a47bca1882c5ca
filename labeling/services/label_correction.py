"""A reviewer's correction of one window's label: validated against the profile's label schema, kept beside
the model's label (WindowLabel.corrected_label wins through `effective_label`) and audited.

The correction is a whole label, so everything that reads `effective_label` (the review lane, the JSONL
export, training) sees one shape: the reviewer's tactic, HUD values and intent over the model's answer
(or, for a failed window, over OCR's HUD values), with confidence 1 (a person said so). The audit is a
Django admin LogEntry on the window (who, when, which fields from what to what), shown in its admin history.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.db import transaction
from django.utils import timezone

from detection.pipeline.labels import INTENT_VALUES, LabelSchema
from labeling.vlm_models import WindowLabel

CORRECTED_FIELDS = ("tactic", "intent_matches")  # plus the schema's HUD fields, first


class LabelCorrectionInvalid(ValueError):
    """A value outside the label schema: the message names the field and what it may be."""


def correction_from_form(values: Mapping[str, str], *, schema: LabelSchema) -> dict[str, Any]:
    """The corrected fields as typed values; a HUD field left empty means "not visible" (null)."""
    parsed: dict[str, Any] = {}
    for field in schema.hud_fields:
        text = (values.get(field.name) or "").strip()
        if not text:
            parsed[field.name] = None
            continue
        try:
            number = int(text)
        except ValueError:
            raise LabelCorrectionInvalid(f"{field.name}: {text!r} is not a whole number") from None
        if not field.minimum <= number <= field.maximum:
            raise LabelCorrectionInvalid(f"{field.name}: {number} is outside {field.minimum}-{field.maximum}")
        parsed[field.name] = number
    tactic = (values.get("tactic") or "").strip()
    if tactic not in schema.tactics:
        raise LabelCorrectionInvalid(f"tactic: {tactic!r} is not one of {', '.join(schema.tactics)}")
    intent = (values.get("intent_matches") or "").strip()
    if intent not in INTENT_VALUES:
        raise LabelCorrectionInvalid(f"intent_matches: {intent!r} is not one of {', '.join(INTENT_VALUES)}")
    parsed.update(tactic=tactic, intent_matches=intent)
    return parsed


def correction_initial(window: WindowLabel, *, schema: LabelSchema) -> dict[str, Any]:
    """What the correction form starts from: the effective label, else (a failed window) OCR's HUD values."""
    label = window.effective_label or schema.fallback(window.ocr or {}, why="")
    return {name: label.get(name) for name in (*(f.name for f in schema.hud_fields), *CORRECTED_FIELDS)}


@transaction.atomic
def window_label_correct(*, window: WindowLabel, user: Any, values: Mapping[str, str],
                         schema: LabelSchema) -> WindowLabel:
    """Store the reviewer's label for `window`; raises LabelCorrectionInvalid (nothing stored) on a bad value."""
    fields = correction_from_form(values, schema=schema)
    window = WindowLabel.objects.select_for_update().get(pk=window.pk)
    before = window.effective_label
    base = before or schema.fallback(window.ocr or {}, why="labelled by a reviewer: no model answered")
    corrected = {**base, **fields, "confidence": 1.0}
    problems = schema.problems(corrected)
    if problems:  # a stored model label from an older schema: say so rather than store an invalid one
        raise LabelCorrectionInvalid("; ".join(problems))
    window.corrected_label = corrected
    window.corrected_by = user
    window.corrected_at = timezone.now()
    window.save(update_fields=["corrected_label", "corrected_by", "corrected_at", "updated_at"])
    changes = {name: [(before or {}).get(name), value] for name, value in fields.items()
               if (before or {}).get(name) != value}
    LogEntry.objects.log_actions(
        user_id=user.pk, queryset=[window], action_flag=CHANGE, single_object=True,
        change_message=f"Corrected label on the review page: {json.dumps(changes, sort_keys=True)}",
    )
    return window
