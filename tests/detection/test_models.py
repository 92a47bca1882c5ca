from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from detection.models import DetectedEvent, ModelVersion, Recording
from detection.selectors import recordings_visible_to
from tests.factories import DetectedEventFactory, RecordingFactory

pytestmark = pytest.mark.django_db


def test_event_id_is_unique_per_recording():
    event = DetectedEventFactory(event_id="raid-1")
    DetectedEventFactory(event_id="raid-1")  # another recording: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        DetectedEvent.objects.create(recording=event.recording, event_id="raid-1", event_type="kill",
                                     video_offset_seconds=1.0)


def test_fingerprint_unique_per_owner_but_blank_allowed(owner):
    RecordingFactory(owner=owner, fingerprint="")
    RecordingFactory(owner=owner, fingerprint="")
    RecordingFactory(owner=owner, fingerprint="f" * 64)
    with pytest.raises(IntegrityError), transaction.atomic():
        RecordingFactory(owner=owner, fingerprint="f" * 64)


def test_one_active_model_per_profile():
    ModelVersion.objects.create(name="a", onnx_file="a.onnx", active=True)
    ModelVersion.objects.create(name="b", onnx_file="b.onnx", active=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(name="c", onnx_file="c.onnx", active=True)


def test_visibility_rule(owner, reviewer, outsider, staff):
    mine = RecordingFactory(owner=owner)
    mine.reviewers.add(reviewer, staff)
    theirs = RecordingFactory(owner=outsider)
    assert list(recordings_visible_to(owner)) == [mine]
    assert list(recordings_visible_to(reviewer)) == [mine]
    assert list(recordings_visible_to(outsider)) == [theirs]
    # Being a reviewer and staff at once must not duplicate rows.
    assert sorted(r.pk for r in recordings_visible_to(staff)) == sorted([mine.pk, theirs.pk])
    from django.contrib.auth.models import AnonymousUser

    assert not recordings_visible_to(AnonymousUser()).exists()


def test_video_path_for_uploads(settings, owner):
    uploaded = RecordingFactory(owner=owner, source_path="", uploaded_file="uploads/2026/03/a.mkv")
    assert uploaded.video_path == settings.MEDIA_ROOT / "uploads/2026/03/a.mkv"
    assert str(Recording.objects.get(pk=uploaded.pk)) == uploaded.title
