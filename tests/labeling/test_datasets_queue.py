"""Active-learning scoring: unsure frames first, disagreements and rare classes up, near-duplicates out, caps."""
from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from labeling.datasets.annotations import candidate_images_extract
from labeling.datasets.frames import extract_frame, extract_frames, image_phash
from labeling.datasets.items import DatasetError
from labeling.datasets.queue import Candidate, QueueSettings, score, scores, select, uncertainty
from labeling.datasets.queue_selector import queue_page
from labeling.models import BoxAnnotation, FrameAnnotation
from tests.conftest import render_test_video
from tests.factories import RecordingFactory


def candidate(key: int, confidence: float | None, **extra: object) -> Candidate:
    return Candidate(key=key, recording_id=int(extra.pop("recording_id", 1)), frame_number=key * 30,  # type: ignore[call-overload]
                     confidence=confidence, **extra)


def test_a_frame_near_the_threshold_ranks_above_a_sure_one() -> None:
    picks = select([candidate(1, 0.99), candidate(2, 0.6), candidate(3, 0.3)], class_counts={})
    assert [p.candidate.key for p in picks] == [2, 3, 1]
    assert picks[0].reasons == ("uncertain: confidence 0.60",)
    assert uncertainty(0.5, QueueSettings()) == uncertainty(0.7, QueueSettings()) == 1.0
    assert uncertainty(0.99, QueueSettings()) < 0.05


def test_disagreement_and_rarity_raise_a_frame_and_say_so() -> None:
    counts = {"kill_notification": 40, "death_screen": 1}
    common = score(candidate(1, 0.95, label="kill_notification"), counts)
    rare = score(candidate(2, 0.95, label="death_screen"), counts)
    rejected = score(candidate(3, 0.95, label="kill_notification", rejected=True), counts)
    assert rare.score > common.score and rejected.score > common.score
    mixed = [candidate(4, None, label="map_select"), candidate(5, 0.42, rejected=True), candidate(6, 0.66, label="x")]
    assert list(scores(mixed, counts, QueueSettings())) == [score(c, counts).score for c in mixed]
    assert any(r.startswith("rare class: death_screen") for r in rare.reasons)
    assert "disagreement: the state machine rejected it" in rejected.reasons


def frame_hash(tmp_path, name: str, shift: int, *, other: bool = False) -> str:  # type: ignore[no-untyped-def]
    image = Image.new("L", (320, 180), 30)
    draw = ImageDraw.Draw(image)
    if other:
        draw.ellipse((20, 20, 300, 170), fill=230)
    else:
        draw.rectangle((40 + shift, 30, 200 + shift, 120), fill=220)
        draw.text((60 + shift, 140), "KILLED scav", fill=255)
    path = tmp_path / f"{name}.png"
    image.save(path)
    return image_phash(path)


def test_a_near_duplicate_is_dropped(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first, near, other = frame_hash(tmp_path, "a", 0), frame_hash(tmp_path, "b", 2), frame_hash(tmp_path, "c", 0, other=True)
    picks = select([candidate(1, 0.6, phash=first), candidate(2, 0.62, phash=near), candidate(3, 0.9, phash=other)],
                   class_counts={})
    assert [p.candidate.key for p in picks] == [1, 3]


def test_caps_per_recording_and_per_batch() -> None:
    many = [candidate(i, 0.6, recording_id=1 + i % 2) for i in range(20)]
    picks = select(many, class_counts={}, settings=QueueSettings(per_recording=3, per_batch=5))
    assert len(picks) == 5 and max(sum(p.candidate.recording_id == r for p in picks) for r in (1, 2)) == 3


@pytest.mark.django_db
def test_the_selector_pages_stored_candidates_and_their_images_dedupe(settings, tmp_path, owner) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    video = render_test_video(tmp_path / "still.mkv", seconds=1.0, fps=10, size="160x90", pattern="color")
    recording = RecordingFactory(owner=owner, source_path=str(video), avg_fps=10.0)
    for frame, confidence in ((1, 0.6), (5, 0.65), (9, 0.99)):
        FrameAnnotation.objects.create(recording=recording, frame_number=frame, video_offset_seconds=frame / 10,
                                       status="candidate", confidence=confidence, label="death_screen")
    labelled = FrameAnnotation.objects.create(recording=recording, frame_number=20, video_offset_seconds=2.0)
    BoxAnnotation.objects.create(frame=labelled, label="kill_notification", x0=0, y0=0, x1=0.5, y1=0.5)
    assert queue_page(per_page=2).total == 3
    assert candidate_images_extract(recording=recording) == 3
    page = queue_page(per_page=2)  # a still picture: every frame after the first is a near-duplicate
    assert page.total == 1 and page.picks[0].candidate.frame_number == 1
    assert any(r.startswith("rare class: death_screen") for r in page.picks[0].reasons)


def test_frames_are_taken_in_one_walk_whatever_their_order(tmp_path) -> None:  # type: ignore[no-untyped-def]
    video = render_test_video(tmp_path / "count.mkv", seconds=3.0, fps=10, size="160x90", pattern="testsrc")
    wanted = [(25, tmp_path / "a.jpg"), (3, tmp_path / "b.jpg"), (4, tmp_path / "c.jpg"), (999, tmp_path / "d.jpg")]
    taken = extract_frames(video, frames=wanted)
    assert sorted(taken) == [3, 4, 25]  # the frame past the end is left out, not an error
    for number, path in wanted[:3]:
        assert abs(taken[number].video_time - number / 10) < 0.05 and path.is_file()
        assert taken[number].phash == extract_frame(video, frame_number=number, out=tmp_path / "one.jpg").phash
    with pytest.raises(DatasetError, match="no frame 999"):
        extract_frame(video, frame_number=999, out=tmp_path / "e.jpg")
