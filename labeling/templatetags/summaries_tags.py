"""`{% load summaries_tags %}`: the summaries panel's data for a recording, and the cross-check of an event."""
from __future__ import annotations

from typing import Any

from django import template

from detection.models import DetectedEvent, Recording
from detection.selectors import recording_changeable_by
from labeling.reasoning.selectors import SummariesPanel, summaries_panel, vlm_check_of

register = template.Library()


@register.simple_tag(takes_context=True)
def recording_summaries(context: template.Context, recording: Recording) -> dict[str, Any]:
    """The panel and whether the page's user may start a summary (its owner or staff, as for detection)."""
    panel: SummariesPanel = summaries_panel(recording=recording)
    user = context.get("user")
    return {"panel": panel, "can_summarize": user is not None and recording_changeable_by(user, recording)}


@register.filter
def vlm_check(event: DetectedEvent) -> dict[str, Any]:
    return vlm_check_of(event)
