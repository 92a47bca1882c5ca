"""Events of a detection still running reach an open review page without a reload (the jobs poll, review.js)."""
from __future__ import annotations

import pytest
from django.utils import timezone

from detection.models import DetectedEvent, Job
from tests.e2e.conftest import screenshot
from tests.e2e.test_review import open_review, recording, selected_id, video  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
KILL = {"enemy_type": "raider", "weapon": "VSS", "headshot": False}


def found(recording, event_id: str, offset: float) -> DetectedEvent:  # type: ignore[no-untyped-def]
    """What the detect job's checkpoint writes: a detected, unreviewed row."""
    return DetectedEvent.objects.create(
        recording=recording, event_id=event_id, event_type="kill", video_offset_seconds=offset, confidence=0.9, data=KILL
    )


def test_events_appear_while_detection_runs_and_the_reviewer_keeps_their_place(page_factory, live_server, owner, reviewer, recording):
    job = Job.objects.create(
        kind=Job.Kind.DETECT, recording=recording, created_by=owner, status=Job.Status.RUNNING,
        progress_done=5, progress_total=12, heartbeat_at=timezone.now(),
    )  # fmt: skip
    page = open_review(page_factory, live_server, reviewer, recording)
    page.keyboard.press("j")
    page.keyboard.press("a")  # approve the 2nd and move on to the 3rd
    page.wait_for_selector(".s-approved")
    place = selected_id(page)

    first = found(recording, "live-1", 11.0)
    page.wait_for_selector(f"#ev-{first.pk}", timeout=10_000)
    assert selected_id(page) == place and page.evaluate("document.activeElement.dataset.eventId") == place
    assert page.locator("#event-list [data-event-id]").count() == 6
    page.wait_for_function("document.querySelector('#review-legend .t-kill b').textContent === '3'")  # counted too
    assert page.locator("#timeline-ticks .tick.t-kill").count() == 3  # and on the timeline

    page.keyboard.press("j")  # keys go on from where the reviewer was
    assert selected_id(page) != place
    page.keyboard.press("e")
    page.wait_for_selector(".event-form select")
    second = found(recording, "live-2", 11.5)
    page.wait_for_timeout(4_500)  # two polls: an open form is not swapped away under the reviewer
    assert page.locator(".event-form").count() == 1 and page.locator(f"#ev-{second.pk}").count() == 0
    page.keyboard.press("Escape")
    page.wait_for_selector(f"#ev-{second.pk}", timeout=10_000)
    screenshot(page, "review-live-1280x800")

    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED, finished_at=timezone.now())
    page.wait_for_function("!document.getElementById('jobs').hasAttribute('hx-trigger')", timeout=10_000)
    page.wait_for_timeout(1_000)  # the last poll's list refresh
    third = found(recording, "live-3", 11.8)
    page.wait_for_timeout(3_000)  # no detection runs: the page stops asking
    assert page.locator(f"#ev-{third.pk}").count() == 0
