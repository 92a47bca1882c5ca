from __future__ import annotations

from pathlib import Path

import pytest

from tests.review.factories import RecordingFactory, make_test_video


@pytest.fixture(scope="session")
def sample_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_video(tmp_path_factory.mktemp("video") / "sample.mp4")


@pytest.fixture(scope="session")
def sample_mkv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_video(tmp_path_factory.mktemp("video") / "sample.mkv")


@pytest.fixture
def recording(owner, reviewer, sample_mp4):  # type: ignore[no-untyped-def]
    rec = RecordingFactory(owner=owner, source_path=str(sample_mp4), size_bytes=sample_mp4.stat().st_size)
    rec.reviewers.add(reviewer)
    return rec
