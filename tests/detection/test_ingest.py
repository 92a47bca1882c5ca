from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from detection.models import Recording
from detection.services.ingest import (
    DuplicateRecording,
    IngestError,
    recording_register_any,
    recording_register_folder,
    recording_register_path,
    recording_update,
)
from tests.conftest import render_test_video

pytestmark = pytest.mark.django_db


def test_register_path_reads_metadata(owner, video):
    recording = recording_register_path(owner=owner, path=str(video), notes="first")

    assert recording.source_path == str(video)
    assert recording.title == video.name
    assert recording.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert recording.avg_fps == pytest.approx(30.0)
    assert not recording.is_vfr
    assert (recording.width, recording.height, recording.codec, recording.container) == (160, 90, "h264", "matroska")
    assert recording.started_at == datetime(2026, 3, 1, 18, 30, tzinfo=UTC)
    assert recording.started_at_source == Recording.StartedAtSource.CONTAINER
    assert recording.size_bytes == video.stat().st_size
    assert len(recording.fingerprint) == 64
    assert recording.video_path == video


def test_started_at_falls_back_to_mtime_and_user_overrides(owner, library):
    plain = render_test_video(library / "plain.mp4", pattern="smptebars")
    os.utime(plain, (1_700_000_000, 1_700_000_000))
    recording = recording_register_path(owner=owner, path=plain)
    assert recording.started_at == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert recording.started_at_source == Recording.StartedAtSource.MTIME

    chosen = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)
    other = render_test_video(library / "other.mov", pattern="rgbtestsrc")
    overridden = recording_register_path(owner=owner, path=other, started_at=chosen)
    assert (overridden.started_at, overridden.started_at_source) == (chosen, Recording.StartedAtSource.USER)

    later = datetime(2025, 6, 1, tzinfo=UTC)
    recording_update(recording=recording, started_at=later, session_type="practice", notes="n")
    recording.refresh_from_db()
    assert (recording.started_at, recording.started_at_source, recording.session_type) == (later, "user", "practice")


def test_duplicate_is_refused_and_not_stored(owner, video, library):
    first = recording_register_path(owner=owner, path=video)
    copy = library / "copy.mkv"
    copy.write_bytes(video.read_bytes())
    with pytest.raises(DuplicateRecording) as info:
        recording_register_path(owner=owner, path=copy)
    assert info.value.recording == first
    assert f"#{first.pk}" in str(info.value)
    assert Recording.objects.count() == 1


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda root: root / "missing.mkv", "no such file or folder"),
        (lambda root: root / ".." / "escape.mkv", "outside the allowed folders"),
        (lambda root: "/etc/passwd", "outside the allowed folders"),
        (lambda root: "relative/video.mkv", "absolute path"),
        (lambda root: "", "give the path"),
    ],
)
def test_bad_paths_are_refused(owner, library, make, expected):
    with pytest.raises(IngestError, match=expected):
        recording_register_path(owner=owner, path=str(make(library)))
    assert not Recording.objects.exists()


def test_symlink_escaping_the_roots_is_refused(owner, library, tmp_path):
    outside = render_test_video(tmp_path / "outside" / "secret.mkv")
    (library / "link.mkv").symlink_to(outside)
    (library / "linkdir").symlink_to(outside.parent, target_is_directory=True)
    with pytest.raises(IngestError, match="outside the allowed folders"):
        recording_register_path(owner=owner, path=library / "link.mkv")
    with pytest.raises(IngestError, match="outside the allowed folders"):
        recording_register_folder(owner=owner, path=library / "linkdir")
    assert not Recording.objects.exists()


def test_bad_files_are_refused_with_a_reason(owner, library, video):
    (library / "empty.mkv").touch()
    (library / "notes.txt").write_text("hello")
    (library / "fake.mkv").write_text("this is not a video")
    truncated = render_test_video(library / "long.mkv", seconds=20, pattern="testsrc2")
    cut = library / "cut.mkv"
    cut.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])

    cases = {
        "empty.mkv": "empty",
        "notes.txt": "not a video file",
        "fake.mkv": "not a readable video",
        "cut.mkv": "truncated",
    }
    for name, expected in cases.items():
        with pytest.raises(IngestError, match=expected):
            recording_register_path(owner=owner, path=library / name)
    with pytest.raises(IngestError, match="is a folder"):
        recording_register_path(owner=owner, path=library)
    assert not Recording.objects.exists()


def test_folder_registers_each_video_in_creation_order(owner, library):
    folder = library / "vods"
    names = ["b-second.mkv", "a-third.mp4", "c-first.mkv"]
    patterns = ["testsrc", "smptebars", "rgbtestsrc"]
    for index, (name, pattern) in enumerate(zip(names, patterns)):
        render_test_video(folder / name, pattern=pattern)
    for stamp, name in zip([200, 300, 100], names):
        os.utime(folder / name, (1_700_000_000 + stamp, 1_700_000_000 + stamp))
    (folder / "broken.mkv").write_text("nope")
    os.utime(folder / "broken.mkv", (1_700_000_400, 1_700_000_400))
    (folder / "readme.txt").write_text("ignored")

    results = recording_register_folder(owner=owner, path=folder)

    assert [os.path.basename(r.path) for r in results] == ["c-first.mkv", "b-second.mkv", "a-third.mp4", "broken.mkv"]
    assert [r.status for r in results] == ["created", "created", "created", "error"]
    assert "not a readable video" in results[3].message
    again = recording_register_any(owner=owner, path=str(folder))
    assert [r.status for r in again] == ["duplicate", "duplicate", "duplicate", "error"]
    assert Recording.objects.count() == 3


def test_folder_without_videos_says_so(owner, library):
    (library / "empty-folder").mkdir()
    with pytest.raises(IngestError, match="no videos in this folder"):
        recording_register_folder(owner=owner, path=library / "empty-folder")


def test_other_owner_may_register_the_same_file(owner, outsider, video):
    recording_register_path(owner=owner, path=video)
    recording_register_path(owner=outsider, path=video)
    assert Recording.objects.count() == 2
