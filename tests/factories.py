"""factory_boy factories for the core models (no video needed: the metadata is made up)."""
from __future__ import annotations

from datetime import UTC, datetime

import factory
from django.contrib.auth import get_user_model

from detection.models import DetectedEvent, Job, Recording


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")


class RecordingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recording

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"2026-03-01 18-{n:02d}-00.mkv")
    source_path = factory.LazyAttribute(lambda o: f"/srv/vods/{o.title}")
    size_bytes = 1_000_000
    fingerprint = factory.Sequence(lambda n: f"{n:064x}")
    duration_seconds = 3600.0
    avg_fps = 60.0
    width = 1920
    height = 1080
    codec = "h264"
    container = "matroska"
    started_at = factory.Sequence(lambda n: datetime(2026, 3, 1, 18, n % 60, tzinfo=UTC))
    started_at_source = Recording.StartedAtSource.CONTAINER


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    kind = Job.Kind.DETECT
    recording = factory.SubFactory(RecordingFactory)


class DetectedEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DetectedEvent

    recording = factory.SubFactory(RecordingFactory)
    event_id = factory.Sequence(lambda n: f"evt-{n:06d}")
    event_type = "raid_start"
    video_offset_seconds = factory.Sequence(lambda n: 10.0 * n)
    confidence = 0.9
