"""Writing a run's events: superseding as the run passes, linking to reviewed events one to one."""
from __future__ import annotations

import pytest

from detection.models import DetectedEvent, ModelVersion
from detection.pipeline.types import Event
from detection.selectors import recordings_overview
from detection.services.detected_events import detected_events_save, detected_events_supersede
from tests.factories import DetectedEventFactory, JobFactory, RecordingFactory

pytestmark = pytest.mark.django_db
Status = DetectedEvent.ReviewStatus


def kill(event_id: str, seconds: float) -> Event:
    return Event(event_id=event_id, type="kill", video_time=seconds, frame_number=int(seconds * 30), confidence=0.7,
                 data={"enemy_type": "scav", "weapon": "AKM", "headshot": False})


@pytest.fixture
def earlier(owner):  # type: ignore[no-untyped-def]
    """A recording with an earlier run's events: unreviewed ones at 5, 15 and 25 s, an approved kill at 10 s."""
    recording = RecordingFactory(owner=owner)
    job = JobFactory(recording=recording)
    rows = {s: DetectedEventFactory(recording=recording, job=job, event_type="kill", event_id=f"kill-{s}",
                                    video_offset_seconds=float(s)) for s in (5, 15, 25)}
    rows[10] = DetectedEventFactory(recording=recording, job=job, event_type="kill", event_id="kill-10",
                                    video_offset_seconds=10.0, review_status=Status.APPROVED, manually_reviewed=True)
    return recording, rows


def test_a_run_supersedes_only_what_it_has_passed(earlier):  # type: ignore[no-untyped-def]
    recording, rows = earlier
    second = JobFactory(recording=recording)
    assert detected_events_supersede(recording=recording, job=second, until=16.0) == 2
    visible = set(DetectedEvent.objects.filter(recording=recording).values_list("event_id", flat=True))
    assert visible == {"kill-10", "kill-25"}  # the reviewed one stays; 25 s lies beyond where the run got
    hidden = DetectedEvent.all_objects.get(pk=rows[5].pk)
    assert hidden.superseded_by == second and hidden.superseded_at is not None
    detected_events_supersede(recording=recording, job=second, until=None)
    assert list(DetectedEvent.objects.filter(recording=recording).values_list("event_id", flat=True)) == ["kill-10"]


def test_new_detections_link_to_reviewed_events_one_to_one(earlier):  # type: ignore[no-untyped-def]
    recording, rows = earlier
    second = JobFactory(recording=recording)
    version = ModelVersion.objects.create(name="m", onnx_file="/x.onnx")
    # Two kills near the reviewed one: the nearer is the same event, the other a real second kill.
    detected_events_save(recording=recording, job=second, version=version,
                         events=[kill("kill-300", 10.2), kill("kill-350", 11.5)], rejections=[])
    linked = DetectedEvent.all_objects.get(event_id="kill-300")
    assert linked.duplicate_of_id == rows[10].pk and linked.superseded_by == second
    assert DetectedEvent.objects.filter(event_id="kill-350", job=second).exists()
    reviewed = DetectedEvent.objects.get(pk=rows[10].pk)
    assert (reviewed.job_id, reviewed.review_status) == (rows[10].job_id, Status.APPROVED)  # untouched
    # Written again (a resumed run): nothing new, the link holds.
    detected_events_save(recording=recording, job=second, version=version,
                         events=[kill("kill-300", 10.2), kill("kill-350", 11.5)], rejections=[])
    assert DetectedEvent.all_objects.filter(recording=recording).count() == 6
    assert DetectedEvent.all_objects.get(event_id="kill-300").duplicate_of_id == rows[10].pk



def test_a_reviewed_events_own_detection_takes_it_for_the_rest_of_the_run(earlier):  # type: ignore[no-untyped-def]
    recording, rows = earlier
    third = JobFactory(recording=recording)
    version = ModelVersion.objects.create(name="m", onnx_file="/x.onnx")
    detected_events_save(recording=recording, job=third, version=version, events=[kill("kill-10", 10.0)], rejections=[])
    assert DetectedEvent.objects.filter(recording=recording, event_id__startswith="kill-10").count() == 1
    assert DetectedEvent.objects.get(pk=rows[10].pk).job_id == rows[10].job_id  # the reviewed row is untouched
    assert DetectedEvent.all_objects.get(superseded_by=third).duplicate_of_id == rows[10].pk
    # A kill a second later, written at the next checkpoint, is another kill: the reviewed one is taken.
    detected_events_save(recording=recording, job=third, version=version, events=[kill("kill-400", 11.0)], rejections=[])
    assert DetectedEvent.objects.get(event_id="kill-400").job == third


def test_a_run_takes_over_an_earlier_unreviewed_row_with_the_same_id(earlier):  # type: ignore[no-untyped-def]
    recording, rows = earlier
    second = JobFactory(recording=recording)
    version = ModelVersion.objects.create(name="m", onnx_file="/x.onnx")
    detected_events_save(recording=recording, job=second, version=version, events=[kill("kill-25", 25.0)], rejections=[])
    detected_events_supersede(recording=recording, job=second, until=None)
    row = DetectedEvent.objects.get(pk=rows[25].pk)
    assert row.job == second and row.model_version == version and row.superseded_at is None


def test_the_recordings_page_counts_leave_superseded_rows_out(owner, earlier):  # type: ignore[no-untyped-def]
    recording, _ = earlier
    detected_events_supersede(recording=recording, job=JobFactory(recording=recording), until=16.0)
    (row,) = [r for r in recordings_overview(owner) if r.recording.pk == recording.pk]
    assert row.recording.events_total == 2
    assert row.review_counts[Status.UNREVIEWED] == 1 and row.review_counts[Status.APPROVED] == 1
    assert row.type_counts == {"kill": 2}
