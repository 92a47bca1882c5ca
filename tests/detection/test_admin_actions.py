from __future__ import annotations

import pytest

from detection.models import Job
from tests.factories import RecordingFactory

pytestmark = pytest.mark.django_db


def test_the_admin_action_queues_one_detect_job_per_selected_recording(client, staff, owner) -> None:  # type: ignore[no-untyped-def]
    first, second = RecordingFactory(owner=owner), RecordingFactory(owner=owner)
    client.force_login(staff)
    response = client.post(
        "/admin/detection/recording/",
        {"action": "detect_selected_recordings", "_selected_action": [first.pk, second.pk]},
    )
    assert response.status_code == 302
    jobs = Job.objects.filter(kind=Job.Kind.DETECT)
    assert sorted(jobs.values_list("recording_id", flat=True)) == sorted([first.pk, second.pk])
    assert {job.created_by_id for job in jobs} == {staff.pk}


def test_the_admin_refuses_detect_actions_to_non_staff(client, owner) -> None:  # type: ignore[no-untyped-def]
    recording = RecordingFactory(owner=owner)
    client.force_login(owner)
    response = client.post(
        "/admin/detection/recording/", {"action": "detect_selected_recordings", "_selected_action": [recording.pk]}
    )
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not Job.objects.exists()
