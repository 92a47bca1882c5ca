"""`{% vlm_job_accounting job as accounting %}`: a vlm job's tokens, requests, failures, latency and cost."""
from __future__ import annotations

from django import template

from detection.models import Job
from labeling.vlm_accounting import JobAccounting, vlm_job_accounting

register = template.Library()


@register.simple_tag(name="vlm_job_accounting")
def vlm_job_accounting_tag(job: Job) -> JobAccounting:
    return vlm_job_accounting(job=job)


@register.filter
def seconds_from_ms(value: float | None) -> str:
    """1234.5 → "1.23 s"; under a second in milliseconds; None → "–"."""
    if value is None:
        return "–"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


@register.filter
def usd(value: float | None) -> str:
    if value is None:
        return "–"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


@register.filter
def grouped(value: int) -> str:
    """12345 → "12,345" (django.contrib.humanize is not installed)."""
    return f"{value:,}"
