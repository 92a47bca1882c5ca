"""The queue and the box editor over HTTP: proposals accepted or refused, boxes drawn and saved (audited,
checked, exported), events added by hand asking for their box, and nobody else's frames reachable."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from detection.models import DetectedEvent
from labeling.datasets.annotations import annotation_candidates_collect
from labeling.datasets.transfer import dataset_export
from labeling.models import AnnotationChange, BoxAnnotation, FrameAnnotation
from review.services import event_add, review_undo_last
from tests.conftest import render_test_video
from tests.factories import DetectedEventFactory, RecordingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_test_video(tmp_path_factory.mktemp("queue-video") / "clip.mkv", seconds=1.0, fps=10, size="160x90")


@pytest.fixture
def recording(settings, tmp_path, owner, video):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return RecordingFactory(owner=owner, source_path=str(video), avg_fps=10.0, duration_seconds=1.0)


def detected(recording, frame: int, confidence: float, box: list[float], label: str = "kill_notification"):  # type: ignore[no-untyped-def]
    evidence = {"class": label, "box": box, "confidence": confidence, "confirmed_at_frame": frame}
    return DetectedEventFactory(recording=recording, frame_number=frame, confidence=confidence, evidence=evidence)


def candidate(recording, frame: int, confidence: float = 0.6) -> FrameAnnotation:  # type: ignore[no-untyped-def]
    detected(recording, frame, confidence, [0.1, 0.2, 0.5, 0.6])
    annotation_candidates_collect(recording=recording)
    return FrameAnnotation.objects.get(recording=recording, frame_number=frame)


def boxes_of(frame: FrameAnnotation) -> list[tuple]:
    return [(b.label, b.x0, b.y0, b.x1, b.y1) for b in BoxAnnotation.objects.filter(frame=frame)]


def test_a_candidate_carries_the_detectors_box_and_accept_keeps_it(client, owner, recording) -> None:  # type: ignore[no-untyped-def]
    frame = candidate(recording, 3)
    assert frame.status == "candidate" and boxes_of(frame) == [("kill_notification", 0.1, 0.2, 0.5, 0.6)]
    client.force_login(owner)
    response = client.post(f"/recordings/queue/frames/{frame.pk}/accept/", {"rank": "1"})
    assert response.status_code == 200 and "accepted in the queue" in response.content.decode()
    frame.refresh_from_db()
    assert frame.status == "labelled" and boxes_of(frame) == [("kill_notification", 0.1, 0.2, 0.5, 0.6)]
    change = AnnotationChange.objects.get(frame=frame)
    assert (change.action, change.user, change.before["status"], change.after["status"]) == (
        "queue:accept", owner, "candidate", "labelled")


def test_no_object_makes_a_hard_negative_and_unknown_actions_are_refused(client, owner, recording) -> None:  # type: ignore[no-untyped-def]
    frame = candidate(recording, 4)
    client.force_login(owner)
    assert client.post(f"/recordings/queue/frames/{frame.pk}/explode/").status_code == 400
    assert client.post(f"/recordings/queue/frames/{frame.pk}/negative/").status_code == 200
    frame.refresh_from_db()
    assert frame.status == "labelled" and boxes_of(frame) == [] and frame.reason.startswith("hard negative")
    assert AnnotationChange.objects.get(frame=frame).before["boxes"][0]["label"] == "kill_notification"


def test_the_editor_saves_boxes_audited_and_they_are_exported(client, owner, recording, tmp_path) -> None:  # type: ignore[no-untyped-def]
    frame = candidate(recording, 5)
    event_id = BoxAnnotation.objects.get(frame=frame).event_id
    client.force_login(owner)
    page = client.get(f"/recordings/queue/frames/{frame.pk}/edit/?next=/recordings/queue/?page=2")
    assert page.status_code == 200 and b'"back": "/recordings/queue/?page=2"' in page.content
    boxes = [{"label": "death_screen", "box": [0.9, 0.8, 0.3, 0.2], "event": event_id},  # corners in any order
             {"label": "gameplay_hud", "box": [0.0, 0.0, 0.25, 0.123456], "event": 999999}]
    response = client.post(f"/recordings/queue/frames/{frame.pk}/boxes/", json.dumps({"boxes": boxes}),
                           content_type="application/json")
    assert response.status_code == 200
    assert response.json()["boxes"] == [
        {"label": "death_screen", "box": [0.3, 0.2, 0.9, 0.8], "event": event_id},
        {"label": "gameplay_hud", "box": [0.0, 0.0, 0.25, 0.1235], "event": None},  # an unknown event is not linked
    ]
    change = AnnotationChange.objects.get(frame=frame, action="editor:save")
    assert change.user == owner and len(change.before["boxes"]) == 1 and len(change.after["boxes"]) == 2
    summary = dataset_export(recording_ids=[recording.pk], format="yolo", out=tmp_path / "out")
    assert (summary.images, summary.boxes) == (1, 2)
    label_file = next(Path(tmp_path / "out").glob("labels/*/*.txt"))
    assert len(label_file.read_text().splitlines()) == 2


@pytest.mark.parametrize("body, reason", [
    (b"not json", "not JSON"),
    (json.dumps({"boxes": [{"label": "dragon", "box": [0, 0, 1, 1]}]}).encode(), "box 1: class 'dragon'"),
    (json.dumps({"boxes": [{"label": "death_screen", "box": [0, 0, "1", 1]}]}).encode(), "four finite numbers"),
    (json.dumps({"boxes": [{"label": "death_screen", "box": [1.5, 0.2, 2.0, 0.4]}]}).encode(), "empty once inside"),
    (json.dumps([1, 2]).encode(), "send a JSON object"),
])
def test_the_editor_refuses_bad_boxes_and_saves_nothing(client, owner, recording, body, reason) -> None:  # type: ignore[no-untyped-def]
    frame = candidate(recording, 6)
    client.force_login(owner)
    response = client.post(f"/recordings/queue/frames/{frame.pk}/boxes/", body, content_type="application/json")
    assert response.status_code == 400 and reason in response.json()["error"]
    assert boxes_of(frame) == [("kill_notification", 0.1, 0.2, 0.5, 0.6)] and not AnnotationChange.objects.exists()


def test_the_queue_page_ranks_unsure_frames_first_and_shows_why(client, owner, recording) -> None:  # type: ignore[no-untyped-def]
    sure, unsure = candidate(recording, 2, confidence=0.99), candidate(recording, 7, confidence=0.6)
    client.force_login(owner)
    html = client.get("/recordings/queue/").content.decode()
    assert html.index(f'id="frame-{unsure.pk}"') < html.index(f'id="frame-{sure.pk}"')
    assert "uncertain: confidence 0.60" in html
    one = client.get(f"/recordings/{recording.pk}/queue/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue-list")
    assert one.status_code == 200 and one.content.decode().startswith('<section id="queue-list"')
    image = client.get(f"/recordings/queue/frames/{unsure.pk}/image/")
    assert image.status_code == 200 and b"".join(image.streaming_content)[:2] == b"\xff\xd8"  # a JPEG


def test_frames_of_recordings_one_may_not_see_are_404(client, outsider, recording) -> None:  # type: ignore[no-untyped-def]
    frame = candidate(recording, 3)
    client.force_login(outsider)
    assert client.get("/recordings/queue/").content.decode().count('class="qcard') == 0
    for url in (f"/recordings/{recording.pk}/queue/", f"/recordings/queue/frames/{frame.pk}/edit/",
                f"/recordings/queue/frames/{frame.pk}/image/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/recordings/queue/frames/{frame.pk}/accept/").status_code == 404
    assert FrameAnnotation.objects.get(pk=frame.pk).status == "candidate"


def test_an_event_added_by_hand_asks_for_its_box_first_in_the_queue(client, owner, recording) -> None:  # type: ignore[no-untyped-def]
    candidate(recording, 2, confidence=0.6)
    event = event_add(recording=recording, user=owner, event_type="kill",
                      data={"enemy_type": "scav", "weapon": "AKM", "headshot": False}, video_offset_seconds=0.8)
    asked = FrameAnnotation.objects.get(recording=recording, frame_number=8)
    assert (asked.status, asked.source) == ("candidate", "hand") and "draw its box" in asked.reason
    annotation_candidates_collect(recording=recording)  # a later detection run keeps the request
    client.force_login(owner)
    html = client.get("/recordings/queue/").content.decode()
    assert re.findall(r'data-frame-id="(\d+)"', html)[0] == str(asked.pk)
    assert "asked: an event added by hand needs its box" in html
    review_undo_last(recording=recording, user=owner)  # the addition undone: nothing to ask for
    assert DetectedEvent.objects.get(pk=event.pk).review_status == "deleted"
    assert not FrameAnnotation.objects.filter(pk=asked.pk).exists()


def test_undo_back_to_unreviewed_proposes_the_box_again(owner, recording) -> None:  # type: ignore[no-untyped-def]
    from review.services import event_approve

    frame = candidate(recording, 3)
    event = DetectedEvent.objects.get(recording=recording)
    event_approve(event=event, user=owner)
    frame.refresh_from_db()
    assert frame.status == "labelled"
    review_undo_last(recording=recording, user=owner)
    frame.refresh_from_db()
    assert frame.status == "candidate" and boxes_of(frame) == [("kill_notification", 0.1, 0.2, 0.5, 0.6)]


def test_review_opens_the_editor_on_an_events_frame(client, owner, recording) -> None:  # type: ignore[no-untyped-def]
    seen = detected(recording, 6, 0.9, [0.2, 0.2, 0.4, 0.4])
    by_hand = event_add(recording=recording, user=owner, event_type="kill",
                        data={"enemy_type": "pmc", "weapon": "M4A1", "headshot": True}, video_offset_seconds=0.3)
    client.force_login(owner)
    response = client.get(f"/recordings/{recording.pk}/queue/events/{seen.pk}/")
    frame = FrameAnnotation.objects.get(recording=recording, frame_number=6)
    assert response.status_code == 302
    assert response["Location"] == f"/recordings/queue/frames/{frame.pk}/edit/?next=%2Frecordings%2F{recording.pk}%2Freview%2F"
    assert frame.status == "candidate" and boxes_of(frame) == [("kill_notification", 0.2, 0.2, 0.4, 0.4)]
    client.get(f"/recordings/{recording.pk}/queue/events/{seen.pk}/")  # again: still the one proposal
    assert boxes_of(frame) == [("kill_notification", 0.2, 0.2, 0.4, 0.4)]
    response = client.get(f"/recordings/{recording.pk}/queue/events/{by_hand.pk}/")
    asked = FrameAnnotation.objects.get(recording=recording, frame_number=by_hand.frame_number)
    assert response["Location"].startswith(f"/recordings/queue/frames/{asked.pk}/edit/") and asked.source == "hand"


def test_two_detections_of_one_spot_that_disagree_make_a_disagreement(client, owner, recording) -> None:  # type: ignore[no-untyped-def]
    detected(recording, 5, 0.95, [0.1, 0.1, 0.5, 0.5], label="death_screen")
    detected(recording, 5, 0.95, [0.12, 0.1, 0.5, 0.52], label="mia_screen")
    detected(recording, 8, 0.95, [0.1, 0.1, 0.5, 0.5], label="death_screen")
    detected(recording, 8, 0.95, [0.6, 0.6, 0.9, 0.9], label="kill_notification")  # elsewhere: no quarrel
    annotation_candidates_collect(recording=recording)
    frames = {f.frame_number: f for f in FrameAnnotation.objects.filter(recording=recording)}
    assert frames[5].disagreement == "two detections differ: death_screen or mia_screen"
    assert frames[8].disagreement == "" and len(boxes_of(frames[5])) == len(boxes_of(frames[8])) == 2
    client.force_login(owner)
    html = client.get("/recordings/queue/").content.decode()
    assert re.findall(r'data-frame-id="(\d+)"', html) == [str(frames[5].pk), str(frames[8].pk)]
    assert "disagreement: two detections differ: death_screen or mia_screen" in html


def test_the_admin_views_a_frame_in_the_box_editor(client, staff, recording) -> None:  # type: ignore[no-untyped-def]
    frame = candidate(recording, 3)
    client.force_login(staff)
    page = client.get(f"/admin/labeling/frameannotation/{frame.pk}/change/").content.decode()
    view_on_site = re.search(r'href="(/admin/r/\d+/\d+/)"', page)
    assert view_on_site is not None
    response = client.get(view_on_site[1])
    assert response.status_code == 302 and response["Location"].endswith(f"/recordings/queue/frames/{frame.pk}/edit/")
