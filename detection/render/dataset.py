"""A YOLO dataset of randomised frames: images/, labels/ (train and val), data.yaml.

Boxes are exact (the painters return them); labels are normalised, so images are
written small (longest side `max_side`, by the detector's own resize: the training size
for a training run, see detection/pipeline/resize.py). The mix: every menu
screen, many raid frames with and without kill notifications, about 12% negatives
(no UI at all) and a hard slice (small, low-contrast text, smoke over notifications).
Styles come from the training families only: held-out families and their fonts are for
measuring, never for training (families.py).
"""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from labeling.datasets.yolo import YoloLabel, YoloWriter

from . import scenery
from .frames import MENU_SCREENS, menu_frame, negative_frame, raid_frame, random_kill
from .layout import Box
from .profile import DemoProfile, load_profile
from .families import TRAINING_FAMILIES, Family
from .style import pick, random_style

# Frame kinds and their weights (percent). Each menu screen gets its own share.
MIX: dict[str, float] = {**{screen: 5.6 for screen in MENU_SCREENS}, "raid": 14.0, "raid_kill": 18.0, "negative": 12.0}
HARD_SHARE = 0.12
WIDTHS = (1280, 1366, 1600, 1920, 1920, 1920, 2048, 2560)


@dataclass
class DatasetSummary:
    images: int = 0
    train: int = 0
    val: int = 0
    instances: Counter[str] = field(default_factory=Counter)
    negatives: int = 0
    hard: int = 0


def random_size(rng: random.Random) -> tuple[int, int]:
    width = rng.choice(WIDTHS) if rng.random() < 0.6 else rng.randint(1280, 2560)
    width -= width % 2
    return width, round(width * 9 / 16) // 2 * 2


def kind_schedule(images: int, rng: random.Random) -> list[str]:
    """Kinds in exact proportion to MIX (shuffled), so small datasets still cover every class."""
    total = sum(MIX.values())
    kinds = [kind for kind, weight in MIX.items() for _ in range(max(1, round(images * weight / total)))]
    rng.shuffle(kinds)
    while len(kinds) < images:
        kinds.append(rng.choice(list(MIX)))
    return kinds[:images]


def render_sample(kind: str, profile: DemoProfile, rng: random.Random,
                  families: tuple[Family, ...] = TRAINING_FAMILIES) -> tuple[Image.Image, dict[str, Box], bool]:
    """One frame of `kind` at a random native size, its boxes, and whether it is from the hard slice."""
    hard = rng.random() < HARD_SHARE
    style = random_style(rng, hard=hard, family=pick(rng, families))
    size = random_size(rng)
    if kind == "negative":
        return negative_frame(size, style, rng), {}, hard
    if kind.startswith("raid"):
        kill = random_kill(profile, rng) if kind == "raid_kill" else None
        image, boxes = raid_frame(size, style, profile, rng, kill=kill, occlude=hard or rng.random() < 0.1)
        return image, boxes, hard
    image, boxes = menu_frame(kind, size, style, profile, rng)
    return image, boxes, hard


def yolo_label(index: int, box: Box, width: int, height: int) -> YoloLabel:
    cx, cy = (box.x0 + box.x1) / 2 / width, (box.y0 + box.y1) / 2 / height
    return YoloLabel(index, cx, cy, box.w / width, box.h / height)


def make_dataset(
    out: str | Path, *, images: int, seed: int, val_fraction: float = 0.15, max_side: int = 640,
    progress: Callable[[int, int], None] | None = None, families: tuple[Family, ...] = TRAINING_FAMILIES,
) -> DatasetSummary:
    """A YOLO dataset drawn in the training families; only an evaluation set passes the held-out ones."""
    profile = load_profile()
    writer = YoloWriter(Path(out), classes=profile.classes, max_side=max_side)
    rng = random.Random(seed)
    summary = DatasetSummary()
    for i, kind in enumerate(kind_schedule(images, rng)):
        sample_rng = random.Random(rng.getrandbits(64))
        image, boxes, hard = render_sample(kind, profile, sample_rng, families)
        width, height = image.size
        image = scenery.degrade(image, sample_rng, strength=1.3 if hard else 1.0)
        split = "val" if sample_rng.random() < val_fraction else "train"
        name = f"{seed}_{i:06d}"
        labels = [yolo_label(profile.class_index(cls), box, width, height) for cls, box in boxes.items()]
        writer.add(name=name, split=split, image=image, labels=labels)
        summary.images += 1
        setattr(summary, split, getattr(summary, split) + 1)
        summary.instances.update(boxes.keys())
        summary.negatives += not boxes
        summary.hard += hard
        if progress:
            progress(i + 1, images)
    writer.finish()
    return summary
