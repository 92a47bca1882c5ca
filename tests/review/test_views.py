from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from detection.models import DetectedEvent
from review.models import EventChange
from tests.conftest import PASSWORD
from tests.review.factories import EventFactory, make_events

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def page_url(recording, suffix: str = "") -> str:
    return f"/recordings/{recording.pk}/review/{suffix}"


@pytest.fixture
def client_for(client):  # type: ignore[no-untyped-def]
    def login(user):  # type: ignore[no-untyped-def]
        client.login(username=user.username, password=PASSWORD)
        return client

    return login


@pytest.mark.parametrize("who", ["owner", "reviewer", "staff"])
def test_people_allowed_see_the_page(request, client_for, recording, who):
    EventFactory(recording=recording)
    response = client_for(request.getfixturevalue(who)).get(page_url(recording))
    assert response.status_code == 200
    assert b"data-event-id" in response.content and b"<video" in response.content


def test_an_outsider_gets_404_everywhere(client_for, outsider, recording):
    event = EventFactory(recording=recording)
    client = client_for(outsider)
    for url in ["", "video/", "export.json", "jobs/", "history/", f"events/{event.pk}/edit/"]:
        assert client.get(page_url(recording, url)).status_code == 404, url
    assert client.post(page_url(recording, f"events/{event.pk}/approve/")).status_code == 404
    assert client.post(page_url(recording, "undo/")).status_code == 404
    assert DetectedEvent.objects.get(pk=event.pk).review_status == "unreviewed"


def test_anonymous_is_sent_to_login(client, recording):
    for url in ["", "video/", "export.json"]:
        response = client.get(page_url(recording, url))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_low_confidence_rows_stand_out(client_for, owner, recording):
    low = EventFactory(recording=recording, confidence=0.4)
    high = EventFactory(recording=recording, confidence=0.95)
    html = client_for(owner).get(page_url(recording)).content.decode()
    low_row = html[html.index(f'id="ev-{low.pk}"') - 20 : html.index(f'id="ev-{low.pk}"') + 400]
    high_row = html[html.index(f'id="ev-{high.pk}"') - 20 : html.index(f'id="ev-{high.pk}"') + 400]
    assert 'class="ev s-unreviewed low"' in low_row and 'class="badge low"' in low_row
    assert "low" not in high_row.split("</li>")[0]


def test_filters_are_get_params(client_for, owner, recording):
    kill = EventFactory(recording=recording, event_type="kill", confidence=0.5)
    start = EventFactory(recording=recording, event_type="raid_start", data={"map_name": "woods"}, confidence=0.99)
    gone = EventFactory(recording=recording, review_status="deleted")
    client = client_for(owner)

    def shown(query: str) -> set[int]:
        response = client.get(page_url(recording) + query, HTTP_HX_TARGET="event-list", **HTMX)
        assert b"<html" not in response.content  # the fragment only
        return {e.pk for e in (kill, start, gone) if f'data-event-id="{e.pk}"' in response.content.decode()}

    assert shown("") == {kill.pk, start.pk}
    assert shown("?type=raid_start") == {start.pk}
    assert shown("?band=low") == {kill.pk}
    assert shown("?band=high") == {start.pk}
    assert shown("?state=deleted") == {gone.pk}
    assert shown("?state=all&type=kill") == {kill.pk, gone.pk}


def test_actions_swap_the_row_and_record_changes(client_for, reviewer, recording):
    event = EventFactory(recording=recording)
    client = client_for(reviewer)
    response = client.post(page_url(recording, f"events/{event.pk}/approve/"), **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<li id="ev-{event.pk}"') and "s-approved" in body
    assert 'id="review-counts"' in body and "hx-swap-oob" in body
    client.post(page_url(recording, f"events/{event.pk}/delete/"), **HTMX)
    assert DetectedEvent.objects.get(pk=event.pk).review_status == "deleted"
    assert list(EventChange.objects.filter(event=event).values_list("action", flat=True)) == ["delete", "approve"]
    assert client.post(page_url(recording, f"events/{event.pk}/explode/")).status_code == 404


def test_edit_form_validates_against_the_vocabulary(client_for, owner, recording):
    event = EventFactory(recording=recording)
    client = client_for(owner)
    form = client.get(page_url(recording, f"events/{event.pk}/edit/"), **HTMX).content.decode()
    assert 'name="kill-weapon"' in form and "HK 416A5" in form and 'name="raid_start-map_name"' in form
    bad = client.post(
        page_url(recording, f"events/{event.pk}/edit/"),
        {"event_type": "kill", "video_offset_seconds": "1.0", "kill-enemy_type": "dragon", "kill-weapon": "AKM"},
        **HTMX,
    )
    assert b"error" in bad.content and DetectedEvent.objects.get(pk=event.pk).review_status == "unreviewed"
    good = client.post(
        page_url(recording, f"events/{event.pk}/edit/"),
        {"event_type": "kill", "video_offset_seconds": "1.5", "kill-enemy_type": "boss", "kill-weapon": "SVDS",
         "kill-headshot": "on", "raid_end-outcome": "mia"},
        **HTMX,
    )  # fmt: skip
    assert good.status_code == 200 and b"s-edited" in good.content
    event.refresh_from_db()
    assert event.data == {"enemy_type": "boss", "weapon": "SVDS", "headshot": True}
    assert event.video_offset_seconds == 1.5 and event.manually_reviewed


def test_add_and_undo_answer_with_the_list(client_for, owner, recording):
    client = client_for(owner)
    form = client.get(page_url(recording, "events/add/?t=2.25"), **HTMX).content.decode()
    assert 'value="2.25"' in form
    response = client.post(
        page_url(recording, "events/add/"),
        {"event_type": "raid_end", "video_offset_seconds": "2.25", "raid_end-outcome": "survived",
         "raid_end-extract_location": "crossroads"},
        **HTMX,
    )  # fmt: skip
    added = DetectedEvent.objects.get(recording=recording, source="manual")
    assert added.data == {"outcome": "survived", "extract_location": "crossroads"}
    assert response["HX-Retarget"] == "#event-list" and str(added.pk) in response["HX-Trigger-After-Settle"]
    undo = client.post(page_url(recording, "undo/"), **HTMX)
    assert undo.status_code == 200
    assert DetectedEvent.objects.get(pk=added.pk).review_status == "deleted"
    assert client.post(page_url(recording, "undo/"), **HTMX).status_code == 204


def test_export_applies_the_review(client_for, owner, recording):
    kept, gone, edited = EventFactory(recording=recording), EventFactory(recording=recording), EventFactory(recording=recording)
    client = client_for(owner)
    client.post(page_url(recording, f"events/{kept.pk}/approve/"), **HTMX)
    client.post(page_url(recording, f"events/{gone.pk}/delete/"), **HTMX)
    client.post(
        page_url(recording, f"events/{edited.pk}/edit/"),
        {"event_type": "kill", "video_offset_seconds": "3", "kill-enemy_type": "rogue", "kill-weapon": "MP5"},
        **HTMX,
    )
    response = client.get(page_url(recording, "export.json"))
    assert "attachment" in response["Content-Disposition"]
    document = response.json()
    assert document["metadata"]["manually_reviewed"] is True
    by_id = {e["event_id"]: e for e in document["events"]}
    assert gone.event_id not in by_id
    assert by_id[kept.event_id]["manually_reviewed"] is True
    assert by_id[edited.event_id]["data"] == {"enemy_type": "rogue", "weapon": "MP5", "headshot": False}
    assert by_id[edited.event_id]["video_offset_seconds"] == 3.0


def _queries(client, url: str, **extra) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_query_count_does_not_grow_with_events(client_for, owner, recording):
    client = client_for(owner)
    make_events(recording, 5)
    few = _queries(client, page_url(recording))
    DetectedEvent.objects.filter(recording=recording).delete()
    make_events(recording, 300)
    assert _queries(client, page_url(recording)) == few
    assert _queries(client, page_url(recording), HTTP_HX_TARGET="event-list", **HTMX) < few

    event = DetectedEvent.objects.filter(recording=recording).first()
    for action in ("approve", "delete", "restore"):
        with CaptureQueriesContext(connection) as captured:
            client.post(page_url(recording, f"events/{event.pk}/{action}/"), **HTMX)
        assert len(captured.captured_queries) <= 12, (action, [q["sql"] for q in captured.captured_queries])


def test_thumbnails_are_served_only_to_people_who_may_see_them(client_for, owner, outsider, recording, settings, tmp_path):
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = tmp_path
    event = EventFactory(recording=recording)
    event.thumbnail.save("t.jpg", ContentFile(b"\xff\xd8jpeg"), save=True)
    bare = EventFactory(recording=recording)
    client = client_for(owner)
    response = client.get(page_url(recording, f"events/{event.pk}/thumbnail/"))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"\xff\xd8jpeg"
    assert response["Content-Type"] == "image/jpeg"
    assert client.get(page_url(recording, f"events/{bare.pk}/thumbnail/")).status_code == 404
    client.logout()
    assert client_for(outsider).get(page_url(recording, f"events/{event.pk}/thumbnail/")).status_code == 404


def test_an_event_of_another_recording_is_404(client_for, owner, recording):
    from tests.review.factories import RecordingFactory

    other = EventFactory(recording=RecordingFactory(owner=owner))
    client = client_for(owner)
    assert client.post(page_url(recording, f"events/{other.pk}/approve/"), **HTMX).status_code == 404
    assert DetectedEvent.objects.get(pk=other.pk).review_status == "unreviewed"


def test_jobs_fragment_polls_only_while_a_job_runs(client_for, owner, recording):
    from detection.models import Job

    client = client_for(owner)
    assert "hx-trigger" not in client.get(page_url(recording, "jobs/")).content.decode()
    Job.objects.create(kind=Job.Kind.DETECT, recording=recording, status=Job.Status.RUNNING, progress_total=10, progress_done=4)
    fragment = client.get(page_url(recording, "jobs/")).content.decode()
    assert 'hx-trigger="every 2s"' in fragment and '<progress value="4" max="10">' in fragment


def test_history_shows_who_changed_what(client_for, owner, reviewer, recording):
    event = EventFactory(recording=recording)
    client_for(reviewer).post(
        page_url(recording, f"events/{event.pk}/edit/"),
        {"event_type": "kill", "video_offset_seconds": "1", "kill-enemy_type": "boss", "kill-weapon": "VSS"},
        **HTMX,
    )
    html = client_for(owner).get(page_url(recording, "history/")).content.decode()
    assert "reviewer" in html and "Edited" in html and "boss" in html and "scav" in html


def test_the_last_job_finishing_tells_the_page(client_for, owner, recording):
    from detection.models import Job

    client = client_for(owner)
    job = Job.objects.create(kind=Job.Kind.DETECT, recording=recording, status=Job.Status.RUNNING)
    assert "review:jobs-done" not in client.get(page_url(recording, "jobs/"), **HTMX)["HX-Trigger"]
    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED)
    done = client.get(page_url(recording, "jobs/"), **HTMX)
    assert "review:jobs-done" in done["HX-Trigger"]


def test_while_detection_runs_the_poll_says_when_the_list_is_out_of_date(client_for, owner, recording):
    """review.js compares the poll's stamp with the list's and fetches the list when they differ."""
    import json

    from detection.models import Job

    client = client_for(owner)
    EventFactory(recording=recording)
    Job.objects.create(kind=Job.Kind.DETECT, recording=recording, status=Job.Status.RUNNING)

    def stamps() -> tuple[str, str]:
        page = client.get(page_url(recording)).content.decode()
        listed = page.split('data-stamp="', 1)[1].split('"', 1)[0]
        poll = json.loads(client.get(page_url(recording, "jobs/"), **HTMX)["HX-Trigger"])["review:events"]["stamp"]
        return listed, poll

    before = stamps()
    assert before[0] == before[1]
    EventFactory(recording=recording)  # the detector's next checkpoint
    grown = client.get(page_url(recording, "jobs/"), **HTMX)
    assert json.loads(grown["HX-Trigger"])["review:events"]["stamp"] != before[0]
    after = stamps()
    assert after[0] == after[1] != before[0]
    listing = client.get(page_url(recording), HTTP_HX_TARGET="event-list", **HTMX).content.decode()
    assert f'data-stamp="{after[0]}"' in listing and 'id="timeline-ticks" hx-swap-oob="true"' in listing


def test_inferred_events_are_marked_whatever_their_evidence_holds(client_for, owner, recording):
    EventFactory(recording=recording, video_offset_seconds=30.0, evidence={"inferred": True,
                                                                           "happened_between": [10.0, 20.0]})
    EventFactory(recording=recording, video_offset_seconds=40.0, evidence={"inferred": True,
                                                                           "happened_between": "soon"})
    EventFactory(recording=recording, video_offset_seconds=50.0, evidence={"inferred": "yes"})
    response = client_for(owner).get(page_url(recording))
    html = response.content.decode()
    assert response.status_code == 200 and html.count('class="badge inferred"') == 2
    assert "between 0:00:10.0 and 0:00:20.0" in html and "implied by the screens around it" in html
