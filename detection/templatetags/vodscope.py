"""Template filters for recordings and jobs: `{% load vodscope %}`."""
from __future__ import annotations

from django import template

from detection.models import Job
from detection.selectors import JobProgressInfo, duration_text, job_progress_info

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """3725.4 → "1:02:05"; None → "–"."""
    return duration_text(seconds) if seconds is not None else "–"


@register.filter
def job_info(job: Job) -> JobProgressInfo:
    return job_progress_info(job)


@register.filter
def rate(value: float) -> str:
    if value <= 0:
        return "–"
    return f"{value:.1f}/s" if value < 100 else f"{value:.0f}/s"
