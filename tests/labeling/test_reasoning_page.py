"""The summaries panel on a recording's review page: shown to whoever sees the recording, started by its owner."""
from __future__ import annotations

import pytest

from detection.models import Job
from labeling.summary_models import RaidSummary, SessionSummary
from tests.conftest import PASSWORD
from tests.factories import DetectedEventFactory, RecordingFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def recording(owner, reviewer):  # type: ignore[no-untyped-def]
    recording = RecordingFactory(owner=owner)
    recording.reviewers.add(reviewer)
    return recording


def login(client, user):  # type: ignore[no-untyped-def]
    client.login(username=user.username, password=PASSWORD)
    return client


def summaries(recording) -> None:  # type: ignore[no-untyped-def]
    common = {"recording": recording, "model": "ollama:llama3", "prompt_version": "reasoning_v1", "inputs_hash": "x"}
    RaidSummary.objects.create(**common, raid_index=1, start=30.0, end=630.0, status="ok",
                               summary={"title": "Customs loot run", "summary": "Looted and left.", "highlights": []})
    RaidSummary.objects.create(**common, raid_index=2, start=700.0, end=900.0, status="failed",
                               error="invalid answer after one repair: not JSON")
    SessionSummary.objects.create(**common, status="ok", raids=2, levels=[1],
                                  failures=[{"part": "raid 2", "error": "invalid"}],
                                  summary={"title": "Two raids on Customs", "summary": "One clean extract.",
                                           "highlights": ["raid 1: quiet loot run"]})


@pytest.mark.once
def test_the_review_page_shows_the_summaries_with_model_and_prompt(client, reviewer, recording):
    summaries(recording)
    DetectedEventFactory(recording=recording, event_type="kill", video_offset_seconds=75.0,
                         evidence={"vlm_check": {"agrees": False, "rationale": "no banner, only a menu"}})
    page = login(client, reviewer).get(f"/recordings/{recording.pk}/review/").content.decode()
    assert "Two raids on Customs" in page and "ollama:llama3 · prompt reasoning_v1 · 2 raids" in page
    assert "Customs loot run" in page and "Raid 2: not summarised" in page and "raid 1: quiet loot run" in page
    assert "the model disputes 1 event" in page and "no banner, only a menu" in page
    assert "Summarize again" not in page, "a reviewer does not start jobs on someone's recording"


def test_the_owner_starts_one_summarize_job_and_the_panel_polls_while_it_runs(client, owner, recording):
    client = login(client, owner)
    page = client.get(f"/recordings/{recording.pk}/review/").content.decode()
    assert "Summarize session" in page and "No summary yet" in page
    response = client.post(f"/recordings/{recording.pk}/summaries/start/", **HTMX)
    assert response.status_code == 200
    job = Job.objects.get(recording=recording, kind=Job.Kind.SUMMARIZE)
    assert job.created_by == owner and job.status == Job.Status.QUEUED
    body = response.content.decode()
    assert f"Summary job #{job.pk}: Queued" in body and 'hx-trigger="every 2s"' in body
    again = client.post(f"/recordings/{recording.pk}/summaries/start/", **HTMX).content.decode()
    assert "is already queued on this recording" in again
    assert Job.objects.filter(kind=Job.Kind.SUMMARIZE).count() == 1
    assert client.post(f"/recordings/{recording.pk}/summaries/start/").status_code == 302  # no JS: back to the page


@pytest.mark.once
def test_who_may_not_start_or_see_gets_404(client, reviewer, outsider, recording):
    assert login(client, reviewer).post(f"/recordings/{recording.pk}/summaries/start/").status_code == 404
    client.logout()
    assert login(client, outsider).get(f"/recordings/{recording.pk}/summaries/").status_code == 404
    assert not Job.objects.filter(kind=Job.Kind.SUMMARIZE).exists()
