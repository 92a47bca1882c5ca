"""Reads for the summaries panel on a recording's review page: a fixed number of queries."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from detection.models import DetectedEvent, Job, Recording
from labeling.summary_models import RaidSummary, SessionSummary

DISPUTED_SHOWN = 20


@dataclass(frozen=True)
class SummariesPanel:
    recording: Recording
    session: SessionSummary | None
    raids: list[RaidSummary] = field(default_factory=list)
    job: Job | None = None                    # the latest summarize job
    disputed: list[DetectedEvent] = field(default_factory=list)
    disputed_count: int = 0
    default_backend: str = ""                 # what the button's job will ask

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.status in Job.ACTIVE_STATUSES


def summaries_panel(*, recording: Recording) -> SummariesPanel:
    """The most recent session summary (any model or prompt version) with its raids, the latest summarize
    job, and the events the VLM cross-check disputes."""
    session = SessionSummary.objects.filter(recording=recording).order_by("-updated_at", "-id").first()
    raids = list(RaidSummary.objects.filter(recording=recording, model=session.model,
                                            prompt_version=session.prompt_version).order_by("raid_index")) \
        if session is not None else []
    job = Job.objects.filter(recording=recording, kind=Job.Kind.SUMMARIZE).order_by("-created_at", "-id").first()
    disputed = DetectedEvent.objects.filter(recording=recording, evidence__vlm_check__agrees=False).exclude(
        review_status=DetectedEvent.ReviewStatus.DELETED)
    shown = list(disputed.order_by("video_offset_seconds", "id")[:DISPUTED_SHOWN])
    return SummariesPanel(recording=recording, session=session, raids=raids, job=job, disputed=shown,
                          disputed_count=len(shown) if len(shown) < DISPUTED_SHOWN else disputed.count(),
                          default_backend=f"{settings.VODSCOPE_TEXT_BACKEND}:{settings.VODSCOPE_TEXT_MODEL}")


def vlm_check_of(event: DetectedEvent) -> dict[str, Any]:
    check = (event.evidence or {}).get("vlm_check")
    return check if isinstance(check, dict) else {}
