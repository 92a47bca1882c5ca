"""The admin's read-only pages for session reasoning's summaries (labeling/admin_summaries.py)."""
from __future__ import annotations

import pytest

from labeling.summary_models import RaidSummary, SessionSummary
from tests.conftest import PASSWORD
from tests.factories import RecordingFactory

pytestmark = pytest.mark.django_db
SUMMARY = {"title": "Customs, <b>two</b> scavs down", "summary": "Looted, kited a scav, got out.",
           "highlights": ["0:42 headshot on a scav"]}


@pytest.fixture
def admin_client(client, staff):  # type: ignore[no-untyped-def]
    client.login(username=staff.username, password=PASSWORD)
    return client


def summaries() -> tuple[SessionSummary, RaidSummary, RaidSummary]:
    recording = RecordingFactory(title="Evening raids")
    common = {"recording": recording, "model": "ollama:llama3", "prompt_version": "reasoning_v1", "inputs_hash": "h"}
    session = SessionSummary.objects.create(**common, status="ok", summary=SUMMARY, raids=2, levels=[1],
                                            failures=[{"part": "raid 2", "error": "invalid answer after one repair"}])
    ok = RaidSummary.objects.create(**common, raid_index=1, start=30.0, end=3725.0, status="ok", summary=SUMMARY,
                                    facts={"raid": 1, "map": "customs"})
    failed = RaidSummary.objects.create(**common, raid_index=2, start=3800.0, end=4400.0, status="failed",
                                        raw_answer="sure! {", error="invalid answer after one repair: not JSON")
    return session, ok, failed


def test_summaries_are_listed_and_shown_read_only(admin_client):
    session, ok, failed = summaries()
    listing = admin_client.get("/admin/labeling/sessionsummary/").content.decode()
    assert "Evening raids" in listing and "ollama:llama3" in listing and "reasoning_v1" in listing
    assert "Customs, &lt;b&gt;two&lt;/b&gt; scavs down" in listing, "a model's words are escaped"
    page = admin_client.get(f"/admin/labeling/sessionsummary/{session.pk}/change/").content.decode()
    assert "Looted, kited a scav, got out." in page and "0:42 headshot on a scav" in page
    assert "<b>raid 2</b>: invalid answer after one repair" in page
    raids = admin_client.get("/admin/labeling/raidsummary/?status__exact=failed").content.decode()
    assert "1:03:20–1:13:20" in raids and "0:00:30–1:02:05" not in raids
    raid = admin_client.get(f"/admin/labeling/raidsummary/{ok.pk}/change/").content.decode()
    assert "&quot;map&quot;: &quot;customs&quot;" in raid and "Looted, kited a scav" in raid
    broken = admin_client.get(f"/admin/labeling/raidsummary/{failed.pk}/change/").content.decode()
    assert "none (failed: see the error and the raw answer)" in broken and "sure! {" in broken
    assert admin_client.get("/admin/labeling/raidsummary/add/").status_code == 403
    admin_client.post(f"/admin/labeling/sessionsummary/{session.pk}/change/", {"status": "failed"})
    admin_client.post(f"/admin/labeling/sessionsummary/{session.pk}/delete/", {"post": "yes"})
    session.refresh_from_db()
    assert session.status == "ok", "rows are a summarize run's, never edited by hand"


def test_a_reviewer_without_staff_rights_cannot_see_them(client, reviewer):
    summaries()
    client.login(username=reviewer.username, password=PASSWORD)
    response = client.get("/admin/labeling/raidsummary/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
