"""Training data for the training tests: frames rendered once per module by the dataset maker, stored as the
reviewed frames of two recordings (as review would have left them), so a job exports them through the writer."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from detection.render.dataset import make_dataset
from labeling.datasets.yolo import read_yolo
from labeling.models import BoxAnnotation, FrameAnnotation
from tests.factories import RecordingFactory

FRAMES = 24
MAX_SIDE = 320


@pytest.fixture(scope="module")
def rendered_frames(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rendered")
    make_dataset(folder, images=FRAMES, seed=11, max_side=MAX_SIDE)
    return folder


@pytest.fixture
def labelled_recordings(rendered_frames, settings, tmp_path, owner):  # type: ignore[no-untyped-def]
    """Two recordings, the rendered frames dealt between them as labelled frames with their boxes."""
    settings.MEDIA_ROOT = tmp_path / "media"
    recordings = [RecordingFactory(owner=owner) for _ in range(2)]
    _, items = read_yolo(rendered_frames)
    for index, item in enumerate(items):
        recording = recordings[index % 2]
        assert item.image is not None
        relative = Path("annotations") / f"r{recording.pk}" / f"frame{index}{item.image.suffix}"
        (settings.MEDIA_ROOT / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(item.image, settings.MEDIA_ROOT / relative)
        frame = FrameAnnotation.objects.create(recording=recording, frame_number=index, video_offset_seconds=index / 60,
                                               image=str(relative), image_width=item.width, image_height=item.height)
        BoxAnnotation.objects.bulk_create(BoxAnnotation(frame=frame, label=b.label, x0=b.x0, y0=b.y0, x1=b.x1, y1=b.y1)
                                          for b in item.boxes)
    return recordings
