"""The YOLO dataset maker: layout, labels inside the spec regions, every class and negatives present."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from PIL import Image

from detection.render.dataset import make_dataset
from detection.render.frames import MENU_SCREENS, menu_frame, raid_frame, random_kill
from detection.render.layout import Box
from detection.render.profile import load_profile
from detection.render.style import random_style

pytestmark = pytest.mark.pure


def _inside(box: Box, region: tuple[float, float, float, float], width: int, height: int) -> bool:
    x0, y0, x1, y1 = region
    return (box.x0 >= x0 * width - 1 and box.y0 >= y0 * height - 1 and box.x1 <= x1 * width + 1
            and box.y1 <= y1 * height + 1 and box.w > 4 and box.h > 4)


@pytest.mark.parametrize("seed", range(3))
def test_every_painted_box_lies_in_its_spec_region(seed: int) -> None:
    profile = load_profile()
    rng = random.Random(seed)
    for size in ((1280, 720), (1920, 1080), (2560, 1440)):
        for screen in MENU_SCREENS:
            style = random_style(rng, hard=seed == 0)
            _, boxes = menu_frame(screen, size, style, profile, rng)
            assert len(boxes) == 1
            for cls, box in boxes.items():
                assert _inside(box, profile.regions[cls], *size), (screen, cls, box, size)
        _, boxes = raid_frame(size, random_style(rng), profile, rng, kill=random_kill(profile, rng))
        assert set(boxes) == {"gameplay_hud", "kill_notification"}
        for cls, box in boxes.items():
            assert _inside(box, profile.regions[cls], *size), (cls, box, size)


def test_make_dataset_writes_a_yolo_dataset_with_every_class(tmp_path: Path) -> None:
    profile = load_profile()
    summary = make_dataset(tmp_path, images=60, seed=5)
    data = yaml.safe_load((tmp_path / "data.yaml").read_text())
    assert data["names"] == dict(enumerate(profile.classes))
    assert (data["train"], data["val"]) == ("images/train", "images/val")
    images = sorted(tmp_path.glob("images/*/*.jpg"))
    assert len(images) == summary.images == 60 and summary.train + summary.val == 60
    assert summary.val > 0 and 3 <= summary.negatives <= 12
    assert set(summary.instances) == set(profile.classes)
    seen: set[int] = set()
    empty = 0
    for image in images:
        assert max(Image.open(image).size) == 640
        label = Path(str(image).replace("/images/", "/labels/")).with_suffix(".txt")
        lines = label.read_text().splitlines()
        empty += not lines
        for line in lines:
            cls, cx, cy, w, h = line.split()
            seen.add(int(cls))
            region = profile.regions[profile.classes[int(cls)]]
            values = [float(v) for v in (cx, cy, w, h)]
            assert all(0 < v <= 1 for v in values)
            assert region[0] - 0.002 <= values[0] - values[2] / 2 and values[0] + values[2] / 2 <= region[2] + 0.002
            assert region[1] - 0.002 <= values[1] - values[3] / 2 and values[1] + values[3] / 2 <= region[3] + 0.002
    assert seen == set(range(len(profile.classes)))
    assert empty == summary.negatives


def test_make_dataset_is_reproducible(tmp_path: Path) -> None:
    make_dataset(tmp_path / "a", images=6, seed=9)
    make_dataset(tmp_path / "b", images=6, seed=9)
    labels_a = sorted(p.read_text() for p in (tmp_path / "a").glob("labels/*/*.txt"))
    labels_b = sorted(p.read_text() for p in (tmp_path / "b").glob("labels/*/*.txt"))
    assert labels_a == labels_b
