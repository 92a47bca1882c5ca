"""Template filters for recordings and jobs: `{% load vodscope %}`."""
from __future__ import annotations

from typing import Any

from django import template

from detection.models import Job
from detection.selectors import JobProgressInfo, duration_text, job_cancellable_by, job_progress_info

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """3725.4 → "1:02:05"; None → "–"."""
    return duration_text(seconds) if seconds is not None else "–"


@register.filter
def job_info(job: Job) -> JobProgressInfo:
    return job_progress_info(job)


@register.filter
def cancellable_by(job: Job, user: Any) -> bool:
    """`job|cancellable_by:user`: the one rule of who may cancel a job, in the page's templates."""
    return job_cancellable_by(user, job)


@register.filter
def rate(value: float) -> str:
    if value <= 0:
        return "–"
    return f"{value:.1f}/s" if value < 100 else f"{value:.0f}/s"
